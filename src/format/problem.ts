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

// Keys that name a prototype slot rather than data. JSON.parse makes them own properties, but a
// reader that copies a parsed object with spread or Object.assign would set a prototype instead.
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * JSON.parse, refusing what JSON.parse lets through: a key given twice in one object (JSON.parse
 * keeps the last, so a forged value placed first is read by one tool and hidden from another)
 * and the reserved keys above. Errors name `where`, the line (unless `where` already names one,
 * as a cells.jsonl line does) and the key's path. Every format reads its JSON through here.
 */
export function parseJson(text: string, where: string, options: { lines?: boolean } = {}): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${where}: not JSON (${(e as Error).message})`);
  }
  const problem = keyProblem(text);
  if (problem) throw new FormatError(`${where}: ${options.lines === false ? '' : `line ${problem.line}: `}${problem.message}`);
  return value;
}

interface Level { keys: Set<string> | null; key: string; index: number }

/**
 * Scans text that JSON.parse accepted for the first duplicate or reserved key. Only strings and
 * brackets matter: a string followed by `:` is a key of the innermost open object.
 */
function keyProblem(text: string): { line: number; message: string } | null {
  const stack: Level[] = [];
  let line = 1;
  // The path of the innermost object: each enclosing object's current key, each array's index.
  const path = () => fieldPath(stack.slice(0, -1).map((l) => (l.keys ? l.key : l.index)));
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) line++;
    else if (c === 0x7b /* { */) stack.push({ keys: new Set(), key: '', index: 0 });
    else if (c === 0x5b /* [ */) stack.push({ keys: null, key: '', index: 0 });
    else if (c === 0x7d || c === 0x5d /* } ] */) stack.pop();
    else if (c === 0x2c /* , */ && stack.length && !stack[stack.length - 1].keys) stack[stack.length - 1].index++;
    else if (c === 0x22 /* " */) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      let next = end + 1;
      while (next < text.length && /\s/.test(text[next])) next++;
      const top = stack[stack.length - 1];
      if (text[next] === ':' && top?.keys) {
        // Decoded, so that "se\u0065d" is the key seed.
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        const at = path();
        const inside = at === 'top level' ? 'at the top level' : `in ${at}`;
        if (RESERVED_KEYS.has(key)) return { line, message: `key ${JSON.stringify(key)} ${inside} is not allowed (it names a prototype slot, not data)` };
        if (top.keys.has(key)) return { line, message: `key ${JSON.stringify(key)} appears twice ${inside}; a file must give each key once` };
        top.keys.add(key);
        top.key = key;
      }
      i = end;
    }
  }
  return null;
}

/**
 * A file name as an error line shows it: as given when it is plain, JSON-quoted otherwise, so
 * that a newline or a control character in a name can never split or forge a line of output.
 */
export function quote(name: string): string {
  return /^[\w./+@:=,~-]+$/.test(name) ? name : JSON.stringify(name);
}
