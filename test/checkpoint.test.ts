// Stop and resume: a resumed run must end exactly where an uninterrupted one does.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, Trainer, createTrainer, decodeCheckpoint, decodeSafetensors, encodeCheckpoint, encodeSafetensors, kernelModule } from '../src/node/index.js';

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

  it('refuses a damaged, old or mismatched checkpoint with a clear error', async () => {
    const bytes = await interrupted(13);
    const { config, state, tensors } = decodeCheckpoint(bytes);
    const { metadata } = decodeSafetensors(bytes);
    const load = (b: Uint8Array) => Trainer.fromCheckpoint(b, kernelModule());
    const withValue = (name: string, change: (data: Float32Array) => void) => {
      const data = (tensors[name].data as Float32Array).slice();
      change(data);
      return { ...tensors, [name]: { ...tensors[name], data } };
    };

    await expect(load(bytes.subarray(0, 100))).rejects.toThrow(CheckpointError);
    await expect(load(encodeSafetensors(tensors, { ...metadata, format: 'other' }))).rejects.toThrow(/not a grokwasm checkpoint/);
    await expect(load(encodeSafetensors(tensors, { ...metadata, format: 'grokwasm-checkpoint-1' }))).rejects.toThrow(/from an older grokwasm/);
    // Damage under the old digest: a tensor value, the history, the config.
    await expect(load(encodeSafetensors(withValue('param.lm_head.weight', (d) => { d[3] += 1; }), metadata))).rejects.toThrow(/do not match its digest/);
    const history = structuredClone(state.history);
    history[1].valAcc = 1;
    await expect(load(encodeSafetensors(tensors, { ...metadata, state: JSON.stringify({ ...state, history }) }))).rejects.toThrow(/do not match its digest/);
    await expect(load(encodeSafetensors(tensors, { ...metadata, config: JSON.stringify({ ...config, lr: 0.002 }) }))).rejects.toThrow(/do not match its digest/);

    // Files whose digest is right but whose contents do not fit together.
    const sign = (c: object = config, s: object = state, t = tensors) => encodeCheckpoint(c as never, s as never, t);
    await expect(load(sign(config, state, withValue('param.lm_head.weight', (d) => { d[3] += 1; })))).rejects.toThrow(/do not match its checksum/);
    const { 'adam.v.norm_final.g': _, ...missing } = tensors;
    await expect(load(sign(config, state, missing))).rejects.toThrow(/'adam.v.norm_final.g' is missing/);
    await expect(load(sign({ ...config, dim: 15 }))).rejects.toThrow(/expected F32 \[1,3,15\]/);
    await expect(load(sign({ ...config, p: 1 }))).rejects.toThrow(/its config is invalid: p: p must be an integer/);
    const { seed: __, ...noSeed } = config;
    await expect(load(sign(noSeed))).rejects.toThrow(/its config is invalid: seed: missing/);
    const order = tensors.order.data as Int32Array;
    const shuffled = { ...tensors, order: { ...tensors.order, data: order.map((x, i) => (i === 0 ? order[1] : x)) as Int32Array } };
    await expect(load(sign(config, state, shuffled))).rejects.toThrow(/not a permutation/);
    await expect(load(sign(config, { ...state, stepsDone: 61 }))).rejects.toThrow(/loop state is outside this config/);
    await expect(load(sign(config, { ...state, streak: 'x' }))).rejects.toThrow(/its state is invalid: streak/);
    await expect(load(sign(config, { ...state, history: [{ step: 0 }] }))).rejects.toThrow(/its state is invalid: history\[0\].trainLoss/);
  });

  it('refuses every single-bit flip in the header and metadata, and in a sample of the tensor data', async () => {
    const bytes = await interrupted(13);
    const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const accepted: number[] = [];
    const copy = bytes.slice();
    const tryBit = (bit: number) => {
      copy[bit >> 3] ^= 1 << (bit & 7);
      try {
        decodeCheckpoint(copy);
        accepted.push(bit);
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw e;
      }
      copy[bit >> 3] ^= 1 << (bit & 7);
    };
    let tried = 0;
    for (let bit = 0; bit < headerEnd * 8; bit++, tried++) tryBit(bit);
    for (let bit = headerEnd * 8; bit < bytes.length * 8; bit += 61, tried++) tryBit(bit);
    expect(tried).toBeGreaterThan(20_000);
    expect(accepted).toEqual([]);
  }, 120_000);

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

describe('a pause that cuts an evaluation short', () => {
  // Big enough that an evaluation outlasts the trainer's 25 ms between turns of the event loop.
  const EVAL_HEAVY = { p: 151, dim: 16, heads: 2, mlp: 32, batch: 32, steps: 12, evalEvery: 5 };

  async function pausedInEvaluation(): Promise<Trainer> {
    const trainer = await createTrainer(EVAL_HEAVY);
    const pause = new AbortController();
    const partial = await trainer.run(undefined, { signal: pause.signal, interruptEvaluation: true, onStep: (s) => { if (s.step === 5) pause.abort(); } });
    expect(trainer.stepCount).toBe(6);
    expect(trainer.evaluationPending).toBe(true);
    expect(partial.history.map((r) => r.step)).toEqual([0]); // step 5's evaluation is still to do
    return trainer;
  }

  it('leaves it pending; a resumed run, settle() and a checkpoint each make it, giving the uninterrupted bits', async () => {
    const whole = await (await createTrainer(EVAL_HEAVY)).run();
    const resumed = await (await pausedInEvaluation()).run();
    expect(resumed.history).toEqual(whole.history);
    expect(resumed.checksum).toBe(whole.checksum);

    const settled = (await pausedInEvaluation()).settle();
    const stoppedAt6 = await (await createTrainer(EVAL_HEAVY)).run(undefined, { stopAt: 6 });
    expect(settled.history).toEqual(stoppedAt6.history);
    expect(settled.checksum).toBe(stoppedAt6.checksum);

    const bytes = (await pausedInEvaluation()).saveCheckpoint();
    const fromCheckpoint = await (await Trainer.fromCheckpoint(bytes, kernelModule())).run();
    expect(fromCheckpoint.history).toEqual(whole.history);
    expect(fromCheckpoint.checksum).toBe(whole.checksum);
  }, 120_000);
});
