// The form over RunConfig, generated from the CLI's field table, and the config in the URL with
// the CLI's flag names: reading, checking, filling and writing them.
import {
  BACKENDS, ConfigError, DEFAULT_CONFIG, FIELDS, PRESET, PRESETS, checkFieldValue, describeRange, mechanismConfigs, parseArmSettings,
  parseBackend, resolveConfig, sweepBase, unusedArmFields, type Arm, type Backend, type Decay, type PresetName, type RunConfig,
  MAX_THREADS,
} from '../src/core.js';
import { parseDecimal } from '../src/format/decimal.js';
import { $, backendLine, backendSelect, form, modeSelect, presetSelect, say, threadsInput, threadsLine } from './page.js';

export type Mode = 'run' | 'mechanism' | 'sweep';

// Short option names; the chosen preset's description is shown in full under the select.
for (const p of PRESETS) presetSelect.add(new Option(p === 'quick' ? 'quick (minutes)' : 'reference (the paper)', p));
const presetHelp = Object.assign(document.createElement('small'), { className: 'help', id: 'help-preset' });
presetSelect.after(presetHelp);
presetSelect.setAttribute('aria-describedby', presetHelp.id);
const describePreset = () => { presetHelp.textContent = PRESET[presetSelect.value as PresetName].description; };
presetSelect.addEventListener('change', describePreset);

// ---- the form, generated from the same field table as the CLI flags ----
export const inputs = new Map<keyof RunConfig, HTMLInputElement | HTMLSelectElement>();
for (const [name, spec] of Object.entries(FIELDS) as [keyof RunConfig, (typeof FIELDS)[keyof RunConfig]][]) {
  // A plain name with the CLI flag beside it, and the help and range always visible.
  const label = document.createElement('label');
  label.className = 'field';
  label.dataset.field = name;
  const title = document.createElement('span');
  title.className = 'field-name';
  const flag = document.createElement('code');
  flag.textContent = `--${name}`;
  title.append(`${spec.label} `, flag);
  label.append(title);
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
  const help = document.createElement('small');
  help.className = 'help';
  help.id = `help-${name}`;
  help.textContent = `${spec.help}; ${describeRange(spec)}`;
  input.setAttribute('aria-describedby', help.id);
  label.append(help);
  const error = document.createElement('span');
  error.className = 'field-error';
  error.dataset.field = name;
  label.append(error);
  $('fields').append(label);
  inputs.set(name, input);
}

/** The base values the form starts from: the preset, with the mechanism's rates in that mode. */
export function baseValues(mode: Mode, preset: PresetName): RunConfig {
  const p = PRESET[preset];
  if (mode === 'mechanism') return { ...p.base, rate: p.mechanism.lrdRate, wd: p.mechanism.l2Wd };
  if (mode === 'sweep') return sweepBase(p);
  return p.base;
}

export const gridInputs = ['fracs', 'rates', 'arms', 'seeds'].map((n) => form.elements.namedItem(n) as HTMLInputElement);
/** Fields a mode sets itself: the arms, and in a sweep the grid's fraction, rate and seed. */
const SET_BY_MODE: Record<Mode, (keyof RunConfig)[]> = { run: [], mechanism: ['decay'], sweep: ['decay', 'frac', 'rate', 'seed'] };

/** In one run, the arm fields the chosen arm does not read: hidden, and back at their defaults (the CLI refuses other values). */
function unusedInRun(mode: Mode): (keyof RunConfig)[] {
  if (mode !== 'run') return [];
  return unusedArmFields((inputs.get('decay')!.value || DEFAULT_CONFIG.decay) as Decay);
}

function showFields(mode: Mode): void {
  const hide = [...SET_BY_MODE[mode], ...unusedInRun(mode)];
  for (const label of form.querySelectorAll<HTMLElement>('label.field')) label.hidden = hide.includes(label.dataset.field as keyof RunConfig);
}

inputs.get('decay')!.addEventListener('change', () => {
  const mode = (form.elements.namedItem('mode') as HTMLSelectElement).value as Mode;
  for (const f of unusedInRun(mode)) inputs.get(f)!.value = String(DEFAULT_CONFIG[f]);
  showFields(mode);
});

