// Shared test helpers: fixtures, seeded inputs, and error measures.
import { readFileSync } from 'node:fs';
import { decodeSafetensors, type Tensor } from '../src/safetensors.js';

export function loadFixture(name: string): { tensors: Record<string, Tensor>; config: Record<string, number> } {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(new URL(`./fixtures/${name}.safetensors`, import.meta.url))));
  return { tensors, config: JSON.parse(metadata.config) };
}

/** Tensors under a prefix ("param.", "grad.", ...) keyed by the rest of the name, as f32. */
export function group(tensors: Record<string, Tensor>, prefix: string): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = t.data as Float32Array;
  return out;
}

/** max |a - b| / max |b|: error relative to the reference tensor's scale. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Deterministic pseudo-random numbers for test inputs (mulberry32). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, rand: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}
