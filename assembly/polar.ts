// The exact polar factor U V^T of a weight matrix and the nuclear-norm proximal step, both in
// f64 from the eigendecomposition of the smaller Gram matrix (eigen.ts). Both are a matrix
// function of the short side, M = sum_i f(sigma_i) z_i z_i^T over the Gram's eigenvectors z_i,
// applied to W from that side: W M when tall (z_i = right singular vectors), M W when wide or
// square (z_i = left singular vectors; gramOfShortSide takes W W^T for a square matrix). f(sigma) = 1/sigma gives U V^T; (sigma - rate)_+ / sigma
// gives U (S - rate)_+ V^T. Singular values at or below 1e-7 * sigma_1 count as zero: squaring
// leaves them only a few correct digits, and dividing by them would amplify rounding noise.

import { at, gramOfShortSide, tridiagonalize, reflectorsToRows, tridiagonalQL } from './eigen';

// Singular values at or below this fraction of the largest are treated as zero.
const RELATIVE_ZERO: f64 = 1e-7;

/** f64 scratch slots polarFactor, polarDecay and nuclearProx need for rows x cols. */
export function polarScratchDoubles(rows: i32, cols: i32): i32 {
  const n = min(rows, cols);
  // Gram (later M) and eigenvector rows (n x n each), d, e, one reflector, one f64 row; +1 to align.
  return 2 * n * n + 4 * n + 1;
}

// Scratch layout: a (Gram, then M) | zt | d | e | v | acc.
// Builds M[n x n] (in a) = sum_i f(sigma_i) z_i z_i^T for rate < 0 (polar: f = 1/sigma) or
// rate >= 0 (prox: f = max(sigma - rate, 0) / sigma). Returns false if QL did not converge.
function shortSideFunction(w: usize, rows: i32, cols: i32, rate: f64, scratch: usize): bool {
  const n = min(rows, cols);
  const a = (scratch + 7) & ~(<usize>7);
  const zt = a + ((<usize>n * n) << 3);
  const d = zt + ((<usize>n * n) << 3);
  const e = d + ((<usize>n) << 3);
  const v = e + ((<usize>n) << 3);
  gramOfShortSide(a, w, rows, cols);
  tridiagonalize(a, d, e, v, n);
  reflectorsToRows(zt, a, n);
  if (!tridiagonalQL(d, e, n, zt, true)) return false;
  // Descending order (selection sort: at most n row swaps), so M sums in one documented order.
  for (let i = 0; i < n - 1; i++) {
    let best = i;
    for (let j = i + 1; j < n; j++) if (load<f64>(at(d, j)) > load<f64>(at(d, best))) best = j;
    if (best == i) continue;
    const t = load<f64>(at(d, i));
    store<f64>(at(d, i), load<f64>(at(d, best)));
    store<f64>(at(d, best), t);
    for (let k = 0; k < n; k++) {
      const x = load<f64>(at(zt, i * n + k));
      store<f64>(at(zt, i * n + k), load<f64>(at(zt, best * n + k)));
      store<f64>(at(zt, best * n + k), x);
    }
  }
  // Rounding can leave tiny negative eigenvalues of a positive semidefinite matrix: zeros.
  const top = n > 0 ? Math.sqrt(max(load<f64>(d), 0)) : 0;
  const cut = RELATIVE_ZERO * top;
  for (let i = 0; i < n; i++) {
    const sigma = Math.sqrt(max(load<f64>(at(d, i)), 0));
    let f: f64 = 0;
    if (sigma > cut) f = rate < 0 ? 1 / sigma : max(sigma - rate, 0) / sigma;
    store<f64>(at(d, i), f); // d now holds f(sigma_i)
  }
  // M = sum_i f_i z_i z_i^T, each entry summed over i ascending, as outer products so rows of zt
  // are read contiguously; the upper triangle is mirrored, so M is exactly symmetric.
  for (let p = 0; p < n * n; p++) store<f64>(at(a, p), 0);
  for (let i = 0; i < n; i++) {
    const f = load<f64>(at(d, i));
    if (f == 0) continue;
    const z = at(zt, i * n);
    for (let p = 0; p < n; p++) {
      const c = f * load<f64>(at(z, p));
      const row = at(a, p * n);
      for (let q = p; q < n; q++) store<f64>(at(row, q), load<f64>(at(row, q)) + c * load<f64>(at(z, q)));
    }
  }
  for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) store<f64>(at(a, q * n + p), load<f64>(at(a, p * n + q)));
  return true;
}

