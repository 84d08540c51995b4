// Multi-head attention core with no mask: softmax(q k^T * scale) v per head. Because nothing is
// masked, a query's position is irrelevant, so the caller may pass only the queries it needs
// (tq of them, e.g. just the last position) against all tk keys.
// Layouts: q [b, tq, heads*hd], k and v [b, tk, heads*hd], out [b, tq, heads*hd],
// probs [b, heads, tq, tk]. QK-norm is the caller's RMSNorm, applied before this kernel.

/** out = attention(q, k, v); probs keeps the softmax for the backward. */
export function attentionForward(out: usize, probs: usize, q: usize, k: usize, v: usize,
  b: i32, tq: i32, tk: i32, heads: i32, hd: i32): void {
  const dim = heads * hd;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  for (let n = 0; n < b; n++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < tq; i++) {
        const qi = q + ((<usize>((n * tq + i) * dim + h * hd)) << 2);
        const pr = probs + ((<usize>(((n * heads + h) * tq + i) * tk)) << 2);
        // Scores are rounded as (q . k) * scale, the reference's order.
        let peak = -Infinity as f32;
        for (let j = 0; j < tk; j++) {
          const kj = k + ((<usize>((n * tk + j) * dim + h * hd)) << 2);
          let s: f32 = 0;
          for (let d = 0; d < hd; d++) s += load<f32>(qi + ((<usize>d) << 2)) * load<f32>(kj + ((<usize>d) << 2));
          s *= scale;
          store<f32>(pr + ((<usize>j) << 2), s);
          peak = max(peak, s);
        }
        let total: f32 = 0;
        for (let j = 0; j < tk; j++) {
          const e = Mathf.exp(load<f32>(pr + ((<usize>j) << 2)) - peak);
          store<f32>(pr + ((<usize>j) << 2), e);
          total += e;
        }
        for (let j = 0; j < tk; j++) store<f32>(pr + ((<usize>j) << 2), load<f32>(pr + ((<usize>j) << 2)) / total);
        const oi = out + ((<usize>((n * tq + i) * dim + h * hd)) << 2);
        for (let d = 0; d < hd; d++) {
          let acc: f32 = 0;
          for (let j = 0; j < tk; j++) {
            acc += load<f32>(pr + ((<usize>j) << 2)) * load<f32>(v + ((<usize>((n * tk + j) * dim + h * hd + d)) << 2));
          }
          store<f32>(oi + ((<usize>d) << 2), acc);
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
        const row = (n * tq + i) * dim + h * hd;
        const qi = q + ((<usize>row) << 2);
        const dqi = dq + ((<usize>row) << 2);
        const doi = dout + ((<usize>row) << 2);
        const pr = probs + ((<usize>(((n * heads + h) * tq + i) * tk)) << 2);
        // dp_j = dout_i . v_j ; dv_j += p_j dout_i
        let pdp: f32 = 0;
        for (let j = 0; j < tk; j++) {
          const off = (<usize>((n * tk + j) * dim + h * hd)) << 2;
          const p = load<f32>(pr + ((<usize>j) << 2));
          let dp: f32 = 0;
          for (let d = 0; d < hd; d++) {
            const g = load<f32>(doi + ((<usize>d) << 2));
            dp += g * load<f32>(v + off + ((<usize>d) << 2));
            store<f32>(dv + off + ((<usize>d) << 2), load<f32>(dv + off + ((<usize>d) << 2)) + p * g);
          }
          store<f32>(dscratch + ((<usize>j) << 2), dp);
          pdp += p * dp;
        }
        // softmax backward, then the scaled score's gradient into q and k
        for (let j = 0; j < tk; j++) {
          const off = (<usize>((n * tk + j) * dim + h * hd)) << 2;
          const p = load<f32>(pr + ((<usize>j) << 2));
          const ds = p * (load<f32>(dscratch + ((<usize>j) << 2)) - pdp) * scale;
          for (let d = 0; d < hd; d++) {
            const dd = (<usize>d) << 2;
            store<f32>(dqi + dd, load<f32>(dqi + dd) + ds * load<f32>(k + off + dd));
            store<f32>(dk + off + dd, load<f32>(dk + off + dd) + ds * load<f32>(qi + dd));
          }
        }
      }
    }
  }
}
