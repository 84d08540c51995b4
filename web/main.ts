// The page: a form over RunConfig (the CLI's field table), one worker per arm driven with
// Comlink, live charts from the CLI's chart specs, checksums, downloads. It computes nothing
// itself: every number comes from src/ running in the workers. This file holds the run's state
// and wires the controls; form.ts, chart_view.ts and downloads.ts do the rest.
import * as Comlink from 'comlink';
import {
  FormatError, TAB_LIMIT_SECONDS, armTitle, armVerdict, figureSummary, formatDuration, mechanismArms, mechanismData, settingTag, runFlops, sweepCells, mechanismSpec, parallelSeconds, parseJson,
  compareRows, compareSpec, isComparison, parseCells, phaseSpec, summarize, summarizeComparison,
  parseMechanism, parseRunResult, queueSeconds, resolveConfig, secondsLeft, verifyTargets, threadsPerRun, trainingSpec,
  type Arm, type ArmAnalysis, type Backend, type EvalInfo, type MechanismData, type MechanismFile, type PresetName, type RunConfig, type RunResult, type CellRecord,
} from '../src/core.js';
import exampleUrl from '../docs/results/mechanism-quick-seeds/seed-0/mechanism.json?url';
import { hasWasmSimd, noSimdMessage } from '../src/kernel/simd.js';
import { sharedMemoryProblem } from './shared_memory.js';
import { draw } from './chart_view.js';
import { spawnWorker, endWorker } from './workers.js';
import { download, showChecksums, showDownloads } from './downloads.js';
import {
  applyQuery, baseValues, configsFor, fillForm, gridInputs, readBackend, readOverrides, readThreads, reportConfigError, showBackend,
  showThreads,
  showFieldError, showMode, writeUrl, type Mode,
} from './form.js';
import { $, backendLine, buttons, form, isEnabled, modeSelect, presetSelect, progress, progressText, say, setEnabled } from './page.js';
import { gridFromForm, phaseSummaryText, runSweepInPage, stopSweep } from './sweep.js';
import type { VerifyLine, WorkerApi } from './worker.js';

// Without Wasm SIMD nothing can train here: one plain sentence at once, not the engine's compile error.
const noSimd = hasWasmSimd() ? null : noSimdMessage('browser');

async function startSweep(preset: PresetName, overrides: Partial<RunConfig>, backend: Backend, threads: number): Promise<void> {
  const grid = gridFromForm(gridInputs);
  if ('error' in grid) {
    showFieldError('grid', grid.error);
    return say(grid.error, true);
  }
  let base: RunConfig;
  try {
    base = resolveConfig({ ...baseValues('sweep', preset), ...overrides });
  } catch (e) {
    return reportConfigError(e);
  }
  writeUrl('sweep', preset, overrides);
  const started = performance.now();
  setState('running');
  setEnabled(buttons.pause, false);
  $('checksums').replaceChildren();
  $('downloads').replaceChildren();
  const outcome = await runSweepInPage(base, grid, backend, threads, {
    progress: (done, total) => {
      progress.max = total;
      progress.value = done;
      const elapsed = (performance.now() - started) / 1000;
      const eta = done > 0 && done < total ? `, about ${formatDuration((elapsed / done) * (total - done))} left` : '';
      progressText.textContent = `${done} of ${total} cells done${eta}`;
      progress.setAttribute('aria-valuetext', progressText.textContent);
    },
    draw: (spec, summary) => void draw(spec, summary),
    backend: (lines) => { backendLine.textContent = lines.join('; '); },
    threads: (lines) => showThreads(lines),
  });
  setState(outcome.error ? 'failed' : 'done');
  showElapsed(started);
  const box = $('downloads');
  box.append(download('cells.jsonl', outcome.cellsJsonl, 'application/x-ndjson'), download('summary.csv', outcome.summaryCsv, 'text/csv'));
  (window as unknown as { grokwasmCells: unknown }).grokwasmCells = outcome.records;
  if (outcome.error) say(`${outcome.error} The ${outcome.records.length} finished cells are kept.`, true);
  else say(`${outcome.records.length} of ${outcome.total} cells done${outcome.records.length < outcome.total ? ' (stopped)' : ''}.`);
}

// ---- a run ----
export interface ArmRun {
  arm: Arm;
  config: RunConfig;
  worker: Worker;
  api: Comlink.Remote<WorkerApi>;
  history: EvalInfo[];
  steps: number;
  /** Where the current stretch of training started (after a start, resume or checkpoint): for the speed and the ETA. */
  since?: { ms: number; steps: number };
  /** The latest result: final when finished, else the state at the last pause or stop. */
  last?: RunResult;
  finished: boolean;
  analysis?: ArmAnalysis;
  /** Where its products run (null on plain Wasm), updated if the GPU fails. */
  backendLine?: string | null;
  /** Its parameters and checkpoint, fetched when the run ends (its worker is ended then). */
  files?: { stateDict: Uint8Array; checkpoint: Uint8Array };
}
let runs: ArmRun[] = [];
/**
 * The run's one state, which every button and message follows. pausing and stopping last from
 * the click until every worker has ended its current step and answered: no button can start
 * anything in between, so the page never shows a state the workers are not in.
 */
