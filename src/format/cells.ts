// cells.jsonl, a sweep's results: one line per finished cell, the cell's run result with its
// coordinates (arm, frac, rate, seed) on top, each line written in one append so that a kill
// tears at most the last line. Built, serialised and parsed here for the CLI, the page, verify
// and merge alike.
import { z } from 'zod';
import { ARM_FIELDS, armOf, type Decay } from '../train/arms/index.js';
import type { RunConfig } from '../train/config.js';
import { settingProblem } from '../study/arm_setting.js';
import type { RunResult } from './run_result.js';
import { FormatError, parseJson, parseWith } from './problem.js';
import { runResultShape } from './run_result.js';

export const CELLS_FILE = 'cells.jsonl';

export const cellRecordSchema = z.strictObject({
  arm: z.string().min(1),
  frac: z.number(),
  rate: z.number().nullable(),
  seed: z.number().int(),
  ...runResultShape,
});

/**
 * One line of cells.jsonl: the run result with the cell's coordinates on top. `arm` is an arm
 * setting's label (src/study/arm_setting.ts); `rate` the sweep's rate axis, or null for a
 * comparison's run, whose label gives the arm's values.
 */
export type CellRecord = RunResult & { arm: string; frac: number; rate: number | null; seed: number };

/**
 * The value of an arm's strength field at a sweep's rate: the reference's L2 arm decays every
 * parameter by 10 x the cell's rate, and so does every arm tuned by weight decay.
 */
export function strengthAt(decay: Decay, rate: number): number {
  return armOf(decay).strength.perRate * rate;
}

/** The L2 arm's weight decay at a sweep's rate. */
export function l2WeightDecay(rate: number): number {
  return strengthAt('l2', rate);
}

/** A cell's coordinates as one key: the cell a sweep runs once and a cells.jsonl holds once. */
export function cellKey(c: { arm: string; frac: number; rate: number | null; seed: number }): string {
  return `${c.arm}|${c.frac}|${c.rate}|${c.seed}`;
}

/** A finished cell's line. */
export function cellRecord(cell: { arm: string; frac: number; rate: number | null; seed: number }, result: RunResult): CellRecord {
  return { arm: cell.arm, frac: cell.frac, rate: cell.rate, seed: cell.seed, ...result };
}

/** One line of cells.jsonl, newline included. */
export function cellLine(record: CellRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** Where a cell's labels contradict its config, as `field: why`, or null. */
export function cellLabelProblem(r: CellRecord): string | null {
  const c = r.config;
  const setting = settingProblem(r.arm, c);
  if (setting) return `arm: ${setting}`;
  if (r.frac !== c.frac) return `frac: ${r.frac}, but config.frac is ${c.frac}`;
  if (r.seed !== c.seed) return `seed: ${r.seed}, but config.seed is ${c.seed}`;
  if (r.rate !== null) {
    const { field, perRate } = armOf(c.decay).strength;
    if (strengthAt(c.decay, r.rate) !== c[field]) {
      return `rate: ${r.rate}, but the ${c.decay} arm's config.${field} ${c[field]} is not ${perRate === 1 ? 'the rate' : `${perRate} x rate`}`;
    }
  }
  return null;
}

/**
 * The config fields a sweep's grid or a comparison's arm settings vary: the arm, the training
 * fraction, every arm field (src/train/arms/arm.ts), the loss and the seed. The cells of one
 * directory share every other setting, so that one figure never silently mixes two setups.
 */
export const SWEEP_AXES: readonly (keyof RunConfig)[] = ['decay', 'frac', ...ARM_FIELDS, 'loss', 'seed'];

/**
 * The first setting outside SWEEP_AXES in which a config differs from the first one, as
 * `label: field value, but firstLabel has value`, or null when all share one setup.
 */
export function sweepSettingProblem(cells: readonly { label: string; config: RunConfig }[]): string | null {
  if (cells.length === 0) return null;
  const first = cells[0];
  for (const cell of cells.slice(1)) {
    const keys = new Set([...Object.keys(first.config), ...Object.keys(cell.config)]) as Set<keyof RunConfig>;
    for (const key of keys) {
      if (SWEEP_AXES.includes(key)) continue;
      const a = JSON.stringify(first.config[key] ?? null), b = JSON.stringify(cell.config[key] ?? null);
      if (a !== b) {
        return `${cell.label}: ${key} ${b}, but ${first.label} has ${key} ${a}; the cells of one sweep share every setting but ${SWEEP_AXES.join(', ')}`;
      }
    }
  }
  return null;
}

export interface ParsedCells {
  records: CellRecord[];
  /** Byte length of the intact lines: a torn last line (a kill mid-append) starts here. */
  intactBytes: number;
  /** Whether the last line is torn: no newline and not a record. It is left out of records. */
  torn: boolean;
}

/**
 * Every line of a cells.jsonl, each checked against the schema and its labels; a torn last line
 * is reported, not parsed. Errors name the file and line.
 */
export function parseCells(text: string, file: string): ParsedCells {
  const records: CellRecord[] = [];
  const encoder = new TextEncoder();
  const lines = text.split('\n');
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const isLast = i === lines.length - 1;
    if (isLast && line === '') break;
    const where = `${file}: line ${i + 1}`;
    if (line.trim() === '') throw new FormatError(`${where}: empty line; every line must be a cell record`);
    let value: unknown;
    try {
      JSON.parse(line);
    } catch {
      // Only an unterminated last line can be a write cut short; anything else is damage.
      if (isLast) return { records, intactBytes: offset, torn: true };
      throw new FormatError(`${where}: not JSON; the file is damaged`);
    }
    // Parsed again through the one strict reader: a key given twice is refused, not the last kept.
    value = parseJson(line, where, { lines: false });
    const record = parseWith(cellRecordSchema, value, where) as CellRecord;
    const problem = cellLabelProblem(record);
    if (problem) throw new FormatError(`${where}: ${problem}`);
    const mixed = records.length ? sweepSettingProblem([{ label: 'line 1', config: records[0].config }, { label: where, config: record.config }]) : null;
    if (mixed) throw new FormatError(mixed);
    records.push(record);
    offset += encoder.encode(line).length + 1;
  }
  return { records, intactBytes: offset, torn: false };
}