export function showMode(mode: Mode, preset: PresetName): void {
  $('grid').hidden = mode !== 'sweep';
  $('arms-row').hidden = mode === 'run';
  showFields(mode);
  const [fracs, rates] = gridInputs;
  fracs.value = PRESET[preset].sweep.fracs.join(',');
  rates.value = PRESET[preset].sweep.rates.join(',');
}

export function fillForm(values: RunConfig): void {
  for (const [name, input] of inputs) input.value = String(values[name]);
}

export function clearErrors(): void {
  for (const el of form.querySelectorAll<HTMLElement>('.field-error')) el.textContent = '';
  for (const input of inputs.values()) input.removeAttribute('aria-invalid');
}

export function reportConfigError(e: unknown): void {
  if (!(e instanceof ConfigError)) throw e;
  showFieldError(e.field, e.message);
  say(e.message, true);
}

export function showFieldError(field: string, text: string): void {
  const el = form.querySelector<HTMLElement>(`.field-error[data-field="${field}"]`);
  if (el) el.textContent = text;
  inputs.get(field as keyof RunConfig)?.setAttribute('aria-invalid', 'true');
}

/** The fields that differ from the base, each checked against its range: the CLI flags one would pass. */
export function readOverrides(base: RunConfig, quiet = false): Partial<RunConfig> | null {
  if (!quiet) clearErrors();
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const [name, input] of inputs) {
    const spec = FIELDS[name];
    const raw = input.value.trim();
    const value = spec.kind === 'choice' ? raw : parseDecimal(raw, spec.kind);
    try {
      checkFieldValue(name, value);
    } catch {
      ok = false;
      if (!quiet) showFieldError(name, `must be ${describeRange(spec)}`);
      continue;
    }
    if (value !== base[name]) out[name] = value;
  }
  return ok ? (out as Partial<RunConfig>) : null;
}

/** The backend chosen, or null (with the error shown next to it) when the URL gave an unknown one. */
export function readBackend(): Backend | null {
  try {
    return parseBackend(backendSelect.dataset.invalid ?? backendSelect.value);
  } catch (e) {
    reportConfigError(e);
    return null;
  }
}

/** This browser's hardware threads: what the threads field defaults to. */
export function cores(): number {
  return navigator.hardwareConcurrency || 1;
}

/** The threads field: threads in all (empty means every core), or null with the error shown next to it. */
export function readThreads(): number | null {
  const text = threadsInput.value.trim();
  if (text === '') return cores();
  const value = parseDecimal(text, 'int');
  if (!Number.isInteger(value) || value < 1 || value > MAX_THREADS) {
    showFieldError('threads', `must be an integer in [1, ${MAX_THREADS}]`);
    return null;
  }
  showFieldError('threads', '');
  return value;
}

/** Shows how many threads each run computes on, and why fewer than asked. */
export function showThreads(lines: string[]): void {
  threadsLine.textContent = [...new Set(lines)].join('; ');
}

/** Shows where the products run: one line, or one per arm when the arms' lines differ. */
export function showBackend(lines: { arm: string; line: string | null }[]): void {
  const distinct = [...new Set(lines.map((l) => l.line).filter((l): l is string => l !== null))];
  backendLine.textContent = distinct.length <= 1 ? (distinct[0] ?? '') : lines.map((l) => `${l.arm}: ${l.line}`).join('; ');
}

/** The configs to run, each with its arm label, exactly as `grokwasm run` or `grokwasm mechanism --arms` would build them. */
export function configsFor(mode: Mode, preset: PresetName, overrides: Partial<RunConfig>): { arm: Arm; config: RunConfig }[] {
  if (mode === 'mechanism') {
    const { decay: _decay, ...shared } = overrides;
    const settings = parseArmSettings(gridInputs.find((g) => g.name === 'arms')!.value);
    return mechanismConfigs(PRESET[preset], shared, settings).map((config, i) => ({ arm: settings[i].label, config }));
  }
  const config = resolveConfig({ ...PRESET[preset].base, ...overrides });
  return [{ arm: config.decay, config }];
}

