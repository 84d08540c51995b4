// Packed f32x4 GEMM. One register-blocked core serves the three layouts training needs; the
// layouts differ only in the strides used while packing, so all three run at the same speed.
//
// Determinism contract: every output element is `C[i,j] (+)= sum_k A[i,k] * B[k,j]`, summed in
// ascending k with one f32 accumulator, multiply and add rounded separately (no FMA). The
// result is therefore bit-identical to the scalar triple loop, independent of tiling, and
// independent of how rows might later be split across threads. Blocking over k keeps that: a
// block's running sums are parked as f32 (exact) and picked up again by the next block, and in
// accumulate mode the old C is added once, to the complete sum, after the last block.
//
// Scratch: `scratch` must hold matmulScratchFloats(summed dim, output columns) floats, 16-byte
// aligned: (k, n) for matmulForward, (n, k) for matmulBackwardInput, (m, k) for matmulBackwardWeight.

// 2 rows x 16 columns per register block = 8 f32x4 accumulators. Per k-step it loads four
// vectors of B and broadcasts two floats of A (vbroadcastss), where 4 x 8 loads two and
// broadcasts four, and it needs one base register for A where V8 keeps four for 4 x 8. Same
// multiplies and adds in the same order, a few percent faster measured (README, Speed; the
// 4 x 8 kernel is kept in assembly/bench/ to measure it). V8 exposes 15 vector registers on
// x64; 5 x 8, 3 x 12 or a k loop unrolled by two spill and lose a third to a half of the speed.
const ROWS: i32 = 2;
const COLS: i32 = 16;

// The cache blocks around the register block (the Goto/BLIS loop nest), sized for the smallest
// caches in use (32 KB L1, 256 KB L2) so that no core's cache sizes need to be known:
// - KC k-steps per pass: one packed A strip (2 x KC, 2 KB) and one packed B panel (KC x 16,
//   16 KB) live in L1 while the core runs;
// - NC output columns per packed B block: the slice one pass reads (KC x NC, 128 KB) stays in
//   L2 while every 2-row strip of an MC block walks it;
// - MC output rows per block: the running sums parked between passes (MC x NC, 64 KB).
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 128;

/** The block sizes, for tests at their boundaries: 0 rows, 1 columns (register block), 2 KC, 3 MC, 4 NC. */
export function matmulBlockSize(which: i32): i32 {
  return which == 0 ? ROWS : which == 1 ? COLS : which == 2 ? KC : which == 3 ? MC : NC;
}

/** Floats of scratch for a product summing over `k` into `n` output columns. */
export function matmulScratchFloats(k: i32, n: i32): i32 {
  const columns = ((min(n, NC) + COLS - 1) / COLS) * COLS;
  const parked = k > KC ? MC * columns : 0;
  return columns * k + parked + MC * min(k, KC) + ROWS * COLS;
}

// Packs B(k, j) = b[k*bk + j*bj] into panels of 16 columns: panel p, step kk holds
// B(kk, 16p .. 16p+15) contiguously, zero-padded past n, so the core reads 64 bytes per k-step.
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
        v128.store(out, v128.load(src, 32), 32);
        v128.store(out, v128.load(src, 48), 48);
        src += (<usize>bk) << 2;
        out += 64;
      }
    } else {
      for (let kk = 0; kk < k; kk++) {
        for (let c = 0; c < COLS; c++) {
          store<f32>(out + (<usize>c << 2), c < width ? load<f32>(b + ((<usize>(kk * bk + (j0 + c) * bj)) << 2)) : 0);
        }
        out += 64;
      }
    }
  }
}

// Packs rows i0, i0+1 of A(i, k) = a[i*ai + k*ak] interleaved by k (2 floats per k-step),
// zero-padded past m, so the core broadcasts them with load32_splat at constant offsets.
function packA(dst: usize, a: usize, i0: i32, m: i32, k: i32, ai: i32, ak: i32): void {
  const height = min(ROWS, m - i0);
  if (ai == 1 && height == ROWS) {
    // The two rows sit side by side: one 8-byte move per k-step.
    let src = a + ((<usize>i0) << 2);
    for (let kk = 0; kk < k; kk++) {
      store<u64>(dst + ((<usize>kk) << 3), load<u64>(src));
      src += (<usize>ak) << 2;
    }
    return;
  }
  if (ak == 1 && height == ROWS) {
    // Rows are contiguous in k: interleave four k-steps of both rows in registers.
    const r0 = a + ((<usize>(i0 * ai)) << 2);
    const r1 = r0 + ((<usize>ai) << 2);
    let kk = 0;
    for (; kk + 4 <= k; kk += 4) {
      const off = (<usize>kk) << 2;
      const x0 = v128.load(r0 + off), x1 = v128.load(r1 + off);
      const out = dst + ((<usize>kk) << 3);
      v128.store(out, v128.shuffle<f32>(x0, x1, 0, 4, 1, 5));
      v128.store(out, v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), 16);
    }
    for (; kk < k; kk++) {
      const out = dst + ((<usize>kk) << 3);
      const off = (<usize>kk) << 2;
      store<f32>(out, load<f32>(r0 + off));
      store<f32>(out, load<f32>(r1 + off), 4);
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
        out += ROWS << 2;
      }
    } else {
      for (let kk = 0; kk < k; kk++) {
        store<f32>(out, 0);
        out += ROWS << 2;
      }
    }
  }
}

