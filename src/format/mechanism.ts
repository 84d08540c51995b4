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

/** What one arm leaves for the figure; null when the run diverged (no spectrum of NaNs). */
export interface ArmAnalysis {
  spectrum: number[] | null;
  attention: number[][] | null;
}

export interface MechanismFile {
  /** 2 for files of this format; absent in the first format. */
  format?: number;
  /** By arm setting label, in the order the arms were given. */
  arms: Record<string, RunResult>;
  spectra: Record<string, number[] | null>;
  attention: Record<string, number[][] | null>;
}

export const mechanismSchema = z.strictObject({
  format: z.literal(MECHANISM_FORMAT).optional(),
  arms: z.record(z.string(), runResultSchema),
  spectra: z.record(z.string(), z.array(z.number().nonnegative()).nullable()),
  attention: z.record(z.string(), z.array(z.array(z.number().min(0).max(1))).nullable()),
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
  for (const part of ['spectra', 'attention'] as const) {
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
