import { describe, expect, it } from 'vitest';
import { randomArray, relErr, seeded } from './helpers.js';
import { Workspace, checkKernel } from './kernel_harness.js';

// y = x / max(||x||, 1e-12) * sqrt(dim) * g per row, in float64.
function reference(x: Float64Array, g: Float64Array, rows: number, dim: number): Float64Array {
  const y = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let i = 0; i < dim; i++) sq += x[r * dim + i] ** 2;
    const n = Math.max(Math.sqrt(sq), 1e-12);
    for (let i = 0; i < dim; i++) y[r * dim + i] = (x[r * dim + i] / n) * Math.sqrt(dim) * g[i];
  }
  return y;
}

describe('rmsnorm', () => {
  const rand = seeded(21);
  const rmsnorm = (rows: number, dim: number) => ({
    inputs: [randomArray(rows * dim, rand, 3), randomArray(dim, rand)],
    reference: ([x, g]: Float64Array[]) => reference(x, g, rows, dim),
    forward: (ws: Workspace, [x, g]: number[]) => {
      const out = ws.f32(rows * dim);
      ws.k.rmsnormForward(out, ws.f32(rows), x, g, rows, dim);
      return ws.read(out, rows * dim);
    },
    backward: (ws: Workspace, [x, g]: number[], dy: number) => {
      const out = ws.f32(rows * dim), norms = ws.f32(rows), dx = ws.f32(rows * dim), dg = ws.f32(dim);
      ws.k.rmsnormForward(out, norms, x, g, rows, dim);
      ws.k.rmsnormBackward(dx, dg, dy, x, g, norms, rows, dim, ws.f32(dim));
      return [ws.read(dx, rows * dim), ws.read(dg, dim)];
    },
  });
  it.each([[1, 1], [3, 5], [4, 8], [7, 18], [4, 13]])('forward and backward (rows %i, dim %i)', (rows, dim) => checkKernel(rmsnorm(rows, dim), rand));
  it.each([[2, 128], [5, 131]])('forward at the model width (rows %i, dim %i)', (rows, dim) => checkKernel({ ...rmsnorm(rows, dim), backward: undefined }, rand));

  it('a zero row stays finite (the norm is floored at 1e-12, no epsilon under a root)', () => {
    const ws = new Workspace();
    const out = ws.f32(6), norms = ws.f32(1);
    ws.k.rmsnormForward(out, norms, ws.f32([0, 0, 0, 0, 0, 0]), ws.f32([1, 1, 1, 1, 1, 1]), 1, 6);
    expect(Array.from(ws.read(out, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(ws.read(norms, 1)[0]).toBeCloseTo(1e-12, 20);
  });

  // Below the floor the norm is the constant 1e-12, so only the division by it carries gradient:
  // dx = dy * g * sqrt(dim) / 1e-12, with no projection term. A floored row sits between two
  // ordinary ones, on a width with a scalar tail (7) and one without (8).
  it.each([7, 8])('backward of a row whose norm is floored (dim %i)', (dim) => {
    const ws = new Workspace();
    const rows = 3;
    const x = randomArray(rows * dim, rand, 2), g = randomArray(dim, rand), dy = randomArray(rows * dim, rand);
    for (let i = 0; i < dim; i++) x[dim + i] = (i % 2 ? 1 : -1) * 1e-14 * (i + 1); // norm about 1e-13 < 1e-12
    const px = ws.f32(x), pg = ws.f32(g), out = ws.f32(rows * dim), norms = ws.f32(rows);
    ws.k.rmsnormForward(out, norms, px, pg, rows, dim);
    expect(ws.read(norms, rows)[1]).toBe(Math.fround(1e-12));
    const dx = ws.f32(rows * dim), dg = ws.f32(dim);
    ws.k.rmsnormBackward(dx, dg, ws.f32(dy), px, pg, norms, rows, dim, ws.f32(dim));
    const floor = Math.fround(1e-12), scale = Math.sqrt(dim);
    const want = Array.from({ length: dim }, (_, i) => (dy[dim + i] * g[i] * scale) / floor);
    expect(relErr(ws.read(dx + 4 * dim, dim), want)).toBeLessThan(1e-6);
    // The ordinary rows around it are unchanged by its presence: the same as computed alone.
    const alone = ws.f32(dim), aloneG = ws.f32(dim), aloneNorm = ws.f32(1), aloneOut = ws.f32(dim);
    ws.k.rmsnormForward(aloneOut, aloneNorm, ws.f32(x.subarray(0, dim)), pg, 1, dim);
    ws.k.rmsnormBackward(alone, aloneG, ws.f32(dy.subarray(0, dim)), ws.f32(x.subarray(0, dim)), pg, aloneNorm, 1, dim, ws.f32(dim));
    expect(Array.from(ws.read(dx, dim))).toEqual(Array.from(ws.read(alone, dim)));
  });
});
