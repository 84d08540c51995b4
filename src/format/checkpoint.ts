// The checkpoint: a safetensors file holding parameters, Adam moments, PRNG states and the
// epoch's order as tensors, and the config and loop state (history included) as metadata. A
// digest covers every value read back (each metadata entry and each tensor's name, dtype, shape
// and bytes), so a flipped bit anywhere is refused instead of resuming a silently different run.
import { z } from 'zod';
import { storedConfigSchema, type RunConfig } from '../train/config.js';
import { decodeSafetensors, encodeSafetensors, type Tensor, type TensorData } from './safetensors.js';
import { fieldPath, parseJson } from './problem.js';
import { divergedSchema, evalRowSchema, type EvalInfo } from './run_result.js';

export const CHECKPOINT_FORMAT = 'grokwasm-checkpoint-2';
const DIGEST_KEY = 'digest';

export class CheckpointError extends Error {
  constructor(message: string) {
    super(`checkpoint: ${message}`);
    this.name = 'CheckpointError';
  }
}

/** Loop state stored beside the tensors. */
export interface CheckpointState {
  stepsDone: number;
  adamStep: number;
  epochCursor: number;
  streak: number;
  stopped: boolean;
  elapsedMs: number;
  history: EvalInfo[];
  /** Checksum of parameters and optimiser state (Trainer.checksum) at stepsDone. */
  checksum: string;
  /** Whether any product so far ran on a GPU. */
  usedGpu: boolean;
  diverged?: { step: number; reason: string };
}

const int = z.number().int().nonnegative();
const stateSchema = z.strictObject({
  stepsDone: int, adamStep: int, epochCursor: int, streak: int, stopped: z.boolean(),
  elapsedMs: z.number().nonnegative(), history: z.array(evalRowSchema),
  checksum: z.string().regex(/^[0-9a-f]{16}$/), usedGpu: z.boolean(), diverged: divergedSchema.optional(),
});

/**
 * A 64-bit digest of byte strings, as two 32-bit lanes. Each lane's step is a bijection of its
 * state for a fixed input byte, so a file differing from the one digested in any single byte
 * always gets a different digest. It guards against damage, not against a forger.
 */
class Digest {
  private a = 0x811c9dc5;
  private b = 0x6b6f7267;

  bytes(data: Uint8Array): this {
    let a = this.a, b = this.b;
    for (let i = 0; i < data.length; i++) {
      a = Math.imul(a ^ data[i], 0x01000193);
      b = Math.imul(b ^ data[i], 0x5bd1e995);
      b ^= b >>> 15;
    }
    this.a = a;
    this.b = b;
    return this;
  }

  text(s: string): this {
    const encoded = new TextEncoder().encode(s);
    // The length first, so that moving bytes between neighbouring fields changes the digest.
    return this.bytes(new TextEncoder().encode(`${encoded.length}:`)).bytes(encoded);
  }

  hex(): string {
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0');
  }
}

function digestOf(metadata: Record<string, string>, tensors: Record<string, { shape: number[]; data: TensorData }>, dtypes: (name: string) => string): string {
  const d = new Digest();
  for (const key of Object.keys(metadata).filter((k) => k !== DIGEST_KEY).sort()) d.text(key).text(metadata[key]);
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    d.text(name).text(dtypes(name)).text(t.shape.join('x'));
    d.bytes(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return d.hex();
}

const DTYPE_OF = (data: TensorData) => (data instanceof Float32Array ? 'F32' : data instanceof Float64Array ? 'F64' : 'I32');

export function encodeCheckpoint(config: RunConfig, state: CheckpointState, tensors: Record<string, { shape: number[]; data: TensorData }>): Uint8Array {
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, config: JSON.stringify(config), state: JSON.stringify(state) };
  metadata[DIGEST_KEY] = digestOf(metadata, tensors, (name) => DTYPE_OF(tensors[name].data));
  return encodeSafetensors(tensors, metadata);
}

/** The parts of a checkpoint, every one covered by its digest; CheckpointError otherwise. */
export function decodeCheckpoint(bytes: Uint8Array): { config: RunConfig; state: CheckpointState; tensors: Record<string, Tensor> } {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    throw new CheckpointError(`not a readable checkpoint: ${(e as Error).message}`);
  }
  const { tensors, metadata } = decoded;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    const old = typeof metadata.format === 'string' && metadata.format.startsWith('grokwasm-checkpoint-');
    throw new CheckpointError(old
      ? `format ${metadata.format} is from an older grokwasm, whose metadata no checksum covered; rerun from the start or resume it with that version`
      : `not a grokwasm checkpoint (format ${JSON.stringify(metadata.format ?? null)}, expected ${CHECKPOINT_FORMAT})`);
  }
  const expected = digestOf(metadata, tensors, (name) => tensors[name].dtype);
  if (metadata[DIGEST_KEY] !== expected) {
    throw new CheckpointError(`its contents do not match its digest (${expected} != ${JSON.stringify(metadata[DIGEST_KEY] ?? null)}): the file is damaged`);
  }
  const parse = <T>(key: string, schema: z.ZodType<T>): T => {
    let value: unknown;
    try {
      value = parseJson(metadata[key], `its ${key}`);
    } catch (e) {
      throw new CheckpointError((e as Error).message);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CheckpointError(`its ${key} is invalid: ${fieldPath(issue.path)}: ${issue.message}`);
    }
    return parsed.data;
  };
  return { config: parse('config', storedConfigSchema), state: parse('state', stateSchema) as CheckpointState, tensors };
}
