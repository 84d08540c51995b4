// The page: a form over RunConfig (the CLI's field table), one worker per arm driven with
// Comlink, live charts from the CLI's chart specs, checksums, downloads. It computes nothing
// itself: every number comes from src/ running in the workers.
import * as Comlink from 'comlink';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import {
  ARMS, BACKENDS, sweepBase, ConfigError, FIELDS, FormatError, PRESET, PRESETS, checkFieldValue, describeRange, historyCsv, mechanismConfigs, mechanismData,
  mechanismFile, mechanismSpec, parseBackend, parseJson, parseMechanism, parseRunResult, resolveConfig, trainingSpec,
  type Arm, type ArmAnalysis, type Backend, type EvalInfo, type PresetName, type RunConfig, type RunResult,
} from '../src/core.js';
import { gridFromForm, runSweepInPage, stopSweep } from './sweep.js';
import type { WorkerApi } from './worker.js';

type Mode = 'run' | 'mechanism' | 'sweep';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('config');
const modeSelect = form.elements.namedItem('mode') as HTMLSelectElement;
const presetSelect = form.elements.namedItem('preset') as HTMLSelectElement;
const backendSelect = form.elements.namedItem('backend') as HTMLSelectElement;
const backendLine = $<HTMLParagraphElement>('backend');
const message = $<HTMLParagraphElement>('message');
const progress = $<HTMLProgressElement>('progress');
const buttons = { run: $<HTMLButtonElement>('run'), pause: $<HTMLButtonElement>('pause'), stop: $<HTMLButtonElement>('stop') };

for (const p of PRESETS) presetSelect.add(new Option(`${p}: ${PRESET[p].description}`, p));

// ---- the form, generated from the same field table as the CLI flags ----
const inputs = new Map<keyof RunConfig, HTMLInputElement | HTMLSelectElement>();
for (const [name, spec] of Object.entries(FIELDS) as [keyof RunConfig, (typeof FIELDS)[keyof RunConfig]][]) {
  const label = document.createElement('label');
  label.textContent = name;
  label.title = `${spec.help}; ${describeRange(spec)}`;
  let input: HTMLInputElement | HTMLSelectElement;
  if (spec.kind === 'choice') {
    input = document.createElement('select');
    for (const c of spec.choices) input.add(new Option(c, c));
  } else {
    input = document.createElement('input');
    input.type = 'text';
    input.inputMode = 'decimal';
  }
  input.name = name;
  label.append(input);
  const error = document.createElement('span');
  error.className = 'field-error';
  error.dataset.field = name;
  label.append(error);
  $('fields').append(label);
  inputs.set(name, input);
}

/** The base values the form starts from: the preset, with the mechanism's rates in that mode. */
function baseValues(mode: Mode, preset: PresetName): RunConfig {
  const p = PRESET[preset];
  if (mode === 'mechanism') return { ...p.base, rate: p.mechanism.lrdRate, wd: p.mechanism.l2Wd };
  if (mode === 'sweep') return sweepBase(p);
  return p.base;
}

const gridInputs = ['fracs', 'rates', 'arms', 'seeds'].map((n) => form.elements.namedItem(n) as HTMLInputElement);
function showMode(mode: Mode, preset: PresetName): void {
  $('grid').hidden = mode !== 'sweep';
  const [fracs, rates] = gridInputs;
  fracs.value = PRESET[preset].sweep.fracs.join(',');
  rates.value = PRESET[preset].sweep.rates.join(',');
}

function fillForm(values: RunConfig): void {
  for (const [name, input] of inputs) input.value = String(values[name]);
}

function clearErrors(): void {
  for (const el of form.querySelectorAll<HTMLElement>('.field-error')) el.textContent = '';
  for (const input of inputs.values()) input.removeAttribute('aria-invalid');
}

function reportConfigError(e: unknown): void {
  if (!(e instanceof ConfigError)) throw e;
  showFieldError(e.field, e.message);
  say(e.message, true);
}

