// Spectral metrics of a weight matrix in f64: singular values from the eigenvalues of the
// smaller Gram matrix (Householder tridiagonalisation, then implicit QL with Wilkinson-style
// shifts). Squaring costs relative accuracy only below about 1e-8 * sigma_max, under the
// float32 rounding of the weights themselves, and it is fast: a 128 x 128 matrix takes a few ms.

/** f64 scratch slots singularValues needs for rows x cols. */
export function spectralScratchDoubles(rows: i32, cols: i32): i32 {
  const n = min(rows, cols);
  return n * n + 3 * n + 4;
}

// Returns sqrt(a^2 + b^2) without overflow or needless underflow.
function hypot(a: f64, b: f64): f64 {
  a = Math.abs(a); b = Math.abs(b);
  if (a < b) { const t = a; a = b; b = t; }
  if (a == 0) return 0;
  const r = b / a;
  return a * Math.sqrt(1 + r * r);
}

// @ts-ignore: decorator
@inline
function at(base: usize, i: i32): usize { return base + ((<usize>i) << 3); }

/**
 * sv[min(rows, cols)] (f64, descending) = singular values of w[rows x cols] (f32).
 * scratch holds spectralScratchDoubles(rows, cols) f64 slots. Returns false if QL did not converge.
 */
export function singularValues(sv: usize, w: usize, rows: i32, cols: i32, scratch: usize): bool {
  const n = min(rows, cols);
  const inner = max(rows, cols);
  const a = (scratch + 7) & ~(<usize>7); // n x n Gram
  const d = a + ((<usize>n * n) << 3);
  const e = d + ((<usize>n) << 3);
  const v = e + ((<usize>n) << 3);
  // Gram of the short side: G[i,j] = sum_t W(i,t) W(j,t) over the long side.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s: f64 = 0;
      for (let t = 0; t < inner; t++) {
        const wi = rows <= cols ? i * cols + t : t * cols + i;
        const wj = rows <= cols ? j * cols + t : t * cols + j;
        s += <f64>load<f32>(w + ((<usize>wi) << 2)) * <f64>load<f32>(w + ((<usize>wj) << 2));
      }
      store<f64>(at(a, i * n + j), s);
      store<f64>(at(a, j * n + i), s);
    }
  }
  tridiagonalize(a, d, e, v, n);
  if (!tridiagonalEigenvalues(d, e, n)) return false;
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

// Symmetric a[n x n] -> diagonal d[n], subdiagonal e[n] (e[i] couples i and i+1, e[n-1] = 0)
// by Householder reflections applied from both sides. v holds one reflector.
function tridiagonalize(a: usize, d: usize, e: usize, v: usize, n: i32): void {
  for (let k = 0; k < n - 2; k++) {
    // Reflect x = a[k+1.., k] onto alpha * e_1.
    let norm: f64 = 0;
    for (let i = k + 1; i < n; i++) norm = hypot(norm, load<f64>(at(a, i * n + k)));
    const x0 = load<f64>(at(a, (k + 1) * n + k));
    const alpha = x0 > 0 ? -norm : norm;
    store<f64>(at(d, k), load<f64>(at(a, k * n + k)));
    store<f64>(at(e, k), alpha);
    let vnorm2: f64 = 0;
    for (let i = k + 1; i < n; i++) {
      const vi = load<f64>(at(a, i * n + k)) - (i == k + 1 ? alpha : 0);
      store<f64>(at(v, i), vi);
      vnorm2 += vi * vi;
    }
    if (vnorm2 == 0) continue;
    const inv = 1 / Math.sqrt(vnorm2);
    for (let i = k + 1; i < n; i++) store<f64>(at(v, i), load<f64>(at(v, i)) * inv);
    // p = A v over the trailing block, then w = p - (v.p) v, A <- A - 2 v w^T - 2 w v^T.
    // p and w live in e[k+1..], which later iterations overwrite only after this use.
    let vp: f64 = 0;
    for (let i = k + 1; i < n; i++) {
      let s: f64 = 0;
      for (let j = k + 1; j < n; j++) s += load<f64>(at(a, i * n + j)) * load<f64>(at(v, j));
      store<f64>(at(e, i), s);
      vp += load<f64>(at(v, i)) * s;
    }
    for (let i = k + 1; i < n; i++) store<f64>(at(e, i), load<f64>(at(e, i)) - vp * load<f64>(at(v, i)));
    for (let i = k + 1; i < n; i++) {
      const vi = load<f64>(at(v, i));
      const wi = load<f64>(at(e, i));
      for (let j = k + 1; j < n; j++) {
        const idx = at(a, i * n + j);
        store<f64>(idx, load<f64>(idx) - 2 * (vi * load<f64>(at(e, j)) + wi * load<f64>(at(v, j))));
      }
    }
  }
  if (n >= 2) {
    store<f64>(at(d, n - 2), load<f64>(at(a, (n - 2) * n + n - 2)));
    store<f64>(at(e, n - 2), load<f64>(at(a, (n - 1) * n + n - 2)));
  }
  if (n >= 1) {
    store<f64>(at(d, n - 1), load<f64>(at(a, (n - 1) * n + n - 1)));
    store<f64>(at(e, n - 1), 0);
  }
}

// Eigenvalues of the symmetric tridiagonal (d, e) into d, by implicit QL with shifts.
function tridiagonalEigenvalues(d: usize, e: usize, n: i32): bool {
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    while (true) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(load<f64>(at(d, m))) + Math.abs(load<f64>(at(d, m + 1)));
        if (Math.abs(load<f64>(at(e, m))) <= 2.220446049250313e-16 * dd) break;
      }
      if (m == l) break;
      if (++iterations > 60) return false;
      // Shift from the leading 2 x 2 block's eigenvalue closest to d[l].
      let g = (load<f64>(at(d, l + 1)) - load<f64>(at(d, l))) / (2 * load<f64>(at(e, l)));
      let r = hypot(g, 1);
      g = load<f64>(at(d, m)) - load<f64>(at(d, l)) + load<f64>(at(e, l)) / (g + (g >= 0 ? r : -r));
      let s: f64 = 1, c: f64 = 1, p: f64 = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * load<f64>(at(e, i));
        const b = c * load<f64>(at(e, i));
        r = hypot(f, g);
        store<f64>(at(e, i + 1), r);
        if (r == 0) {
          // An exact zero split the matrix: undo the partial sweep's shift and start over.
          store<f64>(at(d, i + 1), load<f64>(at(d, i + 1)) - p);
          store<f64>(at(e, m), 0);
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = load<f64>(at(d, i + 1)) - p;
        r = (load<f64>(at(d, i)) - g) * s + 2 * c * b;
        p = s * r;
        store<f64>(at(d, i + 1), g + p);
        g = c * r - b;
      }
      if (deflated) continue;
      store<f64>(at(d, l), load<f64>(at(d, l)) - p);
      store<f64>(at(e, l), g);
      store<f64>(at(e, m), 0);
    }
  }
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
