// The page: a form over RunConfig (the CLI's field table), one worker per arm driven with
// Comlink, live charts from the CLI's chart specs, checksums, downloads. It computes nothing
// itself: every number comes from src/ running in the workers. This file holds the run's state
// and wires the controls; form.ts, chart_view.ts and downloads.ts do the rest.
import * as Comlink from 'comlink';
import {
  FormatError, figureSummary, mechanismArms, mechanismData, settingTag, runFlops, sweepCells, mechanismSpec, parseJson, parseMechanism, parseRunResult, resolveConfig, threadsPerRun, trainingSpec,
  type Arm, type ArmAnalysis, type Backend, type EvalInfo, type PresetName, type RunConfig, type RunResult,
} from '../src/core.js';
import { draw } from './chart_view.js';
import { download, showChecksums, showDownloads } from './downloads.js';
import {
  applyQuery, baseValues, configsFor, fillForm, gridInputs, readBackend, readOverrides, readThreads, reportConfigError, showBackend,
  showThreads,
  showFieldError, showMode, writeUrl, type Mode,
} from './form.js';
import { $, backendLine, buttons, form, modeSelect, presetSelect, progress, progressText, say } from './page.js';
import { gridFromForm, runSweepInPage, stopSweep } from './sweep.js';
import type { WorkerApi } from './worker.js';

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
  buttons.pause.disabled = true;
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
}
let runs: ArmRun[] = [];
/**
 * The run's one state, which every button and message follows. pausing and stopping last from
 * the click until every worker has ended its current step and answered: no button can start
 * anything in between, so the page never shows a state the workers are not in.
 */
export type RunState = 'idle' | 'running' | 'pausing' | 'paused' | 'stopping' | 'done' | 'failed';
let state: RunState = 'idle';
let failed = false;

function setState(next: RunState): void {
  state = next;
  document.body.dataset.state = next;
  const settled = next === 'idle' || next === 'done' || next === 'failed';
  buttons.run.disabled = !(settled || next === 'paused');
  buttons.run.textContent = next === 'paused' ? 'Resume' : 'Run';
  buttons.pause.disabled = next !== 'running';
  buttons.stop.disabled = !(next === 'running' || next === 'paused' || next === 'pausing');
  for (const input of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) input.disabled = !settled;
  $<HTMLInputElement>('load').disabled = !settled;
}

function fail(text: string): void {
  if (failed) return;
  failed = true;
  for (const r of runs) r.worker.terminate();
  void finish().then(() => say(text, true));
}


/** "L2: step 400 of 1500, 120 steps/s, about 9 s left; LRD: ..." (a finished arm: its steps, done). */
function progressLine(): string {
  return runs.map((r) => {
    const name = runs.length > 1 ? `${settingTag(r.arm)}: ` : '';
    if (r.finished) return `${name}done after ${r.steps} steps`;
    const head = `${name}step ${r.steps} of ${r.config.steps}`;
    const elapsed = r.since ? (performance.now() - r.since.ms) / 1000 : 0;
    const rate = r.since && elapsed > 0.5 ? (r.steps - r.since.steps) / elapsed : 0;
    if (!(rate > 0) || state !== 'running') return head;
    const left = (r.config.steps - r.steps) / rate;
    return `${head}, ${rate.toFixed(rate < 10 ? 1 : 0)} steps/s, about ${formatDuration(left)} left`;
  }).join('; ');
}

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
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
}

function histories(): Partial<Record<Arm, EvalInfo[]>> {
  return Object.fromEntries(runs.map((r) => [r.arm, r.history]));
}

