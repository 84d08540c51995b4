import { describe, expect, it } from 'vitest';
import { muonOrthogonalizeWith } from '../src/kernel/linalg.js';
import { randomArray, seeded } from './helpers.js';
import { Workspace } from './kernel_harness.js';

const f = Math.fround;

// The f32 iteration as the kernel rounds it: every product summed over k ascending with one f32
// accumulator, multiply and add rounded separately (matmul.ts's contract), every elementwise
// operation rounded. Same bits expected, not a tolerance.
function reference(u: Float32Array, rows: number, cols: number, iters: number): Float32Array {
  const flip = rows > cols;
  const r = flip ? cols : rows, c = flip ? rows : cols;
  let sq = 0;
  for (let i = 0; i < u.length; i++) sq += u[i] * u[i];
  const denom = f(f(Math.sqrt(sq)) + f(1e-7));
  let x = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) x[i * c + j] = f((flip ? u[j * cols + i] : u[i * cols + j]) / denom);
  // out[m x n] = a[m x k] * b[k x n] with a(i,t) = a[i*ai + t*at], b(t,j) = b[t*bt + j*bj].
  const mul = (a: Float32Array, b: Float32Array, m: number, k: number, n: number, ai: number, at: number, bt: number, bj: number) => {
    const out = new Float32Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s = f(s + f(a[i * ai + t * at] * b[t * bt + j * bj]));
      out[i * n + j] = s;
    }
    return out;
  };
  const [A, B, C] = [f(3.4445), f(-4.775), f(2.0315)];
  for (let it = 0; it < iters; it++) {
    const g = mul(x, x, r, c, r, c, 1, 1, c); // X X^T
    const gg = mul(g, g, r, r, r, r, 1, r, 1); // A A
    const bm = g.map((v, i) => f(f(B * v) + f(C * gg[i])));
    const bx = mul(bm, x, r, r, c, r, 1, c, 1); // B X
    x = x.map((v, i) => f(f(A * v) + bx[i]));
  }
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[flip ? j * cols + i : i * cols + j] = x[i * c + j];
  return out;
}

describe('muonOrthogonalize', () => {
  const rand = seeded(3445);
  const ws = new Workspace();
  it.each([[5, 7], [7, 5], [16, 16], [12, 20], [20, 12], [1, 9], [33, 6]])('matches the f32 iteration bit for bit (%i x %i)', (rows, cols) => {
    const u = randomArray(rows * cols, rand);
    for (const iters of [0, 1, 5]) {
      expect(Array.from(muonOrthogonalizeWith(ws.k, u, rows, cols, iters)), `${iters} iterations`).toEqual(Array.from(reference(u, rows, cols, iters)));
    }
  });

  it('five steps bring the mean squared singular value near 1 (the quintic settles in about [0.7, 1.2])', () => {
    const [rows, cols] = [12, 20];
    const u = randomArray(rows * cols, rand);
    const o = muonOrthogonalizeWith(ws.k, u, rows, cols, 5);
    // trace(O O^T) / rows is the mean squared singular value.
    let trace = 0;
    for (let i = 0; i < rows; i++) for (let t = 0; t < cols; t++) trace += o[i * cols + t] ** 2;
    expect(trace / rows).toBeGreaterThan(0.5);
    expect(trace / rows).toBeLessThan(1.44);
  });

  it('a zero update stays zero (the 1e-7 keeps the normalisation finite)', () => {
    expect(Array.from(muonOrthogonalizeWith(ws.k, new Float32Array(6), 2, 3, 5))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('cost per call at 64 x 64 and 128 x 128, 5 steps (printed)', () => {
    for (const n of [64, 128]) {
      const pu = ws.f32(randomArray(n * n, rand)), out = ws.f32(n * n), scratch = ws.f32(ws.k.muonScratchFloats(n, n));
      ws.k.muonOrthogonalize(out, pu, n, n, 5, scratch);
      const reps = n === 64 ? 50 : 10;
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) ws.k.muonOrthogonalize(out, pu, n, n, 5, scratch);
      const ms = (performance.now() - t0) / reps;
      console.log(`muon.ts ${n}x${n}: muonOrthogonalize (5 steps) ${ms.toFixed(3)} ms per call`);
      expect(ms).toBeGreaterThan(0);
    }
  });
});
