// Sweeps and the mechanism experiment through the CLI: pool-size independence, shards, resume
// after a kill, merging, and refusals. Tiny models so the whole file runs in seconds.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { LATER_EVAL_FIELDS } from '../src/format/run_result.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArms, resolveShard, shardCells, summarize, sweepCells, resolveConfig, type CellRecord } from '../src/node/index.js';

const CLI = new URL('../dist/cli/grokwasm.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const TINY = ['--preset', 'quick', '--p', '11', '--dim', '8', '--heads', '2', '--mlp', '16', '--steps', '30', '--evalEvery', '10'];
const GRID = ['--fracs', '0.4,0.6', '--rates', '0.001,0.02', '--seeds', '0,1'];
const tmp = () => mkdtempSync(join(tmpdir(), 'grokwasm-exp-'));

/** cells.jsonl without the wall times, which are measurements rather than results. */
function cells(dir: string): string[] {
  return readFileSync(join(dir, 'cells.jsonl'), 'utf8').trim().split('\n').map((line) => {
    const { wallMs: _, ...rest } = JSON.parse(line) as CellRecord;
    return JSON.stringify(rest);
  });
}

describe('sweep', () => {
  const reference = tmp();
  const whole = cli('sweep', ...TINY, ...GRID, '--workers', '2', '--out', reference, '--quiet');

  it('writes every cell once, in canonical order, with the table, CSV and figures', () => {
    expect(whole.status).toBe(0);
    const lines = cells(reference);
    expect(lines).toHaveLength(16);
    const keys = lines.map((l) => JSON.parse(l)).map((r: CellRecord) => `${r.arm}|${r.frac}|${r.rate}|${r.seed}`);
    expect(new Set(keys).size).toBe(16);
    expect(keys[0]).toBe('l2|0.4|0.001|0');
    const first = JSON.parse(lines[0]) as CellRecord;
    expect(first.config.wd).toBe(0.01); // L2: wd = 10 x rate
    const lrd = JSON.parse(lines[8]) as CellRecord;
    expect([lrd.arm, lrd.config.decay, lrd.config.rate, lrd.config.wd]).toEqual(['lrd', 'lrd', 0.001, 0.1]);
    for (const f of ['summary.csv', 'phase.svg', 'phase.png']) expect(existsSync(join(reference, f))).toBe(true);
    const summary = readFileSync(join(reference, 'summary.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    expect(summary).toHaveLength(1 + 8);
    // Each row's wd is its cells' own config.wd: 10 x rate for L2, the preset's AdamW decay for LRD.
    const wd = summary[0].indexOf('wd');
    expect(summary.slice(1).map((r) => [r[0], r[2], r[wd]])).toEqual([
      ['l2', '0.001', '0.01'], ['l2', '0.02', '0.2'], ['l2', '0.001', '0.01'], ['l2', '0.02', '0.2'],
      ['lrd', '0.001', '0.1'], ['lrd', '0.02', '0.1'], ['lrd', '0.001', '0.1'], ['lrd', '0.02', '0.1'],
    ]);
    expect(whole.stdout).toMatch(/Low-Rank Decay: best validation accuracy/);
  });

  it('does not depend on the pool size', () => {
    const one = tmp();
    expect(cli('sweep', ...TINY, ...GRID, '--workers', '1', '--out', one, '--quiet').status).toBe(0);
    expect(cells(one)).toEqual(cells(reference));
  });

  it('shards, merged, equal the unsharded sweep; SLURM and Indexed Job variables pick the shard', () => {
    const parts = [0, 1, 2].map(() => tmp());
    expect(cli('sweep', ...TINY, ...GRID, '--shard', '0/3', '--out', parts[0], '--quiet').status).toBe(0);
    const slurm = spawnSync(process.execPath, [CLI, 'sweep', ...TINY, ...GRID, '--out', parts[1], '--quiet'],
      { encoding: 'utf8', env: { ...process.env, SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '3' } });
    expect(slurm.status).toBe(0);
    const k8s = spawnSync(process.execPath, [CLI, 'sweep', ...TINY, ...GRID, '--shard-count', '3', '--out', parts[2], '--quiet'],
      { encoding: 'utf8', env: { ...process.env, JOB_COMPLETION_INDEX: '2' } });
    expect(k8s.status).toBe(0);
    expect(parts.map((p) => cells(p).length)).toEqual([6, 5, 5]);
    const merged = tmp();
    const r = cli('merge', ...parts, '--out', merged);
    expect(r.status).toBe(0);
    expect(cells(merged)).toEqual(cells(reference));
    expect(readFileSync(join(merged, 'summary.csv'), 'utf8')).toBe(readFileSync(join(reference, 'summary.csv'), 'utf8'));
  });

  it('a sweep killed mid-way and rerun completes with every cell exactly once', async () => {
    const dir = tmp();
    const child = spawn(process.execPath, [CLI, 'sweep', ...TINY, ...GRID, '--workers', '2', '--out', dir, '--quiet']);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const f = join(dir, 'cells.jsonl');
        if (existsSync(f) && readFileSync(f, 'utf8').split('\n').length > 3) { clearInterval(poll); child.kill('SIGKILL'); resolve(); }
      }, 2);
    });
    await new Promise((resolve) => child.on('exit', resolve));
    const before = readFileSync(join(dir, 'cells.jsonl'), 'utf8').trim().split('\n').length;
    expect(before).toBeLessThan(16);
    // A torn last line, as a kill in the middle of a write would leave, is dropped and redone.
    appendFileSync(join(dir, 'cells.jsonl'), '{"arm":"lrd","frac":0.6,"ra');
    const rerun = cli('sweep', ...TINY, ...GRID, '--out', dir);
    expect(rerun.status).toBe(0);
    expect(rerun.stdout).toContain(`skipped ${before}`);
    expect(cells(dir)).toEqual(cells(reference));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const v = cli('verify', join(dir, 'cells.jsonl'), '--steps', '12', '--quiet');
    // --steps 12 of 30: a partial check, which says so and exits 3.
    expect(v.status).toBe(3);
    expect(v.stdout).toContain('partially verified: steps 0-11: 32 evaluations in 16 runs match');
  });

  it('refuses to mix a different sweep into the same directory', () => {
    const r = cli('sweep', ...TINY.map((a, i) => (TINY[i - 1] === '--steps' ? '20' : a)), ...GRID, '--out', reference);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^grokwasm: .* holds another sweep: this sweep: steps 20, but .*cells\.jsonl line 1 has steps 30; .*use another --out\n$/);
  });

  it('refuses to append new cells to cells written before a later field existed, and loses nothing; a resume with nothing to add still ends', () => {
    // An older-format directory: the same cells with the later evaluation fields taken out of every row.
    const older = tmp();
    const lines = readFileSync(join(reference, 'cells.jsonl'), 'utf8').trim().split('\n').map((line) => {
      const cell = JSON.parse(line);
      for (const row of cell.history) for (const field of LATER_EVAL_FIELDS) delete row[field];
      return JSON.stringify(cell);
    });
    writeFileSync(join(older, 'cells.jsonl'), `${lines.join('\n')}\n`);
    const before = readFileSync(join(older, 'cells.jsonl'), 'utf8');
    const r = cli('sweep', ...TINY, ...GRID.map((a) => (a === '0,1' ? '0,1,2' : a)), '--out', older);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`grokwasm: ${older} holds cells written before ${LATER_EVAL_FIELDS.join(', ')} existed; a cell run now carries them, and verify refuses a file that mixes the two; use another --out\n`);
    expect(readFileSync(join(older, 'cells.jsonl'), 'utf8')).toBe(before);
    const resume = cli('sweep', ...TINY, ...GRID, '--out', older);
    expect(resume.status, resume.stderr).toBe(0);
  });

  it('merge refuses a directory without cells, exit 2', () => {
    const empty = tmp();
    const r = cli('merge', empty, '--out', tmp());
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`grokwasm: ${empty} has no cells.jsonl\n`);
  });

  it.each([
    [['--fracs', '0.5,1.5'], "--fracs must be a comma-separated list of a number in (0, 1) (got '1.5')"],
    [['--rates', ''], '--rates must be a comma-separated list of a number in [0, 10]'],
    [['--seeds', '1,-1'], "--seeds must be a comma-separated list of an integer in [0, 4294967295] (got '-1')"],
    [['--arms', 'l2,l3'], "--arms: 'l3' is not an arm; the arms are l2, lrd, radial, polar, prox, grokfast, orthograd, muon, luon (a setting is name[:field=value...], e.g. l2:wd=0.5)"],
    [['--arms', 'l2:rate=0.1'], '--arms: l2:rate=0.1: the l2 arm does not read rate; it reads wd'],
    [['--arms', 'lrd:rate=0.01'], "--arms: lrd:rate=0.01 gives rate, which the sweep's --rates set (rate = the rate)"],
    [['--shard', '3/2'], '--shard: shard must be I/N with integers 0 <= I < N (got 3/2)'],
    [['--shard', 'x'], "--shard must be I/N with integers 0 <= I < N (got 'x')"],
    [['--workers', '0'], "--workers must be an integer in [1, 1024] (got '0')"],
    [['--preset', 'huge'], "option '--preset <name>' argument 'huge' is invalid. Allowed choices are reference, quick."],
  ])('refuses %j in one line, exit 2', (args, message) => {
    // A flag is given once: the case's own value replaces TINY's.
    const base = TINY.filter((a, i) => !args.includes(a) && !args.includes(TINY[i - 1]));
    const r = cli('sweep', ...base, ...args, '--out', tmp());
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`grokwasm: ${message}\n`);
  });
});