export type RunState = 'idle' | 'starting' | 'running' | 'pausing' | 'paused' | 'stopping' | 'verifying' | 'verify-paused' | 'done' | 'failed';
let state: RunState = 'idle';
let failed = false;
/**
 * What the last Pause or Resume click asked for while a pause settles (state pausing): a burst
 * of clicks ends in the state of the last one, whatever the workers were doing in between.
 */
let wanted: 'pause' | 'run' = 'run';
/** When the run now going started (for the elapsed time shown at its end), and what was estimated for it. */
let runStarted: { ms: number; estimate: number | null } | null = null;

const isSettled = (s: RunState) => s === 'idle' || s === 'done' || s === 'failed';

function setState(next: RunState): void {
  state = next;
  document.body.dataset.state = next;
  const settled = isSettled(next);
  // Run acts when nothing goes (a new run) or when paused (Resume); in a settling pause it takes the last word.
  const resumable = next === 'paused' || (next === 'pausing' && wanted === 'pause') || next === 'verify-paused';
  setEnabled(buttons.run, settled || resumable);
  buttons.run.textContent = next === 'paused' || next === 'pausing' || next === 'verify-paused' ? 'Resume' : 'Run';
  setEnabled(buttons.pause, next === 'running' || (next === 'pausing' && wanted === 'run') || next === 'verifying');
  setEnabled(buttons.stop, next === 'running' || next === 'paused' || next === 'pausing' || next === 'verifying' || next === 'verify-paused');
  for (const input of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) input.disabled = !settled;
  for (const id of ['load', 'verify-steps']) $<HTMLInputElement>(id).disabled = !settled;
  setEnabled($<HTMLButtonElement>('verify'), settled && loaded !== null);
}

function fail(text: string): void {
  if (failed) return;
  failed = true;
  for (const r of runs) endWorker(r.worker);
  void finish().then(() => say(text, true));
}


/** "L2: step 400 of 1500, 120 steps/s, about 9 s left; LRD: ..." (a finished arm: its steps, done). */
function progressLine(): string {
  return runs.map((r) => {
    const name = runs.length > 1 ? `${settingTag(r.arm)}: ` : '';
    if (r.finished) return `${name}done after ${r.steps} steps`;
    const head = `${name}step ${r.steps} of ${r.config.steps}`;
    const elapsed = r.since ? (performance.now() - r.since.ms) / 1000 : 0;
    // The time left comes from this run's own measured speed, with the arms sharing the cores as they do.
    const rate = r.since && elapsed > 0.5 ? (r.steps - r.since.steps) / elapsed : 0;
    const left = secondsLeft(r.config.steps - r.steps, rate);
    if (left === null || state !== 'running') return head;
    return `${head}, ${rate.toFixed(rate < 10 ? 1 : 0)} steps/s, about ${formatDuration(left)} left`;
  }).join('; ');
}

function updateProgress(): void {
  // An arm that stopped early (grokking, divergence) counts the steps it took, so the bar never jumps.
  const total = runs.reduce((n, r) => n + (r.finished ? r.steps : r.config.steps), 0);
  const done = runs.reduce((n, r) => n + r.steps, 0);
  progress.max = total;
  progress.value = done;
  const line = progressLine();
  progress.setAttribute('aria-valuetext', line);
  progressText.textContent = line;
  showMeasuredEstimate();
}

/** While a run goes, the estimate line is corrected from its own measured speed: the slowest arm's time left. */
function showMeasuredEstimate(): void {
  if (state !== 'running' || !runStarted) return;
  const lefts = runs.filter((r) => !r.finished).map((r) => {
    const elapsed = r.since ? (performance.now() - r.since.ms) / 1000 : 0;
    return elapsed > 0.5 ? secondsLeft(r.config.steps - r.steps, (r.steps - r.since!.steps) / elapsed) : null;
  });
  if (!lefts.length || lefts.some((l) => l === null)) return;
  const before = runStarted.estimate === null ? '' : `Estimated about ${formatDuration(runStarted.estimate)} before the start; `;
  $('estimate').textContent = `${before}at this run's measured speed, about ${formatDuration(Math.max(...(lefts as number[])))} left.`;
}

function histories(): Partial<Record<Arm, EvalInfo[]>> {
  return Object.fromEntries(runs.map((r) => [r.arm, r.history]));
}

/** The arms' titles of a figure's histories, in its order, for the colour key (only those with rows, as the figure's legend). */
const keyOf = (h: Partial<Record<Arm, EvalInfo[]>>) => Object.entries(h).filter(([, rows]) => rows?.length).map(([arm]) => armTitle(arm));

/** Starts a run: the state leaves idle before anything else, so a second click, a held Enter or a link's autorun start nothing more. */
async function start(): Promise<void> {
  if (!isSettled(state)) return;
  if (noSimd) return say(noSimd, true);
  const before = state;
  setState('starting');
  try {
    await startSelected();
  } finally {
    if ((state as RunState) === 'starting') setState(before);
  }
}

