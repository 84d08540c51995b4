// The package entry for Node: the core API with the module read from this package's build/.
import { readFileSync } from 'node:fs';
import type { RunConfig } from './config.js';
import { newtonSchulzWith, singularValuesWith } from './linalg.js';
import { Trainer } from './trainer.js';
import { loadKernelsSync, type KernelExports, type WasmSource } from './wasm.js';

export * from './core.js';

/** Path of the release module inside this package (dist/src/ or src/ -> build/). */
export const WASM_URL = new URL('../'.repeat(import.meta.url.includes('/dist/') ? 2 : 1) + 'build/grokwasm.wasm', import.meta.url);

let compiled: WebAssembly.Module | undefined;

/** The compiled kernel module, read and compiled once per process. */
export function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(WASM_URL));
  return compiled;
}

/** A trainer on a fresh kernel instance; wasm defaults to this package's release build. */
export function createTrainer(config: Partial<RunConfig> = {}, wasm: WasmSource = kernelModule()): Promise<Trainer> {
  return Trainer.create(config, wasm);
}

let utility: KernelExports | undefined;
function utilityKernels(): KernelExports {
  utility ??= loadKernelsSync(kernelModule());
  return utility;
}

/** Newton-Schulz polar factor (U V^T approximation) of w[rows x cols], as the LRD step computes it. */
export function newtonSchulz(w: Float32Array, rows: number, cols: number, iters = 5): Float32Array {
  return newtonSchulzWith(utilityKernels(), w, rows, cols, iters);
}

/** Singular values of w[rows x cols], descending. */
export function singularValues(w: Float32Array, rows: number, cols: number): Float64Array {
  return singularValuesWith(utilityKernels(), w, rows, cols);
}
