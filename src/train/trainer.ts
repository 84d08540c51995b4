// The trainer: one kernel instance with its parts (src/train/parts.ts) and threads, and the public
// face of a run over them; the step, the evaluation, the run loop and checkpoint I/O are in
// step.ts, evaluation.ts, run_loop.ts and checkpoint_io.ts, the parameters' values in parameters.ts.
import { ConfigError, resolveConfig, type RunConfig } from './config.js';
import { explainGroups, type OptimizerGroup } from './optimizer.js';
import type { ProductRunner } from './product_driver.js';
import { SEQ_LEN } from './data.js';
import type { MatmulWork } from '../kernel/matmul_call.js';
import type { ModelShape, ParamSpec } from '../model/params.js';
import { decodeCheckpoint } from '../format/checkpoint.js';
import type { Divergence, EvalInfo, RunResult } from '../format/run_result.js';
import { loadKernels, sharedMemory, type KernelExports, type WasmSource } from '../kernel/wasm.js';
import { KernelThreads, type SpawnHelper } from '../kernel/threads.js';
import { buildParts, checksumOf, type TrainerParts } from './parts.js';
import { initParams, readParams, writeParams } from './parameters.js';
import { TrainingStep, type BatchGradients, type StepInfo } from './step.js';
import { Evaluation, fourierApplies } from './evaluation.js';
import { keyFrequencies } from './fourier.js';
import type { KeyFrequencyProgress } from '../format/mechanism.js';
import { RunLoop, type RunOptions } from './run_loop.js';
import { restoreCheckpoint, saveCheckpoint } from './checkpoint_io.js';

/** A run on several threads: how many, the threads build of the module, and how to start a helper. */
export interface ThreadOptions {
  count: number;
  /** Cores of the machine: threads poll for work only while count <= cores. */
  cores: number;
  module: WebAssembly.Module;
  spawn: SpawnHelper;
}

/** Independent PRNG streams derived from the seed, so changing one use never shifts another. */
const STREAM = { split: 1, init: 2, order: 3 } as const;

export class Trainer {
  readonly config: RunConfig;
  readonly table: ParamSpec[];
  get groups(): OptimizerGroup[] { return this.parts.optimizer.groups; }
  readonly shape: ModelShape;
  private readonly k: KernelExports;
  private readonly parts: TrainerParts;
  private readonly stepper: TrainingStep;
  private readonly evaluation: Evaluation;
  private readonly loop: RunLoop;
  private pool: KernelThreads | null = null;
  private threadNote: string | null = null;
  /** The parameters at every evaluation since keepSnapshots(), for keyFrequencyProgress(). */
  private snapshots: Float32Array[] | null = null;

  private constructor(kernels: KernelExports, config: RunConfig, threads = 1) {
    this.k = kernels;
    this.config = config;
    const parts = (this.parts = buildParts(kernels, config, threads, () => this.pool));
    this.shape = parts.shape;
    this.table = parts.table;
    kernels.randomSeed(this.rng('split'), config.seed, STREAM.split);
    kernels.randomSeed(this.rng('init'), config.seed, STREAM.init);
    kernels.randomSeed(this.rng('order'), config.seed, STREAM.order);
    parts.data.init(parts.arena, kernels, this.rng('split'));
    this.evaluation = new Evaluation(parts, parts.data.valMirrored());
    initParams(kernels, parts.arena, parts.table, parts.ptr.params, this.rng('init'));
    parts.data.shuffleEpoch(kernels, this.rng('order'));
    this.stepper = new TrainingStep(parts, this.rng('order'));
    this.loop = new RunLoop(parts, {
      stepWork: () => this.stepper.work(), evaluateWork: () => this.evaluation.work(), evaluate: () => this.evaluate(),
      checksum: () => this.checksum(), saveCheckpoint: (extra) => this.saveCheckpoint(extra),
    });
  }