describe('sharding and summaries', () => {
  it('resolveShard reads the flag, Slurm, then Indexed Jobs', () => {
    expect(resolveShard('2/5', {})).toEqual({ index: 2, count: 5, source: '--shard' });
    expect(resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '8' })).toMatchObject({ index: 4, count: 8 });
    expect(resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '8' })).toMatchObject({ index: 4 });
    expect(resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_MIN: '2', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '4' })).toMatchObject({ index: 2, count: 4 });
    expect(() => resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '4' })).toThrow(/is not min \+ k x step/);
    expect(resolveShard(undefined, { JOB_COMPLETION_INDEX: '3' }, 4)).toMatchObject({ index: 3, count: 4 });
    expect(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '3' })).toThrow(/--shard-count/);
    expect(resolveShard(undefined, {})).toMatchObject({ index: 0, count: 1 });
  });

  it('shards partition the cells', () => {
    const all = sweepCells(resolveConfig({ p: 7, dim: 8, heads: 2 }), { arms: parseArms('l2,lrd'), fracs: [0.3, 0.5], rates: [1e-3, 1e-2, 5e-2], seeds: [0, 1] });
    expect(all).toHaveLength(24);
    const parts = [0, 1, 2, 3, 4].map((i) => shardCells(all, i, 5));
    expect(parts.flat().length).toBe(24);
    expect(new Set(parts.flat()).size).toBe(24);
  });

  it('summaries give the mean, the spread and steps to grok over seeds', () => {
    const base = { config: resolveConfig({}), history: [], steps: 1, checksum: '', wallMs: 0 };
    const cells = summarize([
      { ...base, arm: 'lrd', frac: 0.5, rate: 0.01, seed: 0, bestValAcc: 1, grokStep: 1000 },
      { ...base, arm: 'lrd', frac: 0.5, rate: 0.01, seed: 1, bestValAcc: 0.5, grokStep: null },
    ] as CellRecord[]);
    expect(cells).toEqual([{ arm: 'lrd', frac: 0.5, rate: 0.01, wd: 0.1, diverged: 0, accMean: 0.75, accSpread: 0.5, grokMean: 1000, grokked: 1, seeds: 2, unmirroredMean: null }]);
  });
});

