// The matmul on WebGPU: one WGSL kernel for the three layouts training uses, with the same
// stride scheme as assembly/matmul.ts. Each output sums over k in ascending order with a
// separate multiply and add, the Wasm kernel's order; a GPU may still fuse them into FMA and
// WGSL states accuracy bounds rather than exact rounding, so this path is tolerance-equal to
// the Wasm one, not bit-equal (see docs/webgpu.md). Platform neutral: it takes a GPUDevice.

import { operandSizes, type MatmulCall, type MatmulLayout } from '../kernel/matmul_call.js';

export type { MatmulLayout } from '../kernel/matmul_call.js';

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

// How each layout walks its operands: output rows x cols summed over inner, with a's element
// (i, t) at i * ai + t * ak and b's element (t, j) at t * bk + j * bj.
function strides(layout: MatmulLayout, m: number, k: number, n: number) {
  switch (layout) {
    case 'forward': return { rows: m, inner: k, cols: n, ai: k, ak: 1, bk: 1, bj: k };
    case 'inputGrad': return { rows: m, inner: n, cols: k, ai: n, ak: 1, bk: k, bj: 1 };
    case 'weightGrad': return { rows: n, inner: m, cols: k, ai: 1, ak: n, bk: k, bj: 1 };
  }
}

type Role = 'a' | 'b' | 'c' | 'dims' | 'read';

export class WebGpuMatmul {
  private readonly pipeline: GPUComputePipeline;
  // One buffer per role, grown when a larger product comes: products run one at a time, and
  // creating five buffers per product cost more than the product itself on small shapes.
  private readonly buffers = new Map<Role, GPUBuffer>();
  private bindGroup: GPUBindGroup | null = null;
  private readonly maxBinding: number;
  private lost: string | null = null;

