// Node-only: the files a stranger hands us and the files we write. Inputs are read only when
// they are regular files within a size cap (a FIFO would hang, /dev/zero would fill memory);
// outputs are checked before any work starts, and written atomically over regular files only:
// the data goes to a sibling temporary file, is flushed, then renamed over the target, so a
// failed write (a full disk) leaves the old file and no temporary behind.
import {
  closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, realpathSync,
  renameSync, statSync, unlinkSync, writeSync, type Stats,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { quote } from '../format/problem.js';

export { quote };

/** A file that cannot be read or written as asked: one line, naming the flag or file. */
export class FileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileError';
  }
}

const GiB = 2 ** 30, MiB = 2 ** 20;

/**
 * Size caps per kind of input. The largest config that fits 32-bit WebAssembly memory holds
 * parameters, gradients and both Adam moments in 4 GiB, so a state_dict (parameters) stays under
 * 1 GiB and a checkpoint (parameters and moments) under 3 GiB; JSON is read into one string,
 * which V8 caps at 512 MiB.
 */
export const INPUT_CAP = { stateDict: GiB + 64 * MiB, checkpoint: 3 * GiB + 64 * MiB, json: 512 * MiB - 64 } as const;

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isFile()) return 'a regular file';
  return 'not a regular file';
}

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

function size(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}

/**
 * The bytes of a regular file of at most `cap` bytes, else a FileError naming `what` (a flag
 * such as `--resume`, or a role such as `result`). Opening without blocking keeps a FIFO from
 * hanging the open itself; the type is checked on the opened descriptor, so nothing can be
 * swapped in between.
 */
export function readRegularFile(path: string, what: string, cap: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new FileError(`${what} ${quote(path)}: cannot read it (${code(e)})`);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new FileError(`${what} ${quote(path)}: ${kindOf(stats)}, not a regular file; only regular files are read`);
    if (stats.size > cap) throw new FileError(`${what} ${quote(path)}: ${size(stats.size)}, over the ${size(cap)} that the largest config needs`);
    const out = new Uint8Array(stats.size);
    let at = 0;
    while (at < out.length) {
      const n = readSync(fd, out, at, out.length - at, null);
      if (n === 0) break;
      at += n;
    }
    return at === out.length ? out : out.subarray(0, at);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError(`${what} ${quote(path)}: cannot read it (${code(e)})`);
  } finally {
    closeSync(fd);
  }
}

/** readRegularFile as UTF-8 text, for JSON and JSON Lines. */
export function readTextFile(path: string, what: string): string {
  const bytes = readRegularFile(path, what, INPUT_CAP.json);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FileError(`${what} ${quote(path)}: not UTF-8 text`);
  }
}

/**
 * The file an output path will replace: symbolic links followed, so a link's target is written,
 * also when that target does not exist yet (a dangling link). A loop of links is refused.
 */
function outputTarget(path: string): string {
  let current = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let stats: Stats;
    try {
      stats = lstatSync(current);
    } catch {
      // Nothing here yet: the file to create, in its parent as resolved.
      try {
        return join(realpathSync(dirname(current)), basename(current));
      } catch {
        return current;
      }
    }
    if (!stats.isSymbolicLink()) {
      try {
        return realpathSync(current);
      } catch {
        return current;
      }
    }
    current = resolve(dirname(current), readlinkSync(current));
  }
  throw new FileError(`${quote(path)}: a loop of symbolic links (or more than 40 in a row); nothing is written through it`);
}

/**
 * Removes temporaries that an earlier writer of `target` left when it was killed mid-write
 * (SIGKILL skips every cleanup): only names of writeFileAtomic's own pattern for this file, only
 * of this host, and only when their writer's pid is gone.
 */