// out[rows x cols] (f32) = W M (tall) or M W (wide or square), M the n x n matrix in scratch's a,
// summed over the short side in ascending order in f64 and rounded once. out may be w: each
// output row (tall) or column (wide) reads only the same row or column of W, kept in acc first.
function applyShortSide(out: usize, w: usize, rows: i32, cols: i32, scratch: usize): void {
  const n = min(rows, cols);
  const a = (scratch + 7) & ~(<usize>7);
  const acc = a + ((<usize>(2 * n * n + 3 * n)) << 3);
  if (rows > cols) {
    for (let r = 0; r < rows; r++) {
      const wr = w + ((<usize>r * cols) << 2);
      for (let j = 0; j < n; j++) store<f64>(at(acc, j), 0);
      for (let t = 0; t < n; t++) {
        const x = <f64>load<f32>(wr + ((<usize>t) << 2));
        const mt = at(a, t * n);
        for (let j = 0; j < n; j++) store<f64>(at(acc, j), load<f64>(at(acc, j)) + x * load<f64>(at(mt, j)));
      }
      const o = out + ((<usize>r * cols) << 2);
      for (let j = 0; j < n; j++) store<f32>(o + ((<usize>j) << 2), <f32>load<f64>(at(acc, j)));
    }
  } else {
    for (let c = 0; c < cols; c++) {
      for (let i = 0; i < n; i++) store<f64>(at(acc, i), 0);
      for (let t = 0; t < n; t++) {
        const x = <f64>load<f32>(w + ((<usize>(t * cols + c)) << 2));
        const mt = at(a, t * n); // row t of M = column t (M is symmetric)
        for (let i = 0; i < n; i++) store<f64>(at(acc, i), load<f64>(at(acc, i)) + load<f64>(at(mt, i)) * x);
      }
      for (let i = 0; i < n; i++) store<f32>(out + ((<usize>(i * cols + c)) << 2), <f32>load<f64>(at(acc, i)));
    }
  }
}

/**
 * out[rows x cols] (f32) = U V^T of w[rows x cols] over singular values above 1e-7 * sigma_1
 * (zero for a zero matrix). scratch: polarScratchDoubles(rows, cols) f64. false if QL failed.
 */
export function polarFactor(out: usize, w: usize, rows: i32, cols: i32, scratch: usize): bool {
  if (!shortSideFunction(w, rows, cols, -1, scratch)) return false;
  applyShortSide(out, w, rows, cols, scratch);
  return true;
}

/**
 * w[rows x cols] -= f32(rate) * polarFactor(w), in f32; polar holds rows*cols floats for the
 * factor. w is left unchanged when QL fails (returns false).
 */
export function polarDecay(w: usize, rows: i32, cols: i32, rate: f64, polar: usize, scratch: usize): bool {
  if (!polarFactor(polar, w, rows, cols, scratch)) return false;
  const r = <f32>rate;
  const n = rows * cols;
  for (let i = 0; i < n; i++) {
    const off = (<usize>i) << 2;
    store<f32>(w + off, load<f32>(w + off) - r * load<f32>(polar + off));
  }
  return true;
}

/**
 * w[rows x cols] <- U max(S - rate, 0) V^T in place (the proximal step of rate * ||W||_*),
 * computed in f64 and rounded once; rate >= 0. false (w unchanged) if QL failed.
 */
export function nuclearProx(w: usize, rows: i32, cols: i32, rate: f64, scratch: usize): bool {
  if (!shortSideFunction(w, rows, cols, max(rate, 0), scratch)) return false;
  applyShortSide(w, w, rows, cols, scratch);
  return true;
}
