// Small f32 vector helpers shared by the kernels. Reductions use four lanes summed in a fixed
// order, then a scalar tail, so a result never depends on anything but the inputs.

/** sum_i a[i] * b[i] over n floats. */
export function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    acc = f32x4.add(acc, f32x4.mul(v128.load(a + off), v128.load(b + off)));
  }
  let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) +
    (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    s += load<f32>(a + off) * load<f32>(b + off);
  }
  return s;
}

/** y[i] += alpha * x[i] over n floats. */
export function axpy(y: usize, x: usize, alpha: f32, n: i32): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    v128.store(y + off, f32x4.add(v128.load(y + off), f32x4.mul(va, v128.load(x + off))));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    store<f32>(y + off, load<f32>(y + off) + alpha * load<f32>(x + off));
  }
}

/** y[i] += x[i] over n floats. */
export function addInto(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    v128.store(y + off, f32x4.add(v128.load(y + off), v128.load(x + off)));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    store<f32>(y + off, load<f32>(y + off) + load<f32>(x + off));
  }
}
