// Symmetric eigenproblems in f64, shared by the spectral metrics (values only) and the polar
// factor (values and vectors): the Gram matrix of a weight's short side, Householder
// tridiagonalisation, and implicit QL with Wilkinson-style shifts. Every step is a fixed
// sequence of IEEE basic operations, so the bits are the same on every engine.

// @ts-ignore: decorator
@inline
export function at(base: usize, i: i32): usize { return base + ((<usize>i) << 3); }

// Returns sqrt(a^2 + b^2) without overflow or needless underflow.
export function hypot(a: f64, b: f64): f64 {
  a = Math.abs(a); b = Math.abs(b);
  if (a < b) { const t = a; a = b; b = t; }
  if (a == 0) return 0;
  const r = b / a;
  return a * Math.sqrt(1 + r * r);
}

/**
 * g[n x n] (f64) = Gram matrix of the short side of w[rows x cols] (f32), n = min(rows, cols):
 * W W^T when rows <= cols, else W^T W. Each entry sums over the long side in ascending order.
 */
export function gramOfShortSide(g: usize, w: usize, rows: i32, cols: i32): void {
  const n = min(rows, cols);
  const inner = max(rows, cols);
  // Strides of "entry t of short-side vector i": along a row when wide, down a column when tall.
  const vec: usize = rows <= cols ? (<usize>cols) << 2 : 4;
  const step: usize = rows <= cols ? 4 : (<usize>cols) << 2;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s: f64 = 0;
      let pi = w + <usize>i * vec, pj = w + <usize>j * vec;
      for (let t = 0; t < inner; t++) {
        s += <f64>load<f32>(pi) * <f64>load<f32>(pj);
        pi += step; pj += step;
      }
      store<f64>(at(g, i * n + j), s);
      store<f64>(at(g, j * n + i), s);
    }
  }
}

/**
 * Symmetric a[n x n] -> diagonal d[n], subdiagonal e[n] (e[i] couples i and i+1, e[n-1] = 0)
 * by Householder reflections H_k = I - 2 v v^T applied from both sides, so A = Q T Q^T with
 * Q = H_0 H_1 ... H_{n-3}. Reflector k (unit v, or zeros for none) is left in column k of a
 * below the subdiagonal's row, a[i, k] for i > k, where no later step reads or writes;
 * reflectorsToRows turns them into Q^T. v is scratch for n f64.
 */
export function tridiagonalize(a: usize, d: usize, e: usize, v: usize, n: i32): void {
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
    if (vnorm2 == 0) {
      for (let i = k + 1; i < n; i++) store<f64>(at(a, i * n + k), 0);
      continue;
    }
    const inv = 1 / Math.sqrt(vnorm2);
    for (let i = k + 1; i < n; i++) {
      const vi = load<f64>(at(v, i)) * inv;
      store<f64>(at(v, i), vi);
      store<f64>(at(a, i * n + k), vi);
    }
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

/**
 * zt[n x n] = Q^T = H_{n-3} ... H_1 H_0 from the reflectors tridiagonalize left in a. Kept as
 * rows (the transpose of the usual eigenvector matrix) so that QL's rotations and every later
 * use walk contiguous memory. Built right to left: Zt <- Zt H_k touches rows and columns > k only.
 */
export function reflectorsToRows(zt: usize, a: usize, n: i32): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) store<f64>(at(zt, i * n + j), i == j ? 1 : 0);
  for (let k = n - 3; k >= 0; k--) {
    for (let r = k + 1; r < n; r++) {
      let s: f64 = 0;
      for (let j = k + 1; j < n; j++) s += load<f64>(at(zt, r * n + j)) * load<f64>(at(a, j * n + k));
      if (s == 0) continue;
      const s2 = 2 * s;
      for (let j = k + 1; j < n; j++) {
        const idx = at(zt, r * n + j);
        store<f64>(idx, load<f64>(idx) - s2 * load<f64>(at(a, j * n + k)));
      }
    }
  }
}

/**
 * Eigenvalues of the symmetric tridiagonal (d, e) into d, by implicit QL with shifts. When zt is
 * not 0 it holds Q^T (rows) on entry and the eigenvectors as rows on exit: row i belongs to d[i].
 * Returns false if some eigenvalue took more than 60 sweeps.
 *
 * A coupling e[m] is dropped when it is below 2^-52 of its two diagonal neighbours. That local
 * test alone never passes inside a cluster of eigenvalues near zero (a low-rank Gram matrix):
 * each sweep's rotations leave rounding noise of about 2^-52 * ||T|| there, far above 2^-52 of
 * the tiny diagonal, so QL gives up. With `absolute`, couplings below 2^-52 * ||T|| (the error the
 * tridiagonalisation already made) are dropped too. singularValues keeps the local test alone so
 * that its bits, and the checksums of runs that log them, stay as they were.
 */
export function tridiagonalQL(d: usize, e: usize, n: i32, zt: usize, absolute: bool): bool {
  let floor: f64 = 0;
  if (absolute) {
    for (let i = 0; i < n; i++) floor = max(floor, Math.abs(load<f64>(at(d, i))) + Math.abs(load<f64>(at(e, i))));
    floor *= 2.220446049250313e-16;
  }
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    while (true) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(load<f64>(at(d, m))) + Math.abs(load<f64>(at(d, m + 1)));
        const em = Math.abs(load<f64>(at(e, m)));
        if (em <= 2.220446049250313e-16 * dd || em <= floor) break;
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
        if (zt != 0) {
          // The same plane rotation of eigenvector rows i and i+1.
          let zi = at(zt, i * n), zn = at(zt, (i + 1) * n);
          for (let k = 0; k < n; k++) {
            const x = load<f64>(zi), y = load<f64>(zn);
            store<f64>(zn, s * x + c * y);
            store<f64>(zi, c * x - s * y);
            zi += 8; zn += 8;
          }
        }
      }
      if (deflated) continue;
      store<f64>(at(d, l), load<f64>(at(d, l)) - p);
      store<f64>(at(e, l), g);
      store<f64>(at(e, m), 0);
    }
  }
  return true;
}
