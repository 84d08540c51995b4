// The run loop: steps to the end of the run, evaluating on the reference's schedule, keeping the
// history and the early-stop streak, ending at a divergence, yielding to the event loop, and
// handing out checkpoints; with the run's state, which a checkpoint saves and restores.
import type { MatmulWork } from '../kernel/matmul_call.js';
import { GROK_ACCURACY, summarizeHistory, type Divergence, type EvalInfo, type RunResult } from '../format/run_result.js';
import { YIELD_MS, yieldToEventLoop } from './product_driver.js';
import { evaluatesAt } from './config.js';
import type { TrainerParts } from './parts.js';
import type { StepInfo } from './step.js';

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
  /**
   * Awaited at every yield to the event loop: a pause that keeps the run where it is, in
   * memory, until the promise settles (Verify's Pause in the page). Changes no bit.
   */
  hold?: () => Promise<void> | undefined;
}

/** The run's mutable state besides the tensors: what run() continues from and a checkpoint keeps. */
export interface RunState {
  stepsDone: number;
  /** Position in this epoch's order of training pairs. */
  epochCursor: number;
  history: EvalInfo[];
  /** Consecutive evaluations with validation accuracy above GROK_ACCURACY. */
  streak: number;
  stopped: boolean;
  elapsedMs: number;
  diverged: Divergence | null;
  /** Whether an interrupted run() left the evaluation of its last step to do. */
  pendingEval: boolean;
}

export function newRunState(): RunState {
  return { stepsDone: 0, epochCursor: 0, history: [], streak: 0, stopped: false, elapsedMs: 0, diverged: null, pendingEval: false };
}

/** What the loop drives: the trainer's step and evaluation, and its checksum and checkpoint. */
export interface RunHost {
  stepWork(): MatmulWork<StepInfo>;
  evaluateWork(): MatmulWork<EvalInfo>;
  /** The evaluation on Wasm. */
  evaluate(): EvalInfo;
  checksum(): string;
  saveCheckpoint(extraElapsedMs: number): Uint8Array;
}

/** What the loop reads besides: the config, where the products run, the training state a divergence inspects, the run state. */
export type RunParts = Pick<TrainerParts, 'config' | 'driver' | 'digest' | 'run'>;

export class RunLoop {
  private readonly state: RunState;
  /** Called with every recorded evaluation, whichever path made it (run, settle, a checkpoint's pending one). */
  observer: ((row: EvalInfo) => void) | null = null;

  constructor(private readonly parts: RunParts, private readonly host: RunHost) {
    this.state = parts.run;
  }

  private drive<T>(work: MatmulWork<T>): T | Promise<T> {
    return this.parts.driver.drive(work, this.state.stepsDone);
  }

  /**
   * Trains to config.steps, evaluating after every step index divisible by evalEvery (the
   * reference's schedule, so the first evaluation follows the first update) and, with evalLast,
   * after the last step; and stops early
   * after two consecutive evaluations with validation accuracy above 0.99, as the reference does.
   * A trainer restored from a checkpoint continues where it stopped.
   */
  async run(onEval?: (row: EvalInfo) => void, options: RunOptions = {}): Promise<RunResult> {
    const { host, state: s } = this;
    const { config, driver, digest } = this.parts;
    const started = performance.now();
    const every = options.checkpointEvery ?? 0;
    const end = Math.min(config.steps, options.stopAt ?? Infinity);
    let lastYield = performance.now();
    if (s.pendingEval) this.record(await this.drive(host.evaluateWork()), onEval);
    while (!s.stopped && s.stepsDone < end && !options.signal?.aborted) {
      const info = await this.drive(host.stepWork());
      options.onStep?.(info);
      if (!Number.isFinite(info.loss)) {
        this.diverge(info.step, `the training loss is ${info.loss}`);
        break;
      }
      const evaluate = evaluatesAt(config, info.step);
      // Before an evaluation (its spectra need finite weights) and at the end, whose checksum is kept.
      if ((evaluate || s.stepsDone === config.steps) && !digest.isFinite()) {
        this.diverge(info.step, 'a parameter or Adam moment is not finite');
        break;
      }
      if (evaluate) {
        const row = options.interruptEvaluation && options.signal
          ? await driver.driveInterruptible(host.evaluateWork(), s.stepsDone, options.signal)
          : await this.drive(host.evaluateWork());
        if (row === null) {
          s.pendingEval = true;
          break;
        }
        if (!this.record(row, onEval)) break;
      }
      // Let timers and messages (progress redraws, a worker's pause or stop) in at least every
      // YIELD_MS of work, so that a stop takes effect after the current step, not the next evaluation.
      if (performance.now() - lastYield >= YIELD_MS) {
        await yieldToEventLoop();
        await options.hold?.();
        lastYield = performance.now();
      }
      if (every > 0 && s.stepsDone % every === 0 && !s.stopped && s.stepsDone < config.steps) {
        options.onCheckpoint?.(host.saveCheckpoint(performance.now() - started));
      }
    }
    s.elapsedMs += performance.now() - started;
    return this.result();
  }

  /**
   * Records an evaluation: its row in the history, the early-stop streak, or a divergence when a
   * figure is not finite. Returns whether training may go on.
   */
  private record(row: EvalInfo, onEval?: (row: EvalInfo) => void): boolean {
    const s = this.state;
    s.pendingEval = false;
    const bad = (['trainLoss', 'valLoss', 'stableRank', 'effectiveRank'] as const).find((f) => !Number.isFinite(row[f]));
    if (bad) {
      this.diverge(row.step, `the evaluation's ${bad} is ${row[bad]}`);
      return false;
    }
    s.history.push(row);
    this.observer?.(row);
    onEval?.(row);
    s.streak = row.valAcc > GROK_ACCURACY ? s.streak + 1 : 0;
    if (s.streak >= 2) s.stopped = true;
    return true;
  }

  /** Makes an evaluation an interrupted run() left pending, on Wasm (a checkpoint holds no half-done step). */
  finishPending(onEval?: (row: EvalInfo) => void): void {
    if (this.state.pendingEval) this.record(this.host.evaluate(), onEval);
  }

  /** Completes an evaluation an interrupted run() left pending (on Wasm); then the result. */
  settle(onEval?: (row: EvalInfo) => void): RunResult {
    this.finishPending(onEval);
    return this.result();
  }

  /** Ends the run as diverged, its state stored with engine-independent NaNs. */
  private diverge(step: number, reason: string): void {
    this.parts.digest.canonicalizeNaNs();
    this.state.diverged = { step, reason };
    this.state.stopped = true;
  }

  /** The run result so far. */
  result(): RunResult {
    const s = this.state;
    const history = s.history.map((r) => ({ ...r }));
    const result: RunResult = {
      config: { ...this.parts.config },
      history,
      ...summarizeHistory(history),
      steps: s.stepsDone,
      checksum: this.host.checksum(),
      wallMs: s.elapsedMs,
      backend: this.parts.driver.usedGpu ? 'webgpu' : 'wasm',
    };
    if (s.diverged) result.diverged = { ...s.diverged };
    return result;
  }
}