async function startSelected(): Promise<void> {
  const mode = modeSelect.value as Mode;
  const preset = presetSelect.value as PresetName;
  const overrides = readOverrides(baseValues(mode, preset));
  if (!overrides) return say('Fix the fields marked in red.', true);
  const backend = readBackend();
  const threads = readThreads();
  if (!backend || threads === null) return;
  backendLine.textContent = '';
  showThreads([]);
  scrubber.hidden = true;
  $('study').hidden = true;
  $('verdicts').replaceChildren();
  runStarted = { ms: performance.now(), estimate: estimateSeconds() };
  if (mode === 'sweep') return startSweep(preset, overrides, backend, threads);
  let configs: { arm: Arm; config: RunConfig }[];
  try {
    configs = configsFor(mode, preset, overrides);
  } catch (e) {
    return reportConfigError(e);
  }
  writeUrl(mode, preset, overrides);
  const runsAtOnce = configs.length;
  await launch(configs.map(({ config }) => (api) => api.create(config, backend, threadsPerRun(threads, runsAtOnce))), configs.map((c) => c.arm));
}

/** What a worker holds once set up: its config (whose decay names the arm) and, for a checkpoint, the run so far. */
type Ready = { config: RunConfig; backendLine: string | null; threadsLine: string; history?: EvalInfo[]; steps?: number };

/** One worker per set-up (a fresh run or a checkpoint), then training; `labels` name the arms (default: each config's arm). */
async function launch(setUps: ((api: Comlink.Remote<WorkerApi>) => Promise<Ready>)[], labels?: Arm[]): Promise<void> {
  failed = false;
  $('checksums').replaceChildren();
  $('downloads').replaceChildren();
  for (const r of runs) endWorker(r.worker);
  runs = [];
  const started = setUps.map((setUp) => {
    const worker = spawnWorker('train');
    let arm = 'training';
    worker.addEventListener('error', (e) => fail(`The ${arm} worker failed: ${e.message || 'it crashed or ran out of memory'}. Results so far are kept.`));
    const api = Comlink.wrap<WorkerApi>(worker);
    return { worker, api, ready: setUp(api).then((ready) => { arm = ready.config.decay; return ready; }) };
  });
  try {
    const ready = await Promise.all(started.map((s) => s.ready));
    showThreads(ready.map((r) => r.threadsLine));
    runs = started.map(({ worker, api }, i): ArmRun => {
      const { config, backendLine, history = [], steps = 0 } = ready[i];
      return { arm: labels?.[i] ?? config.decay, config, worker, api, history, steps, finished: false, backendLine };
    });
  } catch (e) {
    for (const s of started) endWorker(s.worker);
    return say(`Could not start: ${(e as Error).message}`, true);
  }
  showBackend(runs.map((r) => ({ arm: r.arm, line: r.backendLine ?? null })));
  if (runs.some((r) => r.history.length)) void draw((layout) => trainingSpec(histories(), 'Training', layout), figureSummary(histories()), keyOf(histories()));
  await resume();
}

/** Continues a run saved by `grokwasm run --checkpoint` (or this page) to its end, on the chosen backend. */
async function continueCheckpoint(name: string, bytes: Uint8Array): Promise<void> {
  const backend = readBackend();
  const threads = readThreads();
  if (!backend || threads === null) return;
  backendLine.textContent = '';
  showThreads([]);
  if (!isSettled(state)) return;
  say(`Continuing ${name}...`);
  setState('starting');
  runStarted = { ms: performance.now(), estimate: null };
  await launch([async (api) => {
    const ready = await api.restore(Comlink.transfer(bytes, [bytes.buffer]), backend, threads);
    // The form shows the checkpoint's config: the run it continues.
    modeSelect.value = 'run';
    showMode('run', presetSelect.value as PresetName);
    fillForm(ready.config);
    return ready;
  }]);
  if ((state as RunState) === 'starting') setState('idle');
}

async function resume(): Promise<void> {
  wanted = 'run';
  setState('running');
  for (const r of runs) r.since = { ms: performance.now(), steps: r.steps };
  updateProgress();
  say(`Training ${runs.length > 1 ? `${runs.length} arms` : `the ${settingTag(runs[0].arm)} arm`}...`);
  try {
    await Promise.all(runs.filter((r) => !r.finished).map(async (r) => {
      const { result, finished, gpuFailure } = await r.api.run(
        // Callbacks travel on their own channel and may land after run() returns: keep rows in step order, once.
        Comlink.proxy((row: EvalInfo) => {
          if (r.history.length && row.step <= r.history[r.history.length - 1].step) return;
          r.history.push(row);
          void draw((layout) => trainingSpec(histories(), 'Training', layout), figureSummary(histories()), keyOf(histories()));
        }),
        Comlink.proxy((info: { step: number }) => { r.steps = info.step + 1; updateProgress(); }),
      );
      Object.assign(r, { last: result, finished, history: [...result.history], steps: result.steps });
      updateProgress();
      if (gpuFailure) {
        r.backendLine = gpuFailure;
        showBackend(runs.map((x) => ({ arm: x.arm, line: x.backendLine ?? null })));
      }
    }));
  } catch (e) {
    return fail(`Training stopped with an error: ${(e as Error).message}. Results so far are kept.`);
  }
  // Every worker has answered: a pause asked for is now real; anything else has ended.
  if (state === 'pausing') {
    // The last click decides: Resume clicked while the pause settled goes on at once.
    if (wanted === 'run') return resume();
    setState('paused');
    return say(`Paused at ${progressLine()}. Resume continues exactly where it stopped.`);
  }
  await finish();
}