  /**
   * Builds a trainer on a fresh instance of the kernel module; with `threads` (count > 1), on the
   * threads build over shared memory with count - 1 helpers. Where shared memory or a helper is
   * not available it runs on fewer threads and threadsLine says why; the bits are the same.
   */
  static async create(config: Partial<RunConfig>, wasm: WasmSource, threads?: ThreadOptions): Promise<Trainer> {
    return Trainer.build(resolveConfig(config), wasm, threads);
  }

  private static async build(config: RunConfig, wasm: WasmSource, threads?: ThreadOptions): Promise<Trainer> {
    if (!threads || threads.count <= 1) return new Trainer(await loadKernels(wasm), config);
    let memory: WebAssembly.Memory;
    try {
      memory = sharedMemory();
    } catch (e) {
      const trainer = new Trainer(await loadKernels(wasm), config);
      trainer.threadNote = `threads: 1 (no shared memory here: ${(e as Error).message})`;
      return trainer;
    }
    let trainer: Trainer;
    try {
      trainer = new Trainer(await loadKernels(threads.module, memory), config, threads.count);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // Each thread's scratch may not fit beside the run where one thread's does: run on one.
      const single = new Trainer(await loadKernels(wasm), config);
      single.threadNote = `threads: 1 (${threads.count} threads' scratch does not fit in WebAssembly's 4 GiB beside this run)`;
      return single;
    }
    const s = trainer.parts.slots!;
    const { pool, line } = await KernelThreads.start(trainer.k, threads.module, memory, s.control, s.scratch, s.slotBytes,
      threads.count, threads.cores, threads.spawn);
    trainer.pool = pool;
    trainer.threadNote = line;
    return trainer;
  }

  /** Threads this run computes on now (1 when it runs on one, or its helpers could not start). */
  get threads(): number {
    return this.pool?.live ?? 1;
  }

  /** How many threads the run uses, and why fewer than asked where that happened, in one line. */
  get threadsLine(): string {
    const notes = [this.threadNote, ...(this.pool?.notices ?? [])].filter(Boolean);
    return notes.length ? notes.join('; ') : `threads: ${this.threads}`;
  }

  /** Ends the helper threads, if any; the trainer then computes on one thread. */
  close(): void {
    this.pool?.stop();
    this.pool = null;
  }

  private rng(stream: keyof typeof STREAM): number {
    return this.parts.ptr.rng + 16 * (STREAM[stream] - 1);
  }

  /** Copies of every parameter, by PyTorch name. */
  getParams(): Record<string, { shape: number[]; data: Float32Array }> {
    return readParams(this.parts.arena, this.table, this.parts.ptr.params);
  }

  /** Replaces parameter values (every name must be present with the right size) and resets the optimiser. */
  setParams(params: Record<string, Float32Array>): void {
    writeParams(this.parts.arena, this.table, this.parts.ptr, this.parts.floats, params);
    this.parts.optimizer.adamStep = 0;
    this.stepper.clearGrads();
  }

  /**
   * Runs the model's products of the training loop (run()) on a GPU from now on. If a product
   * fails there, it and all later ones run on the Wasm matmul, and backendLine says why.
   */
  useGpu(runner: ProductRunner, description: string): void {
    this.parts.driver.useGpu(runner, description);
  }

  /** Says, in one line, where the training loop's products run now and why. */
  get backendLine(): string {
    return this.parts.driver.line;
  }

  /** Why the GPU given to useGpu was dropped during training, or null if it was not. */
  get gpuFailure(): string | null {
    return this.parts.driver.failure;
  }

  /** Loss, logits and gradients of one batch (inputs: batch x 3 tokens), leaving the gradients for applyGrads; on Wasm. */
  lossAndGrads(inputs: Int32Array, targets: Int32Array): BatchGradients {
    const b = this.stepper.setBatch(inputs, targets);
    return this.stepper.batchGradients(this.parts.model.runOnWasm(this.stepper.forwardBackwardWork(b)), b);
  }

