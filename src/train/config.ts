// RunConfig: every knob of a run, its default (the reference LRD arm), its allowed range, and
// its validation. The CLI flags, the later URL query and form fields all come from FIELDS.
import { z } from 'zod';
import { TASKS, TASK_FORMULA, isPrime, type Task } from './tasks.js';
import { domainSize } from './data.js';

/** The two arms: L2 weight decay on every parameter, or Low-Rank Decay on the query/key weights. */
export const DECAYS = ['l2', 'lrd'] as const;
export type Decay = (typeof DECAYS)[number];

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
  /** 'l2': AdamW decay on every parameter. 'lrd': AdamW decay on all but q_proj/k_proj, plus Low-Rank Decay on those. */
  decay: Decay;
  /** AdamW weight decay (see decay for which parameters get it). */
  wd: number;
  /** Low-Rank Decay step size (lrd arm only). */
  rate: number;
  /** Newton-Schulz iterations per Low-Rank Decay step. */
  nsIters: number;
  /** Optimiser steps at most (a run may stop early, as the reference does). */
  steps: number;
  /** Evaluate after the update of every step index divisible by this. */
  evalEvery: number;
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
  decay: { kind: 'choice', label: 'Arm', choices: DECAYS, help: "arm: 'l2' weight decay or 'lrd' Low-Rank Decay" },
  wd: { kind: 'float', label: 'Weight decay', min: 0, max: 100, help: 'AdamW weight decay' },
  rate: { kind: 'float', label: 'Low-Rank Decay rate', min: 0, max: 10, help: 'Low-Rank Decay rate (lrd arm)' },
  nsIters: { kind: 'int', label: 'Newton-Schulz iterations', min: 0, max: 100, help: 'Newton-Schulz iterations' },
  steps: { kind: 'int', label: 'Steps', min: 1, max: 10_000_000, help: 'maximum optimiser steps' },
  evalEvery: { kind: 'int', label: 'Evaluate every', min: 1, max: 10_000_000, help: 'evaluate every N steps' },
  seed: { kind: 'int', label: 'Seed', min: 0, max: 4294967295, help: 'seed of split, init and batch order' },
};

/** The reference LRD arm (../shared/reference-experiment.md). */
export const DEFAULT_CONFIG: RunConfig = {
  task: 'add', p: 113, frac: 0.5, dim: 128, depth: 2, heads: 4, mlp: 512, batch: 512, lr: 1e-3,
  decay: 'lrd', wd: 0.1, rate: 0.005, nsIters: 5, steps: 4000, evalEvery: 200, seed: 0,
};

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
  const missing = (Object.keys(FIELDS) as (keyof RunConfig)[]).find((k) => !(k in value));
  if (missing) {
    ctx.addIssue({ code: 'custom', path: [missing], message: `missing; must be ${describeRange(FIELDS[missing])}` });
    return z.NEVER;
  }
  try {
    return resolveConfig(value as Partial<RunConfig>);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    ctx.addIssue({ code: 'custom', path: [e.field], message: e.message });
    return z.NEVER;
  }
});
