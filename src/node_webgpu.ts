// Node-only: a WebGPU device from the optional `webgpu` package (Dawn). On a machine without a
// GPU, Dawn's OpenGL ES backend over Mesa's llvmpipe gives a software adapter, which needs
// EGL_PLATFORM=surfaceless and Debian's libegl1, libegl-mesa0 and libgl1-mesa-dri.
import { requestGpu, type GpuChoice } from './webgpu_matmul.js';

export interface NodeGpu {
  choice: GpuChoice;
  /** Drop the GPU: Node does not exit while Dawn's instance is referenced. */
  release(): void;
}

export async function nodeGpu(dawnOptions: string[] = ['backend=opengles']): Promise<NodeGpu> {
  process.env.EGL_PLATFORM ??= 'surfaceless';
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
