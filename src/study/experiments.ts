// The two studies of the reference, as data: presets, the arms of the mechanism experiment,
// the cells of the phase diagram, and the summaries drawn from their results. Platform
// neutral: the CLI, sweep workers and the browser all build on these.
import { ConfigError, DEFAULT_CONFIG, FIELDS, checkFieldValue, describeRange, normalizeArmFields, resolveConfig, type Decay, type RunConfig } from '../train/config.js';
import { armOf } from '../train/arms/index.js';
import type { Arm, MechanismData, PhaseCell } from './charts.js';
import { strengthAt, type CellRecord } from '../format/cells.js';
import { parseArmSettings, settingConfig, type ArmSetting } from './arm_setting.js';
import type { ArmAnalysis } from '../format/mechanism.js';
import type { EvalInfo, RunResult } from '../train/trainer.js';
import { EVAL_FIELDS } from '../format/run_result.js';
import { parseDecimal } from '../format/decimal.js';

export type PresetName = 'reference' | 'quick';
export const PRESETS: readonly PresetName[] = ['reference', 'quick'];

export interface Preset {
  /** Base config of every run (the arm's decay fields are set per arm). */
  base: RunConfig;
  /** Mechanism experiment: rate of the LRD arm and weight decay of the L2 arm. */
  mechanism: { lrdRate: number; l2Wd: number };
  /** Phase diagram grid and step budget. */
  sweep: { fracs: number[]; rates: number[]; steps: number };
  description: string;
}

export const PRESET: Record<PresetName, Preset> = {
  reference: {
    base: { ...DEFAULT_CONFIG },
    mechanism: { lrdRate: 0.005, l2Wd: 0.1 },
    sweep: { fracs: [0.3, 0.4, 0.5, 0.6, 0.7, 0.8], rates: [1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2], steps: 2500 },
    description: 'the reference setup: p 113, dim 128, 2 blocks, batch 512, 4000 steps (2500 per sweep cell)',
  },
  quick: {
    // Chosen to tell the paper's story in about two minutes on two cores: LRD passes 0.99 (seed 0:
    // step 2800, seed 1: 2900) and ends with its QK stable rank near 1 and its q_proj spectrum
    // falling over 8 decades (seed 0, to the 1e-8 resolution floor), while L2 memorises, plateaus at the mirrored share and keeps a
    // stable rank near 15. At rate 0.004 LRD groks sooner, but its singular values then fall
    // below the step size and the subgradient step overshoots them (docs/results.md); at 0.003
    // they have not by step 3500. Past step 3700 L2 has a loss spike that halves its rank.
    base: { ...DEFAULT_CONFIG, p: 47, dim: 64, mlp: 256, frac: 0.6, steps: 3500, evalEvery: 100 },
    mechanism: { lrdRate: 0.003, l2Wd: 0.1 },
    sweep: { fracs: [0.4, 0.6, 0.8], rates: [1e-3, 4e-3, 1e-2], steps: 3000 },
    description: 'a small setup (p 47, dim 64, mlp 256, fraction 0.6) that shows the contrast in about two minutes',
  },
};

/** A preset's own choice of an arm's fields, where a setting and the flags give none (its mechanism experiment's L2 wd and LRD rate). */
export function presetArmDefaults(preset: Preset, decay: Decay): Partial<RunConfig> {
  if (decay === 'l2') return { wd: preset.mechanism.l2Wd };
  if (decay === 'lrd') return { rate: preset.mechanism.lrdRate };
  return {};
}

/** The base config of a preset's sweep cells: the preset's, with the sweep's step budget, then the overrides. */
export function sweepBase(preset: Preset, overrides: Partial<RunConfig> = {}): RunConfig {
  return resolveConfig(normalizeArmFields({ ...preset.base, steps: preset.sweep.steps, ...overrides, decay: 'lrd' }));
}

/**
 * The configs of arm settings on one setup (the mechanism experiment, a comparison): the preset's
 * base, the flags, the preset's choice for each arm's fields that neither the flags nor the
 * setting give, then the setting.
 */
export function settingConfigs(preset: Preset, settings: ArmSetting[], overrides: Partial<RunConfig> = {}): RunConfig[] {
  const { decay: _ignored, ...shared } = overrides;
  const base = { ...preset.base, ...shared };
  return settings.map((s) => {
    const defaults = Object.fromEntries(Object.entries(presetArmDefaults(preset, s.decay)).filter(([k]) => !(k in shared)));
    return settingConfig(base as RunConfig, s, defaults);
  });
}

/** The mechanism experiment's arms (default l2 and lrd), on the same split and seed. */
export function mechanismConfigs(preset: Preset, overrides: Partial<RunConfig> = {}, settings: ArmSetting[] = CLASSIC_SETTINGS): RunConfig[] {
  return settingConfigs(preset, settings, overrides);
}

/** `l2,lrd`: the reference's two arms, the default of `mechanism --arms` and `sweep --arms`. */
export const CLASSIC_SETTINGS: ArmSetting[] = parseArmSettings('l2,lrd');

