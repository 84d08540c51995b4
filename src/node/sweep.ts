// Node-only: a phase-diagram sweep on disk. Each finished cell is appended to cells.jsonl as one
// line in one write, so a kill loses at most the cells in flight; rerunning skips finished cells.
// One writer at a time holds the directory's lock. When a sweep (or a merge) completes, the file
// is rewritten in canonical cell order, so shards merged and an unsharded sweep produce the same
// file. Input directories of a merge are only read.
import { appendFileSync, mkdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { phaseSpec } from '../study/charts.js';
import { canonicalOrder, cellKey, summarize, summaryCsv, type CellRecord, type SweepCell } from '../study/experiments.js';
import { CELLS_FILE, cellLine, cellRecord, parseCells, type ParsedCells } from '../format/cells.js';
import { checkOutputDir, exists, readTextFile, writeFileAtomic } from './files.js';
import { lockDirectory } from './lock.js';
import type { Backend } from '../kernel/matmul_call.js';
import { runPool, type PoolHandlers } from './pool.js';
import { compareCsv, compareSpec, summarizeComparison } from '../study/compare.js';
import { renderSvg, svgToPng } from './render.js';

export { CELLS_FILE };

/** The files a sweep or merge writes in its directory. */
export const SWEEP_OUTPUTS = [CELLS_FILE, 'summary.csv', 'phase.svg', 'phase.png'];

/** A sweep directory that cannot be used as asked (another sweep's cells, damage, conflicts). */
export class SweepError extends Error {}

/** The cells in dir/cells.jsonl, parsed and checked (none when the file is absent); never modifies it. */
export function readCells(dir: string): ParsedCells {
  const path = join(dir, CELLS_FILE);
  if (!exists(path)) return { records: [], intactBytes: 0, torn: false };
  return parseCells(readTextFile(path, 'cells'), path);
}

/** Rewrites cells.jsonl in canonical order (atomically). */
export function writeCells(dir: string, records: CellRecord[]): void {
  writeFileAtomic(join(dir, CELLS_FILE), canonicalOrder(records).map(cellLine).join(''));
}

export interface SweepRun {
  done: CellRecord[];
  ran: number;
  skipped: number;
  /** Whether a torn last line (a cell cut off by a kill) was dropped to be run again. */
  repaired: boolean;
}

/** The cells with duplicates (by canonical key: 0.5 and 0.50 are one fraction) left out, first kept. */
export function uniqueCells(cells: SweepCell[]): SweepCell[] {
  const seen = new Set<string>();
  return cells.filter((c) => !seen.has(cellKey(c)) && seen.add(cellKey(c)));
}

/**
 * Runs the cells of a sweep (already sharded) not yet in dir, appending each as it finishes,
 * under the directory's lock. A finished cell whose config differs from the requested one is an
 * error: that directory holds another sweep.
 */
export async function runSweep(dir: string, requested: SweepCell[], workers: number,
  handlers: PoolHandlers & { onStart?: (todo: SweepCell[]) => void; onRecord?: (r: CellRecord) => void },
  options: { backend: Backend; threads?: number; writeOutputs: (records: CellRecord[]) => Promise<void>; outputs?: string[] }): Promise<SweepRun> {
  checkOutputDir('--out', dir, options.outputs ?? SWEEP_OUTPUTS);
  const release = await lockDirectory(dir, 'grokwasm sweep');
  try {
    const cells = uniqueCells(requested);
    const path = join(dir, CELLS_FILE);
    const parsed = readCells(dir);
    // Only the lock holder may cut a torn last line: its cell is run again below.
    if (parsed.torn) truncateSync(path, parsed.intactBytes);
    const existing = parsed.records;
    const have = new Map(existing.map((r) => [cellKey(r), r]));
    if (have.size !== existing.length) throw new SweepError(`${path} holds the same cell twice; merge it into a new directory to keep one of each`);
    for (const cell of cells) {
      const old = have.get(cellKey(cell));
      if (old && JSON.stringify(old.config) !== JSON.stringify(cell.config)) {
        const diff = Object.keys(cell.config).find((k) => JSON.stringify((old.config as never)[k]) !== JSON.stringify((cell.config as never)[k]));
        throw new SweepError(`${dir} holds a different sweep: cell ${cellKey(cell)} was run with ${diff} ${JSON.stringify((old.config as never)[diff!])}, now ${JSON.stringify((cell.config as never)[diff!])}; use another --out`);
      }
    }
    const todo = cells.filter((c) => !have.has(cellKey(c)));
    handlers.onStart?.(todo);
    await runPool(todo.map((c) => c.config), workers, {
      ...handlers,
      onDone: (i, outcome) => {
        const record = cellRecord(todo[i], outcome.result);
        appendFileSync(path, cellLine(record));
        existing.push(record);
        handlers.onDone?.(i, outcome);
        handlers.onRecord?.(record);
      },
    }, { backend: options.backend, threads: options.threads });
    const wanted = new Set(cells.map(cellKey));
    writeCells(dir, existing);
    await options.writeOutputs(canonicalOrder(existing));
    return { done: existing.filter((r) => wanted.has(cellKey(r))), ran: todo.length, skipped: cells.length - todo.length, repaired: parsed.torn };
  } finally {
    release();
  }
}

/** A comparison's summary.csv, compare.svg and compare.png from its runs on disk. */
export async function writeCompareOutputs(dir: string, records: CellRecord[], title: string): Promise<void> {
  const summaries = summarizeComparison(records);
  writeFileAtomic(join(dir, 'summary.csv'), compareCsv(summaries));
  const svg = await renderSvg(compareSpec(records, summaries, title));
  writeFileAtomic(join(dir, 'compare.svg'), svg);
  writeFileAtomic(join(dir, 'compare.png'), svgToPng(svg));
}

/** Whether the records are a comparison's runs (no rate axis) rather than a phase diagram's cells. */
export function isComparison(records: CellRecord[]): boolean {
  return records.length > 0 && records.every((r) => r.rate === null);
}

/** summary.csv, phase.svg and phase.png from the cells on disk. */
export async function writeSweepOutputs(dir: string, records: CellRecord[], title: string): Promise<void> {
  const cells = summarize(records);
  writeFileAtomic(join(dir, 'summary.csv'), summaryCsv(cells));
  const svg = await renderSvg(phaseSpec(cells, title));
  writeFileAtomic(join(dir, 'phase.svg'), svg);
  writeFileAtomic(join(dir, 'phase.png'), svgToPng(svg));
}

export interface Merged {
  records: CellRecord[];
  /** One line per input whose torn last line (a cell in flight at a kill) was left out. */
  notes: string[];
}

/** Combines the cells of several sweep directories into out (under its lock); the same cell twice must agree. */
export async function mergeSweeps(dirs: string[], out: string, writeOutputs: (records: CellRecord[]) => Promise<void>): Promise<Merged> {
  const merged = new Map<string, CellRecord>();
  const notes: string[] = [];
  for (const dir of dirs) {
    if (!exists(join(dir, CELLS_FILE))) throw new SweepError(`${dir} has no ${CELLS_FILE}`);
    const { records, torn } = readCells(dir);
    if (torn) notes.push(`${join(dir, CELLS_FILE)}: its torn last line (a cell cut off by a kill) is left out; rerun that sweep to finish it`);
    for (const r of records) {
      const key = cellKey(r);
      const old = merged.get(key);
      if (old && (old.checksum !== r.checksum || JSON.stringify(old.config) !== JSON.stringify(r.config))) {
        throw new SweepError(`cell ${key} differs between inputs (checksum ${old.checksum} vs ${r.checksum})`);
      }
      if (!old) merged.set(key, r);
    }
  }
  checkOutputDir('--out', out, SWEEP_OUTPUTS);
  mkdirSync(out, { recursive: true });
  const release = await lockDirectory(out, 'grokwasm merge');
  try {
    const records = canonicalOrder([...merged.values()]);
    writeCells(out, records);
    await writeOutputs(records);
    return { records, notes };
  } finally {
    release();
  }
}
