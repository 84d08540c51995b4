// Reading the user's files and flags, with one-line errors that name what was wrong.
import { readFileSync } from 'node:fs';

/** A mistake in how the command was called: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** The bytes of a file named by a flag, or a UsageError saying which flag and why. */
export function readInput(path: string, flag: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`--${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** An integer flag within [min, max], or a UsageError naming the flag and the range. */
export function integerFlag(flag: string, raw: unknown, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be an integer in [${min}, ${max}] (got '${raw}')`);
  }
  return value;
}
