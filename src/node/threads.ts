// Node's helper threads for one training run: worker_threads running src/node/kernel_helper.ts.
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { builtNodeModule, packageFile } from './package_root.js';
import { requireWasmSimd } from '../kernel/simd.js';
import type { SpawnHelper } from '../kernel/threads.js';

/** Path of the threads build (shared memory) inside this package. */
export const THREADS_WASM_URL = packageFile('build/grokwasm.threads.wasm');

let compiled: WebAssembly.Module | undefined;

/** The compiled threads build, read and compiled once per process. */
export function threadsModule(): WebAssembly.Module {
  requireWasmSimd();
  compiled ??= new WebAssembly.Module(readFileSync(THREADS_WASM_URL));
  return compiled;
}

/** Cores of this machine (what --threads defaults to for a single run). */
export function coreCount(): number {
  return availableParallelism();
}

/**
 * Starts a helper worker. It is unref'd once ready, so helpers never keep the process alive;
 * an error or exit after that is reported through onExit (the run goes on without it).
 */
export const spawnNodeHelper: SpawnHelper = (init, onExit) => new Promise((resolve, reject) => {
  const worker = new Worker(builtNodeModule('kernel_helper.js'), { workerData: init });
  let ready = false;
  worker.once('message', () => {
    ready = true;
    worker.unref();
    resolve({ terminate: () => void worker.terminate() });
  });
  worker.once('error', (e) => (ready ? onExit(e.message) : reject(e)));
  worker.once('exit', (code) => (ready ? onExit(`exit code ${code}`) : reject(new Error(`it exited with code ${code} before starting`))));
});
