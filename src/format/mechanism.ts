// mechanism.json, the mechanism experiment's results: both arms' run results on the same split
// and seed, with layer 0's final q_proj spectrum and head 0's attention over the p number
// tokens. Built by the CLI and the page, parsed by plot, verify and the page's loader.
import { z } from 'zod';
import { DECAYS, type Decay as Arm, type RunConfig } from '../train/config.js';
import { FormatError, parseWith } from './problem.js';
import { runResultSchema, type RunResult } from './run_result.js';

export const MECHANISM_FILE = 'mechanism.json';
export const ARMS: readonly Arm[] = DECAYS;

/** The parameter whose spectrum the figure shows, and the attention's layer and head. */
export const SPECTRUM_PARAMETER = 'layers.0.attn.q_proj.weight';
export const ATTENTION_HEAD = 0;

/** What one arm leaves for the figure; null when the run diverged (no spectrum of NaNs). */
export interface ArmAnalysis {
  spectrum: number[] | null;
  attention: number[][] | null;
}

export interface MechanismFile {
  arms: Record<Arm, RunResult>;
  spectra: Record<Arm, number[] | null>;
  attention: Record<Arm, number[][] | null>;
}

const perArm = <T extends z.ZodType>(value: T) => z.strictObject({ l2: value, lrd: value });

export const mechanismSchema = z.strictObject({
  arms: perArm(runResultSchema),
  spectra: perArm(z.array(z.number().nonnegative()).nullable()),
  attention: perArm(z.array(z.array(z.number().min(0).max(1))).nullable()),
});

/** The file from both finished arms. */
export function mechanismFile(arms: Record<Arm, { result: RunResult } & ArmAnalysis>): MechanismFile {
  return {
    arms: { l2: arms.l2.result, lrd: arms.lrd.result },
    spectra: { l2: arms.l2.spectrum, lrd: arms.lrd.spectrum },
    attention: { l2: arms.l2.attention, lrd: arms.lrd.attention },
  };
}

// Config fields the two arms may differ in: the decay itself.
const ARM_FIELDS: readonly (keyof RunConfig)[] = ['decay', 'wd', 'rate'];

/** Where the file contradicts itself, as `field: why`, or null. */
export function mechanismProblem(m: MechanismFile): string | null {
  for (const arm of ARMS) {
    const c = m.arms[arm].config;
    if (c.decay !== arm) return `arms.${arm}.config.decay: '${c.decay}', but this is the ${arm} arm`;
    const spectrum = m.spectra[arm], attention = m.attention[arm];
    if (spectrum && spectrum.length !== c.dim) return `spectra.${arm}: ${spectrum.length} values, but q_proj (${c.dim} x ${c.dim}) has ${c.dim}`;
    if (attention && (attention.length !== c.p || attention.some((row) => row.length !== c.p))) {
      return `attention.${arm}: must be ${c.p} rows of ${c.p} weights (p ${c.p})`;
    }
  }
  const a = m.arms.l2.config, b = m.arms.lrd.config;
  const differs = (Object.keys(a) as (keyof RunConfig)[]).find((k) => !ARM_FIELDS.includes(k) && a[k] !== b[k]);
  if (differs) return `arms.lrd.config.${differs}: ${JSON.stringify(b[differs])}, but the L2 arm has ${JSON.stringify(a[differs])}; both arms share one setup`;
  return null;
}

/** A mechanism.json from parsed JSON, its shape and its internal agreement checked. */
export function parseMechanism(value: unknown, where: string): MechanismFile {
  const m = parseWith(mechanismSchema, value, where) as MechanismFile;
  const problem = mechanismProblem(m);
  if (problem) throw new FormatError(`${where}: ${problem}`);
  return m;
}
