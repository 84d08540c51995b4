import { describe, expect, it } from 'vitest';
import { singularValues } from '../src/node/index.js';
import { seeded } from './helpers.js';
import { Workspace } from './kernel_harness.js';
import { withSingularValues } from './linalg_helpers.js';

describe('singular values and ranks', () => {
  const rand = seeded(91);
  it.each([[1, 1], [4, 4], [7, 5], [5, 7], [13, 13], [30, 18], [64, 64], [128, 128]])('recovers known singular values (%i x %i)', (rows, cols) => {
    const n = Math.min(rows, cols);
    // A spread of 6 decades, as a trained LRD weight has.
    const s = Array.from({ length: n }, (_, i) => 10 ** (-6 * i / Math.max(n - 1, 1)) * 3);
    const sv = singularValues(withSingularValues(rows, cols, s, rand), rows, cols);
    expect(sv.length).toBe(n);
    for (let i = 0; i < n; i++) expect(Math.abs(sv[i] - s[i])).toBeLessThan(1e-5 * s[0]);
    for (let i = 1; i < n; i++) expect(sv[i]).toBeLessThanOrEqual(sv[i - 1]);
  });

  it('handles rank deficiency and zero', () => {
    const sv = singularValues(withSingularValues(6, 6, [2, 1, 0, 0, 0, 0], rand), 6, 6);
    expect(sv[0]).toBeCloseTo(2, 5);
    expect(sv[1]).toBeCloseTo(1, 5);
    for (let i = 2; i < 6; i++) expect(sv[i]).toBeLessThan(1e-6);
    expect(Array.from(singularValues(new Float32Array(12), 3, 4))).toEqual([0, 0, 0]);
  });

  it('stable rank is sum(s^2)/s_max^2 and effective rank exp(H(s / sum s))', () => {
    const ws = new Workspace();
    const s = [4, 2, 1, 0.5, 0];
    const ptr = ws.f64(s.length);
    new Float64Array(ws.k.memory.buffer, ptr, s.length).set(s);
    expect(ws.k.stableRankOf(ptr, s.length)).toBeCloseTo((16 + 4 + 1 + 0.25) / 16, 14);
    const p = s.map((x) => x / 7.5).filter((x) => x > 0);
    expect(ws.k.effectiveRankOf(ptr, s.length)).toBeCloseTo(Math.exp(-p.reduce((h, x) => h + x * Math.log(x), 0)), 12);
    // Equal singular values: both ranks are the count.
    new Float64Array(ws.k.memory.buffer, ptr, 4).set([3, 3, 3, 3]);
    expect(ws.k.stableRankOf(ptr, 4)).toBeCloseTo(4, 12);
    expect(ws.k.effectiveRankOf(ptr, 4)).toBeCloseTo(4, 12);
  });

  // A product of random rank-r factors rounded to f32: a cluster of Gram eigenvalues near zero on
  // which the neighbour-relative deflation test alone never passes (as LRD and prox leave weights).
  it.each([[64, 20], [128, 10], [128, 40]])('converges on a %i x %i weight of rank %i, its tail near zero', (n, r) => {
    const rand = seeded(31);
    const a = Array.from({ length: n * r }, () => rand() - 0.5), b = Array.from({ length: n * r }, () => rand() - 0.5);
    const w = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let x = 0; for (let t = 0; t < r; t++) x += a[i * r + t] * b[t * n + j]; w[i * n + j] = x; }
    const sv = singularValues(w, n, n);
    expect(sv[r - 1] / sv[0]).toBeGreaterThan(1e-3);
    expect(sv[r] / sv[0]).toBeLessThan(1e-5);
  });
});
