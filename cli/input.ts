// Reading the user's files and flags, with one-line errors that name what was wrong.
import { INPUT_CAP, readRegularFile } from '../src/node/index.js';
import { parseDecimal } from '../src/format/decimal.js';

/** A mistake in how the command was called: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** The bytes of a tensor file named by a flag (--init, --resume): a regular file within its cap. */
export function readInput(path: string, flag: 'init' | 'resume'): Uint8Array {
  return readRegularFile(path, `--${flag}`, flag === 'init' ? INPUT_CAP.stateDict : INPUT_CAP.checkpoint);
}

/** An integer flag within [min, max], or a UsageError naming the flag and the range. */
export function integerFlag(flag: string, raw: unknown, min: number, max: number): number {
  const value = parseDecimal(String(raw), 'int');
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be an integer in [${min}, ${max}] (got '${raw}')`);
  }
  return value;
}

/**
 * The first flag given twice in `args` (`--p 47 --p 13`), as a one-line refusal, or null.
 * Commander would keep the last value silently; a command line that says two things is refused.
 */
export function repeatedFlag(args: readonly string[]): string | null {
  const seen = new Set<string>();
  for (const arg of args) {
    if (arg === '--') break; // what follows is operands, not flags
    if (!arg.startsWith('--')) continue;
    const name = arg.split('=', 1)[0];
    if (seen.has(name)) return `${name} is given twice; give each flag once`;
    seen.add(name);
  }
  return null;
}
