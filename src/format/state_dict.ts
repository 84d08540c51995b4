// Parameters as a PyTorch state_dict in safetensors: the reference's names, shapes
// (pos_embedding 1 x 3 x dim, linear weights out x in) and float32 layout, so that
// safetensors.torch.load_file plus load_state_dict(strict=True) accept the file, and back.
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors.js';
import type { Trainer } from '../train/trainer.js';

/** The trainer's current parameters as a safetensors file. */
export function saveStateDict(trainer: Trainer): Uint8Array {
  return encodeSafetensors(trainer.getParams(), { format: 'pt', config: JSON.stringify(trainer.config) });
}

/**
 * Reads a state_dict file for this trainer's shapes, strictly: every parameter present as F32
 * with its exact shape, nothing else. Throws SafetensorsError naming the first problem.
 */
export function readStateDict(trainer: Trainer, file: Uint8Array): Record<string, Float32Array> {
  const { tensors } = decodeSafetensors(file);
  const out: Record<string, Float32Array> = {};
  for (const spec of trainer.table) {
    const t = tensors[spec.name];
    if (!t) throw new SafetensorsError(`'${spec.name}' is missing (the file must hold the model's whole state_dict)`);
    if (t.dtype !== 'F32') throw new SafetensorsError(`'${spec.name}' is ${t.dtype}; parameters must be F32`);
    if (t.shape.join('x') !== spec.shape.join('x')) {
      throw new SafetensorsError(`'${spec.name}' has shape [${t.shape}], this config needs [${spec.shape}]`);
    }
    out[spec.name] = t.data as Float32Array;
  }
  const extra = Object.keys(tensors).find((name) => !(name in out));
  if (extra) throw new SafetensorsError(`'${extra}' is not a parameter of this model`);
  return out;
}