export function writeUrl(mode: Mode, preset: PresetName, overrides: Partial<RunConfig>): void {
  const q = new URLSearchParams();
  if (mode !== 'run') q.set('mode', mode);
  if (preset !== DEFAULT_PRESET) q.set('preset', preset);
  if (backendSelect.value !== 'wasm') q.set('backend', backendSelect.value);
  if (threadsInput.value.trim() !== '') q.set('threads', threadsInput.value.trim());
  for (const [k, v] of Object.entries(overrides)) q.set(k, String(v));
  if (mode === 'sweep') for (const input of gridInputs) q.set(input.name, input.value.trim());
  else if (mode === 'mechanism') q.set('arms', gridInputs.find((g) => g.name === 'arms')!.value.trim());
  history.replaceState(null, '', `${location.pathname}${q.size ? `?${q}` : ''}`);
}

/** Every mode starts on the quick preset (minutes); the reference setup is one choice away. */
const DEFAULT_PRESET: PresetName = 'quick';

const MODES: readonly Mode[] = ['run', 'mechanism', 'sweep'];
// Keys a link may carry besides the config fields and the sweep grid.
const PAGE_KEYS = ['mode', 'preset', 'backend', 'threads', 'autorun', 'verify', 'show'];

/**
 * Sets the form from the URL query (the CLI's flag names, and mode, preset, backend and the
 * sweep grid); returns what the link asked for that the page cannot use, one phrase each.
 */
export function applyQuery(query: URLSearchParams): string[] {
  const problems: string[] = [];
  // A key given twice (p=47&p=13) is read as neither: the link is ambiguous, and the page says so.
  const repeated = [...new Set(query.keys())].filter((k) => query.getAll(k).length > 1);
  for (const key of repeated) problems.push(`${key} given ${query.getAll(key).length} times (${query.getAll(key).join(', ')}; a link gives each setting once)`);
  const one = (key: string) => (repeated.includes(key) ? null : query.get(key));
  const askedMode = one('mode');
  if (askedMode !== null && !(MODES as readonly string[]).includes(askedMode)) problems.push(`mode=${askedMode} (one of ${MODES.join(', ')})`);
  // A bare link opens on the comparison (mechanism, L2 against LRD, with its example drawn); a
  // link that sets fields without a mode is one run, as it always was.
  const bare = [...query.keys()].every((k) => k === 'verify' || k === 'show');
  const mode: Mode = (MODES as readonly string[]).includes(askedMode ?? '') ? (askedMode as Mode) : bare ? 'mechanism' : 'run';
  const askedPreset = one('preset');
  if (askedPreset !== null && !(PRESETS as readonly string[]).includes(askedPreset)) problems.push(`preset=${askedPreset} (one of ${PRESETS.join(', ')})`);
  const preset = (PRESETS as readonly string[]).includes(askedPreset ?? '') ? (askedPreset as PresetName) : DEFAULT_PRESET;
  modeSelect.value = mode;
  presetSelect.value = preset;
  describePreset();
  fillForm(baseValues(mode, preset));
  showMode(mode, preset);
  for (const [key, value] of query) {
    if (repeated.includes(key)) continue;
    const input = inputs.get(key as keyof RunConfig) ?? gridInputs.find((g) => g.name === key);
    if (input) input.value = value;
    else if (!PAGE_KEYS.includes(key)) problems.push(`${key} (not a setting)`);
  }
  showFields(mode);
  threadsInput.placeholder = `all ${cores()}`;
  const askedThreads = one('threads');
  if (askedThreads !== null) threadsInput.value = askedThreads;
  const askedBackend = one('backend');
  if (askedBackend !== null) {
    // An unknown backend in a link is reported next to the field rather than silently replaced.
    if ((BACKENDS as readonly string[]).includes(askedBackend)) backendSelect.value = askedBackend;
    else backendSelect.dataset.invalid = askedBackend;
  }
  backendSelect.addEventListener('change', () => {
    delete backendSelect.dataset.invalid;
    showFieldError('backend', '');
  });
  return problems;
}
