// What the hostile corpus cannot show with a refusal: runs that diverge end with a marked
// result that verifies; equivalent sweep values run once; merge inputs stay untouched; a full
// disk keeps the old file; a stale lock is taken over; verify stops at the first mismatch
// unless --all.
import { spawnSync } from 'node:child_process';
import {
  appendFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCells } from '../src/format/cells.js';
import { runSweep } from '../src/node/sweep.js';
import { parseArms, sweepCells } from '../src/study/experiments.js';
import { resolveConfig } from '../src/train/config.js';

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

describe('sweeps: appends and the lock', () => {
  it('a cells.jsonl whose complete last line lacks its newline gets the next cell on a line of its own', async () => {
    const dir = tmp();
    const path = join(dir, 'cells.jsonl');
    const base = resolveConfig({ p: 11, dim: 8, heads: 2, mlp: 16, batch: 16, steps: 40, evalEvery: 10 });
    const cells = sweepCells(base, { arms: parseArms('lrd'), fracs: [0.5, 0.6], rates: [0.01], seeds: [0] });
    const options = { backend: 'wasm' as const, writeOutputs: async () => {} };
    await runSweep(dir, [cells[0]], 1, {}, options);
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, -1));
    // Read the file right after the append, before the final rewrite could hide a joined line.
    const seen: number[] = [];
    await runSweep(dir, cells, 1, { onRecord: () => { seen.push(parseCells(readFileSync(path, 'utf8'), path).records.length); } }, options);
    expect(seen).toEqual([2]);
  });

  it("a user's files named like the old lock's owner file are never touched", () => {
    const dir = tmp();
    writeFileSync(join(dir, '.grokwasm.lock.owner'), 'mine');
    const r = cli(['sweep', ...TINY, '--arms', 'lrd', '--fracs', '0.5', '--rates', '0.01', '--out', dir, '--quiet']);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, '.grokwasm.lock.owner'), 'utf8')).toBe('mine');
    expect(existsSync(join(dir, '.grokwasm.lock'))).toBe(false);
  });
});

describe('outputs: links and stale temporaries', () => {
  it('--out that is a dangling symbolic link writes its target, as the README says', () => {
    const dir = tmp();
    symlinkSync('target.json', join(dir, 'link.json'));
    const r = cli(['run', ...TINY, '--out', join(dir, 'link.json'), '--quiet']);
    expect(r.status).toBe(0);
    expect(lstatSync(join(dir, 'link.json')).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'target.json'), 'utf8')).steps).toBe(40);
  });

  it("a temporary left by a writer killed mid-write is removed by the next write of that file; only a dead writer's, of this host", () => {
    const dir = tmp();
    const dead = 2 ** 22 + 1; // above the kernel's pid_max
    const names = {
      stale: `.r.json.${hostname()}.${dead}.abc.tmp`,
      live: `.r.json.${hostname()}.${process.pid}.abc.tmp`,
      otherHost: `.r.json.elsewhere.${dead}.abc.tmp`,
      otherFile: `.s.json.${hostname()}.${dead}.abc.tmp`,
    };
    for (const name of Object.values(names)) writeFileSync(join(dir, name), 'partial');
    expect(cli(['run', ...TINY, '--out', join(dir, 'r.json'), '--quiet']).status).toBe(0);
    expect(existsSync(join(dir, names.stale))).toBe(false);
    for (const name of [names.live, names.otherHost, names.otherFile]) expect(existsSync(join(dir, name)), name).toBe(true);
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

describe('a full disk during a sweep', () => {
  const dir = tmp();
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status === 0;
  it.skipIf(!mounted && !process.env.CI)('an append that does not fit leaves cells.jsonl as it was, releases the lock and says so in one line', () => {
    expect(mounted).toBe(true);
    try {
      const sweep = [...TINY, '--arms', 'lrd', '--rates', '0.01'];
      const out = join(mnt, 'sw');
      expect(cli(['sweep', ...sweep, '--fracs', '0.5', '--out', join(dir, 'first'), '--quiet']).status).toBe(0);
      mkdirSync(out);
      cpSync(join(dir, 'first', 'cells.jsonl'), join(out, 'cells.jsonl'));
      const before = readFileSync(join(out, 'cells.jsonl'));
      // Fill the disk, then free one page: enough for the lock's owner file, not for another cell.
      let i = 0;
      for (; ; i++) {
        try { writeFileSync(join(mnt, `fill${i}`), Buffer.alloc(4096)); } catch { break; }
      }
      try { unlinkSync(join(mnt, `fill${i}`)); } catch { /* the failed write left nothing */ }
      for (let small = 0; ; small++) {
        try { writeFileSync(join(mnt, `small${small}`), Buffer.alloc(512)); } catch { break; }
      }
      unlinkSync(join(mnt, 'fill0'));
      const r = cli(['sweep', ...sweep, '--fracs', '0.5,0.6', '--out', out, '--quiet']);
      expect([1, 2]).toContain(r.status);
      expect(r.stderr).toBe(`grokwasm: cannot append a cell to ${join(out, 'cells.jsonl')} (ENOSPC); the file is kept as it was, with its 1 cell; free space and rerun the same command to resume\n`);
      expect(readFileSync(join(out, 'cells.jsonl'))).toEqual(before);
      expect(readdirSync(out).filter((f) => f.startsWith('.grokwasm'))).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
      rmSync(dir, { recursive: true, force: true });
    }
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
