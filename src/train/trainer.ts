// The trainer: one kernel instance, its parameter / optimiser / activation arenas, the data,
// and the reference's training loop for the L2 and LRD arms.
import { Arena } from '../kernel/arena.js';
import { ConfigError, resolveConfig, type RunConfig } from './config.js';
import { Optimizer, explainGroups, type OptimizerGroup } from './optimizer.js';
import { armOf } from './arms/index.js';
import { ProductDriver, YIELD_MS, yieldToEventLoop, type ProductRunner } from './product_driver.js';
import { WeightSpectra } from './spectra.js';
import { TrainingState } from './state_digest.js';
import { ModularData, SEQ_LEN } from './data.js';
import type { MatmulWork } from '../kernel/matmul_call.js';
import { Model } from '../model/model.js';
import { parameterArenaFloats, parameterTable, type ModelShape, type ParamSpec } from '../model/params.js';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type CheckpointState } from '../format/checkpoint.js';
import { GROK_ACCURACY, summarizeHistory, type Divergence, type EvalInfo, type RunResult } from '../format/run_result.js';
import type { Tensor, TensorData } from '../format/safetensors.js';
import { loadKernels, sharedMemory, type KernelExports, type WasmSource } from '../kernel/wasm.js';
import { CONTROL_BYTES, KernelThreads, type SpawnHelper } from '../kernel/threads.js';
import { parallelKernels, type ParallelKernels } from '../kernel/parallel.js';
import { largestProductScratch } from '../model/activations.js';
import { taskTarget } from './tasks.js';
import { FOURIER_MAX_P, embeddingFrequencyShares, keyFrequencies, splitLogits, trigTable } from './fourier.js';

/** Whether the Fourier measures are computed: modular addition, at a modulus whose p^3 logits fit in memory. */
export function fourierApplies(config: RunConfig): boolean {
  return config.task === 'add' && config.p <= FOURIER_MAX_P;
}

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

export interface StepInfo {
  /** 0-based index of the update just made (the reference's step numbering). */
  step: number;
  loss: number;
  /** Examples in the batch: config.batch, or fewer for an epoch's last batch. */
  batch: number;
}

export interface RunOptions {
  onStep?: (info: StepInfo) => void;
  /** Called with saveCheckpoint()'s bytes after every checkpointEvery steps (not after the last). */
  onCheckpoint?: (bytes: Uint8Array) => void;
  checkpointEvery?: number;
  /** Aborting ends the run after the current step; the result holds what was done. */
  signal?: AbortSignal;
  /** End the run once this many steps are done (a partial rerun), config.steps unchanged. */
  stopAt?: number;
  /**
   * Let an abort cut an evaluation short (a pause in the page): the evaluation is left pending
   * and done first by the next run(), or by settle() or saveCheckpoint(). Without it an abort
   * takes effect after the current step and its evaluation.
   */
  interruptEvaluation?: boolean;
}

/** What lossAndGrads returns: copies, by PyTorch parameter name. */
export interface BatchGradients {
  loss: number;
  /** [batch x vocab] */
  logits: Float32Array;
  grads: Record<string, Float32Array>;
}

export class Trainer {
  readonly config: RunConfig;
  readonly table: ParamSpec[];
  get groups(): OptimizerGroup[] { return this.optimizer.groups; }
  readonly shape: ModelShape;
  private readonly k: KernelExports;
  private readonly arena: Arena;
  private readonly model: Model;
  private readonly data: ModularData;
  private readonly floats: number;
  private readonly ptr: {
    params: number; grads: number; m: number; v: number; rng: number; counter: number;
    polar: number; nsScratch: number; sv: number; svScratch: number;
    /** The arm's state (0 when it keeps none) and the extra scratch its step needs. */
    state: number; matrixB: number; scratch64: number;
  };
  private readonly inputs: { tokens: Int32Array; targets: Int32Array };
  private readonly optimizer: Optimizer;
  private readonly driver: ProductDriver;
  private readonly spectra: WeightSpectra;
  private readonly state: TrainingState;
  private stepsDone = 0;
  private epochCursor = 0;
  private hasGrads = false;
  private history: EvalInfo[] = [];
  private streak = 0;
  private stopped = false;
  private elapsedMs = 0;
  private diverged: Divergence | null = null;
  /** Whether an interrupted run() left the evaluation of its last step to do. */
  private pendingEval = false;
  private pool: KernelThreads | null = null;
  /** Per validation pair, whether its mirror is a training pair (null: the task is not commutative). */
  private valMirrored: Uint8Array | null = null;
  /** Control block and per-thread scratch of a threaded run (reserved when threads > 1). */
  private readonly slots: { control: number; scratch: number; slotBytes: number } | null;
  private threadNote: string | null = null;

