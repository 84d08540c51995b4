// The committed checksum after 50 steps of a small fixed config. Any change to a kernel's
// rounding, the PRNG, the data order or the optimiser moves it; update it only on purpose,
// saying in the commit why the numbers changed.
export const GUARD_CONFIG = { p: 11, dim: 12, depth: 2, heads: 3, mlp: 20, batch: 40, steps: 50, evalEvery: 10 };
export const GUARD_CHECKSUM = '098c075d959f5d6a';
