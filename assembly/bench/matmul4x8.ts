// Bench only (npm run bench -- --blocks): the product kernel as it was with a 4 x 8 register
// block and 8-column panels, kept to measure the 2 x 16 block of assembly/matmul.ts against it
// back to back. Same loop nest and same bits; not part of the trainer's module.

// 4 rows x 8 columns per register block = 8 f32x4 accumulators. V8 exposes 15 vector registers
// on x64; 5 x 8, 3 x 12 or a k loop unrolled by two spill and lose a third to a half of the
// speed (measured). assembly/matmul.ts now uses 2 x 16.
const ROWS: i32 = 4;
const COLS: i32 = 8;

// The cache blocks around the register block (the Goto/BLIS loop nest), sized for the smallest
// caches in use (32 KB L1, 256 KB L2) so that no core's cache sizes need to be known:
// - KC k-steps per pass: one packed A strip (4 x KC, 4 KB) and one packed B panel (KC x 8, 8 KB)
//   live in L1 while the core runs;
// - NC output columns per packed B block: the slice one pass reads (KC x NC, 128 KB) stays in
//   L2 while every 4-row strip of an MC block walks it;
// - MC output rows per block: the running sums parked between passes (MC x NC, 64 KB).
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 128;

/** Floats of scratch for a product summing over `k` into `n` output columns. */
export function matmulScratchFloats(k: i32, n: i32): i32 {
  const columns = ((min(n, NC) + COLS - 1) / COLS) * COLS;
  const parked = k > KC ? MC * columns : 0;
  return columns * k + parked + ROWS * min(k, KC) + ROWS * COLS;
}

// Packs B(k, j) = b[k*bk + j*bj] into panels of 8 columns: panel p, step kk holds
// B(kk, 8p .. 8p+7) contiguously, zero-padded past n, so the core reads 32 bytes per k-step.
function packB(dst: usize, b: usize, k: i32, n: i32, bk: i32, bj: i32): void {
  const panels = (n + COLS - 1) / COLS;
  for (let p = 0; p < panels; p++) {
    const j0 = p * COLS;
    const width = min(COLS, n - j0);
    let out = dst + ((<usize>p * COLS * k) << 2);
    if (bj == 1 && width == COLS) {
      let src = b + ((<usize>j0) << 2);
      for (let kk = 0; kk < k; kk++) {
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
        src += (<usize>bk) << 2;
        out += 32;
      }
    } else {
      for (let kk = 0; kk < k; kk++) {
        for (let c = 0; c < COLS; c++) {
          store<f32>(out + (<usize>c << 2), c < width ? load<f32>(b + ((<usize>(kk * bk + (j0 + c) * bj)) << 2)) : 0);
        }
        out += 32;
      }
    }
  }
}

