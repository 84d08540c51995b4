// The training worker: runs the shared src/ code on the same .wasm as the CLI, driven by the page
// through Comlink. It holds one trainer; pausing aborts the run loop, resuming calls run again,
// which continues exactly where it stopped.
import * as Comlink from 'comlink';
import wasmUrl from '../build/grokwasm.wasm?url';
import threadsWasmUrl from '../build/grokwasm.threads.wasm?url';
import {
  PRESET, Trainer, WebGpuMatmul, analyse, stepFlops, IGNORED_NOTE, formatVerifyRow, planVerify, verifyResult, verifyTargets, verifyVerdict, ConfigError, applyBackend, checkGpuMatmul, compileKernels, loadKernels, parseBackend, requestGpu, resolveConfig, saveStateDict,
  type ArmAnalysis, type CheckReport, type EvalInfo, type RunConfig, type RunResult, type StepInfo, type SpawnHelper, type ThreadOptions,
} from '../src/core.js';
import { sharedMemoryProblem } from './shared_memory.js';

let kernels: Promise<WebAssembly.Module> | undefined;
const kernelModule = () => (kernels ??= fetch(wasmUrl).then((r) => r.arrayBuffer()).then((b) => compileKernels(b)));
let threadsBuild: Promise<WebAssembly.Module> | undefined;
const threadsModule = () => (threadsBuild ??= fetch(threadsWasmUrl).then((r) => r.arrayBuffer()).then((b) => compileKernels(b)));

/** A Web Worker running web/kernel_helper.ts; one that has not started within 10 s is given up. */
const spawnHelper: SpawnHelper = (init, onExit) => new Promise((resolve, reject) => {
  const worker = new Worker(new URL('./kernel_helper.ts', import.meta.url), { type: 'module' });
  let ready = false;
  const timer = setTimeout(() => { worker.terminate(); reject(new Error('it did not start within 10 s')); }, 10_000);
  worker.onmessage = () => {
    ready = true;
    clearTimeout(timer);
    resolve({ terminate: () => worker.terminate() });
  };
  worker.onerror = (e) => {
    clearTimeout(timer);
    if (ready) onExit(e.message || 'it crashed');
    else reject(new Error(e.message || 'it failed to load'));
  };
  worker.postMessage(init);
});

/** ThreadOptions for `count` threads; none for one, or where helpers cannot share memory (web/shared_memory.ts). */
async function threadOptions(count: number): Promise<ThreadOptions | undefined> {
  if (count <= 1 || sharedMemoryProblem()) return undefined;
  return { count, cores: navigator.hardwareConcurrency || 1, module: await threadsModule(), spawn: spawnHelper };
}

/** The line the page shows about threads: the count, and why it is fewer than asked. */
function threadsLine(asked: number): string {
  const problem = sharedMemoryProblem();
  if (asked > 1 && problem) return `threads: 1 (${problem})`;
  return trainer!.threadsLine;
}

let trainer: Trainer | undefined;
let controller: AbortController | undefined;

// Holds a new trainer with its products on the backend asked for; returns the backend line.
async function hold(make: () => Promise<Trainer>, backend: string): Promise<string | null> {
  const choice = parseBackend(backend);
  trainer?.close();
  trainer = await make();
  // For the progress measures at the final key frequencies (a run resumed from a checkpoint has none).
  trainer.keepSnapshots();
  return applyBackend(trainer, choice, () => requestGpu(navigator.gpu));
}