async function finish(): Promise<void> {
  // Until the results are gathered nothing can be started: the state is done only once they show.
  setState('stopping');
  updateProgress();
  for (const r of runs) {
    try {
      if (failed) continue;
      // A pause may have cut an evaluation short: made now, so the files hold whole steps only.
      if (!r.finished && r.last) {
        r.last = await r.api.settle(Comlink.proxy((row: EvalInfo) => { r.history.push(row); }));
      }
      r.analysis = await r.api.analysis();
      // The files a finished run offers are fetched now: its worker (and helper threads) end below.
      if (r.last) r.files = { stateDict: await r.api.stateDict(), checkpoint: await r.api.checkpoint() };
    } catch { /* a worker that died has no analysis */ }
  }
  for (const r of runs) endWorker(r.worker);
  const done = runs.filter((r) => r.last);
  showChecksums(runs);
  showDownloads(runs, done, failed);
  if (done.length && done.every((r) => r.analysis)) {
    const data = mechanismData(Object.fromEntries(done.map((r) => [r.arm, { result: r.last!, ...r.analysis! }])));
    await showResult(data, Object.fromEntries(done.map((r) => [r.arm, r.last!])));
  }
  (window as unknown as { grokwasmResults: unknown }).grokwasmResults = Object.fromEntries(done.map((r) => [r.arm, r.last]));
  if (!failed) {
    say(done.map((r) => `${settingTag(r.arm)}: ${r.last!.steps} steps${r.finished ? '' : ' (stopped)'}, best validation accuracy ${r.last!.bestValAcc.toFixed(4)}` +
      `${r.last!.grokStep === null ? '' : `, 0.99 at step ${r.last!.grokStep}`}`).join('; ') || 'Stopped before the first step.');
  }
  setState(failed ? 'failed' : 'done');
  if (runStarted) showElapsed(runStarted.ms);
  if (gflops === null) void measureSpeed();
}

/** The estimate line, once a run ends: the real time it took (and what was estimated). */
function showElapsed(since: number): void {
  const took = (performance.now() - since) / 1000;
  const estimated = runStarted?.estimate;
  const line = $('estimate');
  line.textContent = `Took ${formatDuration(took)}${estimated != null ? ` (estimated about ${formatDuration(estimated)})` : ''}.`;
  line.dataset.seconds = String(took);
  line.dataset.estimated = estimated != null ? String(estimated) : '';
  runStarted = null;
}

// ---- a finished result: its figure, a step slider over its evaluations, and a verdict per arm ----
const scrubber = $<HTMLDivElement>('scrub');
const slider = $<HTMLInputElement>('step-slider');
let scrubbed: { data: MechanismData; steps: number[] } | null = null;

/** Draws a finished result (a run's, a file's, the example's) with its step slider and verdicts. */
async function showResult(data: MechanismData, results: Record<string, RunResult>): Promise<void> {
  $('study').hidden = true;
  const steps = [...new Set(Object.values(data.histories).flatMap((h) => (h ?? []).map((r) => r.step)))].sort((a, b) => a - b);
  scrubbed = { data, steps };
  slider.min = '0';
  slider.max = String(Math.max(0, steps.length - 1));
  slider.value = slider.max;
  scrubber.hidden = steps.length < 2;
  showScrubStep();
  const list = $('verdicts');
  list.replaceChildren(...Object.entries(results).map(([label, r]) => {
    const li = Object.assign(document.createElement('li'), { textContent: armVerdict(label, r) });
    li.dataset.testid = 'verdict';
    li.dataset.arm = label;
    return li;
  }));
  await drawScrubbed();
}

function showScrubStep(): void {
  if (!scrubbed) return;
  const step = scrubbed.steps[Number(slider.value)] ?? 0;
  const text = Number(slider.value) === scrubbed.steps.length - 1 ? `step ${step} (the end)` : `step ${step}`;
  $('step-value').textContent = text;
  slider.setAttribute('aria-valuetext', text);
}

/** The figure up to the slider's step: the curves so far; at the end, the whole figure with spectra and attention. */
function drawScrubbed(): Promise<void> {
  if (!scrubbed) return Promise.resolve();
  const { data, steps } = scrubbed;
  const at = Number(slider.value);
  const upTo = (h: EvalInfo[] | undefined) => (h ?? []).filter((r) => r.step <= steps[at]);
  const histories = Object.fromEntries(Object.entries(data.histories).map(([arm, h]) => [arm, upTo(h)]));
  if (at >= steps.length - 1) return draw((layout) => mechanismSpec(data, layout), figureSummary(data.histories), keyOf(data.histories));
  return draw((layout) => trainingSpec(histories, `${data.title ?? 'Training'}, at step ${steps[at]}`, layout), figureSummary(histories), keyOf(histories));
}
slider.addEventListener('input', () => { showScrubStep(); void drawScrubbed(); });