function showFieldError(field: string, text: string): void {
  const el = form.querySelector<HTMLElement>(`.field-error[data-field="${field}"]`);
  if (el) el.textContent = text;
  inputs.get(field as keyof RunConfig)?.setAttribute('aria-invalid', 'true');
}

/** The fields that differ from the base, each checked against its range: the CLI flags one would pass. */
function readOverrides(base: RunConfig): Partial<RunConfig> | null {
  clearErrors();
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const [name, input] of inputs) {
    const spec = FIELDS[name];
    const raw = input.value.trim();
    const value = spec.kind === 'choice' ? raw : raw === '' ? NaN : Number(raw);
    try {
      checkFieldValue(name, value);
    } catch {
      ok = false;
      showFieldError(name, `must be ${describeRange(spec)}`);
      continue;
    }
    if (value !== base[name]) out[name] = value;
  }
  return ok ? (out as Partial<RunConfig>) : null;
}

/** The backend chosen, or null (with the error shown next to it) when the URL gave an unknown one. */
function readBackend(): Backend | null {
  try {
    return parseBackend(backendSelect.dataset.invalid ?? backendSelect.value);
  } catch (e) {
    reportConfigError(e);
    return null;
  }
}

/** Shows where the products run: one line, or one per arm when the arms' lines differ. */
function showBackend(lines: { arm: string; line: string | null }[]): void {
  const distinct = [...new Set(lines.map((l) => l.line).filter((l): l is string => l !== null))];
  backendLine.textContent = distinct.length <= 1 ? (distinct[0] ?? '') : lines.map((l) => `${l.arm}: ${l.line}`).join('; ');
}

/** The configs to run, exactly as `grokwasm run` or `grokwasm mechanism` would build them. */
function configsFor(mode: Mode, preset: PresetName, overrides: Partial<RunConfig>): Partial<Record<Arm, RunConfig>> {
  if (mode === 'mechanism') return mechanismConfigs(PRESET[preset], overrides);
  const config = resolveConfig({ ...PRESET[preset].base, ...overrides });
  return { [config.decay]: config };
}

function writeUrl(mode: Mode, preset: PresetName, overrides: Partial<RunConfig>): void {
  const q = new URLSearchParams();
  if (mode !== 'run') q.set('mode', mode);
  if (preset !== defaultPreset(mode)) q.set('preset', preset);
  if (backendSelect.value !== 'wasm') q.set('backend', backendSelect.value);
  for (const [k, v] of Object.entries(overrides)) q.set(k, String(v));
  if (mode === 'sweep') for (const input of gridInputs) q.set(input.name, input.value.trim());
  history.replaceState(null, '', `${location.pathname}${q.size ? `?${q}` : ''}`);
}

const defaultPreset = (mode: Mode): PresetName => (mode === 'mechanism' ? 'quick' : 'reference');

async function startSweep(preset: PresetName, overrides: Partial<RunConfig>, backend: Backend): Promise<void> {
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
  setState('running');
  buttons.pause.disabled = true;
  $('checksums').replaceChildren();
  $('downloads').replaceChildren();
  const outcome = await runSweepInPage(base, grid, backend, {
    progress: (done, total) => { progress.max = total; progress.value = done; say(`${done} of ${total} cells done...`); },
    draw: (spec) => void draw(spec),
    backend: (lines) => { backendLine.textContent = lines.join('; '); },
  });
  setState('idle');
  const box = $('downloads');
  box.append(download('cells.jsonl', outcome.cellsJsonl, 'application/x-ndjson'), download('summary.csv', outcome.summaryCsv, 'text/csv'));
  (window as unknown as { grokwasmCells: unknown }).grokwasmCells = outcome.records;
  if (outcome.error) say(`${outcome.error} The ${outcome.records.length} finished cells are kept.`, true);
  else say(`${outcome.records.length} of ${outcome.total} cells done${outcome.records.length < outcome.total ? ' (stopped)' : ''}.`);
}

