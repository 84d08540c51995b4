// The run result (`grokwasm run --out`, each arm of mechanism.json, each line of cells.jsonl):
// its schema, the rules its fields keep among themselves, and the summary fields derived from
// its history. The trainer builds results with summarizeHistory; verify and every reader check
// them with parseRunResult and resultProblem.
import { z } from 'zod';
import { BACKENDS, type Backend } from '../kernel/matmul_call.js';
import { evalSchedule, evaluatesAt, storedConfigSchema, type RunConfig } from '../train/config.js';
import { parseWith } from './problem.js';

export interface EvalInfo {
  step: number;
  trainLoss: number;
  trainAcc: number;
  valLoss: number;
  valAcc: number;
  /**
   * Validation accuracy on the pairs (a, b) whose mirror (b, a) is in the training set, and on
   * the others: a model that only learned commutativity scores 1 and 0. Null for a task that is
   * not commutative (sub, div, x3xy) or an empty set; absent in results written before them.
   */
  valAccMirrored?: number | null;
  valAccUnmirrored?: number | null;
  /**
   * Fourier progress measures (src/train/fourier.ts), for modular addition only (null for other
   * tasks): the token embedding's share of squared norm per frequency 0..floor(p/2), and the
   * training loss of the logits restricted to, or without, the five largest frequencies' components.
   */
  frequencyShares?: number[] | null;
  restrictedLoss?: number | null;
  excludedLoss?: number | null;
  /**
   * Mean over the q_proj and k_proj weights of ||W||_F, and the norm of every parameter together
   * (Omnigrok reads grokking through the weight norm); absent in results written before them.
   */
  queryKeyNorm?: number;
  paramNorm?: number;
  /** Mean over all q_proj and k_proj weights of ||W||_F^2 / sigma_max^2. */
  stableRank: number;
  /** Mean over all q_proj and k_proj weights of exp(H(sigma / sum sigma)). */
  effectiveRank: number;
  /** Checksum of parameters and optimiser state at this step. */
  checksum: string;
}

export interface RunResult {
  config: RunConfig;
  history: EvalInfo[];
  bestValAcc: number;
  /** First evaluation step with valAcc >= 0.99, or null. */
  grokStep: number | null;
  /** Optimiser steps actually taken (early stopping may end a run before config.steps). */
  steps: number;
  checksum: string;
  wallMs: number;
  /**
   * Where the model's matrix products ran: 'wasm' (bit-reproducible), or 'webgpu' when any of
   * them ran on a GPU (tolerance-equal to Wasm; see docs/webgpu.md). Results written before the
   * WebGPU path existed lack it: they are all 'wasm'.
   */
  backend?: Backend;
  /**
   * Present when the run diverged: the step at which a loss, parameter or optimiser moment
   * stopped being finite, where the run ended, and what was found.
   */
  diverged?: Divergence;
}

export interface Divergence {
  step: number;
  reason: string;
}

/** Accuracy at or above which a validation evaluation counts as grokked. */
export const GROK_ACCURACY = 0.99;
/** The reference stops a run after this many consecutive evaluations above GROK_ACCURACY. */
export const EARLY_STOP_STREAK = 2;

const checksum = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex digits');
const finite = z.number();
const fraction = z.number().min(0).max(1);

export const evalRowSchema = z.strictObject({
  step: z.number().int().nonnegative(),
  trainLoss: finite, trainAcc: fraction, valLoss: finite, valAcc: fraction,
  valAccMirrored: fraction.nullable().optional(), valAccUnmirrored: fraction.nullable().optional(),
  frequencyShares: z.array(fraction).nullable().optional(), restrictedLoss: finite.nullable().optional(), excludedLoss: finite.nullable().optional(),
  queryKeyNorm: z.number().nonnegative().optional(), paramNorm: z.number().nonnegative().optional(),
  stableRank: z.number().nonnegative(), effectiveRank: z.number().nonnegative(),
  checksum,
});

export const divergedSchema = z.strictObject({ step: z.number().int().nonnegative(), reason: z.string().min(1) });

/** Every field of a run result; `wallMs` and `backend` describe the machine, not the result. */
export const runResultShape = {
  config: storedConfigSchema,
  history: z.array(evalRowSchema),
  bestValAcc: fraction,
  grokStep: z.number().int().nonnegative().nullable(),
  steps: z.number().int().positive(),
  checksum,
  wallMs: z.number().nonnegative(),
  backend: z.enum(BACKENDS).optional(),
  diverged: divergedSchema.optional(),
};
export const runResultSchema = z.strictObject(runResultShape);

