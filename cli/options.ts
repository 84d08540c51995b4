// RunConfig flags, generated from the field table in src/config.ts so that names, help and
// allowed ranges are written once.
import { Option, type Command } from 'commander';
import { BACKENDS, ConfigError, DEFAULT_CONFIG, FIELDS, checkFieldValue, describeRange, resolveConfig, type RunConfig } from '../src/node/index.js';

/** Adds --p, --frac, ... (one flag per RunConfig field) to a command. */
export function addConfigFlags(cmd: Command): Command {
  for (const [name, spec] of Object.entries(FIELDS)) {
    const flag = new Option(`--${name} <value>`, `${spec.help}; ${describeRange(spec)} (default ${DEFAULT_CONFIG[name as keyof RunConfig]})`);
    cmd.addOption(flag);
  }
  return cmd;
}

/** Adds --backend: where the model's matrix products run. */
export function addBackendFlag(cmd: Command): Command {
  return cmd.addOption(new Option('--backend <name>', "where the model's matrix products run: wasm (bit-reproducible) or webgpu " +
    '(tolerance-equal to wasm; falls back to wasm, saying why, when no adapter is found)').choices(BACKENDS as unknown as string[]).default('wasm'));
}

/** Turns the parsed flag strings into a validated RunConfig; throws ConfigError naming the flag. */
export function configFromFlags(opts: Record<string, unknown>): RunConfig {
  return resolveConfig(overridesFromFlags(opts));
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
    checkFieldValue(name as keyof RunConfig, value);
    partial[name] = value;
  }
  return partial as Partial<RunConfig>;
}
