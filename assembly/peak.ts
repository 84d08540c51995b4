// The f32x4 multiply-plus-add ceiling of the core running it, for the bench: 8 independent
// accumulators, each step multiplying one vector by two constants and adding (rounded separately,
// as every kernel here does), so only the floating-point units limit it. The multiplied vector
// is loaded from a 4 KiB ring each step (the load units are otherwise idle), so that no compiler
// can hoist the multiplies out of the loop.

/** Runs `iters` steps of 64 flops each over ring[1024 floats]; returns a sum so nothing is optimised away. */
export function simdPeak(ring: usize, iters: i32): f32 {
  const b0 = f32x4.splat(<f32>0.999), b1 = f32x4.splat(<f32>1.001);
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let i = 0; i < iters; i++) {
    const a = v128.load(ring + ((<usize>(i & 255)) << 4));
    c00 = f32x4.add(c00, f32x4.mul(a, b0)); c01 = f32x4.add(c01, f32x4.mul(a, b1));
    c10 = f32x4.add(c10, f32x4.mul(a, b1)); c11 = f32x4.add(c11, f32x4.mul(a, b0));
    c20 = f32x4.add(c20, f32x4.mul(a, b0)); c21 = f32x4.add(c21, f32x4.mul(a, b1));
    c30 = f32x4.add(c30, f32x4.mul(a, b1)); c31 = f32x4.add(c31, f32x4.mul(a, b0));
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c00, c01), f32x4.add(c10, c11)), f32x4.add(f32x4.add(c20, c21), f32x4.add(c30, c31)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
