// Loads the kernel module. Every front end goes through here: Node passes the file's bytes,
// the browser worker the bytes it fetched, so both get the same instance shape.
import { instantiate, instantiateSync } from '@assemblyscript/loader';
import { requireWasmSimd } from './simd.js';

type Ptr = number;

/** The module's exports, as the host sees them (pointers are byte offsets into memory). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): Ptr;
  matmulForward(out: Ptr, x: Ptr, w: Ptr, m: number, k: number, n: number, accumulate: boolean, scratch: Ptr): void;
  matmulBackwardInput(dx: Ptr, dy: Ptr, w: Ptr, m: number, k: number, n: number, accumulate: boolean, scratch: Ptr): void;
  matmulBackwardWeight(dw: Ptr, dy: Ptr, x: Ptr, m: number, k: number, n: number, accumulate: boolean, scratch: Ptr): void;
  matmulRange(layout: number, out: Ptr, a: Ptr, b: Ptr, m: number, k: number, n: number, accumulate: boolean, scratch: Ptr,
    rowStart: number, rowEnd: number, colStart: number, colEnd: number): void;
  matmulScratchFloats(k: number, n: number): number;
  /** Block sizes for tests: 0 register rows, 1 register columns, 2 KC, 3 MC, 4 NC. */
  matmulBlockSize(which: number): number;
  rmsnormForward(out: Ptr, norms: Ptr, x: Ptr, g: Ptr, rows: number, dim: number): void;
  rmsnormBackward(dx: Ptr, dg: Ptr, dy: Ptr, x: Ptr, g: Ptr, norms: Ptr, rows: number, dim: number, scratch: Ptr): void;
  attentionForward(out: Ptr, probs: Ptr, q: Ptr, k: Ptr, v: Ptr, b: number, tq: number, tk: number, heads: number, hd: number): void;
  attentionBackward(dq: Ptr, dk: Ptr, dv: Ptr, dout: Ptr, probs: Ptr, q: Ptr, k: Ptr, v: Ptr,
    b: number, tq: number, tk: number, heads: number, hd: number, scratch: Ptr): void;
  siluForward(out: Ptr, sig: Ptr, x: Ptr, n: number): void;
  siluBackward(dx: Ptr, dy: Ptr, x: Ptr, sig: Ptr, n: number): void;
  expForward(out: Ptr, x: Ptr, n: number): void;
  embeddingForward(out: Ptr, tokens: Ptr, positions: Ptr, emb: Ptr, pos: Ptr, rows: number, dim: number): void;
  embeddingBackward(demb: Ptr, dpos: Ptr, dout: Ptr, tokens: Ptr, positions: Ptr, rows: number, dim: number): void;
  gatherRows(out: Ptr, src: Ptr, index: Ptr, rows: number, dim: number): void;
  scatterAddRows(dst: Ptr, src: Ptr, index: Ptr, rows: number, dim: number): void;
  crossEntropyForward(probs: Ptr, logits: Ptr, targets: Ptr, b: number, v: number): number;
  crossEntropyBackward(dlogits: Ptr, probs: Ptr, targets: Ptr, b: number, v: number, scale: number): void;
  countCorrect(logits: Ptr, targets: Ptr, b: number, v: number): number;
  adamwUpdate(param: Ptr, grad: Ptr, m: Ptr, v: Ptr, n: number, lr: number, beta1: number, beta2: number,
    eps: number, wd: number, step: number): void;
  newtonSchulz(out: Ptr, w: Ptr, rows: number, cols: number, iters: number, scratch: Ptr): void;
  lowRankDecay(w: Ptr, rows: number, cols: number, rate: number, iters: number, polar: Ptr, scratch: Ptr): void;
  newtonSchulzScratchFloats(rows: number, cols: number): number;
  singularValues(sv: Ptr, w: Ptr, rows: number, cols: number, scratch: Ptr): boolean;
  spectralScratchDoubles(rows: number, cols: number): number;
  stableRankOf(sv: Ptr, n: number): number;
  effectiveRankOf(sv: Ptr, n: number): number;
  /** out[rows x cols] = exact U V^T (f64 eigensolver, singular values <= 1e-7 sigma_1 dropped); false if QL failed. */
  polarFactor(out: Ptr, w: Ptr, rows: number, cols: number, scratch: Ptr): boolean;
  /** w -= f32(rate) * polarFactor(w); polar holds rows*cols floats. */
  polarDecay(w: Ptr, rows: number, cols: number, rate: number, polar: Ptr, scratch: Ptr): boolean;
  /** w <- U max(S - rate, 0) V^T in place. */
  nuclearProx(w: Ptr, rows: number, cols: number, rate: number, scratch: Ptr): boolean;
  polarScratchDoubles(rows: number, cols: number): number;
  /** out[rows x cols] = Muon's quintic Newton-Schulz orthogonalisation of u after `iters` steps. */
  muonOrthogonalize(out: Ptr, u: Ptr, rows: number, cols: number, iters: number, scratch: Ptr): void;
  muonScratchFloats(rows: number, cols: number): number;
  /** sv[b x v] = s(logits); returns the sum over the batch of -log(s_t / sum s). */
  stablemaxForward(sv: Ptr, logits: Ptr, targets: Ptr, b: number, v: number): number;
  stablemaxBackward(dlogits: Ptr, sv: Ptr, logits: Ptr, targets: Ptr, b: number, v: number, scale: number): void;
  grokfastEma(grad: Ptr, ema: Ptr, n: number, alpha: number, lambda: number, first: boolean): void;
  orthogonalizeGradient(grad: Ptr, w: Ptr, n: number): void;
  muonMomentum(u: Ptr, buf: Ptr, grad: Ptr, n: number, mu: number): void;
  luonMomentum(m: Ptr, grad: Ptr, w: Ptr, n: number, mu: number, lambda: number): void;
  scaledUpdate(w: Ptr, o: Ptr, n: number, decay: number, step: number): void;
  randomSeed(state: Ptr, seed: number, stream: number): void;
  randomNext(state: Ptr): number;
  randomBelow(state: Ptr, bound: number): number;
  randomUniform(state: Ptr, out: Ptr, n: number, lo: number, hi: number): void;
  randomNormal(state: Ptr, out: Ptr, n: number, mean: number, std: number): void;
  randomShuffle(state: Ptr, items: Ptr, n: number): void;
  hashUpdate(h: bigint, ptr: Ptr, length: number): bigint;
  hashFinish(h: bigint): bigint;
  /** The bench's 128-bit ceiling loop (assembly/peak.ts): `iters` steps of 56 flops; `ones` holds four floats equal to 1. */
  simdPeak(ones: Ptr, iters: number): number;
}

