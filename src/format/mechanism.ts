// mechanism.json, the mechanism experiment's results: every arm's run result on the same split
// and seed, with layer 0's final q_proj spectrum and head 0's attention over the p number
// tokens, keyed by arm setting (src/study/arm_setting.ts). Built by the CLI and the page, parsed
// by plot, verify and the page's loader.
//
// Format 2 (`"format": 2`) holds any list of arm settings; the first format (no `format` key)
// held exactly the two arms l2 and lrd, and is still read, plotted and verified.
import { z } from 'zod';
import { ARM_FIELDS } from '../train/arms/index.js';
import type { RunConfig } from '../train/config.js';
import { settingProblem } from '../study/arm_setting.js';
import { FormatError, parseWith } from './problem.js';
import { runResultSchema, type RunResult } from './run_result.js';

export const MECHANISM_FILE = 'mechanism.json';
export const MECHANISM_FORMAT = 2;
/** The arms of every mechanism file of the first format, and the default of `mechanism --arms`. */
export const CLASSIC_ARMS = ['l2', 'lrd'] as const;

/** The parameter whose spectrum the figure shows, and the attention's layer and head. */
export const SPECTRUM_PARAMETER = 'layers.0.attn.q_proj.weight';
export const ATTENTION_HEAD = 0;

/**
 * Nanda et al.'s progress measures with the key frequencies fixed from the final model: the
 * frequencies, and per history row the training loss restricted to them and without them.
 */
export interface KeyFrequencyProgress {
  frequencies: number[];
  restrictedLoss: number[];
  excludedLoss: number[];
}

/** What one arm leaves for the figure; null when the run diverged (no spectrum of NaNs). */
export interface ArmAnalysis {
  spectrum: number[] | null;
  attention: number[][] | null;
  /** Null where the measures do not apply (not addition, diverged); absent in files written before them. */
  progress?: KeyFrequencyProgress | null;
}

export interface MechanismFile {
  /** 2 for files of this format; absent in the first format. */
  format?: number;
  /** By arm setting label, in the order the arms were given. */
  arms: Record<string, RunResult>;
  spectra: Record<string, number[] | null>;
  attention: Record<string, number[][] | null>;
  /** The progress measures at the final model's key frequencies; absent in files written before them. */
  progress?: Record<string, KeyFrequencyProgress | null>;
}

const keyProgressSchema = z.strictObject({
  frequencies: z.array(z.number().int().positive()),
  restrictedLoss: z.array(z.number()),
  excludedLoss: z.array(z.number()),
});

export const mechanismSchema = z.strictObject({
  format: z.literal(MECHANISM_FORMAT).optional(),
  arms: z.record(z.string(), runResultSchema),
  spectra: z.record(z.string(), z.array(z.number().nonnegative()).nullable()),
  attention: z.record(z.string(), z.array(z.array(z.number().min(0).max(1))).nullable()),
  progress: z.record(z.string(), keyProgressSchema.nullable()).optional(),
});

/** The arm labels of a file, in its order. */
export function mechanismArms(m: MechanismFile): string[] {
  return Object.keys(m.arms);
}

/** The file from every finished arm, in the order given. */
export function mechanismFile(arms: ({ label: string; result: RunResult } & ArmAnalysis)[]): MechanismFile {
  return {
    format: MECHANISM_FORMAT,
    arms: Object.fromEntries(arms.map((a) => [a.label, a.result])),
    spectra: Object.fromEntries(arms.map((a) => [a.label, a.spectrum])),
    attention: Object.fromEntries(arms.map((a) => [a.label, a.attention])),
    progress: Object.fromEntries(arms.map((a) => [a.label, a.progress ?? null])),
  };
}

// Config fields the arms may differ in: the arm, its own fields and the loss; everything else is the shared setup.
const ARM_SPECIFIC: readonly (keyof RunConfig)[] = ['decay', 'loss', ...ARM_FIELDS];

/** Where the file contradicts itself, as `field: why`, or null. */
export function mechanismProblem(m: MechanismFile): string | null {
  const labels = mechanismArms(m);
  if (m.format === undefined) {
    if (labels.join(',') !== CLASSIC_ARMS.join(',')) return `arms: a file without "format" holds the arms l2 and lrd, in that order (got ${labels.join(', ') || 'none'})`;
  } else if (!labels.length) {
    return 'arms: no arm';
  }
  for (const part of ['spectra', 'attention', 'progress'] as const) {
    if (!m[part]) continue;
    const keys = Object.keys(m[part]);
    if (keys.join(',') !== labels.join(',')) return `${part}: its arms (${keys.join(', ')}) are not the file's arms (${labels.join(', ')})`;
  }
  for (const label of labels) {
    const c = m.arms[label].config;
    const problem = settingProblem(label, c);
    if (problem) return `arms.${label}: ${problem}`;
    const spectrum = m.spectra[label], attention = m.attention[label];
    if (spectrum && spectrum.length !== c.dim) return `spectra.${label}: ${spectrum.length} values, but q_proj (${c.dim} x ${c.dim}) has ${c.dim}`;
    if (attention && (attention.length !== c.p || attention.some((row) => row.length !== c.p))) {
      return `attention.${label}: must be ${c.p} rows of ${c.p} weights (p ${c.p})`;
    }
    const progress = m.progress?.[label];
    if (progress) {
      const rows = m.arms[label].history.length;
      if (progress.restrictedLoss.length !== rows || progress.excludedLoss.length !== rows) {
        return `progress.${label}: ${progress.restrictedLoss.length} restricted and ${progress.excludedLoss.length} excluded losses, but the history has ${rows} rows`;
      }
      const bad = progress.frequencies.find((k) => k > Math.floor(c.p / 2));
      if (bad !== undefined) return `progress.${label}.frequencies: ${bad} is not a frequency of Z_${c.p} (1..${Math.floor(c.p / 2)})`;
    }
  }
  const first = m.arms[labels[0]].config;
  for (const label of labels.slice(1)) {
    const c = m.arms[label].config;
    const differs = (Object.keys(first) as (keyof RunConfig)[]).find((k) => !ARM_SPECIFIC.includes(k) && first[k] !== c[k]);
    if (differs) {
      return `arms.${label}.config.${differs}: ${JSON.stringify(c[differs])}, but arm ${labels[0]} has ${JSON.stringify(first[differs])}; every arm shares one setup`;
    }
  }
  return null;
}

/** A mechanism.json from parsed JSON, its shape and its internal agreement checked. */
export function parseMechanism(value: unknown, where: string): MechanismFile {
  const m = parseWith(mechanismSchema, value, where) as MechanismFile;
  const problem = mechanismProblem(m);
  if (problem) throw new FormatError(`${where}: ${problem}`);
  return m;
}
