// The mirror-pair diagnostic: validation accuracy on the pairs whose mirror (b, a) was trained
// on and on the others, checked against an independent count from the model's logits.
import { describe, expect, it } from 'vitest';
import { createTrainer } from '../src/node/index.js';

const CONFIG = { p: 13, dim: 16, heads: 2, mlp: 24, batch: 40, frac: 0.45, steps: 120, evalEvery: 60, decay: 'l2' } as const;

/** Per validation example: argmax == target, and whether its mirror is a training pair, from logits the test asks for. */
async function reference(task: 'add' | 'mul' | 'x2xyy2') {
  const trainer = await createTrainer({ ...CONFIG, task });
  await trainer.run();
  const p = CONFIG.p, V = p + 1;
  const train = trainer.examples('train'), val = trainer.examples('val');
  const trained = new Set(Array.from({ length: train.targets.length }, (_, n) => `${train.inputs[3 * n]},${train.inputs[3 * n + 1]}`));
  let hits = [0, 0], counts = [0, 0];
  for (let from = 0; from < val.targets.length; from += CONFIG.batch) {
    const b = Math.min(CONFIG.batch, val.targets.length - from);
    const { logits } = trainer.lossAndGrads(val.inputs.subarray(3 * from, 3 * (from + b)), val.targets.subarray(from, from + b));
    for (let n = 0; n < b; n++) {
      const row = logits.subarray(n * V, (n + 1) * V);
      const best = row.indexOf(Math.max(...row));
      const [a, bb] = [val.inputs[3 * (from + n)], val.inputs[3 * (from + n) + 1]];
      const group = trained.has(`${bb},${a}`) ? 0 : 1;
      counts[group]++;
      if (best === val.targets[from + n]) hits[group]++;
    }
  }
  return { row: trainer.evaluate(), mirrored: hits[0] / counts[0], unmirrored: hits[1] / counts[1], share: counts[0] / (counts[0] + counts[1]) };
}

describe('mirror-pair diagnostic', () => {
  it.each(['add', 'mul', 'x2xyy2'] as const)('%s: valAccMirrored and valAccUnmirrored equal a count from the logits, and average to valAcc', async (task) => {
    const r = await reference(task);
    expect(r.share).toBeGreaterThan(0.2);
    expect(r.row.valAccMirrored).toBe(r.mirrored);
    expect(r.row.valAccUnmirrored).toBe(r.unmirrored);
    expect(r.share * r.mirrored + (1 - r.share) * r.unmirrored).toBeCloseTo(r.row.valAcc, 12);
  });

  it.each(['sub', 'div', 'x3xy'] as const)('%s is not commutative: both fields are null in every row', async (task) => {
    const trainer = await createTrainer({ ...CONFIG, task, steps: 61 });
    const result = await trainer.run();
    expect(result.history.length).toBe(2);
    for (const row of result.history) {
      expect(row.valAccMirrored).toBeNull();
      expect(row.valAccUnmirrored).toBeNull();
    }
  });

  it('after training L2 into its plateau, the mirrored pairs are right and the others near chance', async () => {
    const trainer = await createTrainer({ ...CONFIG, steps: 600, evalEvery: 599, lr: 0.003 });
    const last = (await trainer.run()).history.at(-1)!;
    expect(last.trainAcc).toBe(1);
    expect(last.valAccMirrored!).toBeGreaterThan(last.valAccUnmirrored! + 0.3);
  }, 60_000);
});

describe('the symmetry under swapping a and b', () => {
  it('the untrained quick-preset model (seed 0) answers (a, b) and (b, a) alike on all 1081 pairs a != b', async () => {
    const { PRESET, createTrainer } = await import('../src/node/index.js');
    const trainer = await createTrainer({ ...PRESET.quick.base, seed: 0 });
    expect(trainer.swapAgreement()).toEqual({ agree: 1081, pairs: 1081 });
  });
  it('division leaves out b = 0 on both sides', async () => {
    const { createTrainer } = await import('../src/node/index.js');
    const trainer = await createTrainer({ task: 'div', p: 7, dim: 8, heads: 2, mlp: 8, batch: 16, frac: 0.5 });
    expect(trainer.swapAgreement().pairs).toBe(15); // pairs 1 <= a < b <= 6
  });
});