  private constructor(kernels: KernelExports, config: RunConfig, threads = 1) {
    this.k = kernels;
    this.config = config;
    this.shape = {
      vocab: config.p + 1, seqLen: SEQ_LEN, dim: config.dim, depth: config.depth, heads: config.heads, mlp: config.mlp,
    };
    this.table = parameterTable(this.shape);
    this.floats = parameterArenaFloats(this.table);
    const arena = (this.arena = new Arena(kernels));
    const D = config.dim;
    const arm = armOf(config.decay);
    // Kernels are not split over threads yet here; the arm only reads the scratch functions.
    const need = arm.scratch?.(this.table, kernels as ParallelKernels) ?? { matrixFloats: 0, scratchFloats: 0, scratch64Doubles: 0 };
    this.ptr = {
      params: arena.words(this.floats), grads: arena.words(this.floats),
      m: arena.words(this.floats), v: arena.words(this.floats),
      rng: arena.words(4 * 3), counter: arena.words(4),
      polar: arena.words(Math.max(D * D, need.matrixFloats)),
      nsScratch: arena.words(Math.max(kernels.newtonSchulzScratchFloats(D, D), need.scratchFloats)),
      sv: arena.doubles(D), svScratch: arena.doubles(kernels.spectralScratchDoubles(D, D)),
      // Allocated after everything the L2 and LRD arms use, and only when an arm needs them, so
      // that those arms' layout (and so their speed) is what it was.
      state: arm.keepsState ? arena.words(this.floats) : 0,
      matrixB: need.matrixFloats ? arena.words(need.matrixFloats) : 0,
      scratch64: need.scratch64Doubles ? arena.doubles(need.scratch64Doubles) : 0,
    };
    // Each thread's scratch holds the largest product's, or a q/k weight's polar factor and
    // Newton-Schulz scratch, or the attention backward's one row of scores per key.
    const polarFloats = Math.ceil((D * D) / 4) * 4;
    const slotFloats = Math.max(largestProductScratch(this.shape, config.batch, kernels.matmulScratchFloats),
      polarFloats + kernels.newtonSchulzScratchFloats(D, D), this.shape.seqLen);
    const slotBytes = 4 * Math.ceil(slotFloats / 4) * 4 + 64;
    this.slots = threads > 1
      ? { control: arena.words(CONTROL_BYTES / 4), scratch: arena.words((threads * slotBytes) / 4), slotBytes }
      : null;
    const parallel = parallelKernels(kernels, () => this.pool, polarFloats);
    this.model = new Model(parallel, arena, this.shape, this.table, { params: this.ptr.params, grads: this.ptr.grads }, config.batch, config.loss);
    this.data = new ModularData(arena, config.p, config.frac, config.task, config.split);
    try {
      arena.commit();
    } catch (e) {
      throw new ConfigError('batch', `batch ${config.batch} with dim ${config.dim}, mlp ${config.mlp}, depth ${config.depth} and p ${config.p} ${(e as Error).message}; reduce batch, mlp or dim`);
    }
    this.optimizer = new Optimizer(parallel, config, this.table, {
      params: this.ptr.params, grads: this.ptr.grads, m: this.ptr.m, v: this.ptr.v, state: this.ptr.state,
      matrixA: this.ptr.polar, matrixB: this.ptr.matrixB, scratch: this.ptr.nsScratch, scratch64: this.ptr.scratch64,
    });
    this.driver = new ProductDriver(this.model, kernels.memory);
    this.spectra = new WeightSpectra(kernels, arena, this.table, this.ptr);
    this.state = new TrainingState(kernels, arena, this.ptr, this.floats);
    this.model.bindViews(arena);
    this.inputs = this.model.inputViews(arena);

    kernels.randomSeed(this.rng('split'), config.seed, STREAM.split);
    kernels.randomSeed(this.rng('init'), config.seed, STREAM.init);
    kernels.randomSeed(this.rng('order'), config.seed, STREAM.order);
    this.data.init(arena, kernels, this.rng('split'));
    this.valMirrored = this.data.valMirrored();
    this.initParams();
    this.data.shuffleEpoch(kernels, this.rng('order'));
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
    const s = trainer.slots!;
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
    return this.ptr.rng + 16 * (STREAM[stream] - 1);
  }