// ---- charts ----
let view: vega.View | undefined;
let pendingSpec: TopLevelSpec | undefined;
let drawing = false;
async function draw(spec: TopLevelSpec): Promise<void> {
  pendingSpec = spec;
  if (drawing) return;
  drawing = true;
  while (pendingSpec) {
    const next = pendingSpec;
    pendingSpec = undefined;
    view?.finalize();
    const container = $('charts');
    container.replaceChildren();
    view = new vega.View(vega.parse(compile(next).spec), { renderer: 'svg', container });
    await view.runAsync();
  }
  drawing = false;
}

// ---- a run ----
interface ArmRun {
  arm: Arm;
  config: RunConfig;
  worker: Worker;
  api: Comlink.Remote<WorkerApi>;
  history: EvalInfo[];
  steps: number;
  /** The latest result: final when finished, else the state at the last pause or stop. */
  last?: RunResult;
  finished: boolean;
  analysis?: ArmAnalysis;
  /** Where its products run (null on plain Wasm), updated if the GPU fails. */
  backendLine?: string | null;
}
let runs: ArmRun[] = [];
let state: 'idle' | 'running' | 'paused' = 'idle';
let failed = false;

function setState(next: typeof state): void {
  state = next;
  buttons.run.disabled = next === 'running';
  buttons.run.textContent = next === 'paused' ? 'Resume' : 'Run';
  buttons.pause.disabled = next !== 'running';
  buttons.stop.disabled = next === 'idle';
  for (const input of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) input.disabled = next !== 'idle';
  $<HTMLInputElement>('load').disabled = next !== 'idle';
}

function say(text: string, error = false): void {
  message.textContent = text;
  message.classList.toggle('error', error);
}

function fail(text: string): void {
  if (failed) return;
  failed = true;
  for (const r of runs) r.worker.terminate();
  void finish().then(() => say(text, true));
}

function updateProgress(): void {
  const total = runs.reduce((n, r) => n + r.config.steps, 0);
  progress.max = total;
  progress.value = runs.reduce((n, r) => n + (r.finished ? r.config.steps : r.steps), 0);
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
  if (!backend) return;
  backendLine.textContent = '';
  if (mode === 'sweep') return startSweep(preset, overrides, backend);
  let configs: Partial<Record<Arm, RunConfig>>;
  try {
    configs = configsFor(mode, preset, overrides);
  } catch (e) {
    return reportConfigError(e);
  }
  writeUrl(mode, preset, overrides);
  await launch(Object.values(configs).map((config) => (api) => api.create(config, backend)));
}

/** What a worker holds once set up: its config (whose decay names the arm) and, for a checkpoint, the run so far. */
type Ready = { config: RunConfig; backendLine: string | null; history?: EvalInfo[]; steps?: number };

/** One worker per set-up (a fresh run or a checkpoint), then training. */
async function launch(setUps: ((api: Comlink.Remote<WorkerApi>) => Promise<Ready>)[]): Promise<void> {
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
    runs = started.map(({ worker, api }, i): ArmRun => {
      const { config, backendLine, history = [], steps = 0 } = ready[i];
      return { arm: config.decay, config, worker, api, history, steps, finished: false, backendLine };
    });
  } catch (e) {
    for (const s of started) s.worker.terminate();
    return say(`Could not start: ${(e as Error).message}`, true);
  }
  showBackend(runs.map((r) => ({ arm: r.arm, line: r.backendLine ?? null })));
  if (runs.some((r) => r.history.length)) void draw(trainingSpec(histories()));
  await resume();
}

/** Continues a run saved by `grokwasm run --checkpoint` (or this page) to its end, on the chosen backend. */
async function continueCheckpoint(name: string, bytes: Uint8Array): Promise<void> {
  const backend = readBackend();
  if (!backend) return;
  backendLine.textContent = '';
  say(`Continuing ${name}...`);
  await launch([async (api) => {
    const ready = await api.restore(Comlink.transfer(bytes, [bytes.buffer]), backend);
    // The form shows the checkpoint's config: the run it continues.
    modeSelect.value = 'run';
    showMode('run', presetSelect.value as PresetName);
    fillForm(ready.config);
    return ready;
  }]);
}