describe('mechanism and plot', () => {
  it('writes mechanism.json, history.csv and the figure; plot redraws it', () => {
    const dir = tmp();
    const r = cli('mechanism', ...TINY, '--out', dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/figure in .*mechanism.png/);
    const m = JSON.parse(readFileSync(join(dir, 'mechanism.json'), 'utf8'));
    expect(Object.keys(m)).toEqual(['format', 'arms', 'spectra', 'attention', 'progress']);
    expect(m.format).toBe(2);
    expect(m.arms.l2.config.decay).toBe('l2');
    expect(m.arms.lrd.config.decay).toBe('lrd');
    // Same split and seed: the arms start from the same weights.
    expect(m.arms.l2.config.seed).toBe(m.arms.lrd.config.seed);
    expect(m.spectra.lrd).toHaveLength(8);
    expect(m.attention.l2).toHaveLength(11);
    for (const row of m.attention.lrd) expect(row.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
    const csv = readFileSync(join(dir, 'history.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('arm,step,trainLoss,trainAcc,valLoss,valAcc,valAccMirrored,valAccUnmirrored,restrictedLoss,excludedLoss,stableRank,effectiveRank,queryKeyNorm,paramNorm,checksum,frequencyShares');
    expect(csv).toHaveLength(1 + 4 + 4);
    const svg = readFileSync(join(dir, 'mechanism.svg'), 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('Low-Rank Decay');
    const png = readFileSync(join(dir, 'mechanism.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const plot = cli('plot', dir);
    expect(plot.status).toBe(0);
    expect(readFileSync(join(dir, 'mechanism.svg'), 'utf8')).toBe(svg);
    expect(cli('plot', tmp()).status).toBe(2);
    // Both arms verify from the mechanism file, and a sweep's cells from cells.jsonl.
    const v = cli('verify', join(dir, 'mechanism.json'));
    expect(v.status).toBe(0);
    expect(v.stdout).toContain('verified: 8 evaluations and the final fields match in 2 runs');
  });

  it.each([
    [['--preset', 'slow'], "option '--preset <name>' argument 'slow' is invalid. Allowed choices are reference, quick."],
    [['--p', '1'], '--p must be an integer in [2, 2000] (got 1)'],
    [['--workers', 'many'], "--workers must be an integer in [1, 1024] (got 'many')"],
  ])('mechanism refuses %j in one line, exit 2', (args, message) => {
    const r = cli('mechanism', ...args, '--out', tmp());
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`grokwasm: ${message}\n`);
  });
});

describe('quick preset', () => {
  // The preset's promise: the published contrast within its budget. Both arms run in parallel.
  // `npm start`'s figure must tell the paper's story: LRD groks and ends low-rank, L2 memorises,
  // plateaus on the mirrored pairs and keeps a high rank.
  it('LRD groks and its QK rank and q_proj spectrum collapse; L2 memorises, plateaus at the mirrored pairs, stays high-rank', async () => {
    const { PRESET, mechanismConfigs } = await import('../src/node/index.js');
    const { runPool } = await import('../src/node/pool.js');
    const configs = mechanismConfigs(PRESET.quick);
    const [l2, lrd] = await runPool(configs, 2, {}, { analysis: true });
    expect(lrd.result.grokStep).not.toBeNull();
    expect(lrd.result.bestValAcc).toBeGreaterThanOrEqual(0.99);
    expect(l2.result.grokStep).toBeNull();
    expect(l2.result.bestValAcc).toBeLessThan(0.9);
    const [l2End, lrdEnd] = [l2.result.history.at(-1)!, lrd.result.history.at(-1)!];
    expect(l2End.trainAcc).toBe(1);
    expect(lrdEnd.stableRank).toBeLessThanOrEqual(3);
    expect(l2End.stableRank).toBeGreaterThanOrEqual(10);
    // Decades from sigma_1 to the smallest singular value, floored where they stop being resolved (1e-8 of sigma_1).
    const span = (s: number[]) => -Math.log10(Math.max(Math.min(...s) / s[0], 1e-8));
    expect(span(lrd.spectrum!)).toBeGreaterThanOrEqual(4);
    expect(span(l2.spectrum!)).toBeLessThan(4);
    // The L2 plateau is the commutativity shortcut: right on the mirrored pairs, near chance on the rest.
    expect(l2End.valAccMirrored).toBeGreaterThanOrEqual(0.99);
    expect(l2End.valAccUnmirrored).toBeLessThan(0.1);
    expect(lrdEnd.valAccUnmirrored).toBeGreaterThan(0.95);
  }, 600_000);
});
