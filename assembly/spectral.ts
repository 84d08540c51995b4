// Spectral metrics of a weight matrix in f64: singular values from the eigenvalues of the
// smaller Gram matrix (Householder tridiagonalisation, then implicit QL with Wilkinson-style
// shifts). Squaring costs relative accuracy only below about 1e-8 * sigma_max, under the
// float32 rounding of the weights themselves, and it is fast: a 128 x 128 matrix takes a few ms.
// The eigen-solver lives in eigen.ts, shared with the polar factor (polar.ts).
import { at, gramOfShortSide, tridiagonalize, tridiagonalQL } from './eigen';

/** f64 scratch slots singularValues needs for rows x cols. */
export function spectralScratchDoubles(rows: i32, cols: i32): i32 {
  const n = min(rows, cols);
  return n * n + 3 * n + 4;
}

/**
 * sv[min(rows, cols)] (f64, descending) = singular values of w[rows x cols] (f32).
 * scratch holds spectralScratchDoubles(rows, cols) f64 slots. Returns false if QL did not converge.
 */
export function singularValues(sv: usize, w: usize, rows: i32, cols: i32, scratch: usize): bool {
  const n = min(rows, cols);
  const a = (scratch + 7) & ~(<usize>7); // n x n Gram
  const d = a + ((<usize>n * n) << 3);
  const e = d + ((<usize>n) << 3);
  const v = e + ((<usize>n) << 3);
  gramOfShortSide(a, w, rows, cols);
  tridiagonalize(a, d, e, v, n);
  if (!tridiagonalQL(d, e, n, 0, false)) {
    // Many singular values near zero (a weight LRD or the proximal step has driven to low rank)
    // can keep the neighbour-relative deflation test from ever passing. Only then is the
    // decomposition redone with the test relative to the whole matrix: every spectrum that
    // converged before keeps its bits, and with them every committed result.
    gramOfShortSide(a, w, rows, cols);
    tridiagonalize(a, d, e, v, n);
    if (!tridiagonalQL(d, e, n, 0, true)) return false;
  }
  // Sort descending (insertion sort: n is small) and take square roots; rounding can leave
  // tiny negative eigenvalues of a positive semidefinite matrix, which are zeros.
  for (let i = 1; i < n; i++) {
    const x = load<f64>(at(d, i));
    let j = i - 1;
    while (j >= 0 && load<f64>(at(d, j)) < x) { store<f64>(at(d, j + 1), load<f64>(at(d, j))); j--; }
    store<f64>(at(d, j + 1), x);
  }
  for (let i = 0; i < n; i++) store<f64>(at(sv, i), Math.sqrt(max(load<f64>(at(d, i)), 0)));
  return true;
}

/** Stable rank ||W||_F^2 / sigma_max^2 from descending singular values sv[n] (0 for a zero matrix). */
export function stableRankOf(sv: usize, n: i32): f64 {
  const top = load<f64>(sv);
  if (!(top > 0)) return 0;
  let sq: f64 = 0;
  for (let i = 0; i < n; i++) { const s = load<f64>(at(sv, i)); sq += s * s; }
  return sq / (top * top);
}

/** Effective rank exp(H(s)), s = sigma / sum(sigma) (Roy and Vetterli), from sv[n]; 0 for a zero matrix. */
export function effectiveRankOf(sv: usize, n: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) total += load<f64>(at(sv, i));
  if (!(total > 0)) return 0;
  let entropy: f64 = 0;
  for (let i = 0; i < n; i++) {
    const p = load<f64>(at(sv, i)) / total;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return Math.exp(entropy);
}