const api = {
  /** This browser's training speed in GFLOP/s (by stepFlops' count): a few steps of the quick preset, timed. */
  async calibrate(): Promise<number> {
    const config = resolveConfig({ ...PRESET.quick.base, decay: 'lrd' });
    const probe = await Trainer.create(config, await kernelModule());
    // Warm up first: engines run new WebAssembly on a baseline compiler and optimise it later.
    const warm = performance.now();
    while (performance.now() - warm < 500) probe.step();
    // The median of 5 short windows: one window that met a spike of other work (the example
    // being drawn, another tab) read up to 1.5x off, and the estimate with it.
    const steps = 4;
    const rates: number[] = [];
    for (let w = 0; w < 5; w++) {
      const started = performance.now();
      for (let i = 0; i < steps; i++) probe.step();
      rates.push((steps * stepFlops(config)) / ((performance.now() - started) * 1e6));
    }
    probe.close();
    return rates.sort((a, b) => a - b)[2];
  },

  /**
   * Builds a trainer for the config (validated as the CLI does) with its products on the
   * backend asked for; returns the resolved config and, when WebGPU was asked for, the line
   * saying where the products run (on the GPU, or on Wasm and why).
   */
  async create(config: Partial<RunConfig>, backend: string = 'wasm', threads = 1): Promise<{ config: RunConfig; backendLine: string | null; threadsLine: string }> {
    const backendLine = await hold(async () => Trainer.create(resolveConfig(config), await kernelModule(), await threadOptions(threads)), backend);
    return { config: trainer!.config, backendLine, threadsLine: threadsLine(threads) };
  },

  /** Takes over a checkpoint's run (validated as `grokwasm run --resume` does); returns its config and the evaluations so far. */
  async restore(bytes: Uint8Array, backend: string = 'wasm', threads = 1): Promise<{ config: RunConfig; backendLine: string | null; threadsLine: string; history: EvalInfo[]; steps: number }> {
    const backendLine = await hold(async () => Trainer.fromCheckpoint(bytes, await kernelModule(), await threadOptions(threads)), backend);
    const so = trainer!.result();
    return { config: trainer!.config, backendLine, threadsLine: threadsLine(threads), history: so.history, steps: so.steps };
  },

  /**
   * Trains until the end, an early stop or stop(); calls back at every evaluation and at most
   * every 100 ms with the step. `finished` is false when stop() ended it (a pause).
   * `gpuFailure` is the backend line when the GPU failed during this run.
   */
  async run(onEval: (row: EvalInfo) => void, onStep: (info: StepInfo) => void): Promise<{ result: RunResult; finished: boolean; gpuFailure: string | null }> {
    if (!trainer) throw new Error('no run: call create first');
    const signal = (controller = new AbortController()).signal;
    let last = 0;
    const result = await trainer.run((row) => onEval(row), {
      signal,
      // A pause cuts an evaluation short (it is redone on resume), so that it takes effect within a step.
      interruptEvaluation: true,
      onStep: (info) => {
        const now = performance.now();
        if (now - last > 100) { last = now; onStep(info); }
      },
    });
    return { result, finished: !signal.aborted, gpuFailure: trainer.gpuFailure ? trainer.backendLine : null };
  },

  /** Ends the current run() after its current step; the trainer keeps its state. */
  stop(): void {
    controller?.abort();
  },

  /** The result as it stands, with an evaluation a pause cut short made first (for a stopped run's files). */
  settle(onEval: (row: EvalInfo) => void): RunResult {
    if (!trainer) throw new Error('no run');
    return trainer.settle((row) => onEval(row));
  },

  /** Final spectrum of layer 0's q_proj, layer 0 head 0's attention pattern and the key-frequency progress (null after a divergence). */
  analysis(): ArmAnalysis {
    if (!trainer) throw new Error('no run');
    return analyse(trainer);
  },

  /** The parameters as a PyTorch state_dict in safetensors. */
  stateDict(): Uint8Array {
    if (!trainer) throw new Error('no run');
    const bytes = saveStateDict(trainer);
    return Comlink.transfer(bytes, [bytes.buffer]);
  },

  /** The run so far as a checkpoint (parameters, Adam state, PRNG, data order, history) for `grokwasm run --resume`. */
  checkpoint(): Uint8Array {
    if (!trainer) throw new Error('no run');
    const bytes = trainer.saveCheckpoint();
    return Comlink.transfer(bytes, [bytes.buffer]);
  },

  /** This browser's WebGPU matmul against the Wasm one on random shapes; the reason instead when there is no GPU. */
  async checkGpu(): Promise<{ device: string; report: CheckReport } | { reason: string }> {
    const choice = await requestGpu(navigator.gpu);
    if (!choice.device) return { reason: choice.reason };
    const gpu = new WebGpuMatmul(choice.device);
    try {
      return { device: choice.description, report: await checkGpuMatmul(await loadKernels(await kernelModule()), gpu) };
    } finally {
      gpu.destroy();
      choice.device.destroy();
    }
  },
};

/** What a check in the page reports as it goes: the lines `grokwasm verify` prints. */
export interface VerifyLine { text: string; kind: 'head' | 'row' | 'note' | 'verdict' }

/** Set while Verify is paused: the rerun awaits its promise between steps. */
let verifyHold: { promise: Promise<void>; open: () => void } | null = null;

