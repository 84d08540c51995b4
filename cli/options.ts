// RunConfig flags, generated from the field table in src/config.ts so that names, help and
// allowed ranges are written once.
import { Option, type Command } from 'commander';
import { ConfigError, DEFAULT_CONFIG, FIELDS, checkFieldValue, describeRange, resolveConfig, type RunConfig } from '../src/core.js';

/** Adds --p, --frac, ... (one flag per RunConfig field) to a command. */
export function addConfigFlags(cmd: Command): Command {
  for (const [name, spec] of Object.entries(FIELDS)) {
    const flag = new Option(`--${name} <value>`, `${spec.help}; ${describeRange(spec)} (default ${DEFAULT_CONFIG[name as keyof RunConfig]})`);
    cmd.addOption(flag);
  }
  return cmd;
}

/** Turns the parsed flag strings into a validated RunConfig; throws ConfigError naming the flag. */
export function configFromFlags(opts: Record<string, unknown>, base: Partial<RunConfig> = {}): RunConfig {
  return resolveConfig({ ...base, ...overridesFromFlags(opts) });
}

/** Only the config fields given as flags, each checked against its range. */
export function overridesFromFlags(opts: Record<string, unknown>): Partial<RunConfig> {
  const partial: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(FIELDS)) {
    const raw = opts[name];
    if (raw === undefined) continue;
    if (spec.kind === 'choice') {
      partial[name] = raw;
      continue;
    }
    const text = String(raw).trim();
    const value = text === '' ? NaN : Number(text);
    if (!Number.isFinite(value)) throw new ConfigError(name, `${name} must be ${describeRange(spec)} (got '${raw}')`);
    partial[name] = checkField(name as keyof RunConfig, value);
  }
  return partial as Partial<RunConfig>;
}

/** A number checked against one field's range alone (cross-field rules come with resolveConfig). */
export function checkField(name: keyof RunConfig, value: number): number {
  checkFieldValue(name, value);
  return value;
}

/** A comma-separated list of numbers, each valid for the given field. */
export function listFlag(flag: string, raw: unknown, field: keyof RunConfig): number[] {
  const spec = FIELDS[field];
  const items = String(raw).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new ConfigError(flag, `${flag} must be a comma-separated list of ${describeRange(spec)}`);
  return items.map((item) => {
    const value = Number(item);
    try {
      if (!Number.isFinite(value)) throw new Error();
      checkField(field, value);
    } catch {
      throw new ConfigError(flag, `${flag} must be a comma-separated list of ${describeRange(spec)} (got '${item}')`);
    }
    return value;
  });
}