// One row of a C block (16 floats) <- acc, or C += acc.
// @ts-ignore: decorator
@inline
function storeRow(dst: usize, x0: v128, x1: v128, x2: v128, x3: v128, accumulate: bool): void {
  if (accumulate) {
    v128.store(dst, f32x4.add(v128.load(dst), x0));
    v128.store(dst, f32x4.add(v128.load(dst, 16), x1), 16);
    v128.store(dst, f32x4.add(v128.load(dst, 32), x2), 32);
    v128.store(dst, f32x4.add(v128.load(dst, 48), x3), 48);
  } else {
    v128.store(dst, x0);
    v128.store(dst, x1, 16);
    v128.store(dst, x2, 32);
    v128.store(dst, x3, 48);
  }
}

// One 2 x 16 block over k steps of packed A (ap) and B (bp). Inlined into gemm: as a call
// (twelve arguments, gemm's loop state saved around it) it cost 14-17% of the whole product's
// time. The sums start at zero on the first pass over k, else from the 32 floats parked at
// `park`; they are parked there again unless this is the last pass, which writes them to C.
// Partial blocks go through `tile` so only the valid height x width corner of C is touched.
// @ts-ignore: decorator
@inline
function core(c: usize, ldc: i32, ap: usize, bp: usize, k: i32, height: i32, width: i32, accumulate: bool,
  first: bool, last: bool, park: usize, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  if (!first) {
    c00 = v128.load(park); c01 = v128.load(park, 16); c02 = v128.load(park, 32); c03 = v128.load(park, 48);
    c10 = v128.load(park, 64); c11 = v128.load(park, 80); c12 = v128.load(park, 96); c13 = v128.load(park, 112);
  }
  for (let kk = 0; kk < k; kk++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const b2 = v128.load(bp, 32);
    const b3 = v128.load(bp, 48);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    c02 = f32x4.add(c02, f32x4.mul(a, b2));
    c03 = f32x4.add(c03, f32x4.mul(a, b3));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    c12 = f32x4.add(c12, f32x4.mul(a, b2));
    c13 = f32x4.add(c13, f32x4.mul(a, b3));
    ap += 8;
    bp += 64;
  }
  const row = (<usize>ldc) << 2;
  if (last && height == ROWS && width == COLS) {
    storeRow(c, c00, c01, c02, c03, accumulate);
    storeRow(c + row, c10, c11, c12, c13, accumulate);
    return;
  }
  const t = last ? tile : park;
  v128.store(t, c00); v128.store(t, c01, 16); v128.store(t, c02, 32); v128.store(t, c03, 48);
  v128.store(t, c10, 64); v128.store(t, c11, 80); v128.store(t, c12, 96); v128.store(t, c13, 112);
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
  // Scratch as matmulScratchFloats lays it out: packed B block, parked sums, A block, edge tile.
  const columns = ((min(c1 - c0, NC) + COLS - 1) / COLS) * COLS;
  const packedB = scratch;
  const parked = packedB + ((<usize>columns * k) << 2);
  const packedA = parked + (k > KC ? (<usize>MC * columns) << 2 : 0);
  const tile = packedA + ((<usize>MC * min(k, KC)) << 2);
  for (let jc = c0; jc < c1; jc += NC) {
    const nb = min(NC, c1 - jc);
    const panels = (nb + COLS - 1) / COLS;
    packB(packedB, b + ((<usize>jc * bj) << 2), k, nb, bk, bj);
    for (let ic = r0; ic < r1; ic += MC) {
      const icEnd = min(ic + MC, r1);
      for (let pc = 0; pc < k; pc += KC) {
        const kb = min(KC, k - pc);
        const first = pc == 0, last = pc + kb == k;
        // Pack every 2-row strip of the MC x KC block of A (128 KB at most, in L2), then walk
        // it once per B panel: the panel (KC x 16, 16 KB) stays in L1 while the strips stream
        // past it, 8 bytes per k-step. Walking the panels per strip instead streams the whole
        // B slice from L2 for every strip, 64 bytes per k-step, and was slower (README, Speed).
        for (let i0 = ic; i0 < icEnd; i0 += ROWS) {
          packA(packedA + ((<usize>(i0 - ic) * kb) << 2), a + ((<usize>pc * ak) << 2), i0, icEnd, kb, ai, ak);
        }
        for (let p = 0; p < panels; p++) {
          const j0 = p * COLS;
          const width = min(COLS, nb - j0);
          const panel = packedB + ((<usize>(j0 * k + pc * COLS)) << 2);
          for (let i0 = ic; i0 < icEnd; i0 += ROWS) {
            core(c + ((<usize>i0 * n + jc + j0) << 2), n, packedA + ((<usize>(i0 - ic) * kb) << 2), panel, kb,
              min(ROWS, icEnd - i0), width, accumulate, first, last,
              parked + ((<usize>((i0 - ic) * columns + j0 * ROWS)) << 2), tile);
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

/**
 * One block of a product's output, for threads: rows rowStart..rowEnd and columns
 * colStart..colEnd of out (out is m x n for layout 0 = forward, m x k for 1 = inputGrad, n x k
 * for 2 = weightGrad); rowStart a multiple of 2 and colStart of 16 (the register block). Bit-identical to the same
 * block of the whole product. Scratch as for the whole product.
 */
export function matmulRange(layout: i32, out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, accumulate: bool,
  scratch: usize, rowStart: i32, rowEnd: i32, colStart: i32, colEnd: i32): void {
  if ((rowStart & (ROWS - 1)) != 0 || (colStart & (COLS - 1)) != 0) unreachable();
  product(layout, out, a, b, m, k, n, accumulate, scratch, rowStart, rowEnd, colStart, colEnd);
}
