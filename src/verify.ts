// Seed checks: rerun a result's config and compare, evaluation by evaluation, every metric and
// the checksum of the parameters and optimiser state. A deterministic trainer reproduces them
// to the bit, so any difference is real.
import { z } from 'zod';
import { resolveConfig, type RunConfig } from './config.js';
import type { EvalInfo, RunResult, Trainer } from './trainer.js';

const FIELDS = ['trainLoss', 'trainAcc', 'valLoss', 'valAcc', 'stableRank', 'effectiveRank', 'checksum'] as const;

const resultSchema = z.object({
  config: z.record(z.string(), z.unknown()),
  history: z.array(z.object({
    step: z.number().int().nonnegative(),
    trainLoss: z.number(), trainAcc: z.number(), valLoss: z.number(), valAcc: z.number(),
    stableRank: z.number(), effectiveRank: z.number(), checksum: z.string(),
  })),
  steps: z.number().int().nonnegative(),
  checksum: z.string(),
});

/** Parses a run result (e.g. JSON written by `grokwasm run --out`) far enough to verify it. */
export function parseResult(value: unknown): RunResult {
  const parsed = resultSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`not a run result: ${issue.path.join('.') || 'top level'}: ${issue.message}`);
  }
  return { ...(value as RunResult), config: resolveConfig(parsed.data.config as Partial<RunConfig>) };
}

export interface VerifyRow {
  step: number;
  /** Fields that differ, each as `name expected -> actual`; empty when the row matches. */
  differences: string[];
}

export interface VerifyReport {
  ok: boolean;
  rows: VerifyRow[];
  /** Whether the final step count and checksum were compared (only for a rerun to the end). */
  finalChecked: boolean;
  finalDifferences: string[];
}

/** Reruns result.config (up to step `upTo` when given) and compares every evaluation. */
export async function verifyResult(result: RunResult, createTrainer: (config: RunConfig) => Promise<Trainer>,
  upTo?: number, onRow?: (row: VerifyRow) => void): Promise<VerifyReport> {
  const full = upTo === undefined || upTo >= result.config.steps;
  const config = full ? result.config : { ...result.config, steps: upTo };
  const expected = new Map(result.history.map((r) => [r.step, r]));
  const rows: VerifyRow[] = [];
  const trainer = await createTrainer(config);
  const rerun = await trainer.run((actual: EvalInfo) => {
    const want = expected.get(actual.step);
    const differences = want
      ? FIELDS.filter((f) => want[f] !== actual[f]).map((f) => `${f} ${want[f]} -> ${actual[f]}`)
      : ['evaluation not in the result'];
    const row = { step: actual.step, differences };
    rows.push(row);
    onRow?.(row);
  });
  // Rows the result has but the rerun never reached (within the checked range).
  for (const r of result.history) {
    if (r.step < config.steps && !rows.some((row) => row.step === r.step)) {
      const row = { step: r.step, differences: ['evaluation missing from the rerun'] };
      rows.push(row);
      onRow?.(row);
    }
  }
  const finalDifferences: string[] = [];
  if (full) {
    if (rerun.steps !== result.steps) finalDifferences.push(`steps ${result.steps} -> ${rerun.steps}`);
    if (rerun.checksum !== result.checksum) finalDifferences.push(`checksum ${result.checksum} -> ${rerun.checksum}`);
  }
  return {
    ok: rows.every((r) => r.differences.length === 0) && finalDifferences.length === 0,
    rows, finalChecked: full, finalDifferences,
  };
}
