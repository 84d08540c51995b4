import { describe, expect, it } from 'vitest';
import { matmulOnKernel, operandSizes, type MatmulLayout } from '../src/kernel/matmul_call.js';
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
  [1, 1, 1], [3, 5, 7], [4, 8, 8], [5, 9, 13], [2, 16, 16], [3, 17, 15], [1, 33, 47], [17, 3, 31], [33, 65, 9], [64, 128, 40], [7, 0, 5],
];

// Each layout as the reference loop reads it: out[rows x cols] = sum over inner of A(i, t) B(t, j).
type Operands = (a: Float32Array, b: Float32Array, m: number, k: number, n: number) =>
  { rows: number; inner: number; cols: number; A: (i: number, t: number) => number; B: (t: number, j: number) => number };
const LAYOUTS: [MatmulLayout, string, Operands][] = [
  ['forward', 'forward out = x w^T', (x, w, m, k, n) => ({ rows: m, inner: k, cols: n, A: (i, t) => x[i * k + t], B: (t, j) => w[j * k + t] })],
  ['inputGrad', 'input gradient dx = dy w', (dy, w, m, k, n) => ({ rows: m, inner: n, cols: k, A: (i, t) => dy[i * n + t], B: (t, j) => w[t * k + j] })],
  ['weightGrad', 'weight gradient dw = dy^T x', (dy, x, m, k, n) => ({ rows: n, inner: m, cols: k, A: (i, t) => dy[t * n + i], B: (t, j) => x[t * k + j] })],
];

describe('matmul', () => {
  const rand = seeded(11);
  for (const [layout, title, operands] of LAYOUTS) {
    it.each(SHAPES)(`${title} equals the scalar loop bit for bit, overwriting and accumulating (m %i, k %i, n %i)`, (m, k, n) => {
      const ws = new Workspace();
      const size = operandSizes(layout, m, k, n);
      const a = randomArray(size.a, rand), b = randomArray(size.b, rand), c0 = randomArray(size.out, rand);
      const pa = ws.f32(a), pb = ws.f32(b), out = ws.f32(c0);
      const scratch = ws.f32(ws.k.matmulScratchFloats(Math.max(m, k, n), Math.max(m, k, n)));
      const r = operands(a, b, m, k, n);
      for (const accumulate of [false, true]) {
        ws.write(out, c0);
        matmulOnKernel(ws.k, { layout, out, a: pa, b: pb, m, k, n, accumulate }, scratch);
        expect(ws.read(out, size.out)).toEqual(reference(r.A, r.B, r.rows, r.inner, r.cols, accumulate ? c0 : undefined));
      }
    });
  }

  // The cache blocks (assembly/matmul.ts): KC steps of the summed dimension per pass, MC output
  // rows and NC output columns per block. Each layout at output sizes and summed lengths just
  // below, at and just above every block boundary, and across several blocks of each, so the
  // sums parked between passes and the edge blocks of every loop are all exercised.
  const probe = new Workspace().k;
  const [KC, MC, NC] = [2, 3, 4].map((i) => probe.matmulBlockSize(i));
  const BLOCKED: [number, number, number][] = [
    [MC - 1, KC - 1, NC - 1], [MC, KC, NC], [MC + 1, KC + 1, NC + 1],
    [5, 2 * KC + 1, 9], [2 * MC + 3, 3, 2 * NC + 5], [MC + 5, 2 * KC, NC + 9], [7, 3 * KC - 1, 2 * NC - 3],
  ];
  /** (m, k, n) of a layout whose output is rows x cols and whose summed dimension is inner. */
  const dims = (layout: MatmulLayout, rows: number, inner: number, cols: number): [number, number, number] =>
    layout === 'forward' ? [rows, inner, cols] : layout === 'inputGrad' ? [rows, cols, inner] : [inner, cols, rows];
  for (const [layout, title, operands] of LAYOUTS) {
    it.each(BLOCKED)(`${title} across cache-block boundaries equals the scalar loop bit for bit (rows %i, summed %i, columns %i)`, (rows, inner, cols) => {
      const [m, k, n] = dims(layout, rows, inner, cols);
      const ws = new Workspace();
      const size = operandSizes(layout, m, k, n);
      const a = randomArray(size.a, rand), b = randomArray(size.b, rand), c0 = randomArray(size.out, rand);
      const pa = ws.f32(a), pb = ws.f32(b), out = ws.f32(c0);
      const r = operands(a, b, m, k, n);
      expect([r.rows, r.inner, r.cols]).toEqual([rows, inner, cols]);
      const scratch = ws.f32(ws.k.matmulScratchFloats(inner, cols));
      for (const accumulate of [false, true]) {
        ws.write(out, c0);
        matmulOnKernel(ws.k, { layout, out, a: pa, b: pb, m, k, n, accumulate }, scratch);
        expect(ws.read(out, size.out)).toEqual(reference(r.A, r.B, r.rows, r.inner, r.cols, accumulate ? c0 : undefined));
      }
    });
  }

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
