// SiLU, x * sigmoid(x). PyTorch divides x by (1 + exp(-x)); multiplying by the sigmoid the
// backward needs anyway saves a vector division per element and differs by at most 1 ulp.
import { expf4 } from './expf';

/** out[n] = silu(x[n]); sig[n] keeps sigmoid(x) for the backward. */
export function siluForward(out: usize, sig: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    const v = v128.load(x + off);
    const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expf4(f32x4.neg(v))));
    v128.store(out + off, f32x4.mul(v, s));
    v128.store(sig + off, s);
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const v = f32x4.splat(load<f32>(x + off));
    const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expf4(f32x4.neg(v))));
    store<f32>(out + off, f32x4.extract_lane(f32x4.mul(v, s), 0));
    store<f32>(sig + off, f32x4.extract_lane(s, 0));
  }
}

/** dx[n] += dy * s * (1 + x * (1 - s)), s = sigmoid(x) saved by the forward. */
export function siluBackward(dx: usize, dy: usize, x: usize, sig: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    const s = v128.load(sig + off);
    const d = f32x4.mul(f32x4.mul(v128.load(dy + off), s),
      f32x4.add(one, f32x4.mul(v128.load(x + off), f32x4.sub(one, s))));
    v128.store(dx + off, f32x4.add(v128.load(dx + off), d));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const s = load<f32>(sig + off);
    store<f32>(dx + off, load<f32>(dx + off) + load<f32>(dy + off) * s * (1 + load<f32>(x + off) * (1 - s)));
  }
}
