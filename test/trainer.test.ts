// The trainer through its public API: determinism, the guard checksum, learning, and refusals.
import { describe, expect, it } from 'vitest';
import { ConfigError, createTrainer, optimizerGroups, parameterTable, resolveConfig } from '../src/node/index.js';
import { storedConfigSchema } from '../src/train/config.js';
import { GUARD_CHECKSUM, GUARD_CONFIG as SMALL } from './guard.js';

describe('determinism', () => {
  it('the same config twice gives identical checksums and histories', async () => {
    const a = await (await createTrainer(SMALL)).run();
    const b = await (await createTrainer(SMALL)).run();
    expect(a.checksum).toBe(b.checksum);
    expect(a.history).toEqual(b.history);
    // 50 steps evaluated every 10: steps 0, 10, ..., 40 and the last, 49 (evalLast).
    expect(a.history.map((r) => r.step)).toEqual([0, 10, 20, 30, 40, 49]);
  });

  it('evalLast no keeps the reference schedule; the last row is the final model, the rows before unchanged', async () => {
    const yes = await (await createTrainer(SMALL)).run();
    const no = await (await createTrainer({ ...SMALL, evalLast: 'no' })).run();
    expect(no.history.map((r) => r.step)).toEqual([0, 10, 20, 30, 40]);
    expect(yes.history.slice(0, 5)).toEqual(no.history);
    expect(yes.history[5].checksum).toBe(yes.checksum);
    expect(no.checksum).toBe(yes.checksum);
  });

  it('a stored config written before evalLast existed ran without the last evaluation', () => {
    const { evalLast: _, ...old } = resolveConfig(SMALL);
    expect(storedConfigSchema.parse(old).evalLast).toBe('no');
    expect(storedConfigSchema.parse({ ...old, evalLast: 'yes' }).evalLast).toBe('yes');
    expect(resolveConfig({}).evalLast).toBe('yes');
  });

  it('another seed gives another checksum', async () => {
    const a = await (await createTrainer(SMALL)).run();
    const b = await (await createTrainer({ ...SMALL, seed: 1 })).run();
    expect(a.checksum).not.toBe(b.checksum);
  });

  it('the arms differ only through their decay', async () => {
    const lrd = await createTrainer({ ...SMALL, decay: 'lrd' });
    const l2 = await createTrainer({ ...SMALL, decay: 'l2' });
    // Same seed: same split and same initial weights.
    expect(lrd.getParams()).toEqual(l2.getParams());
    expect(lrd.checksum()).toBe(l2.checksum());
    lrd.step(); l2.step();
    expect(lrd.checksum()).not.toBe(l2.checksum());
  });

  // A literal guard against silent numerical change (see guard.ts).
  it('50 steps of a fixed small config end on the committed checksum', async () => {
    const result = await (await createTrainer(SMALL)).run();
    expect(result.steps).toBe(50);
    expect(result.checksum).toBe(GUARD_CHECKSUM);
  });
});

describe('learning', () => {
  it('the LRD arm groks a small task: validation accuracy >= 0.99 within 3000 steps', async () => {
    const config = { p: 29, dim: 32, heads: 4, mlp: 128, frac: 0.8, rate: 0.003, steps: 3000, evalEvery: 100, seed: 0 };
    const result = await (await createTrainer(config)).run();
    expect(result.bestValAcc).toBeGreaterThanOrEqual(0.99);
    expect(result.grokStep).not.toBeNull();
    // The low-rank collapse the paper describes: when it generalises, the QK stable rank is
    // far below its initial value.
    const grokked = result.history.find((r) => r.step === result.grokStep)!;
    expect(grokked.stableRank).toBeLessThan(result.history[0].stableRank / 2);
  });
});

