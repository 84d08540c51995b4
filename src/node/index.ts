// The package entry for Node (`grokwasm` and `grokwasm/node`): the platform-neutral API of
// src/core.ts with the module read from this package's build/, and the Node-only rooms: files,
// the directory lock, the worker pool, sweeps on disk, figure rendering and Dawn's WebGPU.
import { readFileSync } from 'node:fs';
import { packageFile } from './package_root.js';
import { requireWasmSimd } from '../kernel/simd.js';
import type { RunConfig } from '../train/config.js';
import { newtonSchulzWith, singularValuesWith } from '../kernel/linalg.js';
import { Trainer, type ThreadOptions } from '../train/trainer.js';
import { coreCount, spawnNodeHelper, threadsModule } from './threads.js';
import { loadKernelsSync, type KernelExports } from '../kernel/wasm.js';

export * from '../core.js';
export { FileError, INPUT_CAP, checkOutputDir, checkOutputs, exists, readRegularFile, readTextFile, writeFileAtomic } from './files.js';
export type { PathUse } from './files.js';
export { LockError, lockDirectory } from './lock.js';
export { defaultWorkers, estimateWorkerBytes, poolSize, runPool } from './pool.js';
export type { CellOutcome, PoolHandlers, PoolOptions } from './pool.js';
export { CELLS_FILE, SWEEP_OUTPUTS, SweepError, isComparison, mergeSweeps, readCells, runSweep, uniqueCells, writeCells, writeCompareOutputs, writeSweepOutputs } from './sweep.js';
export type { Merged, SweepRun } from './sweep.js';
export { renderSvg, svgToPng } from './render.js';
export { nodeGpu, prepareGpuEnvironment, useNodeBackend } from './webgpu.js';
export { THREADS_WASM_URL, coreCount, spawnNodeHelper, threadsModule } from './threads.js';

/** Path of the release module inside this package. */
export const WASM_URL = packageFile('build/grokwasm.wasm');

let compiled: WebAssembly.Module | undefined;

/** The compiled kernel module, read and compiled once per process. */
export function kernelModule(): WebAssembly.Module {
  requireWasmSimd();
  compiled ??= new WebAssembly.Module(readFileSync(WASM_URL));
  return compiled;
}

/** Node's ThreadOptions for `count` threads (none for one). */
export function nodeThreads(count: number): ThreadOptions | undefined {
  return count > 1 ? { count, cores: coreCount(), module: threadsModule(), spawn: spawnNodeHelper } : undefined;
}

/** A trainer on a fresh kernel instance (this package's build) computing on `threads` threads. */
export function createTrainer(config: Partial<RunConfig> = {}, threads = 1): Promise<Trainer> {
  return Trainer.create(config, kernelModule(), nodeThreads(threads));
}

/** A trainer continuing a checkpoint's run on `threads` threads (the same bits for any count). */
export function resumeTrainer(checkpoint: Uint8Array, threads = 1): Promise<Trainer> {
  return Trainer.fromCheckpoint(checkpoint, kernelModule(), nodeThreads(threads));
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