// Packs rows i0..i0+3 of A(i, k) = a[i*ai + k*ak] interleaved by k (4 floats per k-step),
// zero-padded past m, so the core broadcasts them with load32_splat at constant offsets.
function packA(dst: usize, a: usize, i0: i32, m: i32, k: i32, ai: i32, ak: i32): void {
  const height = min(ROWS, m - i0);
  if (ai == 1 && height == ROWS) {
    let src = a + ((<usize>i0) << 2);
    for (let kk = 0; kk < k; kk++) {
      v128.store(dst + ((<usize>kk) << 4), v128.load(src));
      src += (<usize>ak) << 2;
    }
    return;
  }
  if (ak == 1 && height == ROWS) {
    // Rows are contiguous in k: transpose 4 x 4 blocks in registers instead of 16 scalar moves.
    const r0 = a + ((<usize>(i0 * ai)) << 2);
    const stride = (<usize>ai) << 2;
    let kk = 0;
    for (; kk + 4 <= k; kk += 4) {
      const off = (<usize>kk) << 2;
      const x0 = v128.load(r0 + off), x1 = v128.load(r0 + stride + off);
      const x2 = v128.load(r0 + 2 * stride + off), x3 = v128.load(r0 + 3 * stride + off);
      const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
      const out = dst + ((<usize>kk) << 4);
      v128.store(out, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
      v128.store(out, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
      v128.store(out, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
      v128.store(out, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
    }
    for (; kk < k; kk++) {
      const out = dst + ((<usize>kk) << 4);
      const off = (<usize>kk) << 2;
      for (let r = 0; r < ROWS; r++) store<f32>(out + ((<usize>r) << 2), load<f32>(r0 + <usize>r * stride + off));
    }
    return;
  }
  for (let r = 0; r < ROWS; r++) {
    let out = dst + ((<usize>r) << 2);
    if (r < height) {
      let src = a + ((<usize>((i0 + r) * ai)) << 2);
      const step = (<usize>ak) << 2;
      for (let kk = 0; kk < k; kk++) {
        store<f32>(out, load<f32>(src));
        src += step;
        out += 16;
      }
    } else {
      for (let kk = 0; kk < k; kk++) {
        store<f32>(out, 0);
        out += 16;
      }
    }
  }
}

// C block (ldc floats per row) <- acc, or C += acc.
// @ts-ignore: decorator
@inline
function storeRow(dst: usize, lo: v128, hi: v128, accumulate: bool): void {
  if (accumulate) {
    v128.store(dst, f32x4.add(v128.load(dst), lo));
    v128.store(dst, f32x4.add(v128.load(dst, 16), hi), 16);
  } else {
    v128.store(dst, lo);
    v128.store(dst, hi, 16);
  }
}

// One 4 x 8 block over k steps of packed A (ap) and B (bp). Inlined into gemm: as a call (twelve
// arguments, gemm's loop state saved around it) it cost 14-17% of the whole product's time.
// The sums start at zero on the first pass over k, else from the 32 floats parked at `park`;
// they are parked there again unless this is the last pass, which writes them to C. Partial blocks go through `tile` so only the valid
// height x width corner of C is touched.
// @ts-ignore: decorator
@inline
function core(c: usize, ldc: i32, ap: usize, bp: usize, k: i32, height: i32, width: i32, accumulate: bool,
  first: bool, last: bool, park: usize, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (!first) {
    c00 = v128.load(park); c01 = v128.load(park, 16);
    c10 = v128.load(park, 32); c11 = v128.load(park, 48);
    c20 = v128.load(park, 64); c21 = v128.load(park, 80);
    c30 = v128.load(park, 96); c31 = v128.load(park, 112);
  }
  for (let kk = 0; kk < k; kk++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    bp += 32;
  }
  const row = (<usize>ldc) << 2;
  if (last && height == ROWS && width == COLS) {
    storeRow(c, c00, c01, accumulate);
    storeRow(c + row, c10, c11, accumulate);
    storeRow(c + 2 * row, c20, c21, accumulate);
    storeRow(c + 3 * row, c30, c31, accumulate);
    return;
  }
  const t = last ? tile : park;
  v128.store(t, c00); v128.store(t, c01, 16);
  v128.store(t, c10, 32); v128.store(t, c11, 48);
  v128.store(t, c20, 64); v128.store(t, c21, 80);
  v128.store(t, c30, 96); v128.store(t, c31, 112);
  if (!last) return;
  for (let r = 0; r < height; r++) {
    for (let j = 0; j < width; j++) {
      const dst = c + <usize>r * row + ((<usize>j) << 2);
      const v = load<f32>(tile + ((<usize>(r * COLS + j)) << 2));
      store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
    }
  }
}

// Rows r0..r1 and columns c0..c1 of C[m x n] (+)= A * B, with A(i,k) = a[i*ai + k*ak] and
// B(k,j) = b[k*bk + j*bj]; C row-major. r0 is a multiple of ROWS and c0 of COLS, so any split of
// C into such ranges computes every element exactly as the whole product does (threads split here).
function gemm(c: usize, a: usize, b: usize, m: i32, k: i32, n: i32,
  ai: i32, ak: i32, bk: i32, bj: i32, accumulate: bool, scratch: usize,
  r0: i32, r1: i32, c0: i32, c1: i32): void {
  r1 = min(r1, m);
  c1 = min(c1, n);
  if (r0 < 0 || c0 < 0 || r1 <= r0 || c1 <= c0) return;
  if (k <= 0) {
    if (!accumulate) {
      for (let i = r0; i < r1; i++) memory.fill(c + ((<usize>i * n + c0) << 2), 0, (<usize>(c1 - c0)) << 2);
    }
    return;
  }
  // Scratch as matmulScratchFloats lays it out: packed B block, parked sums, A strip, edge tile.
  const columns = ((min(c1 - c0, NC) + COLS - 1) / COLS) * COLS;
  const packedB = scratch;
  const parked = packedB + ((<usize>columns * k) << 2);
  const packedA = parked + (k > KC ? (<usize>MC * columns) << 2 : 0);
  const tile = packedA + ((<usize>ROWS * min(k, KC)) << 2);
  for (let jc = c0; jc < c1; jc += NC) {
    const nb = min(NC, c1 - jc);
    const panels = (nb + COLS - 1) / COLS;
    packB(packedB, b + ((<usize>jc * bj) << 2), k, nb, bk, bj);
    for (let ic = r0; ic < r1; ic += MC) {
      const icEnd = min(ic + MC, r1);
      for (let pc = 0; pc < k; pc += KC) {
        const kb = min(KC, k - pc);
        const first = pc == 0, last = pc + kb == k;
        for (let i0 = ic; i0 < icEnd; i0 += ROWS) {
          packA(packedA, a + ((<usize>pc * ak) << 2), i0, icEnd, kb, ai, ak);
          const height = min(ROWS, icEnd - i0);
          const crow = c + ((<usize>i0 * n + jc) << 2);
          const park = parked + ((<usize>(i0 - ic) * columns) << 2);
          for (let p = 0; p < panels; p++) {
            const j0 = p * COLS;
            core(crow + ((<usize>j0) << 2), n, packedA, packedB + ((<usize>(j0 * k + pc * COLS)) << 2), kb,
              height, min(COLS, nb - j0), accumulate, first, last, park + ((<usize>j0 * ROWS) << 2), tile);
          }
        }
      }
    }
  }
}

const ALL: i32 = 0x7fffffff;

// The three layouts are one gemm with the strides of their operands; rows and columns of the output.
function product(layout: i32, out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, accumulate: bool,
  scratch: usize, r0: i32, r1: i32, c0: i32, c1: i32): void {
  if (layout == 0) gemm(out, a, b, m, k, n, k, 1, 1, k, accumulate, scratch, r0, r1, c0, c1);
  else if (layout == 1) gemm(out, a, b, m, n, k, n, 1, k, 1, accumulate, scratch, r0, r1, c0, c1);
  else gemm(out, a, b, n, m, k, 1, n, k, 1, accumulate, scratch, r0, r1, c0, c1);
}

/** Forward of a linear layer. out[m x n] (+)= x[m x k] * w[n x k]^T (w is PyTorch's out x in). */
export function matmulForward(out: usize, x: usize, w: usize, m: i32, k: i32, n: i32, accumulate: bool, scratch: usize): void {
  product(0, out, x, w, m, k, n, accumulate, scratch, 0, ALL, 0, ALL);
}

/** Input gradient of a linear layer. dx[m x k] (+)= dy[m x n] * w[n x k]. */
export function matmulBackwardInput(dx: usize, dy: usize, w: usize, m: i32, k: i32, n: i32, accumulate: bool, scratch: usize): void {
  product(1, dx, dy, w, m, k, n, accumulate, scratch, 0, ALL, 0, ALL);
}

/** Weight gradient of a linear layer. dw[n x k] (+)= dy[m x n]^T * x[m x k], summed over m in order. */
export function matmulBackwardWeight(dw: usize, dy: usize, x: usize, m: i32, k: i32, n: i32, accumulate: bool, scratch: usize): void {
  product(2, dw, dy, x, m, k, n, accumulate, scratch, 0, ALL, 0, ALL);
}