// ---- a loaded cells.jsonl: a sweep's phase diagram, or a comparison study's survival curves and table ----
/** A sweep's cells: the phase diagram, as `grokwasm sweep` draws it, laid out for the column. */
async function showPhase(name: string, records: CellRecord[]): Promise<void> {
  scrubbed = null;
  scrubber.hidden = true;
  $('story').hidden = true;
  const cells = summarize(records);
  const seeds = new Set(records.map((r) => r.seed)).size;
  await draw((layout) => phaseSpec(cells, `Phase diagram: ${name} (${records.length} cells, ${seeds} seed${seeds > 1 ? 's' : ''})`, layout),
    `${records.length} cells: ${phaseSummaryText(cells)}`);
}

/** Shows a comparison's runs with the CLI's own summary (src/study/compare.ts): its table and its figure. */
async function showComparison(name: string, records: CellRecord[]): Promise<void> {
  const summaries = summarizeComparison(records);
  const { head, rows, note } = compareRows(summaries);
  scrubbed = null;
  scrubber.hidden = true;
  $('story').hidden = true;
  $('verdicts').replaceChildren();
  const seeds = new Set(records.map((r) => r.config.seed)).size;
  $('study-note').textContent = `${name}: ${summaries.length} arm settings x ${seeds} seeds at one setup (p ${records[0].config.p}, ` +
    `${records[0].config.steps} steps at most), as \`grokwasm compare\` prints it. ${note}`;
  const table = $<HTMLTableElement>('compare-table');
  const cell = (tag: 'th' | 'td', text: string, label?: string) => {
    const c = document.createElement(tag);
    c.textContent = text;
    if (tag === 'th') c.scope = 'col';
    if (label) c.dataset.label = label;
    return c;
  };
  const headRow = document.createElement('tr');
  headRow.append(...head.map((h) => cell('th', h)));
  const thead = document.createElement('thead');
  thead.append(headRow);
  const tbody = document.createElement('tbody');
  for (const row of rows) {
    const tr = document.createElement('tr');
    tr.append(...row.map((v, i) => cell('td', v, head[i])));
    tbody.append(tr);
  }
  table.replaceChildren(thead, tbody);
  $('study').hidden = false;
  const summary = rows.map((r) => `${r[0]}: ${r[1]} grokked, median steps ${r[3]}`).join('; ');
  await draw((layout) => compareSpec(records, summaries, `Comparison: ${name}`, layout), summary, summaries.map((s) => armTitle(s.arm)));
}

/** A mechanism file's data, arms and results. */
function mechanismShown(m: MechanismFile, title?: string): { data: MechanismData; results: Record<string, RunResult> } {
  const arms = mechanismArms(m);
  return {
    data: mechanismData(Object.fromEntries(arms.map((a) => [a, { result: m.arms[a], spectrum: m.spectra[a] ?? undefined, attention: m.attention[a] ?? undefined, progress: m.progress?.[a] ?? undefined }])), title),
    results: Object.fromEntries(arms.map((a) => [a, m.arms[a]])),
  };
}

/** The committed example (docs/results/mechanism-quick-seeds/seed-0): the quick preset, seed 0, L2 against LRD, drawn before any training. */
async function showExample(): Promise<void> {
  try {
    const m = parseMechanism(parseJson(await (await fetch(exampleUrl)).text(), 'the example'), 'the example');
    if (!isSettled(state) || runs.length || loaded) return; // a run started or a file opened meanwhile: it has the figure
    const { data, results } = mechanismShown(m, 'Example, already trained: L2 versus LRD, quick preset, seed 0');
    await showResult(data, results);
    say(noSimd ?? 'Showing a finished example run (quick preset, seed 0). Run trains the same setup here, to the same bits.', Boolean(noSimd));
  } catch { /* the page works without it */ }
}

// ---- the estimate shown before a run: this browser's measured speed times the work asked for ----
let gflops: number | null = null;

/**
 * Seconds the selected setup would take here, or null while unknown (speed not yet measured, or
 * a field invalid). The arms of a mechanism train at once and share the cores (and each run's
 * helper threads count), so N arms on fewer cores take longer than one (src/study/cost.ts).
 */
function estimateSeconds(): number | null {
  if (gflops === null) return null;
  const mode = modeSelect.value as Mode, preset = presetSelect.value as PresetName;
  const overrides = readOverrides(baseValues(mode, preset), true);
  if (!overrides) return null;
  const cores = navigator.hardwareConcurrency || 1;
  try {
    if (mode === 'sweep') {
      const grid = gridFromForm(gridInputs);
      if ('error' in grid) return null;
      const cells = sweepCells(resolveConfig({ ...baseValues('sweep', preset), ...overrides }), grid);
      return queueSeconds(cells.map((c) => runFlops(c.config)), gflops, cores, readThreads() ?? cores);
    }
    const configs = configsFor(mode, preset, overrides);
    const threads = sharedMemoryProblem() === null ? threadsPerRun(readThreads() ?? cores, configs.length) : 1;
    return parallelSeconds(configs.map((c) => runFlops(c.config)), gflops, { cores, threadsPerRun: threads });
  } catch {
    return null;
  }
}

