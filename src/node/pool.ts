// Node-only: runs cells on a pool of worker_threads, one cell per worker at a time. A cell's
// result depends only on its config (each gets a fresh trainer), never on the pool size or on
// the order in which cells finish.
import { availableParallelism, totalmem } from 'node:os';
import { Worker } from 'node:worker_threads';
import { builtNodeModule } from './package_root.js';
import type { CellMessage, CellRequest } from './cell_worker.js';
import type { RunConfig } from '../train/config.js';
import { parameterCount, parameterTable } from '../model/params.js';
import type { Backend } from '../kernel/matmul_call.js';
import { prepareGpuEnvironment } from './webgpu.js';
import type { EvalInfo, RunResult } from '../train/trainer.js';
import type { ArmAnalysis } from '../format/mechanism.js';

export interface CellOutcome extends Partial<ArmAnalysis> {
  result: RunResult;
}

export interface PoolHandlers {
  onStep?: (index: number, step: number) => void;
  /** Where a cell's products run, when WebGPU was asked for (one line). */
  onBackend?: (index: number, line: string) => void;
  onEval?: (index: number, row: EvalInfo) => void;
  onDone?: (index: number, outcome: CellOutcome) => void;
}

export function defaultWorkers(): number {
  return availableParallelism();
}

/**
 * About how much memory one worker holds for a config: its Wasm memory (parameters, gradients
 * and both Adam moments; the activations of a batch; the logits) and the engine's own share.
 */
export function estimateWorkerBytes(config: RunConfig): number {
  const table = parameterTable({ vocab: config.p + 1, seqLen: 3, dim: config.dim, depth: config.depth, heads: config.heads, mlp: config.mlp });
  const activations = 4 * config.batch * 3 * config.depth * (12 * config.dim + 3 * config.mlp) + 4 * config.batch * (config.p + 1) * 2;
  return 16 * parameterCount(table) + activations + 48 * 2 ** 20;
}

/**
 * The pool size for `jobs` runs of configs like `config`: what was asked (one per core by
 * default), no more than the jobs, and no more than fit in half of this machine's memory.
 * Each reduction or a pool larger than the cores is said in one line through `warn`.
 */
export function poolSize(asked: number | undefined, jobs: number, config: RunConfig, warn: (line: string) => void): number {
  const cores = availableParallelism();
  const per = estimateWorkerBytes(config);
  const fit = Math.max(1, Math.floor(totalmem() / 2 / per));
  let size = Math.max(1, Math.min(asked ?? cores, jobs));
  const mib = `about ${Math.ceil(per / 2 ** 20)} MiB each`;
  if (size > fit) {
    warn(`--workers: using ${fit} workers, not ${size}: ${fit} fit in half of this machine's ${(totalmem() / 2 ** 30).toFixed(0)} GiB (${mib})`);
    size = fit;
  }
  if (asked !== undefined && asked > cores) {
    warn(`--workers ${asked} is more than this machine's ${cores} cores: cells will not finish sooner, and each worker holds its own model (${mib}); using ${size}`);
  }
  return size;
}

// Workers run compiled JavaScript: from dist/src/node/ the worker sits beside this file; when this
// file runs as TypeScript (tests), the built copy in dist/ is used.
function workerUrl(): URL {
  return builtNodeModule('cell_worker.js');
}

export interface PoolOptions {
  /** Also return each cell's final q_proj spectrum and attention pattern. */
  analysis?: boolean;
  backend?: Backend;
  /** Threads each cell computes on (default 1). */
  threads?: number;
}

/** Runs every config; resolves with the outcomes in input order. Rejects on the first failure. */
export function runPool(configs: RunConfig[], workers: number, handlers: PoolHandlers = {}, options: PoolOptions = {}): Promise<CellOutcome[]> {
  const outcomes: CellOutcome[] = new Array(configs.length);
  if (configs.length === 0) return Promise.resolve(outcomes);
  const size = Math.max(1, Math.min(workers, configs.length));
  if (options.backend === 'webgpu') prepareGpuEnvironment();
  return new Promise((resolve, reject) => {
    const pool: Worker[] = [];
    let next = 0, finished = 0, failed = false;
    const stopAll = () => { for (const w of pool) void w.terminate(); };
    const feed = (w: Worker) => {
      if (next >= configs.length) return;
      const request: CellRequest = {
        id: next, config: configs[next], analysis: options.analysis ?? false, backend: options.backend ?? 'wasm', threads: options.threads ?? 1,
      };
      next++;
      w.postMessage(request);
    };
    for (let i = 0; i < size; i++) {
      const w = new Worker(workerUrl());
      pool.push(w);
      w.on('message', (m: CellMessage) => {
        if (failed) return;
        // A handler that throws (an append to a full disk) stops the pool: the error rejects it.
        try {
          onMessage(w, m);
        } catch (e) {
          failed = true;
          stopAll();
          reject(e);
        }
      });
      w.on('error', (e) => { if (!failed) { failed = true; stopAll(); reject(e); } });
      feed(w);
    }
    function onMessage(w: Worker, m: CellMessage): void {
      if (m.type === 'step') handlers.onStep?.(m.id, m.step);
      else if (m.type === 'backend') handlers.onBackend?.(m.id, m.line);
      else if (m.type === 'eval') handlers.onEval?.(m.id, m.row);
      else if (m.type === 'error') {
        failed = true;
        stopAll();
        reject(new Error(`cell ${m.id}: ${m.message}`));
      } else {
        outcomes[m.id] = { result: m.result, spectrum: m.spectrum, attention: m.attention, progress: m.progress };
        handlers.onDone?.(m.id, outcomes[m.id]);
        if (++finished === configs.length) {
          stopAll();
          resolve(outcomes);
        } else {
          feed(w);
        }
      }
    }
  });
}
