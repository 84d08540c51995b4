// Every arm against its PyTorch twin (scripts/torch_arms.py, PyTorch 1.13 on CPU): 60 training
// steps from the same initial weights on the same batches, the loss at every step and the weights
// at the end compared with PyTorch's float32 run and its float64 run of the same arm.
import { describe, expect, it } from 'vitest';
import { ARM_BY_NAME, createTrainer, type RunConfig } from '../src/node/index.js';
import { group, loadFixture, relErr } from './helpers.js';

// Reached here (the figures each test prints): losses within 1.2e-6 of PyTorch's (float32 and
// float64), final weights within 9e-6 of each tensor's scale (Muon; 3e-7 to 2.6e-6 for the
// others); the bounds leave a margin above that.
const TOL = { loss: 1e-5, weights: 5e-5 };

const CASES = ['l2', 'lrd', 'radial', 'polar', 'prox', 'grokfast', 'orthograd', 'muon', 'luon', 'l2_stablemax', 'lrd_stablemax'] as const;

/** The run config of a fixture: its model, and only the arm fields its arm reads (the fixture writes 0 for the rest). */
function fixtureConfig(meta: Record<string, number | string>): Partial<RunConfig> {
  const decay = meta.decay as RunConfig['decay'];
  const config: Record<string, unknown> = {
    p: meta.p, dim: meta.dim, depth: meta.depth, heads: meta.heads, mlp: meta.mlp, batch: meta.batch, lr: meta.lr,
    decay, loss: meta.loss, steps: meta.steps,
  };
  for (const f of ARM_BY_NAME[decay].reads) config[f] = meta[f];
  return config as Partial<RunConfig>;
}

describe.each(CASES)('PyTorch parity over 60 steps: %s', (name) => {
  it('matches the loss at every step and the final weights of PyTorch float32 and float64', async () => {
    const { tensors, config: meta } = loadFixture(`arm_${name}`);
    const trainer = await createTrainer(fixtureConfig(meta as unknown as Record<string, number | string>));
    trainer.setParams(group(tensors, 'param.'));
    const inputs = tensors.inputs.data as Int32Array, targets = tensors.targets.data as Int32Array;
    const [steps, batch] = tensors.targets.shape;
    const loss32 = tensors.loss32.data, loss64 = tensors.loss64.data;
    let worst32 = 0, worst64 = 0;
    for (let t = 0; t < steps; t++) {
      const { loss } = trainer.lossAndGrads(inputs.subarray(t * batch * 3, (t + 1) * batch * 3), targets.subarray(t * batch, (t + 1) * batch));
      worst32 = Math.max(worst32, Math.abs(loss - loss32[t]) / Math.abs(loss32[t]));
      worst64 = Math.max(worst64, Math.abs(loss - loss64[t]) / Math.abs(loss64[t]));
      trainer.applyGrads();
    }
    const after = trainer.getParams();
    let w32 = 0, w64 = 0;
    for (const [pname, ref] of Object.entries(group(tensors, 'final32.'))) w32 = Math.max(w32, relErr(after[pname].data, ref));
    for (const [pname, ref] of Object.entries(group(tensors, 'final64.'))) w64 = Math.max(w64, relErr(after[pname].data, ref));
    console.log(`arm parity ${name}: loss vs f32 ${worst32.toExponential(1)}, vs f64 ${worst64.toExponential(1)}; ` +
      `weights vs f32 ${w32.toExponential(1)}, vs f64 ${w64.toExponential(1)}`);
    expect(worst32).toBeLessThan(TOL.loss);
    expect(worst64).toBeLessThan(TOL.loss);
    expect(w32).toBeLessThan(TOL.weights);
    expect(w64).toBeLessThan(TOL.weights);
  });
});
