// The alignment rule of src/kernel/arena.ts: a kernel given a 16-byte aligned scratch of exactly
// the size its *Scratch* function (or its contract) names never writes past it. Each kernel runs
// with a sentinel band right after its scratch, on shapes that are not multiples of the SIMD
// width; a kernel that needed the slack callers used to add would overwrite the band.
import { describe, expect, it } from 'vitest';
import { randomArray, seeded } from './helpers.js';
import { Workspace } from './kernel_harness.js';

const BAND = 64; // floats of sentinel after the scratch
const SENTINEL = -12345.5;

/** Runs `kernel(scratch)` with `floats` of scratch followed by a sentinel band; returns the band. */
function bandAfter(ws: Workspace, floats: number, kernel: (scratch: number) => void): number[] {
  const scratch = ws.f32(floats + BAND);
  expect(scratch % 16).toBe(0);
  ws.write(scratch + 4 * floats, new Array(BAND).fill(SENTINEL));
  kernel(scratch);
  return Array.from(ws.read(scratch + 4 * floats, BAND));
}

const untouched = new Array(BAND).fill(SENTINEL);
// The last shape spans the matmul's cache blocks (KC, MC, NC) in every layout, so its parked sums are used.
const blocks = new Workspace().k;
const [KC, MC, NC] = [2, 3, 4].map((i) => blocks.matmulBlockSize(i));
const span = Math.max(KC, MC, NC) + 5;
const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [17, 9, 13], [33, 64, 40], [span, span + 2, span + 4]];

describe('scratch sizes are exact', () => {
  it.each(SHAPES)('matmul, all three layouts, m %i k %i n %i', (m, k, n) => {
    const ws = new Workspace();
    const r = seeded(m * 100 + k * 10 + n);
    const x = ws.f32(randomArray(m * k, r)), w = ws.f32(randomArray(n * k, r)), out = ws.f32(m * n);
    const dy = ws.f32(randomArray(m * n, r)), dx = ws.f32(m * k), dw = ws.f32(n * k);
    expect(bandAfter(ws, ws.k.matmulScratchFloats(k, n), (s) => ws.k.matmulForward(out, x, w, m, k, n, false, s))).toEqual(untouched);
    expect(bandAfter(ws, ws.k.matmulScratchFloats(n, k), (s) => ws.k.matmulBackwardInput(dx, dy, w, m, k, n, false, s))).toEqual(untouched);
    expect(bandAfter(ws, ws.k.matmulScratchFloats(m, k), (s) => ws.k.matmulBackwardWeight(dw, dy, x, m, k, n, false, s))).toEqual(untouched);
  });

  it.each([[5, 7], [7, 5], [13, 13], [33, 18]])('Newton-Schulz and singular values of a %i x %i matrix', (rows, cols) => {
    const ws = new Workspace();
    const w = ws.f32(randomArray(rows * cols, seeded(rows * cols))), out = ws.f32(rows * cols), sv = ws.f64(Math.min(rows, cols));
    expect(bandAfter(ws, ws.k.newtonSchulzScratchFloats(rows, cols), (s) => ws.k.newtonSchulz(out, w, rows, cols, 5, s))).toEqual(untouched);
    // spectralScratchDoubles counts f64 slots: twice as many floats.
    expect(bandAfter(ws, 2 * ws.k.spectralScratchDoubles(rows, cols), (s) => { ws.k.singularValues(sv, w, rows, cols, s); })).toEqual(untouched);
  });

  it('rmsnormBackward (dim floats) and attentionBackward (key-count floats)', () => {
    const ws = new Workspace();
    const r = seeded(7);
    const rows = 5, dim = 18, heads = 3, hd = 6, tq = 3, tk = 3, b = 2;
    const x = ws.f32(randomArray(rows * dim, r)), g = ws.f32(randomArray(dim, r)), y = ws.f32(rows * dim), norms = ws.f32(rows);
    ws.k.rmsnormForward(y, norms, x, g, rows, dim);
    const dy = ws.f32(randomArray(rows * dim, r)), dx = ws.f32(rows * dim), dg = ws.f32(dim);
    expect(bandAfter(ws, dim, (s) => ws.k.rmsnormBackward(dx, dg, dy, x, g, norms, rows, dim, s))).toEqual(untouched);
    const n = b * tq * heads * hd;
    const q = ws.f32(randomArray(n, r)), k = ws.f32(randomArray(b * tk * heads * hd, r)), v = ws.f32(randomArray(b * tk * heads * hd, r));
    const out = ws.f32(n), probs = ws.f32(b * heads * tq * tk);
    ws.k.attentionForward(out, probs, q, k, v, b, tq, tk, heads, hd);
    const dout = ws.f32(randomArray(n, r)), dq = ws.f32(n), dk = ws.f32(b * tk * heads * hd), dv = ws.f32(b * tk * heads * hd);
    expect(bandAfter(ws, tk, (s) => ws.k.attentionBackward(dq, dk, dv, dout, probs, q, k, v, b, tq, tk, heads, hd, s))).toEqual(untouched);
  });
});