function removeStaleTemps(target: string): void {
  const prefix = `.${basename(target)}.${hostname()}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.[a-z0-9]+\.tmp$/.exec(name.slice(prefix.length));
    if (!m || pidAlive(Number(m[1]))) continue;
    try { unlinkSync(join(dirname(target), name)); } catch { /* gone already */ }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Creates `dir` (and its parents) and proves that files can be created in it. */
function ensureWritableDir(dir: string, what: string): void {
  const existing = statOrNull(dir);
  if (existing && !existing.isDirectory()) throw new FileError(`${what}: ${quote(dir)} is ${kindOf(existing)}, not a directory`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new FileError(`${what}: cannot create the directory ${quote(dir)} (${code(e)})`);
  }
  const probe = join(dir, `.grokwasm-probe-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw new FileError(`${what}: cannot write in ${quote(dir)} (${code(e)})`);
  }
}

export interface PathUse {
  /** How the user named it: `--out`, `--checkpoint`, `mechanism.json in --out`... */
  what: string;
  path: string;
}

/**
 * Checks, before any work, that each output can be written: not a directory or device, its
 * directory creatable and writable, no two outputs (or an output and an input) the same file.
 * `sameAllowed` lists pairs of `what` that may name one file (a checkpoint resumed and rewritten).
 */
export function checkOutputs(outputs: PathUse[], inputs: PathUse[] = [], sameAllowed: [string, string][] = []): void {
  const seen: { what: string; target: string; isOutput: boolean }[] = [];
  for (const input of inputs) {
    const stats = statOrNull(input.path);
    if (!stats) throw new FileError(`${input.what} ${quote(input.path)}: cannot read it (ENOENT)`);
    if (!stats.isFile()) throw new FileError(`${input.what} ${quote(input.path)}: ${kindOf(stats)}, not a regular file; only regular files are read`);
    seen.push({ what: input.what, target: outputTarget(input.path), isOutput: false });
  }
  for (const out of outputs) {
    const target = outputTarget(out.path);
    const stats = statOrNull(target);
    if (stats && !stats.isFile()) throw new FileError(`${out.what} ${quote(out.path)}: ${kindOf(stats)}; only regular files are replaced`);
    ensureWritableDir(dirname(target), out.what);
    const clash = seen.find((s) => s.target === target && !sameAllowed.some(([a, b]) => (a === s.what && b === out.what) || (a === out.what && b === s.what)));
    if (clash) throw new FileError(`${clash.what} and ${out.what} name the same file ${quote(out.path)}; ${clash.isOutput ? 'one would overwrite the other' : 'the input would be overwritten'}`);
    seen.push({ what: out.what, target, isOutput: true });
  }
}

/** Checks an output directory and the files to be written in it (as checkOutputs does). */
export function checkOutputDir(what: string, dir: string, files: string[]): void {
  ensureWritableDir(resolve(dir), what);
  checkOutputs(files.map((f) => ({ what: `${f} in ${what}`, path: join(dir, f) })));
}

/** Writes `data` to `path` atomically, over a regular file or nothing; FileError otherwise. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const target = outputTarget(path);
  const old = statOrNull(target);
  if (old && !old.isFile()) throw new FileError(`${quote(path)}: ${kindOf(old)}; only regular files are replaced`);
  try {
    mkdirSync(dirname(target), { recursive: true });
  } catch (e) {
    throw new FileError(`cannot write ${quote(path)}: cannot create its directory (${code(e)})`);
  }
  removeStaleTemps(target);
  // The host and pid in the name say whose it is, so that a later writer removes it only when stale.
  const temp = join(dirname(target), `.${basename(target)}.${hostname()}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  let fd: number;
  try {
    fd = openSync(temp, 'wx', old ? old.mode & 0o7777 : 0o644);
  } catch (e) {
    throw new FileError(`cannot write ${quote(path)} (${code(e)})`);
  }
  let open = true;
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    open = false;
    closeSync(fd);
    renameSync(temp, target);
  } catch (e) {
    if (open) closeSync(fd);
    try { unlinkSync(temp); } catch { /* already gone */ }
    throw new FileError(`cannot write ${quote(path)} (${code(e)}); ${old ? 'the previous file is kept' : 'nothing was written'}`);
  }
}

/** Whether anything is at `path` (of any type; a dangling symbolic link counts). */
export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