const verifier = {
  /**
   * Whether the config can start here: builds its trainer once (its memory laid out and
   * reserved) and frees it. Null when it can, else the reason (a field out of range, memory
   * past WebAssembly's 4 GiB), so the page says so before Run rather than after.
   */
  async probe(config: Partial<RunConfig>): Promise<string | null> {
    try {
      const t = await Trainer.create(resolveConfig(config), await kernelModule());
      t.close();
      return null;
    } catch (e) {
      if (e instanceof ConfigError || e instanceof RangeError) return e.message;
      return (e as Error).message;
    }
  },

  /** Pauses the check at its next yield (within a step or two); it stays in memory until resumeVerify(). */
  pauseVerify(): void {
    if (verifyHold) return;
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    verifyHold = { promise, open };
  },
  resumeVerify(): void {
    verifyHold?.open();
    verifyHold = null;
  },

  /**
   * `grokwasm verify` in the worker, on the same src/train/verify.ts functions: reruns every
   * run of `text` (a run result, a mechanism.json or a cells.jsonl) for `upTo` steps or to its
   * end, and reports the CLI's lines: the plan, each row, the notes, and the verdict.
   */
  async verify(text: string, name: string, upTo: number | undefined, onLine: (line: VerifyLine) => void, onStep: (done: number, total: number) => void):
    Promise<{ verdict: string; exit: number }> {
    const targets = verifyTargets(text, name);
    const plans = targets.map((t) => planVerify(t.result, t.label, upTo));
    const total = plans.reduce((n, p) => n + p.steps, 0);
    const runs = targets.length > 1 ? ` in ${targets.length} runs` : '';
    const full = targets.reduce((n, t) => n + t.result.steps, 0);
    const partial = !plans.every((p) => p.full);
    if (partial) onLine({ kind: 'head', text: `verify: a PARTIAL check of steps 0-${upTo! - 1}, rerunning ${total} steps${runs} (a full check would rerun ${full}); a pass prints "partially verified: steps 0-${upTo! - 1}" and exits 3` });
    else onLine({ kind: 'head', text: `verify: rerunning ${total} steps${runs} (a full check)` });
    let before = 0, evaluations = 0, bad = 0, cutShort = false, first = '';
    const notChecked: string[] = [];
    const kernels = await kernelModule();
    for (const [i, target] of targets.entries()) {
      const prefix = targets.length > 1 ? `${target.label}: ` : '';
      if (target.result.backend === 'webgpu') {
        onLine({ kind: 'note', text: `${prefix}note: trained with the WebGPU matmul, which is tolerance-equal to Wasm, not bit-equal; this Wasm rerun may differ in the last bits even though nothing is wrong (docs/webgpu.md)` });
      }
      let lastStep = 0;
      const report = await verifyResult(target, (config) => Trainer.create(config, kernels), {
        upTo,
        hold: () => verifyHold?.promise,
        onRow: (row) => {
          if (row.differences.length && !first) first = `${prefix}${formatVerifyRow(row)}`;
          onLine({ kind: 'row', text: `${prefix}${formatVerifyRow(row)}` });
        },
        onStep: (done) => {
          const now = performance.now();
          if (now - lastStep > 100) { lastStep = now; onStep(before + done, total); }
        },
      });
      before += plans[i].steps;
      onStep(before, total);
      evaluations += report.rows.filter((r) => r.step !== 'final').length;
      bad += report.rows.filter((r) => r.differences.length).length;
      if (report.notChecked.length) notChecked.push(`${prefix}${report.notChecked.join(', ')}`);
      if (report.cutShort) { cutShort = true; break; }
    }
    onLine({ kind: 'note', text: IGNORED_NOTE });
    const absent = targets[0].absent ?? [];
    if (absent.length) onLine({ kind: 'note', text: `not compared: ${absent.join(', ')} (the file was written before these fields existed)` });
    if (notChecked.length) onLine({ kind: 'note', text: `partial check: NOT checked: ${notChecked.join('; ')}` });
    const verdict = verifyVerdict({ targets: targets.length, upTo, partial, evaluations, bad, cutShort, first, absent });
    onLine({ kind: 'verdict', text: verdict.line });
    return { verdict: verdict.line, exit: verdict.exit };
  },
};

const exposed = { ...api, ...verifier };
export type WorkerApi = typeof exposed;
Comlink.expose(exposed);
