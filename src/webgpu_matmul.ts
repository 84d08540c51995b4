// The matmul on WebGPU: one WGSL kernel for the three layouts training uses, with the same
// stride scheme as assembly/matmul.ts. Each output sums over k in ascending order with a
// separate multiply and add, the Wasm kernel's order; a GPU may still fuse them into FMA and
// WGSL states accuracy bounds rather than exact rounding, so this path is tolerance-equal to
// the Wasm one, not bit-equal (see docs/webgpu.md). Platform neutral: it takes a GPUDevice.

export type MatmulLayout = 'forward' | 'inputGrad' | 'weightGrad';

const SHADER = /* wgsl */ `
struct Dims { rows: u32, inner: u32, cols: u32, ai: u32, ak: u32, bk: u32, bj: u32, accumulate: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.y;
  let j = id.x;
  if (i >= d.rows || j >= d.cols) { return; }
  var s: f32 = 0.0;
  for (var t: u32 = 0u; t < d.inner; t = t + 1u) {
    let product = a[i * d.ai + t * d.ak] * b[t * d.bk + j * d.bj];
    s = s + product;
  }
  let o = i * d.cols + j;
  if (d.accumulate == 1u) { c[o] = c[o] + s; } else { c[o] = s; }
}
`;

/**
 * The product each layout computes, with m, k, n named as in the Wasm kernels:
 * forward out[m x n] = x[m x k] w[n x k]^T; inputGrad dx[m x k] = dy[m x n] w[n x k];
 * weightGrad dw[n x k] = dy[m x n]^T x[m x k].
 */
function plan(layout: MatmulLayout, m: number, k: number, n: number) {
  switch (layout) {
    case 'forward': return { rows: m, inner: k, cols: n, ai: k, ak: 1, bk: 1, bj: k, aSize: m * k, bSize: n * k };
    case 'inputGrad': return { rows: m, inner: n, cols: k, ai: n, ak: 1, bk: k, bj: 1, aSize: m * n, bSize: n * k };
    case 'weightGrad': return { rows: n, inner: m, cols: k, ai: 1, ak: n, bk: k, bj: 1, aSize: m * n, bSize: m * k };
  }
}

export class WebGpuMatmul {
  private readonly pipeline: GPUComputePipeline;

  constructor(private readonly device: GPUDevice) {
    this.pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' },
    });
  }

  /** Runs one product on the GPU; `accumulate` adds into `c` (which must then be given). */
  async multiply(layout: MatmulLayout, a: Float32Array, b: Float32Array, m: number, k: number, n: number, c?: Float32Array): Promise<Float32Array> {
    const p = plan(layout, m, k, n);
    if (a.length !== p.aSize || b.length !== p.bSize) throw new RangeError(`${layout}: operands have ${a.length} and ${b.length} values, expected ${p.aSize} and ${p.bSize}`);
    const outSize = p.rows * p.cols;
    if (c && c.length !== outSize) throw new RangeError(`${layout}: the output has ${c.length} values, expected ${outSize}`);
    const dev = this.device;
    const storage = (data: Float32Array, extra = 0) => {
      const buffer = dev.createBuffer({ size: Math.max(4, data.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | extra });
      dev.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      return buffer;
    };
    const bufA = storage(a), bufB = storage(b);
    const bufC = storage(c ?? new Float32Array(outSize), GPUBufferUsage.COPY_SRC);
    const dims = dev.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    dev.queue.writeBuffer(dims, 0, new Uint32Array([p.rows, p.inner, p.cols, p.ai, p.ak, p.bk, p.bj, c ? 1 : 0]));
    const read = dev.createBuffer({ size: Math.max(4, outSize * 4), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const bind = dev.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [bufA, bufB, bufC, dims].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const encoder = dev.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.ceil(p.cols / 8), Math.ceil(p.rows / 8));
    pass.end();
    encoder.copyBufferToBuffer(bufC, 0, read, 0, outSize * 4);
    dev.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
    for (const buffer of [bufA, bufB, bufC, dims, read]) buffer.destroy();
    return out;
  }
}

/** What requesting a GPU gave: a device, or the one-line reason the Wasm path is used instead. */
export type GpuChoice =
  | { device: GPUDevice; description: string; fallbackAdapter: boolean }
  | { device: null; reason: string };

/** Asks a WebGPU implementation for an adapter and device; software (fallback) adapters are accepted. */
export async function requestGpu(gpu: GPU | undefined, options: GPURequestAdapterOptions = {}): Promise<GpuChoice> {
  if (!gpu) return { device: null, reason: 'WebGPU is not available here (no navigator.gpu); using the Wasm matmul' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter(options);
  } catch (e) {
    return { device: null, reason: `WebGPU adapter request failed (${(e as Error).message}); using the Wasm matmul` };
  }
  if (!adapter) return { device: null, reason: 'WebGPU found no adapter; using the Wasm matmul' };
  try {
    const device = await adapter.requestDevice();
    const info = adapter.info;
    const name = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unnamed adapter';
    const fallbackAdapter = Boolean((adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (info as unknown as { isFallbackAdapter?: boolean })?.isFallbackAdapter);
    return { device, description: `${name}${fallbackAdapter ? ' (software fallback adapter)' : ''}`, fallbackAdapter };
  } catch (e) {
    return { device: null, reason: `WebGPU device request failed (${(e as Error).message}); using the Wasm matmul` };
  }
}
