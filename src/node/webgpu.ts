// Node-only: a WebGPU device from the optional `webgpu` package (Dawn). On a machine without a
// GPU, Dawn's OpenGL ES backend over Mesa's llvmpipe gives a software adapter, which needs
// EGL_PLATFORM=surfaceless and Debian's libegl1, libegl-mesa0 and libgl1-mesa-dri.
import { applyBackend } from '../gpu/backend.js';
import type { Backend } from '../kernel/matmul_call.js';
import type { Trainer } from '../train/trainer.js';
import { requestGpu, type GpuChoice } from '../gpu/webgpu_matmul.js';

export interface NodeGpu {
  choice: GpuChoice;
  /** Drop the GPU: Node does not exit while Dawn's instance is referenced. */
  release(): void;
}

/**
 * Lets Mesa's EGL start without a display. In a worker thread process.env is a private copy
 * that native code never sees, so the pool calls this on the main thread before starting workers.
 */
export function prepareGpuEnvironment(): void {
  process.env.EGL_PLATFORM ??= 'surfaceless';
}

export async function nodeGpu(dawnOptions: string[] = ['backend=opengles']): Promise<NodeGpu> {
  prepareGpuEnvironment();
  let webgpu: { create(options: string[]): GPU; globals: Record<string, unknown> };
  try {
    webgpu = (await import('webgpu')) as never;
  } catch {
    return { choice: { device: null, reason: "the optional 'webgpu' package is not installed; using the Wasm matmul" }, release() {} };
  }
  Object.assign(globalThis, webgpu.globals);
  let gpu: GPU | undefined = webgpu.create(dawnOptions);
  const choice = await requestGpu(gpu, { featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  return {
    choice,
    release() {
      if (choice.device) choice.device.destroy();
      gpu = undefined;
    },
  };
}

/**
 * The CLI's backend choice for one trainer: the line to print (null for plain Wasm) and a
 * release to call when the run is over.
 */
export async function useNodeBackend(trainer: Trainer, backend: Backend): Promise<{ line: string | null; release(): void }> {
  let gpu: NodeGpu | undefined;
  const line = await applyBackend(trainer, backend, async () => (gpu = await nodeGpu()).choice);
  return { line, release: () => gpu?.release() };
}