async function resume(): Promise<void> {
  setState('running');
  say(`Training ${runs.map((r) => r.arm).join(' and ')}...`);
  try {
    await Promise.all(runs.filter((r) => !r.finished).map(async (r) => {
      const { result, finished, gpuFailure } = await r.api.run(
        // Callbacks travel on their own channel and may land after run() returns: keep rows in step order, once.
        Comlink.proxy((row: EvalInfo) => {
          if (r.history.length && row.step <= r.history[r.history.length - 1].step) return;
          r.history.push(row);
          void draw(trainingSpec(histories()));
        }),
        Comlink.proxy((info: { step: number }) => { r.steps = info.step + 1; updateProgress(); }),
      );
      Object.assign(r, { last: result, finished, history: [...result.history], steps: result.steps });
      if (gpuFailure) {
        r.backendLine = gpuFailure;
        showBackend(runs.map((x) => ({ arm: x.arm, line: x.backendLine ?? null })));
      }
    }));
  } catch (e) {
    return fail(`Training stopped with an error: ${(e as Error).message}. Results so far are kept.`);
  }
  if (state === 'paused') return say('Paused. Resume continues exactly where it stopped.');
  await finish();
}

async function finish(): Promise<void> {
  setState('idle');
  updateProgress();
  for (const r of runs) {
    try {
      if (!failed) r.analysis = await r.api.analysis();
    } catch { /* a worker that died has no analysis */ }
  }
  const done = runs.filter((r) => r.last);
  showChecksums();
  showDownloads(done);
  if (done.length && done.every((r) => r.analysis)) {
    await draw(mechanismSpec(mechanismData(Object.fromEntries(done.map((r) => [r.arm, { result: r.last!, ...r.analysis! }])))));
  }
  (window as unknown as { grokwasmResults: unknown }).grokwasmResults = Object.fromEntries(done.map((r) => [r.arm, r.last]));
  if (!failed) {
    say(done.map((r) => `${r.arm}: ${r.last!.steps} steps${r.finished ? '' : ' (stopped)'}, best validation accuracy ${r.last!.bestValAcc.toFixed(4)}` +
      `${r.last!.grokStep === null ? '' : `, 0.99 at step ${r.last!.grokStep}`}`).join('; ') || 'Stopped before the first step.');
  }
}

function showChecksums(): void {
  const dl = $('checksums');
  dl.replaceChildren();
  for (const r of runs) {
    const dt = document.createElement('dt');
    dt.textContent = `${r.arm} checksum`;
    const dd = document.createElement('dd');
    dd.dataset.testid = runs.length === 1 ? 'checksum' : `checksum-${r.arm}`;
    dd.textContent = r.last?.checksum ?? '';
    dl.append(dt, dd);
  }
}

function download(name: string, data: BlobPart, type: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([data], { type }));
  a.download = name;
  a.textContent = name;
  return a;
}

function showDownloads(done: ArmRun[]): void {
  const box = $('downloads');
  box.replaceChildren();
  if (!done.length) return;
  // Both arms finished: one mechanism.json; otherwise each arm's run result on its own.
  const both = runs.length > 1 && done.length === 2;
  if (both) {
    const arm = (r: ArmRun) => ({ result: r.last!, spectrum: r.analysis?.spectrum ?? null, attention: r.analysis?.attention ?? null });
    const [l2, lrd] = ARMS.map((a) => arm(done.find((r) => r.arm === a)!));
    box.append(download('mechanism.json', JSON.stringify(mechanismFile({ l2, lrd })), 'application/json'));
  } else {
    for (const r of done) box.append(download(runs.length === 1 ? 'result.json' : `${r.arm}.json`, JSON.stringify(r.last, null, 2), 'application/json'));
  }
  box.append(download('history.csv', historyCsv(done.map((r) => ({ label: { arm: r.arm }, history: r.history }))), 'text/csv'));
  const png = document.createElement('a');
  png.textContent = 'figure.png';
  png.href = '#';
  png.addEventListener('click', async (e) => {
    e.preventDefault();
    if (!view) return;
    const a = document.createElement('a');
    a.href = await view.toImageURL('png', 2);
    a.download = 'figure.png';
    a.click();
  });
  box.append(png);
  // Parameters as a PyTorch state_dict, and the whole run state, which `grokwasm run --resume`
  // continues to the same bits as an uninterrupted run.
  const files = [
    { suffix: 'safetensors', title: 'parameters as a PyTorch state_dict', bytes: (r: ArmRun) => r.api.stateDict() },
    { suffix: 'checkpoint.safetensors', title: 'the whole run state: grokwasm run --resume FILE continues it', bytes: (r: ArmRun) => r.api.checkpoint() },
  ];
  for (const r of done) {
    if (failed) continue;
    for (const file of files) {
      const name = `${r.arm}.${file.suffix}`;
      const link = document.createElement('a');
      link.textContent = name;
      link.title = file.title;
      link.href = '#';
      link.addEventListener('click', async (e) => {
        e.preventDefault();
        download(name, (await file.bytes(r)) as Uint8Array<ArrayBuffer>, 'application/octet-stream').click();
      });
      box.append(link);
    }
  }
}