  constructor(private readonly device: GPUDevice) {
    this.maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    // A lost device rejects map requests with an empty AbortError; keep the reason it gives.
    void device.lost.then((info) => { this.lost = `the device was lost: ${info.message || info.reason}`; });
    this.pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' },
    });
  }

  private buffer(role: Role, bytes: number): GPUBuffer {
    const have = this.buffers.get(role);
    if (have && have.size >= bytes) return have;
    have?.destroy();
    const usage = role === 'read' ? GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST
      : role === 'dims' ? GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST
        : GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | (role === 'c' ? GPUBufferUsage.COPY_SRC : 0);
    // Grow by at least a quarter so that a run of slightly larger products does not reallocate
    // each time, but never past what one binding may hold.
    const grown = Math.min(Math.max(bytes, (have?.size ?? 0) * 1.25), this.maxBinding);
    const size = Math.max(16, Math.ceil(Math.max(bytes, grown) / 16) * 16);
    const buffer = this.device.createBuffer({ size, usage });
    this.buffers.set(role, buffer);
    if (role !== 'read') this.bindGroup = null;
    return buffer;
  }

  /** Runs one product on the GPU; `accumulate` adds into `c` (which must then be given). */
  async multiply(layout: MatmulLayout, a: Float32Array, b: Float32Array, m: number, k: number, n: number, c?: Float32Array): Promise<Float32Array> {
    const size = operandSizes(layout, m, k, n);
    if (a.length !== size.a || b.length !== size.b) throw new RangeError(`${layout}: operands have ${a.length} and ${b.length} values, expected ${size.a} and ${size.b}`);
    if (c && c.length !== size.out) throw new RangeError(`${layout}: the output has ${c.length} values, expected ${size.out}`);
    if (this.lost) throw new Error(this.lost);
    const p = strides(layout, m, k, n);
    const dev = this.device;
    // A product past the device's limits would only raise a validation error, leaving the
    // read-back buffer unwritten: refuse it here, with the reason, so the caller uses Wasm.
    const largest = 4 * Math.max(size.a, size.b, size.out);
    if (largest > this.maxBinding) {
      throw new RangeError(`a ${layout} product of ${m} x ${k} x ${n} needs a ${largest}-byte buffer, over this device's limit of ${this.maxBinding}`);
    }
    const maxGroups = dev.limits.maxComputeWorkgroupsPerDimension;
    if (Math.ceil(p.cols / 8) > maxGroups || Math.ceil(p.rows / 8) > maxGroups) {
      throw new RangeError(`a ${layout} product of ${m} x ${k} x ${n} needs more than this device's ${maxGroups} workgroups per dimension`);
    }
    // Every command of this product inside error scopes, popped whatever happens in between.
    dev.pushErrorScope('validation');
    dev.pushErrorScope('out-of-memory');
    let read: GPUBuffer;
    let scopes: Promise<(GPUError | null)[]>;
    try {
      const bufA = this.buffer('a', a.byteLength), bufB = this.buffer('b', b.byteLength);
      const bufC = this.buffer('c', 4 * size.out), dims = this.buffer('dims', 32);
      read = this.buffer('read', 4 * size.out);
      dev.queue.writeBuffer(bufA, 0, a.buffer, a.byteOffset, a.byteLength);
      dev.queue.writeBuffer(bufB, 0, b.buffer, b.byteOffset, b.byteLength);
      if (c) dev.queue.writeBuffer(bufC, 0, c.buffer, c.byteOffset, c.byteLength);
      dev.queue.writeBuffer(dims, 0, new Uint32Array([p.rows, p.inner, p.cols, p.ai, p.ak, p.bk, p.bj, c ? 1 : 0]));
      this.bindGroup ??= dev.createBindGroup({
        layout: this.pipeline.getBindGroupLayout(0),
        entries: [bufA, bufB, bufC, dims].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const encoder = dev.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, this.bindGroup);
      if (size.out > 0) pass.dispatchWorkgroups(Math.ceil(p.cols / 8), Math.ceil(p.rows / 8));
      pass.end();
      encoder.copyBufferToBuffer(bufC, 0, read, 0, 4 * size.out);
      dev.queue.submit([encoder.finish()]);
    } finally {
      // Scopes pop innermost first; any error in them means the output was not computed.
      scopes = Promise.all([dev.popErrorScope(), dev.popErrorScope()]);
      scopes.catch(() => {});
    }
    const mapped = read.mapAsync(GPUMapMode.READ, 0, 4 * size.out);
    const errors = (await scopes).filter((e): e is GPUError => e !== null);
    if (errors.length) {
      mapped.catch(() => {});
      this.destroy();
      throw new Error(`the GPU refused a ${layout} product of ${m} x ${k} x ${n}: ${errors[0].message}`);
    }
    try {
      await mapped;
    } catch (e) {
      throw new Error(this.lost ?? `reading a ${layout} product back failed (${(e as Error).message || (e as Error).name})`);
    }
    const out = new Float32Array(read.getMappedRange(0, 4 * size.out).slice(0));
    read.unmap();
    return out;
  }

  /** Runs one of the model's products: operands read from, and the result written into, the kernel module's memory. */
  async run(call: MatmulCall, memory: WebAssembly.Memory): Promise<void> {
    const size = operandSizes(call.layout, call.m, call.k, call.n);
    const view = (ptr: number, n: number) => new Float32Array(memory.buffer, ptr, n);
    // A threaded run's memory is shared; queue.writeBuffer is given private copies of its operands.
    const shared = !(memory.buffer instanceof ArrayBuffer);
    const operand = (ptr: number, n: number) => (shared ? view(ptr, n).slice() : view(ptr, n));
    const result = await this.multiply(call.layout, operand(call.a, size.a), operand(call.b, size.b), call.m, call.k, call.n,
      call.accumulate ? operand(call.out, size.out) : undefined);
    view(call.out, size.out).set(result);
  }

  /** Frees the GPU buffers (the device stays). */
  destroy(): void {
    for (const buffer of this.buffers.values()) buffer.destroy();
    this.buffers.clear();
    this.bindGroup = null;
  }
}

/** What requesting a GPU gave: a device, or the one-line reason the Wasm path is used instead. */
export type GpuChoice =
  | { device: GPUDevice; description: string }
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
    return { device, description: `${name}${fallbackAdapter ? ' (software fallback adapter)' : ''}` };
  } catch (e) {
    return { device: null, reason: `WebGPU device request failed (${(e as Error).message}); using the Wasm matmul` };
  }
}
