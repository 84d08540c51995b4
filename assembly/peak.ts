// The f32x4 multiply-plus-add ceiling of the core running it, for the bench. Seven multiply
// chains and seven add chains, each depending only on itself, with nothing loaded inside the
// loop: a core with two multiply and two add units of latency 3 (AMD Zen; Intel's are similar or
// fewer) needs at least six chains of each to keep every unit busy, and fourteen accumulators
// plus one constant fit V8's fifteen usable vector registers without a spill. The same
// instruction mix in C (bench/peak_probe.c, vmulps/vaddps on xmm) checks that this reaches what
// the core can do. Products use the same separate multiply and add, so it is their ceiling too.

/** Flops of one loop step: 14 f32x4 operations of 4 lanes. */
export const PEAK_FLOPS_PER_STEP: i32 = 56;

/**
 * Runs `iters` steps of 56 flops each. `ones` points to four floats equal to 1, loaded once
 * before the loop: the multiply chains then stay at their start values and the add chains count
 * up, so nothing overflows or turns subnormal (subnormals are slow), and since it is a run-time
 * value no compiler can fold the arithmetic away. (Splatting an f32 argument instead kept the
 * argument in a register too and V8 splatted it again every step, which spilled a chain to the
 * stack and halved the rate.) The chains start at distinct values so that none can be merged
 * with another. Returns a sum of every chain so none is dead.
 */
export function simdPeak(ones: usize, iters: i32): f32 {
  const c = v128.load(ones);
  let m0 = f32x4.splat(1), m1 = f32x4.splat(2), m2 = f32x4.splat(3), m3 = f32x4.splat(4);
  let m4 = f32x4.splat(5), m5 = f32x4.splat(6), m6 = f32x4.splat(7);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(-1), a2 = f32x4.splat(-2), a3 = f32x4.splat(-3);
  let a4 = f32x4.splat(-4), a5 = f32x4.splat(-5), a6 = f32x4.splat(-6);
  for (let i = 0; i < iters; i++) {
    m0 = f32x4.mul(m0, c); a0 = f32x4.add(a0, c);
    m1 = f32x4.mul(m1, c); a1 = f32x4.add(a1, c);
    m2 = f32x4.mul(m2, c); a2 = f32x4.add(a2, c);
    m3 = f32x4.mul(m3, c); a3 = f32x4.add(a3, c);
    m4 = f32x4.mul(m4, c); a4 = f32x4.add(a4, c);
    m5 = f32x4.mul(m5, c); a5 = f32x4.add(a5, c);
    m6 = f32x4.mul(m6, c); a6 = f32x4.add(a6, c);
  }
  const m = f32x4.add(f32x4.add(f32x4.add(m0, m1), f32x4.add(m2, m3)), f32x4.add(f32x4.add(m4, m5), m6));
  const a = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), a6));
  const s = f32x4.add(m, a);
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
