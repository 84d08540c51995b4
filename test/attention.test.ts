import { describe, expect, it } from 'vitest';
import { randomArray, relErr, seeded } from './helpers.js';
import { Workspace, checkGradients } from './kernel_harness.js';

// softmax(q k^T / sqrt(hd)) v per example and head, no mask, in float64.
function reference(q: Float64Array, k: Float64Array, v: Float64Array, b: number, tq: number, tk: number, heads: number, hd: number): Float64Array {
  const dim = heads * hd;
  const out = new Float64Array(b * tq * dim);
  for (let n = 0; n < b; n++) for (let h = 0; h < heads; h++) for (let i = 0; i < tq; i++) {
    const s = new Float64Array(tk);
    for (let j = 0; j < tk; j++) {
      for (let d = 0; d < hd; d++) s[j] += q[(n * tq + i) * dim + h * hd + d] * k[(n * tk + j) * dim + h * hd + d];
      s[j] /= Math.sqrt(hd);
    }
    const peak = Math.max(...s);
    const e = s.map((x) => Math.exp(x - peak));
    const total = e.reduce((a, c) => a + c, 0);
    for (let d = 0; d < hd; d++) {
      let acc = 0;
      for (let j = 0; j < tk; j++) acc += (e[j] / total) * v[(n * tk + j) * dim + h * hd + d];
      out[(n * tq + i) * dim + h * hd + d] = acc;
    }
  }
  return out;
}

describe('attention', () => {
  const rand = seeded(31);
  // (b, tq, tk, heads, hd): full sequences, last-query-only, odd head sizes.
  const CASES: [number, number, number, number, number][] = [[2, 3, 3, 4, 8], [3, 1, 3, 2, 5], [1, 5, 5, 3, 7], [4, 2, 3, 1, 1]];
  it.each(CASES)('forward matches the f64 reference (b %i, tq %i, tk %i, heads %i, hd %i)', (b, tq, tk, heads, hd) => {
    const ws = new Workspace();
    const dim = heads * hd;
    const q = randomArray(b * tq * dim, rand, 2), k = randomArray(b * tk * dim, rand, 2), v = randomArray(b * tk * dim, rand);
    const out = ws.f32(b * tq * dim), probs = ws.f32(b * heads * tq * tk);
    ws.k.attentionForward(out, probs, ws.f32(q), ws.f32(k), ws.f32(v), b, tq, tk, heads, hd);
    const ref = reference(Float64Array.from(q), Float64Array.from(k), Float64Array.from(v), b, tq, tk, heads, hd);
    expect(relErr(ws.read(out, b * tq * dim), ref)).toBeLessThan(1e-6);
  });

  it.each(CASES)('backward matches finite differences (b %i, tq %i, tk %i, heads %i, hd %i)', (b, tq, tk, heads, hd) => {
    const ws = new Workspace();
    const dim = heads * hd;
    const q = randomArray(b * tq * dim, rand, 2), k = randomArray(b * tk * dim, rand, 2), v = randomArray(b * tk * dim, rand);
    checkGradients([q, k, v], ([qs, ks, vs]) => reference(qs, ks, vs, b, tq, tk, heads, hd), (dy) => {
      const pq = ws.f32(q), pk = ws.f32(k), pv = ws.f32(v), out = ws.f32(b * tq * dim), probs = ws.f32(b * heads * tq * tk);
      ws.k.attentionForward(out, probs, pq, pk, pv, b, tq, tk, heads, hd);
      const dq = ws.f32(q.length), dk = ws.f32(k.length), dv = ws.f32(v.length);
      ws.k.attentionBackward(dq, dk, dv, ws.f32(dy), probs, pq, pk, pv, b, tq, tk, heads, hd, ws.f32(tk));
      return [ws.read(dq, q.length), ws.read(dk, k.length), ws.read(dv, v.length)];
    }, rand);
  });
});