  /** lossAndGrads with the products on the training loop's backend: the GPU after useGpu. */
  async lossAndGradsOnBackend(inputs: Int32Array, targets: Int32Array): Promise<BatchGradients> {
    const b = this.stepper.setBatch(inputs, targets);
    const work = this.stepper.forwardBackwardWork(b);
    return this.stepper.batchGradients(await this.parts.driver.drive(work, this.parts.run.stepsDone), b);
  }

  /** Replaces the pending gradients (e.g. computed elsewhere), so that applyGrads uses them. */
  setGrads(grads: Record<string, Float32Array>): void {
    this.stepper.setGrads(grads);
  }

  /** One optimiser step from the last gradients: the arm's transform, AdamW, then the arm's own step. */
  applyGrads(): void {
    this.stepper.applyGrads();
  }

  /** The arm's own step after AdamW alone, on the current weights and gradients (the bench times it). */
  armStep(): void {
    this.parts.optimizer.armStep();
  }

  /** Which parameters get which update, one line per run of alike parameters (`run --explain`). */
  explain(): string[] {
    return explainGroups(this.config, this.groups);
  }

  /** One training step on the next batch of the epoch (reshuffled when an epoch ends, last batch partial), on Wasm. */
  step(): StepInfo {
    return this.parts.model.runOnWasm(this.stepper.work());
  }

  /** Sizes of the training and validation sets. */
  get datasetSizes(): { train: number; val: number } {
    return { train: this.parts.data.trainCount, val: this.parts.data.valCount };
  }

  /** The examples of a split as token rows [n x 3] and targets [n] (copies). */
  examples(split: 'train' | 'val'): { inputs: Int32Array; targets: Int32Array } {
    const { data } = this.parts;
    const ids = split === 'train' ? data.trainIds() : data.valIds();
    const inputs = new Int32Array(ids.length * SEQ_LEN), targets = new Int32Array(ids.length);
    data.fill(inputs, targets, ids, 0, ids.length);
    return { inputs, targets };
  }

  /** Steps taken so far. */
  get stepCount(): number { return this.parts.run.stepsDone; }

  /**
   * Mean Frobenius norm of the q_proj and k_proj weights, and the norm of all parameters: sums of
   * squares in f64 in table order, so the same bits on every engine.
   */
  weightNorms(): { queryKeyNorm: number; paramNorm: number } {
    return this.evaluation.weightNorms();
  }

  /** Mean stable and effective rank over every q_proj and k_proj weight. */
  queryKeyRanks(): { stableRank: number; effectiveRank: number } {
    return this.parts.spectra.queryKeyRanks();
  }

  /** Singular values (descending) of a parameter matrix, e.g. 'layers.0.attn.q_proj.weight'. */
  spectrum(name: string): Float64Array {
    return this.parts.spectra.spectrum(name);
  }

  /** Layer 0's attention among the p number tokens at position 0, for one head: p x p rows of softmax weights. */
  attentionPattern(head = 0): number[][] {
    const p = this.config.p;
    const flat = this.parts.model.attentionPattern(this.parts.arena, p, head);
    return Array.from({ length: p }, (_, i) => Array.from(flat.subarray(i * p, (i + 1) * p)));
  }

  /** Train and validation loss and accuracy over the whole sets, and the QK ranks, on Wasm. */
  evaluate(): EvalInfo {
    return this.parts.model.runOnWasm(this.evaluation.work());
  }

  /**
   * Keep a copy of the parameters at every evaluation from now on (a run's rows, in order), so
   * that keyFrequencyProgress() can read the measures at the final model's key frequencies.
   * Costs the parameters' size per evaluation.
   */
  keepSnapshots(): void {
    if (this.snapshots) return;
    this.snapshots = [];
    this.loop.observer = () => this.snapshots!.push(this.parts.arena.f32(this.parts.ptr.params, this.parts.floats).slice());
  }

