// RunConfig: every knob of a run, its default (the reference LRD arm), its allowed range, and
// its validation. The CLI flags, the later URL query and form fields all come from FIELDS.
import { z } from 'zod';
import { TASKS, TASK_FORMULA, isPrime, type Task } from './tasks.js';
import { domainSize } from './data.js';

import { ARM_BY_NAME, ARM_FIELDS, DECAYS, type ArmField, type Decay } from './arms/index.js';

export { DECAYS, type Decay };

/** The loss of the last position's logits: softmax cross-entropy (the reference's) or StableMax (Prieto et al. 2025). */
export const LOSSES = ['softmax', 'stablemax'] as const;
export type Loss = (typeof LOSSES)[number];

/**
 * How the p*p pairs are split: 'ordered' shuffles ordered pairs (the reference's), 'pairs' keeps
 * (a, b) and (b, a) on the same side, so that commutativity alone predicts nothing on validation.
 */
export const SPLITS = ['ordered', 'pairs'] as const;
export type Split = (typeof SPLITS)[number];

/** Whether the last step is evaluated off the evalEvery schedule ('no' in results written before the field). */
export const EVAL_LAST = ['yes', 'no'] as const;
export type EvalLast = (typeof EVAL_LAST)[number];

export interface RunConfig {
  /** The operation learned, mod p (Power et al. 2022); 'add' is the reference's. */
  task: Task;
  /** Modulus; tokens are 0..p-1 and p is the '=' token. */
  p: number;
  /** Fraction of all p*p pairs used for training. */
  frac: number;
  dim: number;
  depth: number;
  heads: number;
  mlp: number;
  batch: number;
  lr: number;
  /** The arm: the update rule (src/train/arms/), e.g. 'l2' or 'lrd', the reference's two. */
  decay: Decay;
  /** AdamW weight decay (the arm says which parameters get it). */
  wd: number;
  /** Step size of the Q/K decay of the lrd, radial, polar and prox arms. */
  rate: number;
  /** Newton-Schulz iterations per step (lrd, luon). */
  nsIters: number;
  /** Grokfast's EMA factor. */
  alpha: number;
  /** Grokfast's amplification of the slow gradient. */
  lambda: number;
  /** Learning rate of the Muon and LowRankMuon steps. */
  muonLr: number;
  /** Momentum of the Muon and LowRankMuon steps. */
  momentum: number;
  /** LowRankMuon's decay inside the momentum. */
  luonLambda: number;
  /** The training loss. */
  loss: Loss;
  /** How the pairs are split into training and validation. */
  split: Split;
  /** Optimiser steps at most (a run may stop early, as the reference does). */
  steps: number;
  /** Evaluate after the update of every step index divisible by this. */
  evalEvery: number;
  /**
   * Also evaluate after the last step when evalEvery does not fall on it, so that a run's final
   * figures are its final model's (3500 steps every 100 end on step 3499, not 3400).
   */
  evalLast: EvalLast;
  /** Seeds the data split, the initialisation and the epoch order. */
  seed: number;
}

interface NumberField {
  kind: 'int' | 'float';
  min: number;
  max: number;
  /** Bounds excluded (for the open interval (0, 1) of frac, the half-open (0, 1] of lr). */
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
  /** A plain-language name for forms ("Training fraction"); the flag is the field's own name. */
  label: string;
  help: string;
}
interface ChoiceField {
  kind: 'choice';
  choices: readonly string[];
  label: string;
  help: string;
}
export type FieldSpec = NumberField | ChoiceField;

