// A 64-bit digest of raw bytes for run checksums: it must see every bit of the state, be
// identical in every engine, and be fast over megabytes. Not cryptographic.

const PRIME: u64 = 0x9e3779b97f4a7c15;

// @ts-ignore: decorator
@inline
function mix(h: u64, word: u64): u64 {
  h ^= word * 0xbf58476d1ce4e5b9;
  h = (h << 31) | (h >>> 33);
  return h * PRIME + 0x94d049bb133111eb;
}

/** Continues digest h over bytes [ptr, ptr + length). Start from any constant; finish with hashFinish. */
export function hashUpdate(h: u64, ptr: usize, length: i32): u64 {
  let i = 0;
  for (; i + 8 <= length; i += 8) h = mix(h, load<u64>(ptr + <usize>i));
  let tail: u64 = 0;
  for (let j = 0; i < length; i++, j++) tail |= <u64>load<u8>(ptr + <usize>i) << (<u64>j * 8);
  return mix(mix(h, tail), <u64>length);
}

/** Final avalanche (splitmix64's finaliser). */
export function hashFinish(h: u64): u64 {
  h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9;
  h = (h ^ (h >>> 27)) * 0x94d049bb133111eb;
  return h ^ (h >>> 31);
}
