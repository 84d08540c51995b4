import { describe, expect, it } from 'vitest';
import { nuclearProxWith, polarFactorWith } from '../src/kernel/linalg.js';
import { randomArray, relErr, seeded } from './helpers.js';
import { Workspace } from './kernel_harness.js';
import { withSingularValues } from './linalg_helpers.js';

// The reference: a one-sided Jacobi SVD in f64, independent of the kernel's Gram
// eigensolver. Columns of a tall copy are rotated in pairs until mutually orthogonal; their
// norms are then the singular values, the normalised columns U, and the rotations V.
function svd(w: ArrayLike<number>, rows: number, cols: number): { u: Float64Array; s: Float64Array; v: Float64Array; m: number; n: number } {
  const tall = rows >= cols;
  const m = tall ? rows : cols, n = tall ? cols : rows;
  const u = new Float64Array(m * n); // column-major: column j at j*m
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) u[j * m + i] = tall ? w[i * cols + j] : w[j * cols + i];
  const v = new Float64Array(n * n);
  for (let j = 0; j < n; j++) v[j * n + j] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) {
      let a = 0, b = 0, g = 0;
      for (let k = 0; k < m; k++) { const x = u[p * m + k], y = u[q * m + k]; a += x * x; b += y * y; g += x * y; }
      if (g === 0 || Math.abs(g) <= 1e-15 * Math.sqrt(a * b)) continue;
      rotated = true;
      const zeta = (b - a) / (2 * g);
      const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
      const c = 1 / Math.sqrt(1 + t * t), s = c * t;
      for (let k = 0; k < m; k++) { const x = u[p * m + k], y = u[q * m + k]; u[p * m + k] = c * x - s * y; u[q * m + k] = s * x + c * y; }
      for (let k = 0; k < n; k++) { const x = v[p * n + k], y = v[q * n + k]; v[p * n + k] = c * x - s * y; v[q * n + k] = s * x + c * y; }
    }
    if (!rotated) break;
  }
  const s = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let sq = 0;
    for (let k = 0; k < m; k++) sq += u[j * m + k] ** 2;
    s[j] = Math.sqrt(sq);
    if (s[j] > 0) for (let k = 0; k < m; k++) u[j * m + k] /= s[j];
  }
  return { u, s, v, m, n };
}

// W' = U f(S) V^T over singular values above 1e-7 * sigma_max, in the caller's layout.
function apply(w: ArrayLike<number>, rows: number, cols: number, f: (sigma: number) => number): Float64Array {
  const { u, s, v, m, n } = svd(w, rows, cols);
  const top = Math.max(0, ...s);
  const out = new Float64Array(rows * cols);
  for (let j = 0; j < n; j++) {
    if (!(s[j] > 1e-7 * top)) continue;
    const fj = f(s[j]);
    for (let i = 0; i < m; i++) for (let k = 0; k < n; k++) {
      const x = u[j * m + i] * fj * v[j * n + k];
      if (rows >= cols) out[i * cols + k] += x; else out[k * cols + i] += x;
    }
  }
  return out;
}
const polarRef = (w: ArrayLike<number>, rows: number, cols: number) => apply(w, rows, cols, () => 1);
const proxRef = (w: ArrayLike<number>, rows: number, cols: number, rate: number) => apply(w, rows, cols, (s) => Math.max(s - rate, 0));

// P^T W for the polar factor P of W: V S V^T, symmetric positive semidefinite.
function polarTimes(p: ArrayLike<number>, w: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const h = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) for (let k = 0; k < rows; k++) h[i * cols + j] += p[k * cols + i] * w[k * cols + j];
  return h;
}

// An exactly rank-r matrix in f32: small integer factors, so every entry and Gram entry is exact.
function lowRank(rows: number, cols: number, r: number, rand: () => number): Float32Array {
  const a = Array.from({ length: rows * r }, () => Math.floor(rand() * 7) - 3);
  const b = Array.from({ length: r * cols }, () => Math.floor(rand() * 7) - 3);
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let t = 0; t < r; t++) w[i * cols + j] += a[i * r + t] * b[t * cols + j];
  return w;
}