/** Why the selected setup cannot start here (memory past WebAssembly's 4 GiB), found by a worker before Run; null when it can. */
let cannotStart: string | null = null;
let probeTimer: ReturnType<typeof setTimeout> | undefined;
let probeSeq = 0;

function showEstimate(): void {
  const seconds = estimateSeconds();
  const line = $('estimate');
  // The figures in seconds, for scripts (scripts/page_timing.mjs): the estimate now; after a run, the real time.
  line.dataset.estimated = !cannotStart && seconds !== null && seconds <= TAB_LIMIT_SECONDS ? String(seconds) : '';
  delete line.dataset.seconds;
  if (cannotStart) {
    line.textContent = `Cannot start: ${cannotStart}.`;
  } else if (seconds === null) {
    line.textContent = '';
  } else if (seconds > TAB_LIMIT_SECONDS) {
    line.textContent = `Not estimated: more than a day in this browser at its measured ${gflops!.toFixed(1)} GFLOP/s; this setup is for the command line (reduce steps, p, dim or batch to run it here).`;
  } else {
    line.textContent = `Estimated: about ${formatDuration(seconds)} in this browser at its measured ${gflops!.toFixed(1)} GFLOP/s, less if a run stops early on grokking.`;
  }
  scheduleProbe();
}

/** Checks in a short-lived worker that the selected setup can be built here (its memory reserved), a moment after the last edit. */
function scheduleProbe(): void {
  clearTimeout(probeTimer);
  if (noSimd) return;
  const mode = modeSelect.value as Mode, preset = presetSelect.value as PresetName;
  const overrides = readOverrides(baseValues(mode, preset), true);
  let config: RunConfig | undefined;
  try {
    config = overrides && mode !== 'sweep' ? configsFor(mode, preset, overrides)[0]?.config : undefined;
  } catch { config = undefined; }
  const seq = ++probeSeq;
  if (!config) { if (cannotStart) { cannotStart = null; showEstimate(); } return; }
  probeTimer = setTimeout(async () => {
    if (!isSettled(state)) return;
    const worker = spawnWorker('probe');
    try {
      const why = await Comlink.wrap<WorkerApi>(worker).probe(config);
      if (seq !== probeSeq || why === cannotStart) return;
      cannotStart = why;
      showEstimate();
    } catch { /* no verdict then */ } finally {
      endWorker(worker);
    }
  }, 400);
}

/**
 * This browser's speed per thread with every core busy, as during a run (the arms and their
 * helper threads fill the cores): one worker per core, up to 8, timed at once. One worker alone
 * read up to 1.45x faster than each of two arms training together on this 2-core machine.
 */
async function measureSpeed(): Promise<void> {
  const workers = Array.from({ length: Math.min(8, Math.max(1, navigator.hardwareConcurrency || 1)) }, () => spawnWorker('calibrate'));
  try {
    const rates = (await Promise.all(workers.map((w) => Comlink.wrap<WorkerApi>(w).calibrate()))).sort((a, b) => a - b);
    gflops = rates[(rates.length - 1) >> 1];
    if (isSettled(state) && !runStarted && !$('estimate').textContent?.startsWith('Took')) showEstimate();
  } catch { /* no estimate then */ } finally {
    for (const w of workers) endWorker(w);
  }
}

function showLoaded(mode: Mode, config: RunConfig): void {
  modeSelect.value = mode;
  shown = { mode, preset: presetSelect.value as PresetName };
  fillForm(config);
  showMode(mode, shown.preset);
}

// ---- controls ----
form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!isEnabled(buttons.run)) return; // as a disabled default button: no click, no Enter
  if (state === 'paused') void resume();
  else if (state === 'verify-paused') resumeVerify();
  else if (state === 'pausing') { wanted = 'run'; setState('pausing'); say('Resuming once the current step ends...'); }
  else if (isSettled(state)) void start();
});
buttons.pause.addEventListener('click', () => {
  if (!isEnabled(buttons.pause)) return;
  if (state === 'verifying') return pauseVerify();
  if (state === 'pausing') { wanted = 'pause'; setState('pausing'); say('Pausing after the current step...'); return; }
  if (state !== 'running') return;
  wanted = 'pause';
  setState('pausing');
  say('Pausing after the current step...');
  for (const r of runs) void r.api.stop();
});
buttons.stop.addEventListener('click', () => {
  if (!isEnabled(buttons.stop)) return;
  if (state === 'verifying' || state === 'verify-paused') return stopVerify();
  if (state === 'paused') return void finish();
  if (state !== 'running' && state !== 'pausing') return;
  wanted = 'pause';
  setState('stopping');
  say('Stopping after the current step...');
  stopSweep();
  for (const r of runs) void r.api.stop();
});
$<HTMLButtonElement>('check-gpu').addEventListener('click', async (e) => {
  const button = e.currentTarget as HTMLButtonElement;
  if (!isEnabled(button)) return;
  const out = $<HTMLParagraphElement>('gpu-check');
  setEnabled(button, false);
  out.textContent = 'Checking the WebGPU matmul against Wasm...';
  const worker = spawnWorker('gpu-check');
  try {
    const outcome = await Comlink.wrap<WorkerApi>(worker).checkGpu();
    (window as unknown as { grokwasmGpuCheck: unknown }).grokwasmGpuCheck = outcome;
    out.textContent = 'reason' in outcome ? `Nothing to check: ${outcome.reason}.` : `${outcome.device}: ${outcome.report.summary}`;
    out.classList.toggle('error', !('report' in outcome && outcome.report.ok));
  } catch (err) {
    out.textContent = `The WebGPU check failed: ${(err as Error).message}`;
    out.classList.add('error');
  } finally {
    endWorker(worker);
    setEnabled(button, true);
  }
});
// Switching mode or preset changes the base values; what the user typed over the old base stays.
let shown = { mode: modeSelect.value as Mode, preset: presetSelect.value as PresetName };
for (const select of [modeSelect, presetSelect]) {
  select.addEventListener('change', () => {
    const typed = readOverrides(baseValues(shown.mode, shown.preset)) ?? {};
    shown = { mode: modeSelect.value as Mode, preset: presetSelect.value as PresetName };
    fillForm({ ...baseValues(shown.mode, shown.preset), ...typed });
    showMode(shown.mode, shown.preset);
    showStory();
    showEstimate();
  });
}
form.addEventListener('input', () => { showStory(); showEstimate(); });
/**
 * Files larger than these are refused before they are read: a results file is a few MB, and a
 * tab that parses a huge one whole crashes; a checkpoint holds the model and Adam's moments.
 */
