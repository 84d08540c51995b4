// Phase-diagram mode: the sweep's cells on a pool of workers (one per hardware thread), the
// heatmaps refilled as cells finish. Cells and summaries come from src/, as in the CLI.
import * as Comlink from 'comlink';
import {
  ConfigError, canonicalOrder, cellLine, cellRecord, parseArms, parseList, phaseSpec, summarize, summaryCsv, sweepCells,
  type ArmSetting, type Backend, type CellRecord, type PhaseCell, type RunConfig,
} from '../src/core.js';
import type { Figure } from './chart_view.js';
import type { WorkerApi } from './worker.js';
import { endWorker, spawnWorker } from './workers.js';
import { threadsPerRun } from '../src/core.js';

export interface Grid { arms: ArmSetting[]; fracs: number[]; rates: number[]; seeds: number[] }

let stopping = false;
let live: Comlink.Remote<WorkerApi>[] = [];

/** The grid inputs as lists, each value checked against its RunConfig field, as the CLI does. */
export function gridFromForm(inputs: HTMLInputElement[]): Grid | { error: string } {
  const value = (name: string) => inputs.find((i) => i.name === name)!.value;
  try {
    return {
      arms: parseArms(value('arms')),
      fracs: parseList('fracs', value('fracs'), 'frac'),
      rates: parseList('rates', value('rates'), 'rate'),
      seeds: parseList('seeds', value('seeds'), 'seed'),
    };
  } catch (e) {
    if (e instanceof ConfigError) return { error: e.message };
    throw e;
  }
}

/**
 * The phase figure in words (its text alternative): one line of best validation accuracies per
 * arm and fraction, in the order of the rates named once, then how many cells reached 0.99.
 */
export function phaseSummaryText(cells: PhaseCell[]): string {
  const rates = [...new Set(cells.map((c) => c.rate))].sort((a, b) => a - b);
  const rows = [...new Set(cells.map((c) => `${c.arm}\u0000${c.frac}`))].map((key) => {
    const [arm, frac] = key.split('\u0000');
    const at = (rate: number) => cells.find((c) => c.arm === arm && String(c.frac) === frac && c.rate === rate);
    return `${arm} at fraction ${frac}: ${rates.map((r) => at(r)?.accMean.toFixed(2) ?? '-').join(', ')}`;
  });
  const seeds = Math.max(...cells.map((c) => c.seeds));
  const grokked = cells.filter((c) => c.grokked > 0).length;
  return `best validation accuracy${seeds > 1 ? ' (mean over seeds)' : ''} at rates ${rates.join(', ')}: ${rows.join('; ')}. ` +
    `${grokked} of ${cells.length} cells reached 0.99${seeds > 1 ? ' in at least one seed' : ''}.`;
}

export function stopSweep(): void {
  stopping = true;
  for (const api of live) void api.stop();
}

/** Runs every cell; keeps finished cells when stopped or when a worker fails. */
export async function runSweepInPage(base: RunConfig, grid: Grid, backend: Backend, threads: number,
  ui: { progress(done: number, total: number): void; draw(figure: Figure, summary: string): void; backend(lines: string[]): void; threads(lines: string[]): void }):
  Promise<{ records: CellRecord[]; total: number; cellsJsonl: string; summaryCsv: string; error?: string }> {
  const cells = sweepCells(base, grid);
  const records: CellRecord[] = [];
  let next = 0;
  let error: string | undefined;
  const backendLines = new Set<string>();
  stopping = false;
  ui.progress(0, cells.length);
  // One worker per thread asked for, one thread per cell; fewer cells than threads share them out.
  const size = Math.max(1, Math.min(threads, cells.length));
  const perCell = threadsPerRun(threads, size);
  const threadsLines = new Set<string>();
  const workers = Array.from({ length: size }, () => spawnWorker('sweep'));
  live = workers.map((w) => Comlink.wrap<WorkerApi>(w));
  await Promise.all(live.map(async (api, i) => {
    const failed = new Promise<never>((_, reject) => workers[i].addEventListener('error', (e) => reject(new Error(e.message || 'a worker crashed or ran out of memory'))));
    try {
      while (!stopping && !error && next < cells.length) {
        const cell = cells[next++];
        const { backendLine, threadsLine } = await Promise.race([api.create(cell.config, backend, perCell), failed]);
        if (!threadsLines.has(threadsLine)) { threadsLines.add(threadsLine); ui.threads([...threadsLines]); }
        // Stop clicked while this cell was being set up: its run never starts.
        if (stopping) break;
        const { result, finished, gpuFailure } = await Promise.race([api.run(Comlink.proxy(() => {}), Comlink.proxy(() => {})), failed]);
        // Each cell asks for its own device: show every different answer once.
        for (const line of [backendLine, gpuFailure]) {
          if (line && !backendLines.has(line)) { backendLines.add(line); ui.backend([...backendLines]); }
        }
        if (!finished) break;
        records.push(cellRecord(cell, result));
        ui.progress(records.length, cells.length);
        const summary = summarize(records);
        ui.draw((layout) => phaseSpec(summary, `Phase diagram (${records.length} of ${cells.length} cells)`, layout),
          `${records.length} of ${cells.length} cells: ${phaseSummaryText(summary)}`);
      }
    } catch (e) {
      error ??= `A cell failed: ${(e as Error).message}.`;
    }
  }));
  for (const w of workers) endWorker(w);
  live = [];
  const ordered = canonicalOrder(records);
  return {
    records: ordered, total: cells.length, error,
    cellsJsonl: ordered.map(cellLine).join(''),
    summaryCsv: summaryCsv(summarize(ordered)),
  };
}
