// Shared test helpers: fixtures, seeded inputs, and error measures.
import { readFileSync } from 'node:fs';
import { decodeSafetensors, type Tensor } from '../src/format/safetensors.js';
import type { EvalInfo } from '../src/train/trainer.js';

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

/**
 * The tolerance within which a run on the WebGPU backend must follow the Wasm run of the same
 * config (docs/webgpu.md): the same evaluation steps; every loss and QK rank within 1e-3
 * relative; every accuracy within 0.02. Returns the differences found, empty when within.
 */
export function trainingDifferences(gpu: { history: EvalInfo[]; steps: number }, wasm: { history: EvalInfo[]; steps: number }): string[] {
  const out: string[] = [];
  if (gpu.steps !== wasm.steps) out.push(`steps ${gpu.steps} != ${wasm.steps}`);
  if (gpu.history.length !== wasm.history.length) out.push(`evaluations ${gpu.history.length} != ${wasm.history.length}`);
  for (let i = 0; i < Math.min(gpu.history.length, wasm.history.length); i++) {
    const g = gpu.history[i] as unknown as Record<string, number>, w = wasm.history[i] as unknown as Record<string, number>;
    if (g.step !== w.step) out.push(`evaluation ${i}: step ${g.step} != ${w.step}`);
    for (const f of ['trainLoss', 'valLoss', 'stableRank', 'effectiveRank']) {
      if (!(Math.abs(g[f] - w[f]) <= 1e-3 * Math.abs(w[f]))) out.push(`step ${w.step}: ${f} ${g[f]} vs ${w[f]}`);
    }
    for (const f of ['trainAcc', 'valAcc']) if (!(Math.abs(g[f] - w[f]) <= 0.02)) out.push(`step ${w.step}: ${f} ${g[f]} vs ${w[f]}`);
  }
  return out;
}

/** A small config that trains in a second or two on a software GPU adapter. */
export const SMALL_GPU_CONFIG = { p: 13, dim: 16, heads: 2, mlp: 32, batch: 64, steps: 30, evalEvery: 10 } as const;
