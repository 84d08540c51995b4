// The WebGPU matmul against the Wasm matmul, in Node on Mesa's llvmpipe (Dawn's OpenGL ES
// backend), and the fallback when there is no adapter. Software adapters only here: this is a
// correctness check, not a speed one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeGpu, type NodeGpu } from '../src/node_webgpu.js';
import { WebGpuMatmul, requestGpu, type MatmulLayout } from '../src/webgpu_matmul.js';
import { randomArray, relErr, seeded } from './helpers.js';
import { Workspace } from './kernel_harness.js';

function wasmProduct(layout: MatmulLayout, a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const ws = new Workspace();
  const pa = ws.f32(a), pb = ws.f32(b);
  const size = layout === 'weightGrad' ? n * k : layout === 'inputGrad' ? m * k : m * n;
  const out = ws.f32(size), scratch = ws.f32(ws.k.matmulScratchFloats(Math.max(m, k, n), Math.max(m, k, n)));
  if (layout === 'forward') ws.k.matmulForward(out, pa, pb, m, k, n, false, scratch);
  else if (layout === 'inputGrad') ws.k.matmulBackwardInput(out, pa, pb, m, k, n, false, scratch);
  else ws.k.matmulBackwardWeight(out, pa, pb, m, k, n, false, scratch);
  return ws.read(out, size);
}

describe('WebGPU matmul (Node, llvmpipe)', () => {
  let gpu: NodeGpu;
  beforeAll(async () => { gpu = await nodeGpu(); });
  afterAll(() => gpu?.release());

  // CI installs Mesa (.ci/run) and must get an adapter; elsewhere the GPU comparisons are
  // skipped, with the reason, when none is found.
  it('gets a (software) adapter', (ctx) => {
    if (!gpu.choice.device && !process.env.CI) ctx.skip();
    expect(gpu.choice.device, 'reason' in gpu.choice ? gpu.choice.reason : '').not.toBeNull();
  });

  const rand = seeded(101);
  const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [17, 9, 13], [64, 33, 40], [96, 128, 72]];
  for (const layout of ['forward', 'inputGrad', 'weightGrad'] as MatmulLayout[]) {
    it.for(shapes)(`${layout} equals the Wasm kernel within 1e-6 (m %i, k %i, n %i)`, async ([m, k, n], ctx) => {
      if (!gpu.choice.device) return ctx.skip();
      const mm = new WebGpuMatmul(gpu.choice.device);
      const [aSize, bSize] = layout === 'forward' ? [m * k, n * k] : layout === 'inputGrad' ? [m * n, n * k] : [m * n, m * k];
      const a = randomArray(aSize, rand), b = randomArray(bSize, rand);
      const ours = await mm.multiply(layout, a, b, m, k, n);
      const ref = wasmProduct(layout, a, b, m, k, n);
      expect(relErr(ours, ref)).toBeLessThan(1e-6);
    });
  }

  it('accumulates into an existing output', async (ctx) => {
    if (!gpu.choice.device) return ctx.skip();
    const mm = new WebGpuMatmul(gpu.choice.device);
    const a = randomArray(6 * 5, rand), b = randomArray(4 * 5, rand), c = randomArray(6 * 4, rand);
    const sum = await mm.multiply('forward', a, b, 6, 5, 4, c);
    const plain = await mm.multiply('forward', a, b, 6, 5, 4);
    expect(relErr(sum, plain.map((v, i) => v + c[i]))).toBeLessThan(1e-6);
  });
});

describe('WebGPU fallback', () => {
  it('with no WebGPU at all, says so in one line', async () => {
    expect(await requestGpu(undefined)).toEqual({ device: null, reason: 'WebGPU is not available here (no navigator.gpu); using the Wasm matmul' });
  });

  it('with no adapter (Dawn without a usable backend), says so in one line', async () => {
    const none = await nodeGpu([]);
    try {
      // On this machine Dawn's default backends find nothing; on one with a GPU they would.
      if (none.choice.device === null) expect(none.choice.reason).toBe('WebGPU found no adapter; using the Wasm matmul');
    } finally {
      none.release();
    }
  });
});