const MAX_FILE_BYTES = 64 * 2 ** 20;
const MAX_CHECKPOINT_BYTES = 2 ** 30;
/** The results file last loaded (a run result, mechanism.json or cells.jsonl), for Verify. */
let loaded: { name: string; text: string } | null = null;

function tooLarge(name: string, bytes: number, cap = MAX_FILE_BYTES): boolean {
  if (bytes <= cap) return false;
  const what = cap === MAX_FILE_BYTES ? 'a results file (the CLI reads up to 512 MB)' : 'a checkpoint';
  say(`Cannot read ${name}: ${(bytes / 2 ** 20).toFixed(0)} MB, over the page's ${cap / 2 ** 20} MB limit for ${what}.`, true);
  return true;
}

async function openFile(file: File): Promise<void> {
  if (!isSettled(state)) return;
  if (file.name.endsWith('.safetensors')) {
    if (tooLarge(file.name, file.size, MAX_CHECKPOINT_BYTES)) return;
    return continueCheckpoint(file.name, new Uint8Array(await file.arrayBuffer()));
  }
  if (tooLarge(file.name, file.size)) return;
  await showText(file.name, await file.text());
}

/** Shows a results file (checked by the CLI's own schemas) and keeps it for Verify. */
async function showText(name: string, text: string): Promise<void> {
  try {
    setLoaded(null);
    $('verdicts').replaceChildren();
    $('study').hidden = true;
    if (name.endsWith('.jsonl')) {
      // A sweep's or comparison's cells: read by verify's own reader (which refuses a torn or doubled line).
      const cells = verifyTargets(text, name);
      const { records } = parseCells(text, name);
      if (isComparison(records)) await showComparison(name, records);
      else await showPhase(name, records);
      setLoaded({ name, text });
      say(`Loaded ${name}: ${cells.length} ${isComparison(records) ? 'runs of a comparison, shown below' : 'cells of a phase diagram, shown below'}. Verify reruns each of them.`);
      return;
    }
    // The same parsers as the CLI: a file of the wrong shape is refused in one line naming the field.
    const data = parseJson(text, name);
    if (data !== null && typeof data === 'object' && 'arms' in data) {
      const m = parseMechanism(data, name);
      const arms = mechanismArms(m);
      const shownFile = mechanismShown(m);
      await showResult(shownFile.data, shownFile.results);
      // The form shows the setup that produced the file, and its arms.
      gridInputs.find((g) => g.name === 'arms')!.value = arms.join(',');
      showLoaded('mechanism', m.arms[arms[arms.length - 1]].config);
    } else {
      const r = parseRunResult(data, name);
      await showResult(mechanismData({ [r.config.decay]: { result: r } }), { [r.config.decay]: r });
      showLoaded('run', r.config);
    }
    setLoaded({ name, text });
    say(`Showing ${name}.`);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    say(`Cannot show ${err.message}`, true);
  }
}

function setLoaded(file: { name: string; text: string } | null): void {
  loaded = file;
  setEnabled($<HTMLButtonElement>('verify'), file !== null && isSettled(state));
  $('verify-file').textContent = file ? file.name : 'no file loaded yet';
}

$<HTMLInputElement>('load').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) void openFile(file);
});
// A file dropped anywhere on the page is opened as if picked.
document.addEventListener('dragover', (e) => { if (e.dataTransfer?.types.includes('Files')) e.preventDefault(); });
document.addEventListener('drop', (e) => {
  const file = e.dataTransfer?.files[0];
  if (!file) return;
  e.preventDefault();
  void openFile(file);
});

// ---- Verify: `grokwasm verify` in a worker, with its lines ----
/** The check going now: its worker, and the worker's API for Pause and Resume. */
let verifying: { worker: Worker; api: Comlink.Remote<WorkerApi> } | null = null;