async function start(): Promise<void> {
  const mode = modeSelect.value as Mode;
  const preset = presetSelect.value as PresetName;
  const overrides = readOverrides(baseValues(mode, preset));
  if (!overrides) return say('Fix the fields marked in red.', true);
  const backend = readBackend();
  const threads = readThreads();
  if (!backend || threads === null) return;
  backendLine.textContent = '';
  showThreads([]);
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
  for (const r of runs) r.worker.terminate();
  runs = [];
  const started = setUps.map((setUp) => {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
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
    for (const s of started) s.worker.terminate();
    return say(`Could not start: ${(e as Error).message}`, true);
  }
  showBackend(runs.map((r) => ({ arm: r.arm, line: r.backendLine ?? null })));
  if (runs.some((r) => r.history.length)) void draw(trainingSpec(histories()), figureSummary(histories()));
  await resume();
}

/** Continues a run saved by `grokwasm run --checkpoint` (or this page) to its end, on the chosen backend. */
async function continueCheckpoint(name: string, bytes: Uint8Array): Promise<void> {
  const backend = readBackend();
  const threads = readThreads();
  if (!backend || threads === null) return;
  backendLine.textContent = '';
  showThreads([]);
  say(`Continuing ${name}...`);
  await launch([async (api) => {
    const ready = await api.restore(Comlink.transfer(bytes, [bytes.buffer]), backend, threads);
    // The form shows the checkpoint's config: the run it continues.
    modeSelect.value = 'run';
    showMode('run', presetSelect.value as PresetName);
    fillForm(ready.config);
    return ready;
  }]);
}

async function resume(): Promise<void> {
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
          void draw(trainingSpec(histories()), figureSummary(histories()));
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
    } catch { /* a worker that died has no analysis */ }
  }
  const done = runs.filter((r) => r.last);
  showChecksums(runs);
  showDownloads(runs, done, failed);
  if (done.length && done.every((r) => r.analysis)) {
    await draw(mechanismSpec(mechanismData(Object.fromEntries(done.map((r) => [r.arm, { result: r.last!, ...r.analysis! }])))), figureSummary(histories()));
  }
  (window as unknown as { grokwasmResults: unknown }).grokwasmResults = Object.fromEntries(done.map((r) => [r.arm, r.last]));
  if (!failed) {
    say(done.map((r) => `${settingTag(r.arm)}: ${r.last!.steps} steps${r.finished ? '' : ' (stopped)'}, best validation accuracy ${r.last!.bestValAcc.toFixed(4)}` +
      `${r.last!.grokStep === null ? '' : `, 0.99 at step ${r.last!.grokStep}`}`).join('; ') || 'Stopped before the first step.');
  }
  setState(failed ? 'failed' : 'done');
  if (gflops === null) void measureSpeed();
}

// ---- the estimate shown before a run: this browser's measured speed times the work asked for ----
let gflops: number | null = null;

/** Seconds the selected setup would take here, or null while unknown (speed not yet measured, or a field invalid). */
function estimateSeconds(): number | null {
  if (gflops === null) return null;
  const mode = modeSelect.value as Mode, preset = presetSelect.value as PresetName;
  const overrides = readOverrides(baseValues(mode, preset), true);
  if (!overrides) return null;
  try {
    if (mode === 'sweep') {
      const grid = gridFromForm(gridInputs);
      if ('error' in grid) return null;
      const cells = sweepCells(resolveConfig({ ...baseValues('sweep', preset), ...overrides }), grid);
      const lanes = Math.max(1, Math.min(navigator.hardwareConcurrency || 2, cells.length));
      return cells.reduce((s, c) => s + runFlops(c.config), 0) / lanes / (gflops * 1e9);
    }
    // The arms of the mechanism train side by side, one worker each.
    const configs = configsFor(mode, preset, overrides);
    return Math.max(...configs.map((c) => runFlops(c.config))) / (gflops * 1e9);
  } catch {
    return null;
  }
}

function showEstimate(): void {
  const seconds = estimateSeconds();
  $('estimate').textContent = seconds === null ? '' :
    `Estimated: about ${formatDuration(seconds)} in this browser at its measured ${gflops!.toFixed(1)} GFLOP/s, less if a run stops early on grokking.`;
}

