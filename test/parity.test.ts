// grokwasm against PyTorch (scripts/torch_fixtures.py, PyTorch 1.13 on CPU): forward, every
// gradient, one AdamW step of the L2 arm, one step of the LRD arm, Newton-Schulz, spectra.
import { describe, expect, it } from 'vitest';
import { Arena } from '../src/kernel/arena.js';
import { createTrainer, kernelModule, normalizeArmFields, loadKernelsSync, newtonSchulz, singularValues, type RunConfig } from '../src/node/index.js';
import { group, loadFixture, relErr } from './helpers.js';

// Reached on this machine (see the README): forward and gradients within 2e-6 of PyTorch's
// scale, parameters after a step within 1e-6. The bounds leave a margin above that.
const TOL = { forward: 1e-5, grad: 1e-5, optimizer: 1e-6, step: 1e-5, ns: 2e-5, sv: 1e-5 };

describe.each(['odd', 'single_block', 'small', 'reference'])('PyTorch parity: %s', (name) => {
  const { tensors, config } = loadFixture(name);
  const params = group(tensors, 'param.');
  const inputs = tensors.inputs.data as Int32Array;
  const targets = tensors.targets.data as Int32Array;
  const base: Partial<RunConfig> = {
    p: config.p, dim: config.dim, depth: config.depth, heads: config.heads, mlp: config.mlp,
    batch: config.batch, lr: config.lr, wd: config.wd, rate: config.rate, nsIters: config.nsIters,
  };
  const errors: Record<string, number> = {};

  it('matches logits, loss and every gradient', async () => {
    const trainer = await createTrainer(normalizeArmFields({ ...base, decay: 'l2' }));
    trainer.setParams(params);
    const out = trainer.lossAndGrads(inputs, targets);
    errors.logits = relErr(out.logits, tensors.logits.data);
    errors.loss = Math.abs(out.loss - tensors.loss.data[0]) / Math.abs(tensors.loss.data[0]);
    expect(errors.logits).toBeLessThan(TOL.forward);
    expect(errors.loss).toBeLessThan(TOL.forward);
    const refGrads = group(tensors, 'grad.');
    expect(Object.keys(out.grads).sort()).toEqual(Object.keys(refGrads).sort());
    let worst = 0;
    for (const [pname, ref] of Object.entries(refGrads)) {
      const e = relErr(out.grads[pname], ref);
      worst = Math.max(worst, e);
      expect(e, pname).toBeLessThan(TOL.grad);
    }
    errors.grad = worst;
  });

  it.each(['l2', 'lrd'] as const)('%s step: the optimiser alone matches PyTorch, fed PyTorch\'s gradients', async (decay) => {
    const trainer = await createTrainer(normalizeArmFields({ ...base, decay }));
    trainer.setParams(params);
    trainer.setGrads(group(tensors, 'grad.'));
    trainer.applyGrads();
    const after = trainer.getParams();
    let worst = 0;
    for (const [pname, ref] of Object.entries(group(tensors, `${decay}.`))) {
      const e = relErr(after[pname].data, ref);
      worst = Math.max(worst, e);
      expect(e, pname).toBeLessThan(TOL.optimizer);
    }
    errors[`${decay}Optimizer`] = worst;
  });

  it.each(['l2', 'lrd'] as const)('%s step: the whole step matches PyTorch', async (decay) => {
    const trainer = await createTrainer(normalizeArmFields({ ...base, decay }));
    trainer.setParams(params);
    trainer.lossAndGrads(inputs, targets);
    trainer.applyGrads();
    const after = trainer.getParams();
    const refGrads = group(tensors, 'grad.');
    let worst = 0, exempt = 0;
    for (const [pname, ref] of Object.entries(group(tensors, `${decay}.`))) {
      // Adam's first update is lr * g / (|g| + 1e-8): for a gradient within a few eps of zero it
      // turns float32 noise in g (about 1e-6 of the tensor's largest gradient) into a difference
      // of order lr. Such elements are checked against that bound; all others to TOL.step.
      const g = refGrads[pname];
      const gmax = g.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      const scale = ref.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      const ours = after[pname].data;
      for (let i = 0; i < ref.length; i++) {
        const diff = Math.abs(ours[i] - ref[i]);
        if (Math.abs(g[i]) < 1e-3 * gmax && Math.abs(g[i]) < 1e-6) {
          exempt++;
          expect(diff, `${pname}[${i}]`).toBeLessThan(2 * config.lr);
        } else {
          worst = Math.max(worst, diff / scale);
        }
      }
    }
    expect(worst).toBeLessThan(TOL.step);
    errors[`${decay}Step`] = worst;
    errors[`${decay}Exempt`] = exempt;
  });

  it('matches Newton-Schulz, singular values and ranks', () => {
    const kernels = loadKernelsSync(kernelModule());
    for (const [key, pname] of [['q', 'layers.0.attn.q_proj.weight'], ['mlp', 'layers.0.mlp.0.weight']] as const) {
      const w = params[pname];
      const [rows, cols] = (tensors[`param.${pname}`].shape as number[]);
      const ns = newtonSchulz(w, rows, cols, config.nsIters);
      errors[`ns.${key}`] = relErr(ns, tensors[`ns.${key}`].data);
      expect(errors[`ns.${key}`]).toBeLessThan(TOL.ns);
      const sv = singularValues(w, rows, cols);
      errors[`sv.${key}`] = relErr(sv, tensors[`sv.${key}`].data);
      expect(errors[`sv.${key}`]).toBeLessThan(TOL.sv);
      // The ranks through the kernels the trainer's evaluations use, against PyTorch's (from its own singular values).
      const arena = Arena.growing(kernels);
      const svPtr = arena.doubles(sv.length);
      arena.f64(svPtr, sv.length).set(sv);
      for (const [metric, value] of [['stable_rank', kernels.stableRankOf(svPtr, sv.length)], ['effective_rank', kernels.effectiveRankOf(svPtr, sv.length)]] as const) {
        const torch = tensors[`${metric}.${key}`].data[0];
        errors[`${metric}.${key}`] = Math.abs(value - torch) / torch;
        expect(errors[`${metric}.${key}`]).toBeLessThan(1e-6);
      }
    }
    console.log(`parity ${name}: ${Object.entries(errors).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toExponential(1)}`).join(', ')}`);
  });
});