/** Every field with its allowed range, in the order help lists them. */
export const FIELDS: Record<keyof RunConfig, FieldSpec> = {
  task: { kind: 'choice', label: 'Operation', choices: TASKS, help: `operation mod p: ${TASKS.map((t) => `${t} (${TASK_FORMULA[t]})`).join(', ')}` },
  p: { kind: 'int', label: 'Modulus', min: 2, max: 2000, help: 'modulus (vocabulary p + 1)' },
  frac: { kind: 'float', label: 'Training fraction', min: 0, max: 1, exclusiveMin: true, exclusiveMax: true, help: 'training fraction of the p*p pairs' },
  dim: { kind: 'int', label: 'Model width', min: 1, max: 2048, help: 'model width (divisible by heads)' },
  depth: { kind: 'int', label: 'Blocks', min: 1, max: 32, help: 'transformer blocks' },
  heads: { kind: 'int', label: 'Attention heads', min: 1, max: 64, help: 'attention heads' },
  mlp: { kind: 'int', label: 'MLP width', min: 1, max: 16384, help: 'MLP hidden width' },
  batch: { kind: 'int', label: 'Batch size', min: 1, max: 8192, help: 'training batch size' },
  lr: { kind: 'float', label: 'Learning rate', min: 0, max: 1, exclusiveMin: true, help: 'AdamW learning rate' },
  decay: { kind: 'choice', label: 'Arm', choices: DECAYS, help: `arm: ${DECAYS.map((d) => `${d} (${ARM_BY_NAME[d].label})`).join(', ')}` },
  wd: { kind: 'float', label: 'Weight decay', min: 0, max: 100, help: 'AdamW weight decay' },
  rate: { kind: 'float', label: 'Q/K decay rate', min: 0, max: 10, help: 'Q/K decay step (lrd, radial, polar, prox)' },
  nsIters: { kind: 'int', label: 'Newton-Schulz iterations', min: 0, max: 100, help: 'Newton-Schulz iterations (lrd, luon)' },
  alpha: { kind: 'float', label: 'Grokfast EMA factor', min: 0, max: 1, exclusiveMax: true, help: 'EMA factor (grokfast)' },
  lambda: { kind: 'float', label: 'Grokfast amplification', min: 0, max: 100, help: 'slow-gradient amplification (grokfast)' },
  muonLr: { kind: 'float', label: 'Muon learning rate', min: 0, max: 1, exclusiveMin: true, help: 'learning rate of the Muon step (muon, luon)' },
  momentum: { kind: 'float', label: 'Muon momentum', min: 0, max: 1, exclusiveMax: true, help: 'momentum (muon, luon)' },
  luonLambda: { kind: 'float', label: 'LowRankMuon decay', min: 0, max: 100, help: 'decay inside the momentum (luon)' },
  loss: { kind: 'choice', label: 'Loss', choices: LOSSES, help: 'training loss: softmax cross-entropy or stablemax' },
  split: { kind: 'choice', label: 'Split', choices: SPLITS, help: "train/validation split: 'ordered' pairs (the reference's) or 'pairs' keeping (a, b) with (b, a)" },
  steps: { kind: 'int', label: 'Steps', min: 1, max: 10_000_000, help: 'maximum optimiser steps' },
  evalEvery: { kind: 'int', label: 'Evaluate every', min: 1, max: 10_000_000, help: 'evaluate every N steps' },
  evalLast: { kind: 'choice', label: 'Evaluate the last step', choices: EVAL_LAST, help: 'also evaluate after the last step when evalEvery does not fall on it' },
  seed: { kind: 'int', label: 'Seed', min: 0, max: 4294967295, help: 'seed of split, init and batch order' },
};

/** The reference LRD arm (../shared/reference-experiment.md). */
export const DEFAULT_CONFIG: RunConfig = {
  task: 'add', p: 113, frac: 0.5, dim: 128, depth: 2, heads: 4, mlp: 512, batch: 512, lr: 1e-3,
  decay: 'lrd', wd: 0.1, rate: 0.005, nsIters: 5, alpha: 0.98, lambda: 2, muonLr: 0.02, momentum: 0.95, luonLambda: 0.5,
  loss: 'softmax', split: 'ordered', steps: 4000, evalEvery: 200, evalLast: 'yes', seed: 0,
};

/**
 * Fields added after results were first written: a stored config may omit them, and then ran
 * with these values (the only behaviour there was).
 */
export const LATER_CONFIG_FIELDS: readonly (keyof RunConfig)[] = ['alpha', 'lambda', 'muonLr', 'momentum', 'luonLambda', 'loss', 'split', 'evalLast'];

/**
 * What a stored config that omits a later field ran with, where that is not today's default:
 * results written before evalLast existed did not evaluate the last step.
 */
export const STORED_BEFORE: Partial<RunConfig> = { evalLast: 'no' };

/** Whether the evaluation schedule evaluates after the update of step index `step` (0-based). */
export function evaluatesAt(c: Pick<RunConfig, 'steps' | 'evalEvery' | 'evalLast'>, step: number): boolean {
  return step % c.evalEvery === 0 || (c.evalLast === 'yes' && step === c.steps - 1);
}

/**
 * The steps evaluated in a run that took `steps` updates, in order, as a count and an accessor
 * (a schedule can be millions of rows long): every multiple of evalEvery, then the last step.
 */
export function evalSchedule(c: Pick<RunConfig, 'steps' | 'evalEvery' | 'evalLast'>, steps: number): { count: number; at(i: number): number } {
  const last = steps - 1;
  const regular = last < 0 ? 0 : Math.floor(last / c.evalEvery) + 1;
  const extra = last >= 0 && last % c.evalEvery !== 0 && evaluatesAt(c, last) ? 1 : 0;
  return { count: regular + extra, at: (i) => (i < regular ? i * c.evalEvery : last) };
}

/** The arm fields a config's arm does not read: each must hold its default, so that a stored config says only what ran. */
export function unusedArmFields(decay: Decay): ArmField[] {
  const reads = ARM_BY_NAME[decay].reads;
  return ARM_FIELDS.filter((f) => !reads.includes(f));
}