/** What the module is built from: its bytes, or an already compiled WebAssembly.Module. */
export type WasmSource = BufferSource | WebAssembly.Module;

// The release build defines its own memory; the threads build (build/grokwasm.threads.wasm, the
// same source with shared memory) imports the one memory every thread's instance works on.
const imports = (memory?: WebAssembly.Memory) => ({ env: memory ? { memory } : {} });

/** Instantiates a fresh kernel instance: its own memory, or `memory` for the threads build. */
export async function loadKernels(source: WasmSource, memory?: WebAssembly.Memory): Promise<KernelExports> {
  requireWasmSimd();
  const { exports } = await instantiate<Record<string, unknown>>(source as never, imports(memory));
  return exports as unknown as KernelExports;
}

/** Synchronous variant, for small one-off computations (Node and workers allow it for any size). */
export function loadKernelsSync(source: WasmSource, memory?: WebAssembly.Memory): KernelExports {
  requireWasmSimd();
  const { exports } = instantiateSync<Record<string, unknown>>(source as never, imports(memory));
  return exports as unknown as KernelExports;
}

/** Pages of the threads build's shared memory: its declared maximum, 4 GiB (address space, not RAM). */
export const SHARED_MAX_PAGES = 65536;

/** A shared memory for the threads build; throws where the host has none (a page that is not cross-origin isolated). */
export function sharedMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 64, maximum: SHARED_MAX_PAGES, shared: true });
}

/** Compiles once so that many instances (one per trainer) skip recompilation; without Wasm SIMD, rejects with the plain NoSimdError. */
export async function compileKernels(bytes: BufferSource): Promise<WebAssembly.Module> {
  requireWasmSimd();
  return WebAssembly.compile(bytes);
}