async function measureSpeed(): Promise<void> {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  try {
    gflops = await Comlink.wrap<WorkerApi>(worker).calibrate();
    showEstimate();
  } catch { /* no estimate then */ } finally {
    worker.terminate();
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
  if (state === 'paused') void resume();
  else if (state === 'idle' || state === 'done' || state === 'failed') void start();
});
buttons.pause.addEventListener('click', () => {
  if (state !== 'running') return;
  setState('pausing');
  say('Pausing after the current step...');
  for (const r of runs) void r.api.stop();
});
buttons.stop.addEventListener('click', () => {
  if (state === 'paused') return void finish();
  if (state !== 'running' && state !== 'pausing') return;
  setState('stopping');
  say('Stopping after the current step...');
  stopSweep();
  for (const r of runs) void r.api.stop();
});
$<HTMLButtonElement>('check-gpu').addEventListener('click', async (e) => {
  const button = e.currentTarget as HTMLButtonElement;
  const out = $<HTMLParagraphElement>('gpu-check');
  button.disabled = true;
  out.textContent = 'Checking the WebGPU matmul against Wasm...';
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  try {
    const outcome = await Comlink.wrap<WorkerApi>(worker).checkGpu();
    (window as unknown as { grokwasmGpuCheck: unknown }).grokwasmGpuCheck = outcome;
    out.textContent = 'reason' in outcome ? `Nothing to check: ${outcome.reason}.` : `${outcome.device}: ${outcome.report.summary}`;
    out.classList.toggle('error', !('report' in outcome && outcome.report.ok));
  } catch (err) {
    out.textContent = `The WebGPU check failed: ${(err as Error).message}`;
    out.classList.add('error');
  } finally {
    worker.terminate();
    button.disabled = false;
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
    showEstimate();
  });
}
form.addEventListener('input', () => showEstimate());
$<HTMLInputElement>('load').addEventListener('change', async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  if (file.name.endsWith('.safetensors')) return continueCheckpoint(file.name, new Uint8Array(await file.arrayBuffer()));
  try {
    // The same parsers as the CLI: a file of the wrong shape is refused in one line naming the field.
    const data = parseJson(await file.text(), file.name);
    if (data !== null && typeof data === 'object' && 'arms' in data) {
      const m = parseMechanism(data, file.name);
      const arms = mechanismArms(m);
      await draw(mechanismSpec(mechanismData(Object.fromEntries(arms.map((a) => [a, { result: m.arms[a], spectrum: m.spectra[a], attention: m.attention[a] }])))),
        figureSummary(Object.fromEntries(arms.map((a) => [a, m.arms[a].history]))));
      // The form shows the setup that produced the file, and its arms.
      gridInputs.find((g) => g.name === 'arms')!.value = arms.join(',');
      showLoaded('mechanism', m.arms[arms[arms.length - 1]].config);
    } else {
      const r = parseRunResult(data, file.name);
      await draw(trainingSpec({ [r.config.decay]: r.history }), figureSummary({ [r.config.decay]: r.history }));
      showLoaded('run', r.config);
    }
    say(`Showing ${file.name}.`);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    say(`Cannot show ${err.message}`, true);
  }
});

// ---- start from the URL: keys are the CLI's flag names ----
const query = new URLSearchParams(location.search);
const linkProblems = applyQuery(query);
shown = { mode: modeSelect.value as Mode, preset: presetSelect.value as PresetName };
setState('idle');
$('boot').hidden = true;
// The speed is measured while nothing else trains (a run started by the link is measured after it).
if (query.get('autorun') !== '1' || linkProblems.length) void measureSpeed();
if (linkProblems.length) say(`Not used from the link: ${linkProblems.join('; ')}. Nothing was started.`, true);
else if (query.get('autorun') === '1') void start();
// A run in progress is lost on reload or close: ask first.
addEventListener('beforeunload', (e) => {
  if (state === 'running' || state === 'pausing' || state === 'paused' || state === 'stopping') e.preventDefault();
});
