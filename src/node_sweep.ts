// Node-only: a phase-diagram sweep on disk. Each finished cell is appended to cells.jsonl as one
// line in one write, so a kill loses at most the cells in flight; rerunning skips finished cells.
// When a sweep (or a merge) completes, the file is rewritten in canonical cell order, so shards
// merged and an unsharded sweep produce the same file.
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { phaseSpec } from './charts.js';
import { canonicalOrder, cellKey, summarize, summaryCsv, type CellRecord, type SweepCell } from './experiments.js';
import { writeFileAtomic } from './node_files.js';
import type { Backend } from './matmul_call.js';
import { runPool, type PoolHandlers } from './node_pool.js';
import { renderSvg, svgToPng } from './render_node.js';

export const CELLS_FILE = 'cells.jsonl';

/** A sweep directory that cannot be used as asked (another sweep's cells, damage, conflicts). */
export class SweepError extends Error {}

/** The finished cells in dir/cells.jsonl; a torn last line (a kill mid-write) is cut off. */
export function readCells(dir: string): CellRecord[] {
  const path = join(dir, CELLS_FILE);
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const records: CellRecord[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const end = offset + Buffer.byteLength(line) + 1;
    if (line.trim() !== '') {
      try {
        records.push(JSON.parse(line));
      } catch {
        if (end >= Buffer.byteLength(text)) { truncateSync(path, offset); break; }
        throw new SweepError(`${path}: line ${records.length + 1} is not JSON; the file is damaged`);
      }
    }
    offset = end;
  }
  return records;
}

/** Rewrites cells.jsonl in canonical order (atomically). */
export function writeCells(dir: string, records: CellRecord[]): void {
  writeFileAtomic(join(dir, CELLS_FILE), canonicalOrder(records).map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : ''));
}

export interface SweepRun {
  done: CellRecord[];
  ran: number;
  skipped: number;
}

/**
 * Runs the cells of a sweep (already sharded) not yet in dir, appending each as it finishes.
 * A finished cell whose config differs from the requested one is an error: that directory
 * holds another sweep.
 */
export async function runSweep(dir: string, cells: SweepCell[], workers: number, handlers: PoolHandlers & { onStart?: (todo: SweepCell[]) => void; onRecord?: (r: CellRecord) => void } = {},
  backend: Backend = 'wasm'): Promise<SweepRun> {
  mkdirSync(dir, { recursive: true });
  const existing = readCells(dir);
  const have = new Map(existing.map((r) => [cellKey(r), r]));
  for (const cell of cells) {
    const old = have.get(cellKey(cell));
    if (old && JSON.stringify(old.config) !== JSON.stringify(cell.config)) {
      const diff = Object.keys(cell.config).find((k) => JSON.stringify((old.config as never)[k]) !== JSON.stringify((cell.config as never)[k]));
      throw new SweepError(`${dir} holds a different sweep: cell ${cellKey(cell)} was run with ${diff} ${JSON.stringify((old.config as never)[diff!])}, now ${JSON.stringify((cell.config as never)[diff!])}; use another --out`);
    }
  }
  const todo = cells.filter((c) => !have.has(cellKey(c)));
  const path = join(dir, CELLS_FILE);
  handlers.onStart?.(todo);
  await runPool(todo.map((c) => c.config), workers, {
    ...handlers,
    onDone: (i, outcome) => {
      const c = todo[i];
      const record: CellRecord = { arm: c.arm, frac: c.frac, rate: c.rate, seed: c.seed, ...outcome.result };
      appendFileSync(path, `${JSON.stringify(record)}\n`);
      existing.push(record);
      handlers.onDone?.(i, outcome);
      handlers.onRecord?.(record);
    },
  }, { backend });
  const wanted = new Set(cells.map(cellKey));
  writeCells(dir, existing);
  return {
    done: existing.filter((r) => wanted.has(cellKey(r))),
    ran: todo.length, skipped: cells.length - todo.length,
  };
}

/** summary.csv, phase.svg and phase.png from the cells on disk. */
export async function writeSweepOutputs(dir: string, records: CellRecord[], title: string): Promise<void> {
  const cells = summarize(records);
  writeFileAtomic(join(dir, 'summary.csv'), summaryCsv(cells));
  const svg = await renderSvg(phaseSpec(cells, title));
  writeFileAtomic(join(dir, 'phase.svg'), svg);
  writeFileAtomic(join(dir, 'phase.png'), svgToPng(svg));
}

/** Combines the cells of several sweep directories into out; the same cell twice must agree. */
export function mergeSweeps(dirs: string[], out: string): CellRecord[] {
  const merged = new Map<string, CellRecord>();
  for (const dir of dirs) {
    if (!existsSync(join(dir, CELLS_FILE))) throw new SweepError(`${dir} has no ${CELLS_FILE}`);
    for (const r of readCells(dir)) {
      const key = cellKey(r);
      const old = merged.get(key);
      if (old && (old.checksum !== r.checksum || JSON.stringify(old.config) !== JSON.stringify(r.config))) {
        throw new SweepError(`cell ${key} differs between inputs (checksum ${old.checksum} vs ${r.checksum})`);
      }
      if (!old) merged.set(key, r);
    }
  }
  mkdirSync(out, { recursive: true });
  const records = [...merged.values()];
  writeCells(out, records);
  return canonicalOrder(records);
}
