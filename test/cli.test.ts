// The CLI as a user meets it: the built entry point run as a child process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUARD_CHECKSUM, GUARD_CONFIG } from './guard.js';
import { SMALL_GPU_CONFIG, trainingDifferences } from './helpers.js';

const CLI = new URL('../dist/cli/grokwasm.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('grokwasm run', () => {
  it.each([
    [['--p', '1'], '--p must be an integer in [2, 2000] (got 1)'],
    [['--frac', 'abc'], "--frac must be a number in (0, 1) (got 'abc')"],
    [['--lr', '0'], '--lr must be a number in (0, 1] (got 0)'],
    [['--decay', 'l3'], '--decay must be one of l2, lrd, radial, polar, prox, grokfast, orthograd, muon, luon (got "l3")'],
    [['--dim', '30', '--heads', '4'], '--heads must divide dim (got dim 30, heads 4)'],
    [['--steps', '2.5'], '--steps must be an integer in [1, 10000000] (got 2.5)'],
    [['--bogus', '1'], "unknown option '--bogus'"],
    [['--backend', 'cuda'], "option '--backend <name>' argument 'cuda' is invalid. Allowed choices are wasm, webgpu."],
    [['--p', '2000', '--dim', '2048', '--heads', '8', '--mlp', '16384', '--batch', '8192'],
      "--batch 8192 with dim 2048, mlp 16384, depth 2 and p 2000 needs 17.2 GiB of memory, over WebAssembly's 4 GiB; reduce batch, mlp or dim"],
  ])('refuses %j with one line naming the flag, exit code 2', (args, message) => {
    const r = cli('run', ...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`grokwasm: ${message}\n`);
    expect(r.stdout).toBe('');
  });

  it('bare grokwasm prints the help on stderr and exits 2', () => {
    const r = spawnSync(process.execPath, [CLI], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^Usage: grokwasm \[options\] \[command\]\n/);
    expect(r.stderr).toContain('verify');
    expect(r.stderr).not.toContain('(outputHelp)');
  });

  it('bad input leaves an existing --out file untouched', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'grokwasm-')), 'result.json');
    writeFileSync(out, 'previous result');
    expect(cli('run', '--p', '0', '--out', out).status).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe('previous result');
  });

  it('writes the run result as JSON, equal to what the API returns', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'grokwasm-')), 'nested', 'result.json');
    const flags = Object.entries(GUARD_CONFIG).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const r = cli('run', ...flags, '--out', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/step +40 +train acc/);
    expect(r.stdout).toContain(`checksum ${GUARD_CHECKSUM}`);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(result)).toEqual(['config', 'history', 'bestValAcc', 'grokStep', 'steps', 'checksum', 'wallMs', 'backend']);
    // Same config and seed as the guard test in trainer.test.ts: the same bits.
    expect(result.checksum).toBe(GUARD_CHECKSUM);
    expect(result.history.map((h: { step: number }) => h.step)).toEqual([0, 10, 20, 30, 40, 49]);
    expect(Object.keys(result.history[0])).toEqual(['step', 'trainLoss', 'trainAcc', 'valLoss', 'valAcc', 'valAccMirrored', 'valAccUnmirrored',
      'frequencyShares', 'restrictedLoss', 'excludedLoss', 'queryKeyNorm', 'paramNorm', 'stableRank', 'effectiveRank', 'checksum']);
  });

  it('--backend webgpu says in one line where the products ran, and records it in the result', () => {
    const flags = Object.entries(SMALL_GPU_CONFIG).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const wasm = JSON.parse(cli('run', ...flags, '--json').stdout);
    const r = cli('run', ...flags, '--backend', 'webgpu', '--json');
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('backend: '));
    expect(lines).toHaveLength(1);
    const result = JSON.parse(r.stdout);
    if (lines[0].startsWith('backend: wasm: ') && !process.env.CI) {
      // No adapter on this machine (CI installs Mesa and must have one): the Wasm bits.
      expect(result.checksum).toBe(wasm.checksum);
      return;
    }
    expect(lines[0]).toMatch(/^backend: webgpu: the model's products on .+; the rest on Wasm$/);
    expect(result.backend).toBe('webgpu');
    expect(trainingDifferences(result, wasm)).toEqual([]);
  }, 60_000);

  it('--help lists every config flag', () => {
    const r = cli('run', '--help');
    expect(r.status).toBe(0);
    for (const flag of ['--p', '--frac', '--dim', '--depth', '--heads', '--mlp', '--batch', '--lr', '--decay', '--wd', '--rate', '--nsIters', '--steps', '--evalEvery', '--seed', '--out']) {
      expect(r.stdout).toContain(`${flag} `);
    }
  });
});

describe('package', () => {
  it("import('grokwasm') resolves through the exports entry to the built API", () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e',
      "const m = await import('grokwasm'); const t = await m.createTrainer({ p: 5, dim: 8, heads: 2, mlp: 8, steps: 2 }); console.log(typeof m.newtonSchulz, t.step().step);"],
    { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function 0');
  });
});