  private view(base: number, spec: ParamSpec): Float32Array {
    return this.arena.f32(base + 4 * spec.offset, spec.size);
  }

  private initParams(): void {
    const state = this.rng('init');
    for (const spec of this.table) {
      const ptr = this.ptr.params + 4 * spec.offset;
      if (spec.init.kind === 'normal') this.k.randomNormal(state, ptr, spec.size, 0, spec.init.std);
      else if (spec.init.kind === 'uniform') this.k.randomUniform(state, ptr, spec.size, -spec.init.bound, spec.init.bound);
      else this.view(this.ptr.params, spec).fill(1);
    }
  }

  /** Copies of every parameter, by PyTorch name. */
  getParams(): Record<string, { shape: number[]; data: Float32Array }> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const spec of this.table) out[spec.name] = { shape: [...spec.shape], data: this.view(this.ptr.params, spec).slice() };
    return out;
  }

  /** Replaces parameter values (every name must be present with the right size) and resets the optimiser. */
  setParams(params: Record<string, Float32Array>): void {
    for (const spec of this.table) {
      const value = params[spec.name];
      if (!value) throw new Error(`setParams: missing parameter '${spec.name}'`);
      if (value.length !== spec.size) {
        throw new Error(`setParams: '${spec.name}' has ${value.length} values, expected ${spec.size} (shape ${spec.shape.join('x')})`);
      }
    }
    const known = new Set(this.table.map((s) => s.name));
    for (const name of Object.keys(params)) if (!known.has(name)) throw new Error(`setParams: unknown parameter '${name}'`);
    for (const spec of this.table) this.view(this.ptr.params, spec).set(params[spec.name]);
    this.arena.f32(this.ptr.m, this.floats).fill(0);
    this.arena.f32(this.ptr.v, this.floats).fill(0);
    if (this.ptr.state) this.arena.f32(this.ptr.state, this.floats).fill(0);
    this.optimizer.adamStep = 0;
    this.hasGrads = false;
  }

  private *forwardBackwardWork(b: number): MatmulWork<number> {
    this.arena.f32(this.ptr.grads, this.floats).fill(0);
    const sum = yield* this.model.forwardWork(b);
    yield* this.model.backwardWork();
    this.hasGrads = true;
    return sum / b;
  }

  /**
   * Runs the model's products of the training loop (run()) on a GPU from now on. If a product
   * fails there, it and all later ones run on the Wasm matmul, and backendLine says why.
   */
  useGpu(runner: ProductRunner, description: string): void {
    this.driver.useGpu(runner, description);
  }

  /** Says, in one line, where the training loop's products run now and why. */
  get backendLine(): string {
    return this.driver.line;
  }

  /** Why the GPU given to useGpu was dropped during training, or null if it was not. */
  get gpuFailure(): string | null {
    return this.driver.failure;
  }

  private drive<T>(work: MatmulWork<T>): T | Promise<T> {
    return this.driver.drive(work, this.stepsDone);
  }

  /** Loss, logits and gradients of one batch (inputs: batch x 3 tokens), leaving the gradients for applyGrads; on Wasm. */
  lossAndGrads(inputs: Int32Array, targets: Int32Array): BatchGradients {
    const b = this.setBatch(inputs, targets);
    return this.batchGradients(this.model.runOnWasm(this.forwardBackwardWork(b)), b);
  }

  /** lossAndGrads with the products on the training loop's backend: the GPU after useGpu. */
  async lossAndGradsOnBackend(inputs: Int32Array, targets: Int32Array): Promise<BatchGradients> {
    const b = this.setBatch(inputs, targets);
    return this.batchGradients(await this.drive(this.forwardBackwardWork(b)), b);
  }

  private setBatch(inputs: Int32Array, targets: Int32Array): number {
    const b = targets.length;
    if (b < 1 || b > this.config.batch) throw new RangeError(`lossAndGrads: batch ${b} is outside [1, ${this.config.batch}]`);
    if (inputs.length !== b * SEQ_LEN) throw new RangeError(`lossAndGrads: inputs has ${inputs.length} tokens, expected ${b} x ${SEQ_LEN}`);
    for (const t of targets) {
      if (!(t >= 0 && t < this.shape.vocab)) throw new RangeError(`lossAndGrads: target ${t} is outside [0, ${this.shape.vocab - 1}]`);
    }
    this.inputs.tokens.set(inputs);
    this.inputs.targets.set(targets);
    return b;
  }

  private batchGradients(loss: number, b: number): BatchGradients {
    const grads: Record<string, Float32Array> = {};
    for (const spec of this.table) grads[spec.name] = this.view(this.ptr.grads, spec).slice();
    return { loss, logits: this.arena.f32(this.model.logits, b * this.shape.vocab).slice(), grads };
  }

  /** Replaces the pending gradients (e.g. computed elsewhere), so that applyGrads uses them. */
  setGrads(grads: Record<string, Float32Array>): void {
    for (const spec of this.table) {
      const g = grads[spec.name];
      if (!g || g.length !== spec.size) throw new Error(`setGrads: '${spec.name}' needs ${spec.size} values`);
    }
    for (const spec of this.table) this.view(this.ptr.grads, spec).set(grads[spec.name]);
    this.hasGrads = true;
  }

  /** One optimiser step from the last gradients: the arm's transform, AdamW, then the arm's own step. */
  applyGrads(): void {
    if (!this.hasGrads) throw new Error('applyGrads: no gradients; call lossAndGrads or step first');
    this.optimizer.step();
    this.hasGrads = false;
  }

  /** The arm's own step after AdamW alone, on the current weights and gradients (the bench times it). */
  armStep(): void {
    this.optimizer.armStep();
  }

  /** Which parameters get which update, one line per run of alike parameters (`run --explain`). */
  explain(): string[] {
    return explainGroups(this.config, this.groups);
  }

  /** One training step on the next batch of the epoch (reshuffled when an epoch ends, last batch partial), on Wasm. */
  step(): StepInfo {
    return this.model.runOnWasm(this.stepWork());
  }

  private *stepWork(): MatmulWork<StepInfo> {
    const { batch } = this.config;
    const ids = this.data.epochIds();
    if (this.epochCursor >= ids.length) {
      this.data.shuffleEpoch(this.k, this.rng('order'));
      this.epochCursor = 0;
    }
    const b = Math.min(batch, ids.length - this.epochCursor);
    this.data.fill(this.inputs.tokens, this.inputs.targets, ids, this.epochCursor, b);
    this.epochCursor += b;
    const loss = yield* this.forwardBackwardWork(b);
    this.applyGrads();
    this.stepsDone++;
    return { step: this.stepsDone - 1, loss, batch: b };
  }

  /** Sizes of the training and validation sets. */
  get datasetSizes(): { train: number; val: number } {
    return { train: this.data.trainCount, val: this.data.valCount };
  }

  /** The examples of a split as token rows [n x 3] and targets [n] (copies). */
  examples(split: 'train' | 'val'): { inputs: Int32Array; targets: Int32Array } {
    const ids = split === 'train' ? this.data.trainIds() : this.data.valIds();
    const inputs = new Int32Array(ids.length * SEQ_LEN), targets = new Int32Array(ids.length);
    this.data.fill(inputs, targets, ids, 0, ids.length);
    return { inputs, targets };
  }

  /** Steps taken so far. */
  get stepCount(): number { return this.stepsDone; }

  /**
   * Mean loss and accuracy over `ids`; with `mirrored` (one flag per id), also the accuracy on
   * the flagged ids and on the others, or null for an empty group.
   */
  private *evaluateSetWork(ids: Int32Array, mirrored: Uint8Array | null = null, logits: Float64Array | null = null):
    MatmulWork<{ loss: number; acc: number; accMirrored: number | null; accUnmirrored: number | null }> {
    const chunk = this.config.batch;
    const { p } = this.config, V = this.shape.vocab;
    let lossSum = 0, correct = 0, correctMirrored = 0;
    for (let from = 0; from < ids.length; from += chunk) {
      const b = Math.min(chunk, ids.length - from);
      this.data.fill(this.inputs.tokens, this.inputs.targets, ids, from, b);
      lossSum += yield* this.model.forwardWork(b);
      correct += this.model.correct();
      if (logits) {
        // The number classes of each pair's logits, at row id (for the Fourier measures).
        const rows = this.arena.f32(this.model.logits, b * V);
        for (let n = 0; n < b; n++) for (let c = 0; c < p; c++) logits[ids[from + n] * p + c] = rows[n * V + c];
      }
      if (mirrored) {
        // Count again with the unflagged examples' targets set to a class no argmax returns.
        for (let n = 0; n < b; n++) if (!mirrored[from + n]) this.inputs.targets[n] = -1;
        correctMirrored += this.model.correct();
      }
    }
    const flagged = mirrored ? mirrored.reduce((a, f) => a + f, 0) : 0;
    const share = (hits: number, of: number) => (mirrored && of > 0 ? hits / of : null);
    return {
      loss: lossSum / ids.length, acc: correct / ids.length,
      accMirrored: share(correctMirrored, flagged), accUnmirrored: share(correct - correctMirrored, ids.length - flagged),
    };
  }

  /**
   * The Fourier progress measures (src/train/fourier.ts) from the embedding and every pair's
   * logits, or nulls for a task other than addition. Losses are means over the training pairs
   * of the cross-entropy over the p number classes.
   */
  private fourierMeasures(logits: Float64Array | null): Pick<EvalInfo, 'frequencyShares' | 'restrictedLoss' | 'excludedLoss'> {
    if (!logits) return { frequencyShares: null, restrictedLoss: null, excludedLoss: null };
    const { p, dim } = this.config;
    const embedding = this.view(this.ptr.params, this.table.find((s) => s.name === 'embedding.weight')!);
    const trig = trigTable(p);
    const shares = embeddingFrequencyShares(embedding, p, dim, trig);
    const { restricted, excluded } = splitLogits(logits, p, keyFrequencies(shares), trig);
    const ids = this.data.trainIds();
    const loss = (values: Float64Array) => {
      const b = this.config.batch;
      const rows = new Float32Array(b * p), targets = new Int32Array(b);
      let sum = 0;
      for (let from = 0; from < ids.length; from += b) {
        const n = Math.min(b, ids.length - from);
        for (let i = 0; i < n; i++) {
          const id = ids[from + i];
          rows.set(values.subarray(id * p, (id + 1) * p), i * p);
          targets[i] = taskTarget('add', Math.floor(id / p), id % p, p);
        }
        sum += this.model.crossEntropyOf(rows, targets, n, p);
      }
      return sum / ids.length;
    };
    return { frequencyShares: shares, restrictedLoss: loss(restricted), excludedLoss: loss(excluded) };
  }

  /**
   * Mean Frobenius norm of the q_proj and k_proj weights, and the norm of all parameters: sums of
   * squares in f64 in table order, so the same bits on every engine.
   */
  weightNorms(): { queryKeyNorm: number; paramNorm: number } {
    let total = 0, qk = 0, count = 0;
    for (const spec of this.table) {
      const w = this.view(this.ptr.params, spec);
      let sq = 0;
      for (let i = 0; i < w.length; i++) sq += w[i] * w[i];
      total += sq;
      if (spec.queryKey) { qk += Math.sqrt(sq); count++; }
    }
    return { queryKeyNorm: count ? qk / count : 0, paramNorm: Math.sqrt(total) };
  }

  /** Mean stable and effective rank over every q_proj and k_proj weight. */
  queryKeyRanks(): { stableRank: number; effectiveRank: number } {
    return this.spectra.queryKeyRanks();
  }

  /** Singular values (descending) of a parameter matrix, e.g. 'layers.0.attn.q_proj.weight'. */
  spectrum(name: string): Float64Array {
    return this.spectra.spectrum(name);
  }

  /** Layer 0's attention among the p number tokens at position 0, for one head: p x p rows of softmax weights. */
  attentionPattern(head = 0): number[][] {
    const p = this.config.p;
    const flat = this.model.attentionPattern(this.arena, p, head);
    return Array.from({ length: p }, (_, i) => Array.from(flat.subarray(i * p, (i + 1) * p)));
  }

  /** Train and validation loss and accuracy over the whole sets, and the QK ranks, on Wasm. */
  evaluate(): EvalInfo {
    return this.model.runOnWasm(this.evaluateWork());
  }

  private *evaluateWork(): MatmulWork<EvalInfo> {
    const { p } = this.config;
    const logits = fourierApplies(this.config) ? new Float64Array(p * p * p) : null;
    const train = yield* this.evaluateSetWork(this.data.trainIds(), null, logits);
    const val = yield* this.evaluateSetWork(this.data.valIds(), this.valMirrored, logits);
    return {
      step: this.stepsDone - 1,
      trainLoss: train.loss, trainAcc: train.acc, valLoss: val.loss, valAcc: val.acc,
      valAccMirrored: val.accMirrored, valAccUnmirrored: val.accUnmirrored,
      ...this.fourierMeasures(logits),
      ...this.weightNorms(),
      ...this.queryKeyRanks(),
      checksum: this.checksum(),
    };
  }

  /** Hex digest of every parameter, both Adam moments and the Adam step count. */
  checksum(): string {
    return this.state.checksum(this.optimizer.adamStep);
  }

  /**
   * Trains to config.steps, evaluating after every step index divisible by evalEvery (the
   * reference's schedule, so the first evaluation follows the first update), and stops early
   * after two consecutive evaluations with validation accuracy above 0.99, as the reference does.
   * A trainer restored from a checkpoint continues where it stopped.
   */
  async run(onEval?: (row: EvalInfo) => void, options: RunOptions = {}): Promise<RunResult> {
    const started = performance.now();
    const every = options.checkpointEvery ?? 0;
    const end = Math.min(this.config.steps, options.stopAt ?? Infinity);
    let lastYield = performance.now();
    if (this.pendingEval) this.record(await this.drive(this.evaluateWork()), onEval);
    while (!this.stopped && this.stepsDone < end && !options.signal?.aborted) {
      const info = await this.drive(this.stepWork());
      options.onStep?.(info);
      if (!Number.isFinite(info.loss)) {
        this.diverge(info.step, `the training loss is ${info.loss}`);
        break;
      }
      const evaluate = info.step % this.config.evalEvery === 0;
      // Before an evaluation (its spectra need finite weights) and at the end, whose checksum is kept.
      if ((evaluate || this.stepsDone === this.config.steps) && !this.state.isFinite()) {
        this.diverge(info.step, 'a parameter or Adam moment is not finite');
        break;
      }
      if (evaluate) {
        const row = options.interruptEvaluation && options.signal
          ? await this.driver.driveInterruptible(this.evaluateWork(), this.stepsDone, options.signal)
          : await this.drive(this.evaluateWork());
        if (row === null) {
          this.pendingEval = true;
          break;
        }
        if (!this.record(row, onEval)) break;
      }
      // Let timers and messages (progress redraws, a worker's pause or stop) in at least every
      // YIELD_MS of work, so that a stop takes effect after the current step, not the next evaluation.
      if (performance.now() - lastYield >= YIELD_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      if (every > 0 && this.stepsDone % every === 0 && !this.stopped && this.stepsDone < this.config.steps) {
        options.onCheckpoint?.(this.saveCheckpoint(performance.now() - started));
      }
    }
    this.elapsedMs += performance.now() - started;
    return this.result();
  }

  /**
   * Records an evaluation: its row in the history, the early-stop streak, or a divergence when a
   * figure is not finite. Returns whether training may go on.
   */
  private record(row: EvalInfo, onEval?: (row: EvalInfo) => void): boolean {
    this.pendingEval = false;
    const bad = (['trainLoss', 'valLoss', 'stableRank', 'effectiveRank'] as const).find((f) => !Number.isFinite(row[f]));
    if (bad) {
      this.diverge(row.step, `the evaluation's ${bad} is ${row[bad]}`);
      return false;
    }
    this.history.push(row);
    onEval?.(row);
    this.streak = row.valAcc > GROK_ACCURACY ? this.streak + 1 : 0;
    if (this.streak >= 2) this.stopped = true;
    return true;
  }

  /** Completes an evaluation an interrupted run() left pending (on Wasm); then the result. */
  settle(onEval?: (row: EvalInfo) => void): RunResult {
    if (this.pendingEval) this.record(this.evaluate(), onEval);
    return this.result();
  }

  /** Whether an interrupted run() left the evaluation of its last step to do. */
  get evaluationPending(): boolean {
    return this.pendingEval;
  }

  /** Ends the run as diverged, its state stored with engine-independent NaNs. */
  private diverge(step: number, reason: string): void {
    this.state.canonicalizeNaNs();
    this.diverged = { step, reason };
    this.stopped = true;
  }

  /** Why and where the run diverged, or null. */
  get divergence(): Divergence | null {
    return this.diverged && { ...this.diverged };
  }

  /** The run result so far. */
  result(): RunResult {
    const history = this.history.map((r) => ({ ...r }));
    const result: RunResult = {
      config: { ...this.config },
      history,
      ...summarizeHistory(history),
      steps: this.stepsDone,
      checksum: this.checksum(),
      wallMs: this.elapsedMs,
      backend: this.driver.usedGpu ? 'webgpu' : 'wasm',
    };
    if (this.diverged) result.diverged = { ...this.diverged };
    return result;
  }

  /** Everything needed to continue this run exactly: parameters, Adam moments, PRNG and data order, loop state. */
  saveCheckpoint(extraElapsedMs = 0): Uint8Array {
    // A checkpoint holds no half-done step: a pending evaluation is made first.
    if (this.pendingEval) this.record(this.evaluate());
    const tensors: Record<string, { shape: number[]; data: TensorData }> = {};
    for (const spec of this.table) tensors[`param.${spec.name}`] = { shape: spec.shape, data: this.view(this.ptr.params, spec) };
    for (const spec of this.table) tensors[`adam.m.${spec.name}`] = { shape: spec.shape, data: this.view(this.ptr.m, spec) };
    for (const spec of this.table) tensors[`adam.v.${spec.name}`] = { shape: spec.shape, data: this.view(this.ptr.v, spec) };
    if (this.ptr.state) for (const spec of this.table) tensors[`arm.state.${spec.name}`] = { shape: spec.shape, data: this.view(this.ptr.state, spec) };
    tensors.rng = { shape: [3, 4], data: this.arena.i32(this.ptr.rng, 12) };
    tensors.order = { shape: [this.data.trainCount], data: this.data.epochIds() };
    const state: CheckpointState = {
      stepsDone: this.stepsDone, adamStep: this.optimizer.adamStep, epochCursor: this.epochCursor, streak: this.streak,
      stopped: this.stopped, elapsedMs: this.elapsedMs + extraElapsedMs, history: this.history, checksum: this.checksum(),
      usedGpu: this.driver.usedGpu,
    };
    if (this.diverged) state.diverged = this.diverged;
    return encodeCheckpoint(this.config, state, tensors);
  }

  /** Continues a run from saveCheckpoint's bytes; a corrupt or mismatched file gets a CheckpointError. */
  static async fromCheckpoint(bytes: Uint8Array, wasm: WasmSource, threads?: ThreadOptions): Promise<Trainer> {
    const { config, state, tensors } = decodeCheckpoint(bytes);
    const trainer = await Trainer.build(config, wasm, threads);
    trainer.restore(tensors, state);
    return trainer;
  }

  private restore(tensors: Record<string, Tensor>, state: CheckpointState): void {
    const need = (name: string, dtype: string, shape: number[]): Tensor => {
      const t = tensors[name];
      if (!t) throw new CheckpointError(`'${name}' is missing`);
      if (t.dtype !== dtype || t.shape.join('x') !== shape.join('x')) {
        throw new CheckpointError(`'${name}' is ${t.dtype} [${t.shape}], expected ${dtype} [${shape}] for this config`);
      }
      return t;
    };
    for (const spec of this.table) {
      this.view(this.ptr.params, spec).set(need(`param.${spec.name}`, 'F32', spec.shape).data);
      this.view(this.ptr.m, spec).set(need(`adam.m.${spec.name}`, 'F32', spec.shape).data);
      this.view(this.ptr.v, spec).set(need(`adam.v.${spec.name}`, 'F32', spec.shape).data);
      if (this.ptr.state) this.view(this.ptr.state, spec).set(need(`arm.state.${spec.name}`, 'F32', spec.shape).data);
    }
    const expected = new Set([...this.table.flatMap((s) => [`param.${s.name}`, `adam.m.${s.name}`, `adam.v.${s.name}`,
      ...(this.ptr.state ? [`arm.state.${s.name}`] : [])]), 'rng', 'order']);
    const extra = Object.keys(tensors).find((name) => !expected.has(name));
    if (extra) throw new CheckpointError(`'${extra}' is not a tensor of a ${this.config.decay} run of this config`);
    this.arena.i32(this.ptr.rng, 12).set(need('rng', 'I32', [3, 4]).data);
    const order = need('order', 'I32', [this.data.trainCount]).data as Int32Array;
    const train = new Set(this.data.trainIds());
    if (new Set(order).size !== order.length || !order.every((id) => train.has(id))) {
      throw new CheckpointError("'order' is not a permutation of this config's training pairs");
    }
    this.data.epochIds().set(order);
    if (state.stepsDone > this.config.steps || state.epochCursor > this.data.trainCount || state.streak > 2) {
      throw new CheckpointError(`its loop state is outside this config (step ${state.stepsDone} of ${this.config.steps}, ` +
        `epoch position ${state.epochCursor} of ${this.data.trainCount}, streak ${state.streak})`);
    }
    this.stepsDone = state.stepsDone;
    this.optimizer.adamStep = state.adamStep;
    this.epochCursor = state.epochCursor;
    this.streak = state.streak;
    this.stopped = state.stopped;
    this.elapsedMs = state.elapsedMs;
    this.history = state.history;
    this.driver.usedGpu = state.usedGpu;
    this.diverged = state.diverged ?? null;
    if (this.checksum() !== state.checksum) {
      throw new CheckpointError(`its contents do not match its checksum (${this.checksum()} != ${state.checksum}): the file is corrupt`);
    }
  }
}

export { CHECKPOINT_FORMAT, CheckpointError } from '../format/checkpoint.js';
export { GROK_ACCURACY } from '../format/run_result.js';
export type { Divergence, EvalInfo, RunResult } from '../format/run_result.js';
export { optimizerGroups } from './optimizer.js';
export type { OptimizerGroup } from './optimizer.js';
export type { ProductRunner } from './product_driver.js';
