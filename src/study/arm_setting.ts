// Arm settings: an arm with its own values, written `name[:field=value...]` ("l2:wd=0.5",
// "lrd:rate=0.003:nsIters=2", "lrd:loss=stablemax"). One syntax for `mechanism --arms`,
// `sweep --arms` and `compare --arms`; the canonical text is the setting's label in
// mechanism.json, cells.jsonl, tables and figures.
import { ARM_BY_NAME, ARM_FIELDS, DECAYS, type ArmField, type Decay } from '../train/arms/index.js';
import { ConfigError, DEFAULT_CONFIG, FIELDS, LOSSES, checkFieldValue, describeRange, normalizeArmFields, resolveConfig, type Loss, type RunConfig } from '../train/config.js';

/** Fields a setting may give: the arm fields the arm reads, and the loss. */
export type SettingField = ArmField | 'loss';

export interface ArmSetting {
  /** The canonical text: the arm's name, then its given fields in ARM_FIELDS order, then the loss. */
  label: string;
  decay: Decay;
  values: Partial<Pick<RunConfig, SettingField>>;
}

const FIELD_ORDER: readonly SettingField[] = [...ARM_FIELDS, 'loss'];

function canonical(decay: Decay, values: ArmSetting['values']): string {
  const parts = FIELD_ORDER.filter((f) => values[f] !== undefined).map((f) => `${f}=${values[f]}`);
  return [decay, ...parts].join(':');
}

/** A decimal number as the flags take it: digits, an optional fraction and exponent; no hex, octal or binary. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** One setting from its text; ConfigError naming `flag` and the part at fault. */
export function parseArmSetting(text: string, flag = 'arms'): ArmSetting {
  const [name, ...parts] = text.trim().split(':');
  if (!(DECAYS as readonly string[]).includes(name)) {
    throw new ConfigError(flag, `${flag}: '${name}' is not an arm; the arms are ${DECAYS.join(', ')} (a setting is name[:field=value...], e.g. l2:wd=0.5)`);
  }
  const decay = name as Decay;
  const arm = ARM_BY_NAME[decay];
  const values: ArmSetting['values'] = {};
  for (const part of parts) {
    const eq = part.indexOf('=');
    const field = (eq < 0 ? part : part.slice(0, eq)).trim() as SettingField;
    const raw = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (field === 'loss') {
      if (!(LOSSES as readonly string[]).includes(raw)) throw new ConfigError(flag, `${flag}: ${text}: loss must be one of ${LOSSES.join(', ')} (got '${raw}')`);
      if (values.loss !== undefined) throw new ConfigError(flag, `${flag}: ${text}: loss is given twice`);
      values.loss = raw as Loss;
      continue;
    }
    if (!(ARM_FIELDS as readonly string[]).includes(field)) {
      throw new ConfigError(flag, `${flag}: ${text}: '${field}' is not a setting of an arm; a setting gives ${FIELD_ORDER.join(', ')}`);
    }
    if (!arm.reads.includes(field as ArmField)) {
      throw new ConfigError(flag, `${flag}: ${text}: the ${decay} arm does not read ${field}; it reads ${arm.reads.join(', ')}`);
    }
    if (values[field as ArmField] !== undefined) throw new ConfigError(flag, `${flag}: ${text}: ${field} is given twice`);
    const value = DECIMAL.test(raw) ? Number(raw) : NaN;
    try {
      checkFieldValue(field as ArmField, value);
    } catch {
      throw new ConfigError(flag, `${flag}: ${text}: ${field} must be ${describeRange(FIELDS[field as ArmField])} (got '${raw}')`);
    }
    (values as Record<string, number>)[field] = value === 0 ? 0 : value;
  }
  return { label: canonical(decay, values), decay, values };
}

/**
 * A comma-separated list of settings; settings with one canonical label (`lrd:rate=0.01` and
 * `lrd:rate=1e-2`) are one, the first kept, as equal numbers in the other lists are one value.
 */
export function parseArmSettings(text: string, flag = 'arms'): ArmSetting[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!items.length) throw new ConfigError(flag, `${flag} must be a comma-separated list of arm settings (name[:field=value...]), e.g. l2,lrd:rate=0.003`);
  const seen = new Set<string>();
  return items.map((item) => parseArmSetting(item, flag)).filter((s) => !seen.has(s.label) && seen.add(s.label));
}

/** The setting that a config ran: its arm, and every field the arm reads (the loss when not the default). */
export function settingOfConfig(config: RunConfig): ArmSetting {
  const values: ArmSetting['values'] = {};
  for (const f of ARM_BY_NAME[config.decay].reads) (values as Record<string, number>)[f] = config[f];
  if (config.loss !== DEFAULT_CONFIG.loss) values.loss = config.loss;
  return { label: canonical(config.decay, values), decay: config.decay, values };
}

/**
 * The config of a setting on a shared setup: the setup's values for everything, the arm's own
 * fields from `armDefaults` (a preset's choice per arm) where the setting gives none, the
 * setting's values last, and the fields the arm does not read back at their defaults.
 */
export function settingConfig(base: RunConfig, setting: ArmSetting, armDefaults: Partial<RunConfig> = {}): RunConfig {
  return resolveConfig(normalizeArmFields({ ...base, ...armDefaults, ...setting.values, decay: setting.decay }));
}

/** Where a config contradicts the setting it is labelled with, as `why`, or null. */
export function settingProblem(label: string, config: RunConfig): string | null {
  let setting: ArmSetting;
  try {
    setting = parseArmSetting(label);
  } catch (e) {
    return (e as Error).message;
  }
  if (setting.label !== label) return `'${label}' is not written canonically (expected '${setting.label}')`;
  if (setting.decay !== config.decay) return `'${label}' names the ${setting.decay} arm, but config.decay is '${config.decay}'`;
  const differs = (Object.keys(setting.values) as SettingField[]).find((f) => setting.values[f] !== config[f]);
  if (differs) return `'${label}' gives ${differs} ${setting.values[differs]}, but config.${differs} is ${config[differs]}`;
  return null;
}

/** A plain title for a setting: "Low-Rank Decay (rate 0.003)". */
export function settingTitle(setting: ArmSetting | string): string {
  const s = typeof setting === 'string' ? parseArmSetting(setting) : setting;
  const parts = FIELD_ORDER.filter((f) => s.values[f] !== undefined).map((f) => `${f} ${s.values[f]}`);
  return `${ARM_BY_NAME[s.decay].label}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** A short tag for terminal lines: "LRD rate=0.003". */
export function settingTag(setting: ArmSetting | string): string {
  const s = typeof setting === 'string' ? parseArmSetting(setting) : setting;
  const parts = FIELD_ORDER.filter((f) => s.values[f] !== undefined).map((f) => `${f}=${s.values[f]}`);
  return [ARM_BY_NAME[s.decay].short, ...parts].join(' ');
}
