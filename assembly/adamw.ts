// AdamW exactly as PyTorch's single-tensor implementation rounds it: decoupled decay first,
// scalars computed in f64 and rounded to f32 where PyTorch casts them to the tensor's dtype.

/**
 * One AdamW step over n floats. step is the 1-based step count after this update.
 * param -= lr*wd*param (as param *= 1 - lr*wd); m, v moments; param += -step_size * m / denom.
 */
export function adamwUpdate(param: usize, grad: usize, m: usize, v: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, eps: f64, wd: f64, step: i32): void {
  const decay = <f32>(1.0 - lr * wd);
  const b1 = <f32>beta1;
  const b2 = <f32>beta2;
  const a1 = <f32>(1.0 - beta1);
  const a2 = <f32>(1.0 - beta2);
  const bc1 = 1.0 - Math.pow(beta1, <f64>step);
  const bc2 = 1.0 - Math.pow(beta2, <f64>step);
  const negStepSize = <f32>(-(lr / bc1));
  const bc2Sqrt = <f32>Math.sqrt(bc2);
  const epsF = <f32>eps;
  // Every operation below is a correctly rounded IEEE op, so the f32x4 body and the scalar
  // tail give identical bits.
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    const g = v128.load(grad + off);
    const p = f32x4.mul(v128.load(param + off), f32x4.splat(decay));
    const mi = f32x4.add(f32x4.mul(v128.load(m + off), f32x4.splat(b1)), f32x4.mul(f32x4.splat(a1), g));
    const vi = f32x4.add(f32x4.mul(v128.load(v + off), f32x4.splat(b2)), f32x4.mul(f32x4.mul(f32x4.splat(a2), g), g));
    v128.store(m + off, mi);
    v128.store(v + off, vi);
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vi), f32x4.splat(bc2Sqrt)), f32x4.splat(epsF));
    v128.store(param + off, f32x4.add(p, f32x4.div(f32x4.mul(f32x4.splat(negStepSize), mi), denom)));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const g = load<f32>(grad + off);
    const p = load<f32>(param + off) * decay;
    const mi = load<f32>(m + off) * b1 + a1 * g;
    const vi = load<f32>(v + off) * b2 + (a2 * g) * g;
    store<f32>(m + off, mi);
    store<f32>(v + off, vi);
    const denom = Mathf.sqrt(vi) / bc2Sqrt + epsF;
    store<f32>(param + off, p + (negStepSize * mi) / denom);
  }
}
