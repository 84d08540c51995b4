import { describe, expect, it } from 'vitest';
import { seeded, randomArray } from './helpers.js';
import { Workspace, checkGradients, f32 } from './kernel_harness.js';

// Plain float32 triple loop in the kernels' summation order: ascending k, one accumulator,
// separate rounding of the product and the sum. The packed SIMD kernel must equal it bit for bit.
function reference(a: (i: number, k: number) => number, b: (k: number, j: number) => number, m: number, kk: number, n: number, c0?: Float32Array): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < kk; k++) s = f32(s + f32(a(i, k) * b(k, j)));
      c[i * n + j] = c0 ? f32(c0[i * n + j] + s) : s;
    }
  }
  return c;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 5, 7], [4, 8, 8], [5, 9, 13], [17, 3, 31], [33, 65, 9], [64, 128, 40], [7, 0, 5],
];

describe('matmul', () => {
  const rand = seeded(11);
  it.each(SHAPES)('forward out = x w^T equals the scalar loop bit for bit (m %i, k %i, n %i)', (m, k, n) => {
    const ws = new Workspace();
    const x = randomArray(m * k, rand), w = randomArray(n * k, rand), c0 = randomArray(m * n, rand);
    const px = ws.f32(x), pw = ws.f32(w), out = ws.f32(c0);
    const scratch = ws.f32(ws.k.matmulScratchFloats(k, n));
    ws.k.matmulForward(out, px, pw, m, k, n, false, scratch);
    expect(ws.read(out, m * n)).toEqual(reference((i, t) => x[i * k + t], (t, j) => w[j * k + t], m, k, n));
    ws.write(out, c0);
    ws.k.matmulForward(out, px, pw, m, k, n, true, scratch);
    expect(ws.read(out, m * n)).toEqual(reference((i, t) => x[i * k + t], (t, j) => w[j * k + t], m, k, n, c0));
  });

  it.each(SHAPES)('input gradient dx = dy w equals the scalar loop bit for bit (m %i, k %i, n %i)', (m, k, n) => {
    const ws = new Workspace();
    const dy = randomArray(m * n, rand), w = randomArray(n * k, rand), c0 = randomArray(m * k, rand);
    const pdy = ws.f32(dy), pw = ws.f32(w), out = ws.f32(c0);
    const scratch = ws.f32(ws.k.matmulScratchFloats(n, k));
    ws.k.matmulBackwardInput(out, pdy, pw, m, k, n, true, scratch);
    expect(ws.read(out, m * k)).toEqual(reference((i, t) => dy[i * n + t], (t, j) => w[t * k + j], m, n, k, c0));
  });

  it.each(SHAPES)('weight gradient dw = dy^T x equals the scalar loop bit for bit (m %i, k %i, n %i)', (m, k, n) => {
    const ws = new Workspace();
    const dy = randomArray(m * n, rand), x = randomArray(m * k, rand), c0 = randomArray(n * k, rand);
    const pdy = ws.f32(dy), px = ws.f32(x), out = ws.f32(c0);
    const scratch = ws.f32(ws.k.matmulScratchFloats(m, k));
    ws.k.matmulBackwardWeight(out, pdy, px, m, k, n, true, scratch);
    expect(ws.read(out, n * k)).toEqual(reference((i, t) => dy[t * n + i], (t, j) => x[t * k + j], n, m, k, c0));
  });

  it('backward kernels are the gradients of the forward (finite differences in f64)', () => {
    const [m, k, n] = [5, 7, 6];
    const ws = new Workspace();
    const x = randomArray(m * k, rand), w = randomArray(n * k, rand);
    checkGradients([x, w], ([xs, wv]) => {
      const out = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) out[i * n + j] += xs[i * k + t] * wv[j * k + t];
      return out;
    }, (dy) => {
      const pdy = ws.f32(dy), px = ws.f32(x), pw = ws.f32(w), dx = ws.f32(m * k), dw = ws.f32(n * k);
      const scratch = ws.f32(ws.k.matmulScratchFloats(Math.max(m, n, k), Math.max(m, n, k)));
      ws.k.matmulBackwardInput(dx, pdy, pw, m, k, n, true, scratch);
      ws.k.matmulBackwardWeight(dw, pdy, px, m, k, n, true, scratch);
      return [ws.read(dx, m * k), ws.read(dw, n * k)];
    }, rand);
  });
});