async function verifyLoaded(): Promise<void> {
  if (!loaded || !isSettled(state)) return;
  const stepsText = $<HTMLInputElement>('verify-steps').value.trim();
  const upTo = stepsText === '' ? undefined : Number(stepsText);
  if (upTo !== undefined && !(Number.isInteger(upTo) && upTo >= 1)) return say('The steps to check must be a whole number of at least 1, or empty for a full check.', true);
  const out = $('verify-result');
  const log = $('verify-log');
  out.textContent = '';
  log.replaceChildren();
  const bar = $<HTMLProgressElement>('verify-progress');
  bar.value = 0;
  setState('verifying');
  say(`Verifying ${loaded.name}...`);
  const worker = spawnWorker('verify');
  const api = Comlink.wrap<WorkerApi>(worker);
  const check = (verifying = { worker, api });
  const died = new Promise<never>((_, reject) => worker.addEventListener('error', (e) => reject(new Error(e.message || 'the worker crashed or ran out of memory'))));
  try {
    const { verdict, exit } = await Promise.race([api.verify(loaded.text, loaded.name, upTo,
      Comlink.proxy((line: VerifyLine) => {
        if (line.kind === 'verdict') return;
        log.append(Object.assign(document.createElement('li'), { textContent: line.text }));
      }),
      Comlink.proxy((done: number, total: number) => {
        bar.max = total;
        bar.value = done;
        bar.setAttribute('aria-valuetext', `${done} of ${total} steps rerun`);
      })), died]);
    out.textContent = verdict;
    out.classList.toggle('error', exit === 1);
    say(`Checked ${loaded.name}.`);
  } catch (e) {
    if (verifying === check) {
      out.textContent = `not checked: ${(e as Error).message}`;
      out.classList.add('error');
      say(`Could not verify ${loaded.name}.`, true);
    }
  } finally {
    endWorker(worker);
    if (verifying === check) { verifying = null; setState('done'); }
  }
}

/** Verify's Pause and Resume: the rerun waits between steps in its worker, in memory, and goes on from there. */
function pauseVerify(): void {
  if (!verifying) return;
  void verifying.api.pauseVerify();
  setState('verify-paused');
  say(`Verify paused: Resume goes on from the same step, Stop ends it.`);
}
function resumeVerify(): void {
  if (!verifying) return;
  void verifying.api.resumeVerify();
  setState('verifying');
  say(`Verifying ${loaded?.name ?? 'the file'}...`);
}

function stopVerify(): void {
  if (!verifying) return;
  endWorker(verifying.worker);
  verifying = null;
  $('verify-result').textContent = 'not verified: stopped before the end (nothing is claimed for the runs checked so far)';
  say('Verify stopped.');
  setState('done');
}
$<HTMLButtonElement>('verify').addEventListener('click', (e) => { if (isEnabled(e.currentTarget as HTMLButtonElement)) void verifyLoaded(); });

/** Loads a committed result named by the link (`verify=results/...` for Verify, `show=results/...` to show it), reading at most the size limit. */
async function loadFromLink(path: string, forVerify = true): Promise<void> {
  try {
    const response = await fetch(new URL(path, location.href));
    if (!response.ok) return say(`Cannot load ${path}: the server answered ${response.status}.`, true);
    const length = Number(response.headers.get('content-length'));
    if (length && tooLarge(path, length)) return;
    const text = await response.text();
    if (tooLarge(path, text.length)) return;
    await showText(path.split('/').pop() ?? path, text);
    if (loaded && forVerify) say(`Loaded ${path}: press Verify to rerun it here.`);
  } catch (e) {
    say(`Cannot load ${path}: ${(e as Error).message}`, true);
  }
}

// ---- the story: what the comparison shows, in the comparison mode ----
function showStory(): void {
  const arms = gridInputs.find((g) => g.name === 'arms')!.value.split(',').filter((a) => a.trim());
  $('story').hidden = !(modeSelect.value === 'mechanism' && arms.length >= 2) || !$('study').hidden;
}

// ---- start from the URL: keys are the CLI's flag names ----
const query = new URLSearchParams(location.search);
const linkProblems = applyQuery(query);
shown = { mode: modeSelect.value as Mode, preset: presetSelect.value as PresetName };
setState('idle');
setLoaded(null);
showStory();
$('boot').hidden = true;
// The speed is measured while nothing else trains (a run started by the link is measured after it).
if ((query.get('autorun') !== '1' || linkProblems.length) && !noSimd) void measureSpeed();
if (noSimd) say(noSimd, true);
else if (linkProblems.length) say(`Not used from the link: ${linkProblems.join('; ')}. Nothing was started.`, true);
else if (query.get('autorun') === '1') void start();
else if (query.get('verify')) void loadFromLink(query.get('verify')!);
else if (query.get('show')) void loadFromLink(query.get('show')!, false);
// A bare visit opens on the comparison, with a finished example drawn before any training.
if ([...query.keys()].length === 0) void showExample();
// A run in progress is lost on reload or close: ask first.
addEventListener('beforeunload', (e) => {
  if (state === 'running' || state === 'pausing' || state === 'paused' || state === 'stopping' || state === 'verifying' || state === 'verify-paused') e.preventDefault();
});
