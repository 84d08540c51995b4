import { addInto } from './vector';

// Token + position embedding, and the row gather / scatter-add that let the model compute
// per-(position, token) work once and share it across the batch.

/** out[rows x dim] = emb[tokens[r]] + pos[positions[r]] (tokens, positions: i32[rows]). */
export function embeddingForward(out: usize, tokens: usize, positions: usize, emb: usize, pos: usize, rows: i32, dim: i32): void {
  for (let r = 0; r < rows; r++) {
    const e = emb + ((<usize>load<i32>(tokens + ((<usize>r) << 2)) * dim) << 2);
    const p = pos + ((<usize>load<i32>(positions + ((<usize>r) << 2)) * dim) << 2);
    const o = out + ((<usize>r * dim) << 2);
    let i = 0;
    for (; i + 4 <= dim; i += 4) {
      const off = (<usize>i) << 2;
      v128.store(o + off, f32x4.add(v128.load(e + off), v128.load(p + off)));
    }
    for (; i < dim; i++) {
      const off = (<usize>i) << 2;
      store<f32>(o + off, load<f32>(e + off) + load<f32>(p + off));
    }
  }
}

/** demb[tokens[r]] += dout[r]; dpos[positions[r]] += dout[r], rows taken in order. */
export function embeddingBackward(demb: usize, dpos: usize, dout: usize, tokens: usize, positions: usize, rows: i32, dim: i32): void {
  scatterAddRows(demb, dout, tokens, rows, dim);
  scatterAddRows(dpos, dout, positions, rows, dim);
}

/** out[r] = src[index[r]] for r < rows; rows of dim floats. */
export function gatherRows(out: usize, src: usize, index: usize, rows: i32, dim: i32): void {
  const bytes = (<usize>dim) << 2;
  for (let r = 0; r < rows; r++) {
    memory.copy(out + <usize>r * bytes, src + <usize>load<i32>(index + ((<usize>r) << 2)) * bytes, bytes);
  }
}

/** dst[index[r]] += src[r] for r < rows, in ascending r so the sums are reproducible. */
export function scatterAddRows(dst: usize, src: usize, index: usize, rows: i32, dim: i32): void {
  for (let r = 0; r < rows; r++) {
    addInto(dst + ((<usize>load<i32>(index + ((<usize>r) << 2)) * dim) << 2), src + ((<usize>r * dim) << 2), dim);
  }
}
