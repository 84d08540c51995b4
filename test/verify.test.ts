import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUARD_CONFIG } from './guard.js';

const CLI = new URL('../dist/cli/grokwasm.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('grokwasm verify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grokwasm-verify-'));
  const file = join(dir, 'result.json');
  const flags = Object.entries(GUARD_CONFIG).flatMap(([k, v]) => [`--${k}`, String(v)]);
  expect(cli('run', ...flags, '--out', file, '--quiet').status).toBe(0);
  const result = JSON.parse(readFileSync(file, 'utf8'));

  it('confirms an honest result row by row, exit 0', () => {
    const r = cli('verify', file);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('verified: 6 evaluations and the final fields match');
    expect(r.stdout).toContain('not compared: wallMs and backend');
    expect(r.stdout.match(/ ok$/gm)).toHaveLength(7); // six evaluations (the last step among them) and the final fields
  });

  it('checks a prefix with --steps, and says so on its first and last lines, exit 3', () => {
    const r = cli('verify', file, '--steps', '15');
    expect(r.status).toBe(3);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^verify: a PARTIAL check of steps 0-14, rerunning 15 steps \(a full check would rerun 50\); a pass prints "partially verified: steps 0-14" and exits 3$/);
    expect(lines.at(-1)).toMatch(/^partially verified: steps 0-14: 2 evaluations match; steps from 15 on and the final fields were NOT checked$/);
    expect(r.stdout).toContain('partial check: NOT checked: 4 evaluations after step 14, steps, checksum');
    expect(r.stdout).not.toMatch(/^verified/m);
  });

  it.each([
    ['a metric', (x: typeof result) => { x.history[2].valAcc += 1e-12; }, /step +20 +DIFFERS: valAcc/],
    ['a row checksum', (x: typeof result) => { x.history[4].checksum = '0000000000000000'; }, /step +40 +DIFFERS: checksum/],
    ['the final checksum', (x: typeof result) => { x.checksum = 'ffffffffffffffff'; }, /final +DIFFERS: checksum/],
    ['the seed', (x: typeof result) => { x.config.seed = 1; }, /DIFFERS/],
    ['a mirror-pair accuracy', (x: typeof result) => { x.history[3].valAccUnmirrored = 0.5; }, /step +30 +DIFFERS: valAccUnmirrored/],
  ])('catches a changed %s, exit 1', (_, tamper, message) => {
    const copy = structuredClone(result);
    tamper(copy);
    const bad = join(dir, 'tampered.json');
    writeFileSync(bad, JSON.stringify(copy));
    const r = cli('verify', bad);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(message);
    expect(r.stdout).toContain('NOT verified');
  });

  it('verifies a result written before the mirror-pair fields existed, naming them as not compared', () => {
    const old = structuredClone(result);
    for (const row of old.history) { delete row.valAccMirrored; delete row.valAccUnmirrored; }
    const path = join(dir, 'before-mirror.json');
    writeFileSync(path, JSON.stringify(old));
    const r = cli('verify', path);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('verified: 6 evaluations and the final fields match; ' +
      'NOT compared, absent from every row of this older-format file: valAccMirrored, valAccUnmirrored');
  });

  it('refuses a result whose later fields are in some rows and not others, exit 2', () => {
    const cut = structuredClone(result);
    delete cut.history[2].frequencyShares;
    const path = join(dir, 'cut.json');
    writeFileSync(path, JSON.stringify(cut));
    const r = cli('verify', path);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cut\.json: history\[2\]: frequencyShares is missing, but history\[0\] has it; the current format carries it in every row, an older one in none\n$/);
  });

  it('says that a result trained with the WebGPU matmul is checked bit for bit on Wasm', () => {
    const gpu = join(dir, 'webgpu.json');
    writeFileSync(gpu, JSON.stringify({ ...result, backend: 'webgpu' }));
    const r = cli('verify', gpu, '--steps', '15');
    expect(r.stdout.split('\n')[1]).toBe('note: trained with the WebGPU matmul, which is tolerance-equal to Wasm, not bit-equal; ' +
      'this Wasm rerun may differ in the last bits even though nothing is wrong (docs/webgpu.md)');
    // The rows are a Wasm run's, relabelled, so they still verify (partially: --steps 15).
    expect(r.status).toBe(3);
  });

  it('refuses a file that is not a result, exit 2', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"config": {}}');
    const r = cli('verify', bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^grokwasm: .*bad.json: config.task: missing; must be one of add, sub/);
  });
});
