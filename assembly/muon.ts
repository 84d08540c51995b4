// Muon's quintic Newton-Schulz orthogonalisation of an update, in f32 (Jordan et al. 2024): the
// coefficients (3.4445, -4.7750, 2.0315) push every singular value of the normalised update
// quickly into roughly [0.7, 1.2] rather than converging exactly, which is all Muon needs.
// The products go through matmul.ts, so each is bit-identical to the scalar triple loop.
import { matmulForward, matmulBackwardInput, matmulScratchFloats } from './matmul';

const A: f32 = 3.4445;
const B: f32 = -4.775;
const C: f32 = 2.0315;

// Floats rounded up to a multiple of 4, so every buffer after an aligned one stays 16-byte aligned.
// @ts-ignore: decorator
@inline
function padded(n: i32): i32 { return (n + 3) & ~3; }

/** Floats of scratch muonOrthogonalize needs for rows x cols. */
export function muonScratchFloats(rows: i32, cols: i32): i32 {
  const r = min(rows, cols);
  const c = max(rows, cols);
  // X and B X (r x c), A and A A (r x r), then the matmul scratch for X X^T, A A and B X; +4 to align.
  const mm = max(matmulScratchFloats(c, r), max(matmulScratchFloats(r, r), matmulScratchFloats(r, c)));
  return 2 * padded(r * c) + 2 * padded(r * r) + mm + 4;
}

/**
 * out[rows x cols] = Muon's orthogonalised update of u[rows x cols]: X = u / (||u||_F + 1e-7)
 * (transposed when rows > cols, so X is short and wide), then `iters` times A = X X^T,
 * B = b A + c (A A), X <- a X + B X; transposed back. scratch: muonScratchFloats(rows, cols).
 */
export function muonOrthogonalize(out: usize, u: usize, rows: i32, cols: i32, iters: i32, scratch: usize): void {
  const flip = rows > cols;
  const r = flip ? cols : rows;
  const c = flip ? rows : cols;
  const size = r * c;
  const x = (scratch + 15) & ~(<usize>15);
  const bx = x + ((<usize>padded(size)) << 2);
  const a = bx + ((<usize>padded(size)) << 2);
  const aa = a + ((<usize>padded(r * r)) << 2);
  const mm = aa + ((<usize>padded(r * r)) << 2);

  // Frobenius norm accumulated in f64 in index order, rounded to f32 before the epsilon is added.
  let sq: f64 = 0;
  for (let i = 0; i < size; i++) {
    const v = <f64>load<f32>(u + ((<usize>i) << 2));
    sq += v * v;
  }
  const denom = <f32>Math.sqrt(sq) + <f32>1e-7;
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      const src = flip ? j * cols + i : i * cols + j;
      store<f32>(x + ((<usize>(i * c + j)) << 2), load<f32>(u + ((<usize>src) << 2)) / denom);
    }
  }
  for (let t = 0; t < iters; t++) {
    matmulForward(a, x, x, r, c, r, false, mm); // A = X X^T  [r x r]
    matmulBackwardInput(aa, a, a, r, r, r, false, mm); // A A  [r x r]
    for (let i = 0; i < r * r; i++) {
      const off = (<usize>i) << 2;
      store<f32>(aa + off, B * load<f32>(a + off) + C * load<f32>(aa + off)); // B = b A + c (A A)
    }
    matmulBackwardInput(bx, aa, x, r, c, r, false, mm); // B X  [r x c]
    for (let i = 0; i < size; i++) {
      const off = (<usize>i) << 2;
      store<f32>(x + off, A * load<f32>(x + off) + load<f32>(bx + off));
    }
  }
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      const dst = flip ? j * cols + i : i * cols + j;
      store<f32>(out + ((<usize>dst) << 2), load<f32>(x + ((<usize>(i * c + j)) << 2)));
    }
  }
}
