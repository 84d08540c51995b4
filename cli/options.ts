// RunConfig flags, generated from the field table in src/config.ts so that names, help and
// allowed ranges are written once.
import { Option, type Command } from 'commander';
import { BACKENDS, ConfigError, DEFAULT_CONFIG, FIELDS, MAX_THREADS, checkFieldValue, coreCount, describeRange, poolSize, resolveConfig, resolveShard, type RunConfig } from '../src/node/index.js';
import { UsageError, integerFlag } from './input.js';
import { parseDecimal } from '../src/format/decimal.js';

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

/** Adds --threads: the threads one training run computes on. */
export function addThreadsFlag(cmd: Command, what: string): Command {
  return cmd.option('--threads <n>', `${what}; the results are the same bits for any count (default: ${coreCount()}, this machine's cores)`);
}

/** --threads as an integer in [1, MAX_THREADS] (default: the cores); says in one line when it is more than the cores. */
export function threadsFlag(opts: Record<string, unknown>): number {
  if (opts.threads === undefined) return coreCount();
  const threads = integerFlag('threads', opts.threads, 1, MAX_THREADS);
  if (threads > coreCount()) process.stderr.write(`grokwasm: --threads ${threads} is more than this machine's ${coreCount()} cores; the extra threads share them\n`);
  return threads;
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
    let value = parseDecimal(String(raw), spec.kind);
    // A decimal fraction (2.5) for an integer field goes on to the range check, which names it;
    // an integer in exponent form (1e1) is refused here, as integers are written in digits.
    const real = parseDecimal(String(raw), 'float');
    if (Number.isNaN(value) && spec.kind === 'int' && !Number.isInteger(real)) value = real;
    if (!Number.isFinite(value)) throw new ConfigError(name, `${name} must be ${describeRange(spec)} (got '${raw}')`);
    checkFieldValue(name as keyof RunConfig, value);
    partial[name] = value;
  }
  return partial as Partial<RunConfig>;
}

/** --workers for `jobs` runs of configs like `config`, capped by poolSize (which says why). */
export function workersFlag(opts: Record<string, unknown>, jobs: number, config: RunConfig): number {
  const asked = opts.workers === undefined ? undefined : integerFlag('workers', opts.workers, 1, 1024);
  return poolSize(asked, jobs, config, (line) => process.stderr.write(`grokwasm: ${line}\n`));
}

/** The shard this process runs: --shard I/N, else a Slurm array or an Indexed Job (--shard-count); a UsageError in one line. */
export function shardFlag(opts: Record<string, unknown>): { index: number; count: number; source: string } {
  try {
    const count = opts.shardCount === undefined ? undefined : integerFlag('shard-count', opts.shardCount, 1, 1e6);
    return resolveShard(opts.shard as string | undefined, process.env, count);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message);
  }
}
