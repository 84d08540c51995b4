// Cubic Newton-Schulz iteration towards the polar factor U V^T, as the reference computes it,
// and the Low-Rank Decay update built on it (W <- W - rate * U V^T, a nuclear-norm subgradient).
import { matmulBackwardInput, matmulBackwardWeight, matmulScratchFloats } from './matmul';

/** Floats of scratch newtonSchulz needs for a rows x cols matrix. */
export function newtonSchulzScratchFloats(rows: i32, cols: i32): i32 {
  const r = min(rows, cols);
  const c = max(rows, cols);
  // Y, 0.5*Y, the next Y (r x c), Y^T Y and 3I - Y^T Y (c x c), then the matmul scratch.
  return 3 * r * c + 2 * c * c + max(matmulScratchFloats(r, c), matmulScratchFloats(c, c)) + 4;
}

/**
 * out[rows x cols] = Newton-Schulz polar factor of w[rows x cols] after `iters` steps:
 * X = W / (||W||_F + 1e-8) (W transposed first when rows > cols), Y = X, then
 * Y <- (0.5 Y)(3I - Y^T Y) `iters` times, transposed back.
 */
export function newtonSchulz(out: usize, w: usize, rows: i32, cols: i32, iters: i32, scratch: usize): void {
  const flip = rows > cols;
  const r = flip ? cols : rows;
  const c = flip ? rows : cols;
  const size = r * c;
  let y = (scratch + 15) & ~(<usize>15);
  const half = y + ((<usize>size) << 2);
  let next = half + ((<usize>size) << 2);
  const gram = next + ((<usize>size) << 2);
  const h = gram + ((<usize>c * c) << 2);
  const mm = h + ((<usize>c * c) << 2);

  // Frobenius norm accumulated in f64, as PyTorch's CPU reduction does for float32.
  let sq: f64 = 0;
  for (let i = 0; i < size; i++) {
    const x = <f64>load<f32>(w + ((<usize>i) << 2));
    sq += x * x;
  }
  const denom = <f32>Math.sqrt(sq) + <f32>1e-8;
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      const src = flip ? j * cols + i : i * cols + j;
      store<f32>(y + ((<usize>(i * c + j)) << 2), load<f32>(w + ((<usize>src) << 2)) / denom);
    }
  }
  for (let t = 0; t < iters; t++) {
    matmulBackwardWeight(gram, y, y, r, c, c, false, mm); // Y^T Y  [c x c]
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < c; j++) {
        const off = (<usize>(i * c + j)) << 2;
        store<f32>(h + off, (i == j ? <f32>3 : <f32>0) - load<f32>(gram + off));
      }
    }
    for (let i = 0; i < size; i++) store<f32>(half + ((<usize>i) << 2), <f32>0.5 * load<f32>(y + ((<usize>i) << 2)));
    matmulBackwardInput(next, half, h, r, c, c, false, mm); // (0.5 Y)(3I - Y^T Y)  [r x c]
    const swap = y; y = next; next = swap;
  }
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      const dst = flip ? j * cols + i : i * cols + j;
      store<f32>(out + ((<usize>dst) << 2), load<f32>(y + ((<usize>(i * c + j)) << 2)));
    }
  }
}

/** w[rows x cols] -= rate * newtonSchulz(w); polar holds rows*cols floats for the factor. */
export function lowRankDecay(w: usize, rows: i32, cols: i32, rate: f64, iters: i32, polar: usize, scratch: usize): void {
  newtonSchulz(polar, w, rows, cols, iters, scratch);
  const r = <f32>rate;
  const n = rows * cols;
  for (let i = 0; i < n; i++) {
    const off = (<usize>i) << 2;
    store<f32>(w + off, load<f32>(w + off) - r * load<f32>(polar + off));
  }
}
