// One error type for every file the tool reads: where (file, line), which field, and why, in
// one line. The CLI prints it as is; the page shows it next to the file input.
import type { z } from 'zod';

export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** `history[3].valAcc` from a zod path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || 'top level';
}

/** Parses `value` with `schema`, or throws a FormatError naming `where` and the first bad field. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new FormatError(`${where}: ${fieldPath(issue.path)}: ${issue.message}`);
}

/** JSON.parse with the position of a syntax error in the FormatError. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${where}: not JSON (${(e as Error).message})`);
  }
}