describe('API', () => {
  it('optimizer groups: L2 decays everything, LRD spares q_proj/k_proj and decays them low-rank', () => {
    const table = parameterTable({ vocab: 12, seqLen: 3, dim: 8, depth: 2, heads: 2, mlp: 16 });
    const l2 = optimizerGroups(resolveConfig({ decay: 'l2', wd: 0.3 }), table);
    expect(l2.every((g) => g.weightDecay === 0.3 && g.extra === null)).toBe(true);
    const lrd = optimizerGroups(resolveConfig({ decay: 'lrd', wd: 0.1 }), table);
    const qk = lrd.filter((g) => /attn\.(q|k)_proj/.test(g.name));
    expect(qk.map((g) => g.name)).toEqual([
      'layers.0.attn.q_proj.weight', 'layers.0.attn.k_proj.weight', 'layers.1.attn.q_proj.weight', 'layers.1.attn.k_proj.weight',
    ]);
    expect(qk.every((g) => g.weightDecay === 0 && /Newton-Schulz/.test(g.extra ?? ''))).toBe(true);
    expect(lrd.filter((g) => !qk.includes(g)).every((g) => g.weightDecay === 0.1 && g.extra === null)).toBe(true);
  });

  it('getParams returns state_dict names and shapes; setParams round-trips and checks sizes', async () => {
    const t = await createTrainer(SMALL);
    const params = t.getParams();
    expect(Object.keys(params)[0]).toBe('pos_embedding');
    expect(params.pos_embedding.shape).toEqual([1, 3, 12]);
    expect(params['layers.1.mlp.0.weight'].shape).toEqual([20, 12]);
    expect(params['lm_head.weight'].shape).toEqual([12, 12]);
    const values = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.data.map((x) => x * 0.5)]));
    t.setParams(values);
    expect(t.getParams()['embedding.weight'].data).toEqual(values['embedding.weight']);
    expect(() => t.setParams({ ...values, 'norm_final.g': new Float32Array(3) })).toThrow(/norm_final.g/);
    expect(() => t.setParams({ ...values, extra: new Float32Array(1) })).toThrow(/unknown parameter 'extra'/);
  });

  it('lossAndGrads refuses tokens and targets outside the vocabulary', async () => {
    const t = await createTrainer(SMALL);
    expect(() => t.lossAndGrads(new Int32Array([1, 2, 12]), new Int32Array([3]))).toThrow(/token 12/);
    expect(() => t.lossAndGrads(new Int32Array([1, 2, 11]), new Int32Array([12]))).toThrow(/target 12/);
    expect(() => t.applyGrads()).toThrow(/no gradients/);
  });

  it('config errors name the field and its allowed range', () => {
    expect(() => resolveConfig({ p: 1 })).toThrow(new ConfigError('p', 'p must be an integer in [2, 2000] (got 1)'));
    expect(() => resolveConfig({ frac: 1 })).toThrow(/frac must be a number in \(0, 1\)/);
    expect(() => resolveConfig({ dim: 10, heads: 4 })).toThrow(/heads must divide dim/);
    expect(() => resolveConfig({ decay: 'x' as never })).toThrow(/decay must be one of l2, lrd/);
    expect(() => resolveConfig({ p: 3, frac: 0.05 })).toThrow(/at least one training/);
    expect(() => resolveConfig({ wat: 1 } as never)).toThrow(/unknown config field 'wat'/);
  });
});

describe('attention pattern', () => {
  it('equals a float64 computation of layer 0, head 0 over the tokens at position 0', async () => {
    const t = await createTrainer({ p: 9, dim: 12, heads: 3, mlp: 8 });
    t.step();
    const P = t.getParams();
    const [p, D, H] = [9, 12, 3], hd = D / H;
    const norm = (x: number[], g: Float32Array) => {
      const n = Math.max(Math.hypot(...x), 1e-12);
      return x.map((v, i) => (v / n) * Math.sqrt(D) * g[i]);
    };
    const linear = (x: number[], w: Float32Array) => Array.from({ length: D }, (_, o) => x.reduce((s, v, i) => s + v * w[o * D + i], 0));
    const rows = Array.from({ length: p }, (_, tok) => {
      const x = Array.from({ length: D }, (_, i) => P['embedding.weight'].data[tok * D + i] + P.pos_embedding.data[i]);
      const n = norm(x, P['layers.0.norm1.g'].data);
      return {
        q: norm(linear(n, P['layers.0.attn.q_proj.weight'].data), P['layers.0.attn.q_norm.g'].data).slice(0, hd),
        k: norm(linear(n, P['layers.0.attn.k_proj.weight'].data), P['layers.0.attn.k_norm.g'].data).slice(0, hd),
      };
    });
    const pattern = t.attentionPattern(0);
    expect(pattern).toHaveLength(p);
    for (let i = 0; i < p; i++) {
      const s = rows.map((r) => rows[i].q.reduce((acc, v, d) => acc + v * r.k[d], 0) / Math.sqrt(hd));
      const e = s.map((v) => Math.exp(v - Math.max(...s)));
      const total = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < p; j++) expect(pattern[i][j]).toBeCloseTo(e[j] / total, 5);
    }
  });
});
