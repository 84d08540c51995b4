// Reading the user's files and flags, with one-line errors that name what was wrong.
import { INPUT_CAP, readRegularFile } from '../src/node/index.js';

/** A mistake in how the command was called: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** The bytes of a tensor file named by a flag (--init, --resume): a regular file within its cap. */
export function readInput(path: string, flag: 'init' | 'resume'): Uint8Array {
  return readRegularFile(path, `--${flag}`, flag === 'init' ? INPUT_CAP.stateDict : INPUT_CAP.checkpoint);
}

/** An integer flag within [min, max], or a UsageError naming the flag and the range. */
export function integerFlag(flag: string, raw: unknown, min: number, max: number): number {
  const text = String(raw).trim();
  const value = text === '' ? NaN : Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be an integer in [${min}, ${max}] (got '${raw}')`);
  }
  return value;
}