// ---- controls ----
form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (state === 'paused') void resume();
  else if (state === 'idle') void start();
});
buttons.pause.addEventListener('click', () => {
  setState('paused');
  for (const r of runs) void r.api.stop();
});
buttons.stop.addEventListener('click', () => {
  stopSweep();
  const wasPaused = state === 'paused';
  setState('idle');
  for (const r of runs) void r.api.stop();
  if (wasPaused) void finish();
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
for (const select of [modeSelect, presetSelect]) {
  select.addEventListener('change', () => {
    if (select === modeSelect) presetSelect.value = defaultPreset(modeSelect.value as Mode);
    fillForm(baseValues(modeSelect.value as Mode, presetSelect.value as PresetName));
    showMode(modeSelect.value as Mode, presetSelect.value as PresetName);
  });
}
$<HTMLInputElement>('load').addEventListener('change', async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  if (file.name.endsWith('.safetensors')) return continueCheckpoint(file.name, new Uint8Array(await file.arrayBuffer()));
  try {
    // The same parsers as the CLI: a file of the wrong shape is refused in one line naming the field.
    const data = parseJson(await file.text(), file.name);
    if (data !== null && typeof data === 'object' && 'arms' in data) {
      const m = parseMechanism(data, file.name);
      await draw(mechanismSpec(mechanismData({ l2: { result: m.arms.l2, spectrum: m.spectra.l2, attention: m.attention.l2 }, lrd: { result: m.arms.lrd, spectrum: m.spectra.lrd, attention: m.attention.lrd } })));
    } else {
      const r = parseRunResult(data, file.name);
      await draw(trainingSpec({ [r.config.decay]: r.history }));
    }
    say(`Showing ${file.name}.`);
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    say(`Cannot show ${err.message}`, true);
  }
});

// ---- start from the URL: keys are the CLI's flag names ----
const query = new URLSearchParams(location.search);
const mode: Mode = query.get('mode') === 'mechanism' || query.get('mode') === 'sweep' ? (query.get('mode') as Mode) : 'run';
const preset = (PRESETS as string[]).includes(query.get('preset') ?? '') ? (query.get('preset') as PresetName) : defaultPreset(mode);
modeSelect.value = mode;
presetSelect.value = preset;
fillForm(baseValues(mode, preset));
showMode(mode, preset);
for (const [key, value] of query) {
  const input = inputs.get(key as keyof RunConfig) ?? gridInputs.find((g) => g.name === key);
  if (input) input.value = value;
}
const askedBackend = query.get('backend');
if (askedBackend !== null) {
  // An unknown backend in a link is reported next to the field rather than silently replaced.
  if ((BACKENDS as readonly string[]).includes(askedBackend)) backendSelect.value = askedBackend;
  else backendSelect.dataset.invalid = askedBackend;
}
backendSelect.addEventListener('change', () => {
  delete backendSelect.dataset.invalid;
  showFieldError('backend', '');
});
setState('idle');
if (query.get('autorun') === '1') void start();
