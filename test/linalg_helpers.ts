// Float64 matrix helpers for building test matrices with known singular values.

/** A random n x n orthogonal matrix (Gram-Schmidt on random columns), row-major. */
export function randomOrthogonal(n: number, rand: () => number): Float64Array {
  const q = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const v = Float64Array.from({ length: n }, () => rand() * 2 - 1);
    for (let pass = 0; pass < 2; pass++) {
      for (let c = 0; c < j; c++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += v[i] * q[i * n + c];
        for (let i = 0; i < n; i++) v[i] -= d * q[i * n + c];
      }
    }
    const norm = Math.hypot(...v);
    for (let i = 0; i < n; i++) q[i * n + j] = v[i] / norm;
  }
  return q;
}

/** rows x cols matrix U diag(s) V^T with the given singular values, as float32. */
export function withSingularValues(rows: number, cols: number, s: number[], rand: () => number): Float32Array {
  const u = randomOrthogonal(rows, rand), v = randomOrthogonal(cols, rand);
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    let acc = 0;
    for (let t = 0; t < s.length; t++) acc += u[i * rows + t] * s[t] * v[j * cols + t];
    w[i * cols + j] = acc;
  }
  return w;
}
