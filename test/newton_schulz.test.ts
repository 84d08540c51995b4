import { describe, expect, it } from 'vitest';
import { newtonSchulz } from '../src/node/index.js';
import { randomArray, relErr, seeded } from './helpers.js';
import { Workspace } from './kernel_harness.js';
import { withSingularValues } from './linalg_helpers.js';

// The reference iteration in float64: X = W/(||W||_F + 1e-8) (transposed when tall),
// Y <- 0.5 Y (3I - Y^T Y).
function reference(w: Float32Array, rows: number, cols: number, iters: number): Float64Array {
  const flip = rows > cols;
  const r = flip ? cols : rows, c = flip ? rows : cols;
  let y = new Float64Array(r * c);
  const norm = Math.sqrt(w.reduce((s, x) => s + x * x, 0)) + 1e-8;
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) y[i * c + j] = (flip ? w[j * cols + i] : w[i * cols + j]) / norm;
  for (let t = 0; t < iters; t++) {
    const g = new Float64Array(c * c);
    for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) for (let k = 0; k < r; k++) g[i * c + j] += y[k * c + i] * y[k * c + j];
    const next = new Float64Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) {
      let acc = 0;
      for (let k = 0; k < c; k++) acc += 0.5 * y[i * c + k] * ((k === j ? 3 : 0) - g[k * c + j]);
      next[i * c + j] = acc;
    }
    y = next;
  }
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[flip ? j * cols + i : i * cols + j] = y[i * c + j];
  return out;
}

describe('newtonSchulz and lowRankDecay', () => {
  const rand = seeded(81);
  it.each([[1, 1], [5, 5], [7, 3], [3, 7], [13, 13], [18, 30], [33, 9]])('matches the f64 iteration (%i x %i)', (rows, cols) => {
    const w = randomArray(rows * cols, rand);
    expect(relErr(newtonSchulz(w, rows, cols, 5), reference(w, rows, cols, 5))).toBeLessThan(1e-5);
  });

  it('converges to the polar factor U V^T: singular values all reach 1', () => {
    const n = 12;
    const w = withSingularValues(n, n, Array.from({ length: n }, (_, i) => 1 - i * 0.05), rand);
    const y = newtonSchulz(w, n, n, 30);
    // Y Y^T = I for an orthogonal Y.
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let d = 0;
      for (let t = 0; t < n; t++) d += y[i * n + t] * y[j * n + t];
      expect(Math.abs(d - (i === j ? 1 : 0))).toBeLessThan(1e-4);
    }
  });

  it('lowRankDecay subtracts rate times the polar factor', () => {
    const ws = new Workspace();
    const [rows, cols] = [9, 6];
    const w = randomArray(rows * cols, rand);
    const pw = ws.f32(w), polar = ws.f32(rows * cols), scratch = ws.f32(ws.k.newtonSchulzScratchFloats(rows, cols));
    ws.k.lowRankDecay(pw, rows, cols, 0.25, 5, polar, scratch);
    const y = newtonSchulz(w, rows, cols, 5);
    expect(Array.from(ws.read(pw, rows * cols))).toEqual(Array.from(w, (x, i) => Math.fround(x - Math.fround(Math.fround(0.25) * y[i]))));
  });

  it('a zero matrix stays zero (the 1e-8 keeps the normalisation finite)', () => {
    expect(Array.from(newtonSchulz(new Float32Array(6), 2, 3, 5))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