describe('polarFactor, polarDecay and nuclearProx', () => {
  const rand = seeded(2025);
  const ws = new Workspace();

  const shapes: [number, number][] = [[1, 1], [1, 6], [6, 1], [5, 7], [7, 5], [16, 16], [13, 13], [30, 18], [18, 30]];
  it.each(shapes)('polar factor matches a Jacobi SVD and is U V^T (%i x %i)', (rows, cols) => {
    const w = randomArray(rows * cols, rand);
    const p = polarFactorWith(ws.k, w, rows, cols);
    expect(relErr(p, polarRef(w, rows, cols))).toBeLessThan(2e-6);
    // P^T W = V S V^T: symmetric, and positive semidefinite (its trace is the nuclear norm).
    const h = polarTimes(p, w, rows, cols);
    for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) expect(Math.abs(h[i * cols + j] - h[j * cols + i])).toBeLessThan(1e-5);
    const { s } = svd(w, rows, cols);
    let trace = 0;
    for (let i = 0; i < cols; i++) trace += h[i * cols + i];
    expect(Math.abs(trace - s.reduce((a, x) => a + x, 0))).toBeLessThan(1e-5 * trace);
  });

  it.each([[13, 13, 3], [9, 14, 2], [14, 9, 4], [16, 16, 1]])('rank-deficient %i x %i of rank %i: P is orthonormal on the range only', (rows, cols, r) => {
    const w = lowRank(rows, cols, r, rand);
    const p = polarFactorWith(ws.k, w, rows, cols);
    expect(relErr(p, polarRef(w, rows, cols))).toBeLessThan(2e-6);
    // P^T P is the projector onto the row space: trace r, idempotent; P P^T P = P.
    const g = polarTimes(p, p, rows, cols);
    let trace = 0;
    for (let i = 0; i < cols; i++) trace += g[i * cols + i];
    expect(trace).toBeCloseTo(r, 5);
    // U S V^T reconstructs W: W = P (P^T W).
    const h = polarTimes(p, w, rows, cols);
    const back = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) for (let k = 0; k < cols; k++) back[i * cols + j] += p[i * cols + k] * h[k * cols + j];
    expect(relErr(back, w)).toBeLessThan(1e-6);
  });

  // Products of random factors rounded to f32: a cluster of eigenvalues near zero in the Gram,
  // where QL's local deflation test alone never passes (singularValues fails on some of these).
  it.each([[64, 3], [64, 20], [128, 20], [128, 40]])('low-rank %i x %i of rank %i, as LRD leaves weights: converges and cuts at the rank', (n, r) => {
    const a = randomArray(n * r, rand), b = randomArray(n * r, rand);
    const w = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = 0; for (let t = 0; t < r; t++) s += a[i * r + t] * b[t * n + j]; w[i * n + j] = s; }
    const p = polarFactorWith(ws.k, w, n, n);
    expect(p.reduce((s, x) => s + x * x, 0)).toBeCloseTo(r, 3); // ||P||_F^2 = rank
    if (n === 64) expect(relErr(p, polarRef(w, n, n))).toBeLessThan(1e-5);
  });

  it('recovers U V^T of a matrix with known singular values over six decades', () => {
    const [rows, cols] = [24, 20];
    const s = Array.from({ length: cols }, (_, i) => 3 * 10 ** (-6 * i / (cols - 1)));
    const w = withSingularValues(rows, cols, s, rand);
    const p = polarFactorWith(ws.k, w, rows, cols);
    // Every singular value of P is 1 (all of W's are above 1e-7 sigma_1): P^T P = I. The Gram
    // squares the spread to 12 decades, so the smallest eigenvalue keeps about 2e-16 / 1e-12
    // relative error and its direction of P about 1e-5: the price of the fast method.
    const g = polarTimes(p, p, rows, cols);
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) expect(Math.abs(g[i * cols + j] - (i === j ? 1 : 0))).toBeLessThan(1e-4);
  });

  it('a zero matrix has a zero polar factor and stays zero under the prox', () => {
    expect(Array.from(polarFactorWith(ws.k, new Float32Array(12), 3, 4))).toEqual(new Array(12).fill(0));
    expect(Array.from(nuclearProxWith(ws.k, new Float32Array(12), 4, 3, 0.1))).toEqual(new Array(12).fill(0));
  });

  it('polarDecay subtracts f32(rate) times the polar factor, in f32', () => {
    const [rows, cols] = [9, 6];
    const w = randomArray(rows * cols, rand);
    const pw = ws.f32(w), polar = ws.f32(rows * cols), scratch = ws.f64(ws.k.polarScratchDoubles(rows, cols));
    expect(ws.k.polarDecay(pw, rows, cols, 0.3, polar, scratch)).toBeTruthy();
    const got = ws.read(pw, rows * cols); // before polarFactorWith reuses the instance's memory
    const p = polarFactorWith(ws.k, w, rows, cols);
    const r = Math.fround(0.3);
    expect(Array.from(got)).toEqual(Array.from(w, (x, i) => Math.fround(x - Math.fround(r * p[i]))));
  });

  it.each(shapes.concat([[13, 13]]))('nuclearProx soft-thresholds the singular values (%i x %i)', (rows, cols) => {
    const w = randomArray(rows * cols, rand);
    const { s } = svd(w, rows, cols);
    const rate = [...s].sort((a, b) => a - b)[Math.floor(s.length / 2)]; // about half thresholded away
    const got = nuclearProxWith(ws.k, w, rows, cols, rate);
    expect(relErr(got, proxRef(w, rows, cols, rate))).toBeLessThan(2e-6);
    // Rate 0 gives W back (every singular value kept), up to the one rounding to f32.
    expect(relErr(nuclearProxWith(ws.k, w, rows, cols, 0), w)).toBeLessThan(1e-6);
  });

  it('rank-deficient prox: rate above sigma_2 leaves a rank-1 matrix', () => {
    const [rows, cols] = [13, 13];
    const w = lowRank(rows, cols, 3, rand);
    const { s } = svd(w, rows, cols);
    const sorted = [...s].sort((a, b) => b - a);
    const rate = (sorted[0] + sorted[1]) / 2;
    const got = nuclearProxWith(ws.k, w, rows, cols, rate);
    expect(relErr(got, proxRef(w, rows, cols, rate))).toBeLessThan(2e-6);
    const left = svd(got, rows, cols).s.sort((a, b) => b - a);
    expect(left[0]).toBeCloseTo(sorted[0] - rate, 4);
    expect(left[1]).toBeLessThan(1e-5 * sorted[0]);
  });

  it('cost per call at 64 x 64 and 128 x 128 (printed)', () => {
    for (const n of [64, 128]) {
      const w = randomArray(n * n, rand);
      const pw = ws.f32(w), out = ws.f32(n * n), scratch = ws.f64(ws.k.polarScratchDoubles(n, n));
      const time = (f: () => void) => {
        f();
        const reps = n === 64 ? 20 : 5;
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) f();
        return (performance.now() - t0) / reps;
      };
      const polarMs = time(() => ws.k.polarFactor(out, pw, n, n, scratch));
      const proxMs = time(() => { ws.write(pw, w); ws.k.nuclearProx(pw, n, n, 0.1, scratch); });
      const svMs = time(() => ws.k.singularValues(out, pw, n, n, scratch));
      console.log(`polar.ts ${n}x${n}: polarFactor ${polarMs.toFixed(2)} ms, nuclearProx ${proxMs.toFixed(2)} ms per call (singularValues ${svMs.toFixed(2)} ms)`);
      expect(polarMs).toBeGreaterThan(0);
    }
  });
});
