// Node-only: one writer per results directory. A sweep (or a merge) holds a lock on its --out
// directory while it reads, appends and rewrites cells.jsonl, so two writers can never store one
// cell twice. proper-lockfile keeps the lock fresh with a heartbeat and releases it on exit and
// on SIGINT/SIGTERM (a requeued Slurm task); a lock whose holder was killed with SIGKILL is
// taken over at once when its owner's pid is gone from this host, or once its heartbeat is older
// than STALE_MS (a holder on another host).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

export const LOCK_NAME = '.grokwasm.lock';
const OWNER_NAME = '.grokwasm.lock.owner';
export const STALE_MS = 30_000;

export class LockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockError';
  }
}

interface Owner { pid: number; host: string; command: string }

function readOwner(dir: string): Owner | null {
  try {
    return JSON.parse(readFileSync(join(dir, OWNER_NAME), 'utf8')) as Owner;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Locks `dir` (which must exist) for `command`; resolves with the release function. A live
 * holder gets a LockError naming it.
 */
export async function lockDirectory(dir: string, command: string): Promise<() => void> {
  const options = {
    lockfilePath: join(dir, LOCK_NAME), realpath: false, stale: STALE_MS, update: 5_000,
    onCompromised: (e: Error) => {
      process.stderr.write(`grokwasm: lost the lock on ${dir} (${e.message}); stopping so that no cell is written twice\n`);
      process.exit(2);
    },
  };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, options);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw new LockError(`cannot lock ${dir} (${(e as Error).message})`);
    const owner = readOwner(dir);
    if (!owner || owner.host !== hostname() || alive(owner.pid)) {
      const who = owner ? `${owner.command} (pid ${owner.pid} on ${owner.host})` : 'another grokwasm process';
      throw new LockError(`${dir} is in use by ${who}; wait for it to finish, or, if it was killed on another machine, ` +
        `its lock lapses ${STALE_MS / 1000} s after its last heartbeat`);
    }
    // Killed on this host (kill -9, a lost node's requeue): its lock is stale now.
    rmSync(join(dir, LOCK_NAME), { recursive: true, force: true });
    release = await lockfile.lock(dir, options);
  }
  writeFileSync(join(dir, OWNER_NAME), JSON.stringify({ pid: process.pid, host: hostname(), command } satisfies Owner));
  return () => {
    rmSync(join(dir, OWNER_NAME), { force: true });
    void release().catch(() => {});
  };
}
