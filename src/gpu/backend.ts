// Choosing where the model's products run, the same way for the CLI and the page: a GPU
// device when WebGPU was asked for and one was granted, otherwise the Wasm kernel, with one
// line saying which and why. Asking for WebGPU never fails a run.
import { ConfigError } from '../train/config.js';
import { BACKENDS, type Backend } from '../kernel/matmul_call.js';
import type { Trainer } from '../train/trainer.js';
import { WebGpuMatmul, type GpuChoice } from './webgpu_matmul.js';

/** A backend name from a flag, URL or form, or a ConfigError naming the allowed values. */
export function parseBackend(value: unknown): Backend {
  if ((BACKENDS as readonly unknown[]).includes(value)) return value as Backend;
  throw new ConfigError('backend', `backend must be one of ${BACKENDS.join(', ')} (got '${String(value)}')`);
}

/**
 * Puts the trainer's products on the GPU that `request` grants (only asked when backend is
 * 'webgpu'); returns the one line to show, or null for the plain Wasm backend.
 */
export async function applyBackend(trainer: Trainer, backend: Backend, request: () => Promise<GpuChoice>): Promise<string | null> {
  if (backend === 'wasm') return null;
  let choice: GpuChoice;
  try {
    choice = await request();
  } catch (e) {
    choice = { device: null, reason: `WebGPU could not be set up (${(e as Error).message}); using the Wasm matmul` };
  }
  if (!choice.device) return `wasm: ${choice.reason}`;
  try {
    trainer.useGpu(new WebGpuMatmul(choice.device), choice.description);
  } catch (e) {
    return `wasm: the WebGPU matmul could not be compiled (${(e as Error).message}); using the Wasm matmul`;
  }
  return trainer.backendLine;
}
