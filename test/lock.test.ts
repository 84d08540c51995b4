// The lock of a results directory under contention: processes racing to take over a dead
// holder's lock, repeatedly. Exactly one may win each round; every loser is refused in one line
// naming the winner. Run against the built module, in separate processes, as the CLI runs.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const LOCK = new URL('../dist/src/node/lock.js', import.meta.url).href;
// Each contender says it is ready, waits for the start file, takes the lock, and a winner holds
// it until the round is over, so that every contender tries while it is held.
const CONTENDER = `
import { existsSync, writeFileSync } from 'node:fs';
import { lockDirectory } from ${JSON.stringify(LOCK)};
const [dir, ready, go, done] = process.argv.slice(1);
writeFileSync(ready, '');
while (!existsSync(go)) await new Promise((r) => setTimeout(r, 2));
try {
  const release = await lockDirectory(dir, 'grokwasm sweep');
  process.stdout.write('won\\n');
  while (!existsSync(done)) await new Promise((r) => setTimeout(r, 5));
  release();
} catch (e) {
  process.stderr.write(e.name + ': ' + e.message + '\\n');
  process.exitCode = 2;
}`;

function run(args: string[], onExit: () => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CONTENDER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => { onExit(); resolve({ code, stdout, stderr }); });
  });
}

describe('lockDirectory under contention', () => {
  it('8 processes taking over a dead holder\'s lock at once: one wins, each loser gets one line naming it (10 rounds)', async () => {
    const PROCESSES = 8, ROUNDS = 10;
    for (let round = 0; round < ROUNDS; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'grokwasm-lock-'));
      try {
        // A holder killed with SIGKILL on this host: a pid above the kernel's pid_max.
        mkdirSync(join(dir, '.grokwasm.lock'));
        writeFileSync(join(dir, '.grokwasm.lock', 'owner.0'), JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), command: 'grokwasm sweep' }));
        const go = join(dir, 'go'), done = join(dir, 'done');
        let exited = 0;
        const children = Array.from({ length: PROCESSES }, (_, i) => run([dir, join(dir, `ready${i}`), go, done], () => { exited++; }));
        while (readdirSync(dir).filter((f) => f.startsWith('ready')).length < PROCESSES) await new Promise((r) => setTimeout(r, 5));
        writeFileSync(go, '');
        // Losers exit; a winner holds until told. Wait for all but one to exit (a second winner
        // would not: then the wait times out and the count below fails the test).
        for (let waited = 0; exited < PROCESSES - 1 && waited < 5000; waited += 5) await new Promise((r) => setTimeout(r, 5));
        writeFileSync(done, '');
        const results = await Promise.all(children);
        const winners = results.filter((r) => r.stdout === 'won\n');
        expect(winners, `round ${round}: ${JSON.stringify(results)}`).toHaveLength(1);
        for (const loser of results.filter((r) => r.stdout !== 'won\n')) {
          expect(loser.code).toBe(2);
          expect(loser.stderr).toMatch(/^LockError: \S+ is held by "grokwasm sweep" \(pid \d+ on host .+\); wait for it to finish[^\n]*\n$/);
        }
        expect(existsSync(join(dir, '.grokwasm.lock')), 'the winner released the lock').toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 120_000);
});
