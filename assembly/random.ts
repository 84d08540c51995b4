// The run's one PRNG: xoshiro128** over four u32 words stored in linear memory, so the state
// is part of the run state (checkpointed, hashed) rather than hidden in a JS closure. Normal
// draws use Box-Muller with AssemblyScript's own Math, the same bits in every engine.

// @ts-ignore: decorator
@inline
function rotl(x: u32, k: u32): u32 { return (x << k) | (x >>> (32 - k)); }

/** Seeds state[4] from (seed, stream) with splitmix64, so distinct streams never overlap in practice. */
export function randomSeed(state: usize, seed: u32, stream: u32): void {
  let z: u64 = (<u64>seed << 32) | <u64>stream;
  for (let i = 0; i < 2; i++) {
    z += 0x9e3779b97f4a7c15;
    let x = z;
    x = (x ^ (x >>> 30)) * 0xbf58476d1ce4e5b9;
    x = (x ^ (x >>> 27)) * 0x94d049bb133111eb;
    x ^= x >>> 31;
    store<u32>(state + ((<usize>i) << 3), <u32>x);
    store<u32>(state + ((<usize>i) << 3) + 4, <u32>(x >>> 32));
  }
  // xoshiro's all-zero state is a fixed point; splitmix64 cannot produce it for two outputs, but be sure.
  if ((load<u32>(state) | load<u32>(state, 4) | load<u32>(state, 8) | load<u32>(state, 12)) == 0) store<u32>(state, 1);
}

/** Next 32 random bits. */
export function randomNext(state: usize): u32 {
  const s0 = load<u32>(state), s1 = load<u32>(state, 4), s2 = load<u32>(state, 8), s3 = load<u32>(state, 12);
  const result = rotl(s1 * 5, 7) * 9;
  const t = s1 << 9;
  const n2 = s2 ^ s0;
  const n3 = s3 ^ s1;
  store<u32>(state, s0 ^ n3);
  store<u32>(state, s1 ^ n2, 4);
  store<u32>(state, n2 ^ t, 8);
  store<u32>(state, rotl(n3, 11), 12);
  return result;
}

/** Uniform integer in [0, bound), unbiased (rejection on the short last interval). */
export function randomBelow(state: usize, bound: u32): u32 {
  const limit = <u32>(0x100000000 - (0x100000000 % <u64>bound));
  while (true) {
    const x = randomNext(state);
    if (limit == 0 || x < limit) return x % bound;
  }
}

// Uniform in [0, 1) with 24 random bits, exactly representable as f32.
// @ts-ignore: decorator
@inline
function unit(state: usize): f64 { return <f64>(randomNext(state) >>> 8) * (1.0 / 16777216.0); }

/** out[n] (f32) uniform in [lo, hi). */
export function randomUniform(state: usize, out: usize, n: i32, lo: f64, hi: f64): void {
  for (let i = 0; i < n; i++) store<f32>(out + ((<usize>i) << 2), <f32>(lo + (hi - lo) * unit(state)));
}

/** out[n] (f32) normal with the given mean and standard deviation. */
export function randomNormal(state: usize, out: usize, n: i32, mean: f64, std: f64): void {
  for (let i = 0; i < n; i += 2) {
    const u1 = 1.0 - unit(state); // (0, 1]: log stays finite
    const u2 = unit(state);
    const radius = Math.sqrt(-2.0 * Math.log(u1));
    const angle = 2.0 * Math.PI * u2;
    store<f32>(out + ((<usize>i) << 2), <f32>(mean + std * radius * Math.cos(angle)));
    if (i + 1 < n) store<f32>(out + ((<usize>(i + 1)) << 2), <f32>(mean + std * radius * Math.sin(angle)));
  }
}

/** Fisher-Yates shuffle of items[n] (i32) in place. */
export function randomShuffle(state: usize, items: usize, n: i32): void {
  for (let i = n - 1; i > 0; i--) {
    const j = <i32>randomBelow(state, <u32>(i + 1));
    const a = items + ((<usize>i) << 2);
    const b = items + ((<usize>j) << 2);
    const t = load<i32>(a);
    store<i32>(a, load<i32>(b));
    store<i32>(b, t);
  }
}
