// What the hostile corpus cannot show with a refusal: runs that diverge end with a marked
// result that verifies; equivalent sweep values run once; merge inputs stay untouched; a full
// disk keeps the old file; a stale lock is taken over; verify stops at the first mismatch
// unless --all.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../dist/cli/grokwasm.js', import.meta.url).pathname;
const TINY = ['--p', '11', '--dim', '8', '--heads', '2', '--mlp', '16', '--batch', '16', '--steps', '40', '--evalEvery', '10'];
const DIVERGING = ['--lr', '1', '--wd', '100'];
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
const tmp = () => mkdtempSync(join(tmpdir(), 'grokwasm-trust-'));

describe('divergence', () => {
  it('a run whose loss stops being finite ends there with a marked result, which verifies', () => {
    const dir = tmp();
    const out = join(dir, 'r.json');
    const r = cli(['run', ...TINY, ...DIVERGING, '--decay', 'l2', '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/at .*:\d+:\d+/);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(result.diverged).toEqual({ step: result.steps - 1, reason: 'the training loss is NaN' });
    expect(result.steps).toBeLessThan(40);
    expect(r.stdout).toContain(`DIVERGED at step ${result.diverged.step} (the training loss is NaN)`);
    // NaNs are stored in one bit pattern, so the final checksum is the same on every engine.
    const v = cli(['verify', out]);
    expect(v.status).toBe(0);
    expect(v.stdout).toContain('verified:');
  });

  it('a sweep with a diverging cell keeps going and marks the cell in its table, CSV and figure', () => {
    const dir = tmp();
    const r = cli(['sweep', ...TINY, '--lr', '1', '--wd', '100', '--arms', 'lrd', '--fracs', '0.5', '--rates', '0,10', '--out', dir]);
    expect(r.status).toBe(0);
    const cells = readFileSync(join(dir, 'cells.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(cells).toHaveLength(2);
    expect(cells.some((c) => c.diverged)).toBe(true);
    expect(r.stdout).toMatch(/\* at least one seed diverged/);
    const csv = readFileSync(join(dir, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv[0].split(',').at(-1)).toBe('diverged');
    expect(csv.slice(1).map((l) => l.split(',').at(-1))).toContain('1');
    expect(readFileSync(join(dir, 'phase.svg'), 'utf8')).toContain('diverged');
  });

  it('a mechanism whose arm diverges writes null analysis for it, and verifies', () => {
    const dir = tmp();
    const r = cli(['mechanism', ...TINY, ...DIVERGING, '--out', dir, '--quiet']);
    expect(r.status).toBe(0);
    const m = JSON.parse(readFileSync(join(dir, 'mechanism.json'), 'utf8'));
    const diverged = (['l2', 'lrd'] as const).filter((a) => m.arms[a].diverged);
    expect(diverged.length).toBeGreaterThan(0);
    for (const a of diverged) expect([m.spectra[a], m.attention[a]]).toEqual([null, null]);
    expect(cli(['verify', join(dir, 'mechanism.json'), '--quiet']).status).toBe(0);
  });
});

describe('sweeps: every cell exactly once', () => {
  it('equivalent list values are one cell', () => {
    const dir = tmp();
    const r = cli(['sweep', ...TINY, '--fracs', '0.5,0.50', '--rates', '0.01,1e-2', '--seeds', '0,-0', '--arms', 'lrd,lrd', '--out', dir, '--quiet']);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'cells.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('merge reads its inputs only: a torn last line is left out with a note, the input unchanged', () => {
    const dir = tmp();
    expect(cli(['sweep', ...TINY, '--fracs', '0.5', '--rates', '0.01', '--out', dir, '--quiet']).status).toBe(0);
    appendFileSync(join(dir, 'cells.jsonl'), '{"arm":"lrd","frac":0.6,"ra');
    const before = readFileSync(join(dir, 'cells.jsonl'));
    const out = join(tmp(), 'merged');
    const r = cli(['merge', dir, '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`grokwasm: ${join(dir, 'cells.jsonl')}: its torn last line (a cell cut off by a kill) is left out; rerun that sweep to finish it\n`);
    expect(readFileSync(join(dir, 'cells.jsonl'))).toEqual(before);
    expect(readFileSync(join(out, 'cells.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('a lock left by a holder killed on this host is taken over; --workers above the cores is said', () => {
    const dir = tmp();
    mkdirSync(join(dir, '.grokwasm.lock'));
    // A pid that cannot be alive: above the kernel's pid_max.
    writeFileSync(join(dir, '.grokwasm.lock', 'owner.0'), JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), command: 'grokwasm sweep' }));
    const r = cli(['sweep', ...TINY, '--fracs', '0.5', '--rates', '0.01', '--workers', '100', '--out', dir, '--quiet']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^grokwasm: --workers 100 is more than this machine's \d+ cores: cells will not finish sooner, and each worker holds its own model \(about \d+ MiB each\); using 2\n$/);
    expect(readdirSync(dir).filter((f) => f.startsWith('.grokwasm.lock'))).toEqual([]);
  });
});

describe('verify', () => {
  it('stops at the first mismatch, or lists every one with --all', () => {
    const dir = tmp();
    const file = join(dir, 'r.json');
    expect(cli(['run', ...TINY, '--out', file, '--quiet']).status).toBe(0);
    const r = JSON.parse(readFileSync(file, 'utf8'));
    r.history[1].valLoss += 1e-9;
    r.history[3].trainLoss += 1e-9;
    writeFileSync(file, JSON.stringify(r));
    const first = cli(['verify', file]);
    expect(first.status).toBe(1);
    expect(first.stdout).toMatch(/^verify: rerunning 40 steps \(a full check\)$/m);
    expect(first.stdout.match(/DIFFERS/g)).toHaveLength(2); // the row, and the verdict quoting it
    expect(first.stdout).toContain('NOT verified: 1 mismatch; stopped at the first (--all lists every one)');
    const all = cli(['verify', file, '--all']);
    expect(all.status).toBe(1);
    expect(all.stdout).toMatch(/step +10 +DIFFERS: valLoss/);
    expect(all.stdout).toMatch(/step +30 +DIFFERS: trainLoss/);
    expect(all.stdout).toMatch(/NOT verified: 2 mismatches; first: step +10/);
  });
});

describe('a full disk', () => {
  const dir = tmp();
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status === 0;
  // A tmpfs needs root; CI runs as root on this kind of machine, where the mount works.
  it.skipIf(!mounted && !process.env.CI)('a result that does not fit keeps the old file, leaves no temporary file, and says so in one line', () => {
    expect(mounted).toBe(true);
    try {
      writeFileSync(join(mnt, 'r.json'), 'previous result');
      // Fill the disk to within a few hundred bytes.
      for (let i = 0; ; i++) {
        try { writeFileSync(join(mnt, `fill${i}`), Buffer.alloc(4096)); } catch { break; }
      }
      const r = cli(['run', ...TINY, '--out', join(mnt, 'r.json'), '--quiet']);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`grokwasm: cannot write ${join(mnt, 'r.json')} (ENOSPC); the previous file is kept\n`);
      expect(readFileSync(join(mnt, 'r.json'), 'utf8')).toBe('previous result');
      expect(readdirSync(mnt).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
