// Multi-head attention core with no mask: softmax(q k^T * scale) v per head. Because nothing is
// masked, a query's position is irrelevant, so the caller may pass only the queries it needs
// (tq of them, e.g. just the last position) against all tk keys.
// Layouts: q [b, tq, heads*hd], k and v [b, tk, heads*hd], out [b, tq, heads*hd],
// probs [b, heads, tq, tk]. QK-norm is the caller's RMSNorm, applied before this kernel.
import { axpy, dot } from './vector';

// @ts-ignore: decorator
@inline
function row(base: usize, index: i32, dim: i32, column: i32): usize {
  return base + ((<usize>(index * dim + column)) << 2);
}

/** out = attention(q, k, v); probs keeps the softmax for the backward. */
export function attentionForward(out: usize, probs: usize, q: usize, k: usize, v: usize,
  b: i32, tq: i32, tk: i32, heads: i32, hd: i32): void {
  const dim = heads * hd;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  for (let n = 0; n < b; n++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < tq; i++) {
        const qi = row(q, n * tq + i, dim, h * hd);
        const pr = probs + ((<usize>(((n * heads + h) * tq + i) * tk)) << 2);
        // Scores are rounded as (q . k) * scale, the reference's order.
        let peak = -Infinity as f32;
        for (let j = 0; j < tk; j++) {
          const s = dot(qi, row(k, n * tk + j, dim, h * hd), hd) * scale;
          store<f32>(pr + ((<usize>j) << 2), s);
          peak = max(peak, s);
        }
        let total: f32 = 0;
        for (let j = 0; j < tk; j++) {
          const e = Mathf.exp(load<f32>(pr + ((<usize>j) << 2)) - peak);
          store<f32>(pr + ((<usize>j) << 2), e);
          total += e;
        }
        const oi = row(out, n * tq + i, dim, h * hd);
        memory.fill(oi, 0, (<usize>hd) << 2);
        for (let j = 0; j < tk; j++) {
          const p = load<f32>(pr + ((<usize>j) << 2)) / total;
          store<f32>(pr + ((<usize>j) << 2), p);
          axpy(oi, row(v, n * tk + j, dim, h * hd), p, hd);
        }
      }
    }
  }
}

/** dq, dk, dv += gradients of attention given dout and the saved probs. dscratch holds tk floats. */
export function attentionBackward(dq: usize, dk: usize, dv: usize, dout: usize, probs: usize,
  q: usize, k: usize, v: usize, b: i32, tq: i32, tk: i32, heads: i32, hd: i32, dscratch: usize): void {
  const dim = heads * hd;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  for (let n = 0; n < b; n++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < tq; i++) {
        const qi = row(q, n * tq + i, dim, h * hd);
        const dqi = row(dq, n * tq + i, dim, h * hd);
        const doi = row(dout, n * tq + i, dim, h * hd);
        const pr = probs + ((<usize>(((n * heads + h) * tq + i) * tk)) << 2);
        // dp_j = dout_i . v_j ; dv_j += p_j dout_i
        let pdp: f32 = 0;
        for (let j = 0; j < tk; j++) {
          const p = load<f32>(pr + ((<usize>j) << 2));
          const dp = dot(doi, row(v, n * tk + j, dim, h * hd), hd);
          axpy(row(dv, n * tk + j, dim, h * hd), doi, p, hd);
          store<f32>(dscratch + ((<usize>j) << 2), dp);
          pdp += p * dp;
        }
        // softmax backward, then the scaled score's gradient into q and k
        for (let j = 0; j < tk; j++) {
          const p = load<f32>(pr + ((<usize>j) << 2));
          const ds = p * (load<f32>(dscratch + ((<usize>j) << 2)) - pdp) * scale;
          axpy(dqi, row(k, n * tk + j, dim, h * hd), ds, hd);
          axpy(row(dk, n * tk + j, dim, h * hd), qi, ds, hd);
        }
      }
    }
  }
}
