// Node-only: a phase-diagram sweep on disk. Each finished cell is appended to cells.jsonl as one
// line in one write, so a kill loses at most the cells in flight; rerunning skips finished cells.
// One writer at a time holds the directory's lock. When a sweep (or a merge) completes, the file
// is rewritten in canonical cell order, so shards merged and an unsharded sweep produce the same
// file. Input directories of a merge are only read.
import { appendFileSync, closeSync, lstatSync, mkdirSync, openSync, readSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { phaseSpec } from '../study/charts.js';
import { canonicalOrder, cellKey, summarize, summaryCsv, type CellRecord, type SweepCell } from '../study/experiments.js';
import { CELLS_FILE, cellLine, cellRecord, parseCells, sweepSettingProblem, type ParsedCells } from '../format/cells.js';
import { LATER_EVAL_FIELDS } from '../format/run_result.js';
import { FileError, checkOutputDir, exists, quote, readTextFile, writeFileAtomic } from './files.js';
import { lockDirectory } from './lock.js';
import type { Backend } from '../kernel/matmul_call.js';
import { runPool, type PoolHandlers } from './pool.js';
import { compareCsv, compareSpec, isComparison, summarizeComparison } from '../study/compare.js';
export { isComparison };
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
  return parseCells(readTextFile(path, 'cells'), quote(path));
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

/** Whether the file's last byte is a newline (true for an empty or missing file). */
function endsWithNewline(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return true;
  }
  try {
    const size = statSync(path).size;
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

/**
 * A sweep appends to its own cells.jsonl only: one that is a symbolic or hard link is another
 * sweep's file too, and appending would change that sweep behind its back.
 */
function refuseSharedCells(path: string): void {
  let stats;
  try {
    stats = lstatSync(path);
  } catch {
    return; // a new sweep
  }
  if (stats.isSymbolicLink()) throw new SweepError(`${quote(path)} is a symbolic link; a sweep appends only to a cells.jsonl of its own`);
  if (stats.isFile() && stats.nlink > 1) throw new SweepError(`${quote(path)} has ${stats.nlink} hard links; a sweep appends only to a cells.jsonl of its own`);
}

/**
 * Appends one cell's line in one write. A write that fails (a full disk) is undone: the file is
 * cut back to its length before, so it holds exactly the cells it held, and the sweep stops in
 * one line; the caller's finally releases the lock.
 */
function appendCell(path: string, text: string, cells: number): void {
  let before = -1;
  try {
    before = statSync(path).size;
  } catch { /* a new file */ }
  try {
    appendFileSync(path, text);
  } catch (e) {
    try {
      if (before >= 0) truncateSync(path, before);
      else unlinkSync(path);
    } catch { /* the file is as the failed write left it; parseCells treats a torn tail as such */ }
    throw new FileError(`cannot append a cell to ${quote(path)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
      `the file is kept as it was, with its ${cells} cell${cells === 1 ? '' : 's'}; free space and rerun the same command to resume`);
  }
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
    refuseSharedCells(path);
    const parsed = readCells(dir);
    // Only the lock holder may cut a torn last line: its cell is run again below.
    if (parsed.torn) truncateSync(path, parsed.intactBytes);
    const existing = parsed.records;
    const have = new Map(existing.map((r) => [cellKey(r), r]));
    if (have.size !== existing.length) throw new SweepError(`${quote(path)} holds the same cell twice; merge it into a new directory to keep one of each`);
    // One directory, one setup: the cells on disk and the ones asked for share every setting but the grid's.
    const mixed = sweepSettingProblem([
      ...existing.slice(0, 1).map((r) => ({ label: `${quote(path)} line 1`, config: r.config })),
      ...cells.map((c) => ({ label: 'this sweep', config: c.config })),
    ]);
    if (mixed) throw new SweepError(`${quote(dir)} holds another sweep: ${mixed}; use another --out`);
    for (const cell of cells) {
      const old = have.get(cellKey(cell));
      if (old && JSON.stringify(old.config) !== JSON.stringify(cell.config)) {
        const diff = Object.keys(cell.config).find((k) => JSON.stringify((old.config as never)[k]) !== JSON.stringify((cell.config as never)[k]));
        throw new SweepError(`${quote(dir)} holds a different sweep: cell ${cellKey(cell)} was run with ${diff} ${JSON.stringify((old.config as never)[diff!])}, now ${JSON.stringify((cell.config as never)[diff!])}; use another --out`);
      }
    }
    const todo = cells.filter((c) => !have.has(cellKey(c)));
    // A cell run now carries every later evaluation field; appended to cells written before one
    // of them existed, it would make a file that verify refuses (a field in some rows only).
    const older = LATER_EVAL_FIELDS.filter((f) => existing.length && existing[0].history.length && !(f in existing[0].history[0]));
    if (todo.length && older.length) {
      throw new SweepError(`${quote(dir)} holds cells written before ${older.join(', ')} existed; a cell run now carries them, and verify refuses a file that mixes the two; use another --out`);
    }
    // A complete last line without its newline (a hand edit): the next cell starts a line of its own.
    let separator = endsWithNewline(path) ? '' : '\n';
    handlers.onStart?.(todo);
    await runPool(todo.map((c) => c.config), workers, {
      ...handlers,
      onDone: (i, outcome) => {
        const record = cellRecord(todo[i], outcome.result);
        appendCell(path, separator + cellLine(record), existing.length);
        separator = '';
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


/** The device and inode of a path (links followed), or null when there is nothing. */
function identity(path: string): string | null {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return null;
  }
}

/**
 * Inputs are read only: --out may not be an input directory, whatever names it (the same path,
 * a symbolic link, a bind mount), nor hold a cells.jsonl that is an input's (a hard link).
 */
function refuseInputAsOutput(dirs: string[], out: string): void {
  const outDir = identity(out), outCells = identity(join(out, CELLS_FILE));
  let link = false;
  try { link = lstatSync(out).isSymbolicLink(); } catch { /* not there yet */ }
  for (const dir of dirs) {
    if (outDir !== null && identity(dir) === outDir) {
      throw new SweepError(`--out ${quote(out)} is the input ${quote(dir)}${link ? ' (through a symbolic link)' : ''}; merge reads its inputs only and writes a new directory`);
    }
    if (outCells !== null && identity(join(dir, CELLS_FILE)) === outCells) {
      throw new SweepError(`--out ${quote(out)}: its ${CELLS_FILE} is the input ${quote(join(dir, CELLS_FILE))} (a hard or symbolic link); merge reads its inputs only and writes a new directory`);
    }
  }
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
  const firsts: { label: string; config: CellRecord['config'] }[] = [];
  refuseInputAsOutput(dirs, out);
  for (const dir of dirs) {
    if (!exists(join(dir, CELLS_FILE))) throw new SweepError(`${quote(dir)} has no ${CELLS_FILE}`);
    const { records, torn } = readCells(dir);
    if (torn) notes.push(`${quote(join(dir, CELLS_FILE))}: its torn last line (a cell cut off by a kill) is left out; rerun that sweep to finish it`);
    if (records.length) firsts.push({ label: quote(join(dir, CELLS_FILE)), config: records[0].config });
    for (const r of records) {
      const key = cellKey(r);
      const old = merged.get(key);
      if (old && (old.checksum !== r.checksum || JSON.stringify(old.config) !== JSON.stringify(r.config))) {
        throw new SweepError(`cell ${key} differs between inputs (checksum ${old.checksum} vs ${r.checksum})`);
      }
      if (!old) merged.set(key, r);
    }
  }
  // Each input is one setup (parseCells checks that); the inputs must be one setup together.
  const mixed = sweepSettingProblem(firsts);
  if (mixed) throw new SweepError(`the inputs are different sweeps: ${mixed}; merge only shards of one sweep`);
  checkOutputDir('--out', out, SWEEP_OUTPUTS);
  mkdirSync(out, { recursive: true });
  const release = await lockDirectory(out, 'grokwasm merge');
  try {
    // Checked under the lock, so that no sweep starts writing there between the check and the write.
    if (exists(join(out, CELLS_FILE))) {
      throw new SweepError(`--out ${quote(out)} already holds a sweep (${CELLS_FILE}); merge writes a new directory and never replaces cells`);
    }
    const records = canonicalOrder([...merged.values()]);
    writeCells(out, records);
    await writeOutputs(records);
    return { records, notes };
  } finally {
    release();
  }
}
