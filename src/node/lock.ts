// Node-only: one writer per results directory. A sweep (or a merge) holds a lock on its --out
// directory while it reads, appends and rewrites cells.jsonl, so two writers can never store one
// cell twice.
//
// The lock is the directory .grokwasm.lock; everything the lock writes lives inside it, so no
// name a user could own beside their results is ever created or deleted. Holders are numbered:
// the holder is the owner.<n> file with the largest n, written complete (to a temporary, then
// hard-linked into place). Taking a lock over from a dead holder owner.<n> is creating
// owner.<n+1> with link(), which fails with EEXIST for all but one of any number of processes
// racing: the losers read the winner's file and are refused with its pid and host. Nothing is
// ever deleted before the next holder exists, so no two can hold it at once.
//
// A holder on this host is dead when its pid is gone (kill -9, a lost node's requeue); a holder
// on another host, when its heartbeat (the owner file's mtime, renewed every HEARTBEAT_MS) is older
// than STALE_MS. The lock is released on exit and on SIGINT, SIGTERM and SIGHUP.
import { linkSync, lstatSync, mkdirSync, rmdirSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { quote } from '../format/problem.js';

export const LOCK_NAME = '.grokwasm.lock';
export const STALE_MS = 30_000;
const HEARTBEAT_MS = 5_000;
const OWNER = /^owner\.(\d+)$/;

export class LockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockError';
  }
}

interface Owner { pid: number; host: string; command: string }

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** The owner file's holder, or null when it is gone (released meanwhile) or unreadable. */
function readOwner(path: string): (Owner & { mtimeMs: number }) | null {
  try {
    const mtimeMs = statSync(path).mtimeMs;
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Owner;
    if (typeof owner?.pid !== 'number' || typeof owner.host !== 'string') return null;
    return { ...owner, command: String(owner.command), mtimeMs };
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM';
  }
}

function isStale(owner: Owner & { mtimeMs: number }): boolean {
  if (owner.host === hostname()) return !alive(owner.pid);
  return Date.now() - owner.mtimeMs > STALE_MS;
}

function held(dir: string, owner: Owner | null): LockError {
  const who = owner ? `${JSON.stringify(owner.command)} (pid ${owner.pid} on host ${owner.host})` : 'another grokwasm process';
  return new LockError(`${quote(dir)} is held by ${who}; wait for it to finish, or, if it was killed on another machine, ` +
    `its lock lapses ${STALE_MS / 1000} s after its last heartbeat`);
}

/** The generations of owner files in the lock directory, highest first. */
function generations(lockDir: string): number[] {
  return readdirSync(lockDir).map((f) => OWNER.exec(f)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => b - a);
}

/**
 * Locks `dir` (which must exist) for `command`; resolves with the release function. A live
 * holder gets a LockError naming its pid and host.
 */
export async function lockDirectory(dir: string, command: string): Promise<() => void> {
  const lockDir = join(dir, LOCK_NAME);
  const me: Owner = { pid: process.pid, host: hostname(), command };
  // A few tries: each retry follows a holder that released between our reads, never a live one.
  for (let attempt = 0; attempt < 8; attempt++) {
    let created = false;
    try {
      mkdirSync(lockDir);
      created = true;
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw new LockError(`cannot lock ${quote(dir)} (${errno(e) ?? (e as Error).message})`);
    }
    let stats;
    try {
      stats = lstatSync(lockDir);
    } catch {
      continue; // released and removed just now
    }
    if (!stats.isDirectory()) {
      throw new LockError(`${quote(lockDir)} is not grokwasm's lock directory; move it away if it is yours`);
    }
    let gens: number[];
    try {
      gens = generations(lockDir);
    } catch {
      continue;
    }
    const top = gens.length ? gens[0] : -1;
    if (top >= 0) {
      const owner = readOwner(join(lockDir, `owner.${top}`));
      if (!owner) continue;
      if (!isStale(owner)) throw held(dir, owner);
    }
    const next = join(lockDir, `owner.${top + 1}`);
    const temp = join(lockDir, `claim.${process.pid}.${Math.random().toString(36).slice(2)}`);
    try {
      writeFileSync(temp, JSON.stringify(me), { flag: 'wx' });
      linkSync(temp, next); // the one atomic step: exactly one process creates owner.<top+1>
    } catch (e) {
      if (errno(e) === 'EEXIST') throw held(dir, readOwner(next));
      if (errno(e) === 'ENOENT') continue;
      // A full disk, say: leave the directory as it was, without a lock directory of ours.
      try { unlinkSync(temp); } catch { /* never written */ }
      if (created) try { rmdirSync(lockDir); } catch { /* someone else's claim is in it now */ }
      throw new LockError(`cannot lock ${quote(dir)} (${errno(e) ?? (e as Error).message})`);
    } finally {
      try { unlinkSync(temp); } catch { /* never written, or the directory is gone */ }
    }
    // The dead holders' files are ours to clear now.
    for (const g of gens) rmSync(join(lockDir, `owner.${g}`), { force: true });
    return holdLock(dir, lockDir, top + 1);
  }
  throw held(dir, null);
}

/** Keeps the lock fresh and releases it once: by the caller, on exit, or on a signal. */
function holdLock(dir: string, lockDir: string, generation: number): () => void {
  const mine = join(lockDir, `owner.${generation}`);
  let released = false;
  const heartbeat = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(mine, now, now);
      if (generations(lockDir)[0] === generation) return;
    } catch { /* fall through: our file is gone */ }
    process.stderr.write(`grokwasm: lost the lock on ${quote(dir)} (another process took it over); stopping so that no cell is written twice\n`);
    process.exit(2);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(heartbeat);
    process.off('exit', release);
    for (const signal of SIGNALS) process.off(signal, onSignal);
    try {
      if (generations(lockDir)[0] === generation) rmSync(lockDir, { recursive: true, force: true });
      else rmSync(mine, { force: true });
    } catch { /* already gone */ }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    // Die of the same signal, as the process would have without this handler.
    process.kill(process.pid, signal);
  };
  process.on('exit', release);
  for (const signal of SIGNALS) process.once(signal, onSignal);
  return release;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
