// Stop and resume: a resumed run must end exactly where an uninterrupted one does.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, Trainer, createTrainer, kernelModule, decodeSafetensors, encodeSafetensors } from '../src/index.js';

// Small, but long enough to cross epochs (train set 60 pairs, batch 16: 4 batches an epoch)
// and to stop early on grokking in neither.
const CONFIG = { p: 11, dim: 12, depth: 2, heads: 3, mlp: 20, batch: 16, steps: 60, evalEvery: 7 };

async function interrupted(at: number): Promise<Uint8Array> {
  const trainer = await createTrainer(CONFIG);
  const stop = new AbortController();
  let saved: Uint8Array | undefined;
  await trainer.run(undefined, {
    checkpointEvery: at,
    onCheckpoint: (bytes) => { saved = bytes; stop.abort(); },
    signal: stop.signal,
  });
  expect(trainer.stepCount).toBe(at);
  return saved!;
}

describe('checkpoints', () => {
  it.each([1, 7, 13, 29])('a run resumed from step %i ends bit-identical to an uninterrupted one', async (at) => {
    const whole = await (await createTrainer(CONFIG)).run();
    const resumed = await (await Trainer.fromCheckpoint(await interrupted(at), kernelModule())).run();
    expect(resumed.checksum).toBe(whole.checksum);
    expect(resumed.history).toEqual(whole.history);
    expect(resumed.steps).toBe(whole.steps);
    expect(resumed.config).toEqual(whole.config);
  });

  it('refuses a corrupt or mismatched checkpoint with a clear error', async () => {
    const bytes = await interrupted(13);
    const { tensors, metadata } = decodeSafetensors(bytes);
    const rebuild = (t = tensors, m = metadata) => encodeSafetensors(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v])), m);
    const load = (b: Uint8Array) => Trainer.fromCheckpoint(b, kernelModule());

    await expect(load(bytes.subarray(0, 100))).rejects.toThrow(CheckpointError);
    await expect(load(rebuild(tensors, { ...metadata, format: 'other' }))).rejects.toThrow(/not a grokwasm checkpoint/);
    const flipped = { ...tensors, 'param.lm_head.weight': { ...tensors['param.lm_head.weight'], data: tensors['param.lm_head.weight'].data.map((x, i) => (i === 3 ? x + 1 : x)) as Float32Array } };
    await expect(load(rebuild(flipped))).rejects.toThrow(/do not match its checksum/);
    const { 'adam.v.norm_final.g': _, ...missing } = tensors;
    await expect(load(rebuild(missing))).rejects.toThrow(/'adam.v.norm_final.g' is missing/);
    const config = JSON.parse(metadata.config);
    await expect(load(rebuild(tensors, { ...metadata, config: JSON.stringify({ ...config, dim: 15 }) }))).rejects.toThrow(/expected F32 \[1,3,15\]/);
    await expect(load(rebuild(tensors, { ...metadata, config: JSON.stringify({ ...config, p: 1 }) }))).rejects.toThrow(/p must be an integer/);
    const order = tensors.order.data as Int32Array;
    const shuffled = { ...tensors, order: { ...tensors.order, data: order.map((x, i) => (i === 0 ? order[1] : x)) as Int32Array } };
    await expect(load(rebuild(shuffled))).rejects.toThrow(/not a permutation/);
  });

  it('the CLI resumes a killed run to the same checksum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grokwasm-ck-'));
    const cli = new URL('../dist/cli/grokwasm.js', import.meta.url).pathname;
    const flags = ['--p', '23', '--dim', '16', '--heads', '2', '--mlp', '32', '--batch', '64', '--steps', '400', '--evalEvery', '50'];
    const whole = spawnSync(process.execPath, [cli, 'run', ...flags, '--out', join(dir, 'whole.json'), '--quiet']);
    expect(whole.status).toBe(0);
    const ck = join(dir, 'run.ckpt');
    const child = spawn(process.execPath, [cli, 'run', ...flags, '--checkpoint', ck, '--checkpoint-every', '10', '--quiet']);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => { if (existsSync(ck)) { clearInterval(poll); child.kill('SIGKILL'); resolve(); } }, 5);
    });
    await new Promise((resolve) => child.on('exit', resolve));
    const resumed = spawnSync(process.execPath, [cli, 'run', '--resume', ck, '--out', join(dir, 'resumed.json'), '--quiet']);
    expect(resumed.status).toBe(0);
    const a = JSON.parse(readFileSync(join(dir, 'whole.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(dir, 'resumed.json'), 'utf8'));
    expect(b.checksum).toBe(a.checksum);
    expect(b.history).toEqual(a.history);
    const conflict = spawnSync(process.execPath, [cli, 'run', '--resume', ck, '--p', '5'], { encoding: 'utf8' });
    expect(conflict.status).toBe(2);
    expect(conflict.stderr).toBe("grokwasm: --resume continues the checkpoint's own run; drop --p\n");
  });
});