/** Every field of a history row, in the order of the CSV columns. */
export const EVAL_FIELDS = ['step', 'trainLoss', 'trainAcc', 'valLoss', 'valAcc', 'valAccMirrored', 'valAccUnmirrored',
  'restrictedLoss', 'excludedLoss', 'stableRank', 'effectiveRank', 'queryKeyNorm', 'paramNorm', 'checksum', 'frequencyShares'] as const;
/** Row fields that results written before them lack: verify compares them only where the result has them. */
export const LATER_EVAL_FIELDS: readonly (typeof EVAL_FIELDS)[number][] = ['valAccMirrored', 'valAccUnmirrored', 'restrictedLoss', 'excludedLoss', 'frequencyShares', 'queryKeyNorm', 'paramNorm'];

/** Fields a rerun cannot reproduce; verify ignores them and says so. */
export const MACHINE_FIELDS = ['wallMs', 'backend'] as const;

/** bestValAcc and grokStep, as every result derives them from its history. */
export function summarizeHistory(history: readonly EvalInfo[]): { bestValAcc: number; grokStep: number | null } {
  const grok = history.find((r) => r.valAcc >= GROK_ACCURACY);
  return { bestValAcc: history.reduce((best, r) => Math.max(best, r.valAcc), 0), grokStep: grok ? grok.step : null };
}

/** Index of the evaluation after which the run stops early, or -1 if none does. */
export function earlyStopIndex(history: readonly EvalInfo[]): number {
  let streak = 0;
  for (let i = 0; i < history.length; i++) {
    streak = history[i].valAcc > GROK_ACCURACY ? streak + 1 : 0;
    if (streak >= EARLY_STOP_STREAK) return i;
  }
  return -1;
}

/**
 * The first rule a result breaks, as `field: why`, or null. A result whose steps fall short of
 * its config without an early stop or a divergence is a run stopped by hand; `stoppedByHand`
 * accepts that (verify does, for a check of those steps only).
 */
export function resultProblem(r: RunResult, stoppedByHand = false): string | null {
  const { config: c, history: h } = r;
  if (r.steps > c.steps) return `steps: ${r.steps} is more than config.steps ${c.steps}`;
  if (r.diverged && r.diverged.step !== r.steps - 1) {
    return `diverged.step: ${r.diverged.step}, but a diverged run ends at that step (steps ${r.steps} means step ${r.steps - 1})`;
  }
  // Evaluations follow every step index divisible by evalEvery (and the last with evalLast),
  // except the one a divergence ended.
  const schedule = evalSchedule(c, r.steps);
  const skipped = r.diverged && evaluatesAt(c, r.diverged.step) ? 1 : 0;
  const rows = schedule.count - skipped;
  const said = `evaluations follow steps 0, ${c.evalEvery}, ${2 * c.evalEvery}, ... (evalEvery ${c.evalEvery})${c.evalLast === 'yes' ? ` and the last step ${c.steps - 1} (evalLast)` : ''}`;
  for (let i = 0; i < Math.min(h.length, rows); i++) {
    if (h[i].step !== schedule.at(i)) return `history[${i}].step: ${h[i].step}, but ${said}: expected ${schedule.at(i)}`;
  }
  if (h.length > rows) {
    return `history[${rows}]: an extra row (step ${h[rows].step}); ${r.steps} steps give ${rows} rows` +
      `${rows ? `, the last at step ${schedule.at(rows - 1)}` : ''} (${said})`;
  }
  if (h.length < rows) return `history: ${h.length} rows, but ${r.steps} steps give ${rows} (${said})`;
  const stop = earlyStopIndex(h);
  if (stop >= 0 && stop !== h.length - 1) {
    return `history[${stop + 1}]: the run goes on after ${EARLY_STOP_STREAK} evaluations above ${GROK_ACCURACY} (step ${h[stop].step}), where it stops`;
  }
  if (stop >= 0 && r.steps !== h[stop].step + 1) return `steps: ${r.steps}, but the run stops early after step ${h[stop].step}`;
  if (stop < 0 && !r.diverged && r.steps !== c.steps && !stoppedByHand) {
    return `steps: ${r.steps} is below config.steps ${c.steps}, but the history shows neither an early stop nor a divergence` +
      ` (a run stopped by hand can be checked up to its last step with --steps ${r.steps})`;
  }
  const derived = summarizeHistory(h);
  if (r.bestValAcc !== derived.bestValAcc) return `bestValAcc: ${r.bestValAcc}, but the history's best valAcc is ${derived.bestValAcc}`;
  if (r.grokStep !== derived.grokStep) return `grokStep: ${r.grokStep}, but the history first reaches ${GROK_ACCURACY} at ${derived.grokStep ?? 'no step'}`;
  return null;
}

/** A run result from parsed JSON, its shape checked (not its consistency: see resultProblem). */
export function parseRunResult(value: unknown, where: string): RunResult {
  return parseWith(runResultSchema, value, where) as RunResult;
}