export interface SweepCell {
  /** The arm setting's label. */
  arm: Arm;
  frac: number;
  /** The sweep's rate axis (the arm's strength field is rate x its factor), or null in a comparison, where the label says it. */
  rate: number | null;
  seed: number;
  config: RunConfig;
}

export type { CellRecord } from '../format/cells.js';

/**
 * Every cell of a sweep in canonical order (arm, fraction, rate, seed). The rate axis sets each
 * arm's strength field (src/train/arms/): wd = 10 x rate for the arms tuned by weight decay, as
 * the reference's L2 arm, rate itself for the Q/K decays; a setting must leave that field to the axis.
 */
export function sweepCells(base: RunConfig, grid: { arms: ArmSetting[]; fracs: number[]; rates: number[]; seeds: number[] }): SweepCell[] {
  const cells: SweepCell[] = [];
  for (const arm of grid.arms) {
    const { field, perRate } = armOf(arm.decay).strength;
    if (arm.values[field] !== undefined) {
      throw new ConfigError('arms', `arms: ${arm.label} gives ${field}, which the sweep's --rates set (${field} = ${perRate === 1 ? 'the rate' : `${perRate} x rate`})`);
    }
    for (const frac of grid.fracs) for (const rate of grid.rates) for (const seed of grid.seeds) {
      cells.push({ arm: arm.label, frac, rate, seed, config: settingConfig({ ...base, frac, seed }, arm, { [field]: strengthAt(arm.decay, rate) }) });
    }
  }
  return cells;
}

/** The cells of a comparison: every setting at every seed, on one setup (rate null: the label says each arm's values). */
export function compareCells(configs: RunConfig[], settings: ArmSetting[], seeds: number[]): SweepCell[] {
  return settings.flatMap((s, i) => seeds.map((seed) => ({ arm: s.label, frac: configs[i].frac, rate: null, seed, config: resolveConfig({ ...configs[i], seed }) })));
}

/** Cells in canonical order (arm, fraction, rate, seed): the order of a finished cells.jsonl. */
export function canonicalOrder(records: CellRecord[]): CellRecord[] {
  return [...records].sort((a, b) => a.arm.localeCompare(b.arm) || a.frac - b.frac || (a.rate ?? -1) - (b.rate ?? -1) || a.seed - b.seed);
}

export { cellKey } from '../format/cells.js';

/** The cells shard `index` of `count` runs: every count-th cell, starting at index. */
export function shardCells<T>(cells: T[], index: number, count: number): T[] {
  return cells.filter((_, i) => i % count === index);
}