/** A config with the fields its arm does not read set to their defaults (for setups shared by several arms). */
export function normalizeArmFields<T extends Partial<RunConfig>>(config: T & { decay: Decay }): T {
  const out = { ...config };
  for (const f of unusedArmFields(config.decay)) (out as Record<string, unknown>)[f] = DEFAULT_CONFIG[f];
  return out;
}

/** AdamW constants of the reference, not exposed as knobs. */
export const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** A config value outside its allowed range; message is one line naming the field. */
export class ConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** "an integer in [2, 2000]" and the like, for messages and help. */
export function describeRange(spec: FieldSpec): string {
  if (spec.kind === 'choice') return `one of ${spec.choices.join(', ')}`;
  const lo = spec.exclusiveMin ? '(' : '[';
  const hi = spec.exclusiveMax ? ')' : ']';
  return `${spec.kind === 'int' ? 'an integer' : 'a number'} in ${lo}${spec.min}, ${spec.max}${hi}`;
}

function fieldSchema(spec: FieldSpec): z.ZodType {
  if (spec.kind === 'choice') return z.enum(spec.choices as [string, ...string[]]);
  let s = z.number().finite();
  if (spec.kind === 'int') s = s.int();
  s = spec.exclusiveMin ? s.gt(spec.min) : s.gte(spec.min);
  return spec.exclusiveMax ? s.lt(spec.max) : s.lte(spec.max);
}

const schema = z.strictObject(
  Object.fromEntries(Object.entries(FIELDS).map(([k, spec]) => [k, fieldSchema(spec)])) as Record<keyof RunConfig, z.ZodType>,
);

/** Checks one field's value against its own range only; throws ConfigError naming the field. */
export function checkFieldValue(field: keyof RunConfig, value: unknown): void {
  const spec = FIELDS[field];
  if (!fieldSchema(spec).safeParse(value).success) {
    throw new ConfigError(field, `${field} must be ${describeRange(spec)} (got ${JSON.stringify(value)})`);
  }
}

/** Fills defaults and checks every field and the cross-field rules; throws ConfigError. */
export function resolveConfig(partial: Partial<RunConfig> = {}): RunConfig {
  const merged = { ...DEFAULT_CONFIG, ...partial };
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const unknown = (issue as { keys?: string[] }).keys?.[0];
    const field = String(issue.path[0] ?? unknown ?? issue.code);
    const spec = FIELDS[field as keyof RunConfig];
    if (!spec) throw new ConfigError(field, `unknown config field '${field}'`);
    const got = (merged as Record<string, unknown>)[field];
    throw new ConfigError(field, `${field} must be ${describeRange(spec)} (got ${JSON.stringify(got)})`);
  }
  const c = parsed.data as RunConfig;
  const unused = unusedArmFields(c.decay).find((f) => c[f] !== DEFAULT_CONFIG[f]);
  if (unused) {
    throw new ConfigError(unused, `${unused} is not read by the ${c.decay} arm, so it must keep its default ${DEFAULT_CONFIG[unused]} (got ${c[unused]}); ` +
      `the ${c.decay} arm reads ${ARM_BY_NAME[c.decay].reads.join(', ')}`);
  }
  if (c.split === 'pairs' && c.task !== 'add' && c.task !== 'mul') {
    throw new ConfigError('split', `split 'pairs' needs a commutative task (add, mul), not ${c.task}`);
  }
  if (c.dim % c.heads !== 0) {
    throw new ConfigError('heads', `heads must divide dim (got dim ${c.dim}, heads ${c.heads})`);
  }
  if (c.task === 'div' && !isPrime(c.p)) {
    throw new ConfigError('p', `p must be prime for task div, so that every b != 0 has an inverse (got ${c.p})`);
  }
  const total = domainSize(c.task, c.p);
  const train = Math.floor(total * c.frac);
  if (train < 1 || train >= total) {
    throw new ConfigError('frac', `frac must leave at least one training and one validation pair of the ${total} (got ${c.frac})`);
  }
  return c;
}

/**
 * A config as a file stores it (a result, a cell, a checkpoint): every field present, each in
 * range, the cross-field rules kept. No defaults are filled in: a file that omits a field does
 * not say what ran.
 */
export const storedConfigSchema = z.unknown().transform((value, ctx): RunConfig => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be an object of run settings' });
    return z.NEVER;
  }
  const missing = (Object.keys(FIELDS) as (keyof RunConfig)[]).find((k) => !Object.hasOwn(value, k) && !LATER_CONFIG_FIELDS.includes(k));
  if (missing) {
    ctx.addIssue({ code: 'custom', path: [missing], message: `missing; must be ${describeRange(FIELDS[missing])}` });
    return z.NEVER;
  }
  const before = Object.fromEntries(Object.entries(STORED_BEFORE).filter(([k]) => !Object.hasOwn(value, k)));
  try {
    return resolveConfig({ ...before, ...(value as Partial<RunConfig>) });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    ctx.addIssue({ code: 'custom', path: [e.field], message: e.message });
    return z.NEVER;
  }
});