  /**
   * Nanda et al.'s progress measures as they define them: the key frequencies fixed from the
   * model now (the final one: the five largest shares of its embedding), and at every kept
   * evaluation the training loss of the logits restricted to them and without them. Null for a
   * task other than addition, a diverged run, or when the snapshots do not cover every row (a
   * run continued from a checkpoint). The parameters are restored afterwards.
   */
  keyFrequencyProgress(): KeyFrequencyProgress | null {
    const history = this.parts.run.history;
    if (!fourierApplies(this.config) || this.divergence || !this.snapshots || this.snapshots.length !== history.length) return null;
    const params = this.parts.arena.f32(this.parts.ptr.params, this.parts.floats);
    const final = params.slice();
    const frequencies = keyFrequencies(this.evaluation.frequencyShares());
    const restrictedLoss: number[] = [], excludedLoss: number[] = [];
    try {
      for (const snapshot of this.snapshots) {
        params.set(snapshot);
        const losses = this.parts.model.runOnWasm(this.evaluation.keyLossesWork(frequencies));
        restrictedLoss.push(losses.restrictedLoss);
        excludedLoss.push(losses.excludedLoss);
      }
    } finally {
      params.set(final);
    }
    return { frequencies, restrictedLoss, excludedLoss };
  }

  /** Over the unordered pairs a != b, how often the answer to (a, b) equals the answer to (b, a) (see Evaluation). */
  swapAgreement(): { agree: number; pairs: number } {
    return this.parts.model.runOnWasm(this.evaluation.swapAgreementWork());
  }

  /** Hex digest of every parameter, both Adam moments and the Adam step count. */
  checksum(): string {
    return checksumOf(this.parts);
  }

  /**
   * Trains to config.steps, evaluating after every step index divisible by evalEvery (and the last
   * step, with evalLast), and stops
   * early after two consecutive evaluations with validation accuracy above 0.99 (src/train/run_loop.ts).
   * A trainer restored from a checkpoint continues where it stopped.
   */
  run(onEval?: (row: EvalInfo) => void, options: RunOptions = {}): Promise<RunResult> {
    return this.loop.run(onEval, options);
  }

  /** Completes an evaluation an interrupted run() left pending (on Wasm); then the result. */
  settle(onEval?: (row: EvalInfo) => void): RunResult {
    return this.loop.settle(onEval);
  }

  /** Whether an interrupted run() left the evaluation of its last step to do. */
  get evaluationPending(): boolean {
    return this.parts.run.pendingEval;
  }

  /** Why and where the run diverged, or null. */
  get divergence(): Divergence | null {
    const diverged = this.parts.run.diverged;
    return diverged && { ...diverged };
  }

  /** The run result so far. */
  result(): RunResult {
    return this.loop.result();
  }

  /** Everything needed to continue this run exactly: parameters, Adam moments, PRNG and data order, loop state. */
  saveCheckpoint(extraElapsedMs = 0): Uint8Array {
    // A checkpoint holds no half-done step: a pending evaluation is made first.
    this.loop.finishPending();
    return saveCheckpoint(this.parts, extraElapsedMs);
  }

  /** Continues a run from saveCheckpoint's bytes; a corrupt or mismatched file gets a CheckpointError. */
  static async fromCheckpoint(bytes: Uint8Array, wasm: WasmSource, threads?: ThreadOptions): Promise<Trainer> {
    const { config, state, tensors } = decodeCheckpoint(bytes);
    const trainer = await Trainer.build(config, wasm, threads);
    restoreCheckpoint(trainer.parts, tensors, state);
    return trainer;
  }
}

export { CHECKPOINT_FORMAT, CheckpointError } from '../format/checkpoint.js';
export { GROK_ACCURACY } from '../format/run_result.js';
export type { Divergence, EvalInfo, RunResult } from '../format/run_result.js';
export { optimizerGroups } from './optimizer.js';
export type { OptimizerGroup } from './optimizer.js';
export type { ProductRunner } from './product_driver.js';
export type { RunOptions } from './run_loop.js';
export type { BatchGradients, StepInfo } from './step.js';
export { fourierApplies } from './evaluation.js';