/** The mean of the numbers among `values`, or null when there are none. */
function mean(values: (number | null | undefined)[]): number | null {
  const xs = values.filter((v): v is number => typeof v === 'number');
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

/** Mean and spread over seeds per (arm, fraction, rate). */
export function summarize(records: CellRecord[]): PhaseCell[] {
  const groups = new Map<string, (CellRecord & { rate: number })[]>();
  // A comparison's runs (rate null) are no cells of a phase diagram: compare summarises them its own way.
  for (const r of records.filter((x): x is CellRecord & { rate: number } => x.rate !== null)) {
    const key = `${r.arm}|${r.frac}|${r.rate}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const accs = rs.map((r) => r.bestValAcc);
    const groks = rs.map((r) => r.grokStep).filter((s): s is number => s !== null);
    return {
      arm: rs[0].arm, frac: rs[0].frac, rate: rs[0].rate, wd: rs[0].config.wd,
      diverged: rs.filter((r) => r.diverged).length,
      accMean: accs.reduce((a, b) => a + b, 0) / accs.length,
      accSpread: Math.max(...accs) - Math.min(...accs),
      grokMean: groks.length ? groks.reduce((a, b) => a + b, 0) / groks.length : null,
      grokked: groks.length,
      seeds: rs.length,
      unmirroredMean: mean(rs.map((r) => r.history.at(-1)?.valAccUnmirrored)),
    };
  }).sort((a, b) => a.arm.localeCompare(b.arm) || a.frac - b.frac || a.rate - b.rate);
}



/** Histories of several runs as CSV, one row per evaluation, labelled by `label`. */
export function historyCsv(runs: { label: Record<string, string | number>; history: EvalInfo[] }[]): string {
  const labelKeys = Object.keys(runs[0]?.label ?? {});
  const lines = [[...labelKeys, ...EVAL_FIELDS].join(',')];
  // A diagnostic that does not apply (a non-commutative task), or a result written before it, is an empty cell.
  for (const run of runs) for (const r of run.history) {
    // frequencyShares is one cell of space-separated values (frequency 0 first).
    lines.push([...labelKeys.map((k) => run.label[k]), ...EVAL_FIELDS.map((f) => { const v = r[f]; return Array.isArray(v) ? v.join(' ') : v ?? ''; })].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** The phase diagram as CSV, one row per (arm, fraction, rate). */
export function summaryCsv(cells: PhaseCell[]): string {
  const lines = ['arm,frac,rate,wd,seeds,bestValAccMean,bestValAccSpread,grokked,grokStepMean,finalUnmirroredAccMean,diverged'];
  for (const c of cells) {
    lines.push([c.arm.includes(',') ? `"${c.arm}"` : c.arm, c.frac, c.rate, c.wd, c.seeds, c.accMean, c.accSpread, c.grokked, c.grokMean ?? '', c.unmirroredMean ?? '', c.diverged].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** The mechanism figure's data from the finished arms; a diverged arm has no spectrum or attention. */
export function mechanismData(arms: Partial<Record<Arm, { result: RunResult } & Partial<ArmAnalysis>>>, title?: string): MechanismData {
  const data: MechanismData = { histories: {}, spectra: {}, attention: {}, title };
  for (const [arm, a] of Object.entries(arms) as [Arm, { result: RunResult } & Partial<ArmAnalysis>][]) {
    data.histories[arm] = a.result.history;
    if (a.spectrum) data.spectra[arm] = a.spectrum;
    if (a.attention) data.attention[arm] = a.attention;
    if (a.progress) (data.progress ??= {})[arm] = a.progress;
  }
  return data;
}

/**
 * Which shard of a sweep this process runs: --shard I/N, else a Slurm job array
 * (SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT), else a Kubernetes Indexed Job
 * (JOB_COMPLETION_INDEX, with the count given separately), else the whole sweep.
 */
export function resolveShard(flag: string | undefined, env: Record<string, string | undefined>, count?: number): { index: number; count: number; source: string } {
  const check = (index: number, n: number, source: string) => {
    if (!Number.isInteger(n) || n < 1 || !Number.isInteger(index) || index < 0 || index >= n) {
      throw new RangeError(`${source}: shard must be I/N with integers 0 <= I < N (got ${index}/${n})`);
    }
    return { index, count: n, source };
  };
  // A variable that is set must hold a whole number: an empty one must not quietly mean shard 0.
  const variable = (name: string): number => {
    const raw = env[name]!;
    if (!/^\s*\d+\s*$/.test(raw)) throw new RangeError(`${name} must be a non-negative integer (got '${raw}')`);
    return Number(raw);
  };
  if (flag !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(flag.trim());
    if (!m) throw new RangeError(`--shard must be I/N with integers 0 <= I < N (got '${flag}')`);
    return check(Number(m[1]), Number(m[2]), '--shard');
  }
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const id = variable('SLURM_ARRAY_TASK_ID');
    const min = env.SLURM_ARRAY_TASK_MIN === undefined ? 0 : variable('SLURM_ARRAY_TASK_MIN');
    if (env.SLURM_ARRAY_TASK_COUNT === undefined && count === undefined) {
      throw new RangeError('SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT: give the number of tasks with --shard-count');
    }
    const n = env.SLURM_ARRAY_TASK_COUNT === undefined ? count! : variable('SLURM_ARRAY_TASK_COUNT');
    // A stepped array (--array=0-10:2) numbers its tasks min, min + step, ...
    const step = env.SLURM_ARRAY_TASK_STEP === undefined ? 1 : variable('SLURM_ARRAY_TASK_STEP');
    if (step < 1 || (id - min) % step !== 0) {
      throw new RangeError(`SLURM_ARRAY_TASK_ID ${id} is not min + k x step (min ${min}, step ${step}): give the array as a range such as --array=0-11 or 0-22:2`);
    }
    return check((id - min) / step, n, 'SLURM_ARRAY_TASK_ID');
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    const index = variable('JOB_COMPLETION_INDEX');
    if (count === undefined) throw new RangeError('JOB_COMPLETION_INDEX is set: give the number of indexes with --shard-count');
    return check(index, count, 'JOB_COMPLETION_INDEX');
  }
  return { index: 0, count: 1, source: 'whole sweep' };
}

/** A comma-separated list of values of one RunConfig field (a sweep's fracs, rates, seeds); throws ConfigError naming `name`. */
export function parseList(name: string, raw: string, field: keyof RunConfig): number[] {
  const expected = `${name} must be a comma-separated list of ${describeRange(FIELDS[field])}`;
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new ConfigError(name, expected);
  const values = items.map((item) => {
    const spec = FIELDS[field];
    const value = parseDecimal(item, spec.kind === 'int' ? 'int' : 'float');
    try {
      if (!Number.isFinite(value)) throw new Error();
      checkFieldValue(field, value);
    } catch {
      throw new ConfigError(name, `${expected} (got '${item}')`);
    }
    return value === 0 ? 0 : value; // -0 is 0: one cell, one key
  });
  // 0.5 and 0.50, or 0.01 and 1e-2, are one value: a sweep runs each cell once.
  return [...new Set(values)];
}

/** A comma-separated list of arms, deduplicated in canonical order; throws ConfigError. */
export function parseArms(raw: string): ArmSetting[] {
  return parseArmSettings(raw);
}
