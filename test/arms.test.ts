// The arms as the trainer runs them (src/train/arms/): the same bits at any thread count and
// across a checkpoint, state covered by the checksum, the radial control equal to LRD without
// Newton-Schulz, the registry and the rule that a config says only what its arm reads.
import { describe, expect, it } from 'vitest';
import {
  ARM_LIST, DECAYS, DEFAULT_CONFIG, createTrainer, normalizeArmFields, optimizerGroups, parameterTable, resolveConfig, resumeTrainer,
  unusedArmFields, type RunConfig,
} from '../src/node/index.js';
import { explainGroups } from '../src/train/optimizer.js';

// Products, SiLU and AdamW split over threads (as in threads.test.ts), widths off the SIMD width.
const BASE = { p: 29, dim: 52, heads: 4, mlp: 340, batch: 250, steps: 12, evalEvery: 4, lr: 0.003 } as const;
const ARMS: Partial<RunConfig>[] = [
  { decay: 'radial', rate: 0.02 }, { decay: 'polar', rate: 0.01 }, { decay: 'prox', rate: 0.01 }, { decay: 'grokfast' },
  { decay: 'orthograd' }, { decay: 'muon' }, { decay: 'luon' }, { decay: 'lrd', loss: 'stablemax' }, { decay: 'l2', loss: 'stablemax' },
];

async function run(config: Partial<RunConfig>, threads: number) {
  const trainer = await createTrainer(config, threads);
  try {
    return await trainer.run();
  } finally {
    trainer.close();
  }
}

describe('arms', () => {
  it.each(ARMS.map((a) => [`${a.decay}${a.loss ? ` ${a.loss}` : ''}`, a] as const))('%s: T = 1, 2, 3, 4 give the same checksum and history; a checkpoint resumes to the same bits', async (_, arm) => {
    const config = { ...BASE, ...arm };
    const one = await run(config, 1);
    for (const t of [2, 3, 4]) {
      const many = await run(config, t);
      expect(many.checksum).toBe(one.checksum);
      expect(many.history).toEqual(one.history);
    }
    const first = await createTrainer(config, 2);
    await first.run(undefined, { stopAt: 7 });
    const bytes = first.saveCheckpoint();
    first.close();
    const second = await resumeTrainer(bytes, 1);
    const resumed = await second.run();
    expect(resumed.checksum).toBe(one.checksum);
    expect(resumed.history).toEqual(one.history);
  }, 120_000);

  it('the state of an arm that keeps one (grokfast, muon, luon) is in the checksum: dropping it changes the run', async () => {
    const config = { ...BASE, decay: 'muon', steps: 6 } as const;
    const whole = await run(config, 1);
    const first = await createTrainer(config, 1);
    await first.run(undefined, { stopAt: 3 });
    const bytes = first.saveCheckpoint();
    // A checkpoint without the momentum is refused, not resumed from zero momentum.
    const { decodeCheckpoint, encodeCheckpoint } = await import('../src/format/checkpoint.js');
    const { config: c, state, tensors } = decodeCheckpoint(bytes);
    const stripped = Object.fromEntries(Object.entries(tensors).filter(([n]) => !n.startsWith('arm.state.')).map(([n, t]) => [n, { shape: t.shape, data: t.data }]));
    await expect(resumeTrainer(encodeCheckpoint(c, state, stripped), 1)).rejects.toThrow(/'arm\.state\.[^']+' is missing/);
    expect((await (await resumeTrainer(bytes, 1)).run()).checksum).toBe(whole.checksum);
  }, 60_000);

  it('a compare of every arm verifies to the bit, and a changed arm field is caught', async () => {
    const { verifyTargets, verifyResult, compareCells, parseArmSettings, settingConfigs, PRESET, cellLine, cellRecord } = await import('../src/node/index.js');
    const settings = parseArmSettings('l2,lrd,radial:rate=0.02,polar,prox,grokfast,orthograd,muon,luon,lrd:loss=stablemax');
    const configs = settingConfigs(PRESET.quick, settings, { p: 11, dim: 12, heads: 3, mlp: 20, batch: 40, steps: 6, evalEvery: 3 });
    const cells = compareCells(configs, settings, [0]);
    let text = '';
    for (const c of cells) text += cellLine(cellRecord(c, await run(c.config, 1)));
    for (const target of verifyTargets(text, 'cells.jsonl')) {
      const report = await verifyResult(target, (config) => createTrainer(config, 1));
      expect(report.ok, target.label).toBe(true);
    }
    // The Muon run relabelled with another muonLr: its label and config now say 0.03, the rerun differs.
    const forged = text.trim().split('\n').map((line) => {
      const r = JSON.parse(line);
      if (r.arm !== 'muon') return line;
      return JSON.stringify({ ...r, arm: 'muon:muonLr=0.03', config: { ...r.config, muonLr: 0.03 } });
    }).join('\n') + '\n';
    const muon = verifyTargets(forged, 'cells.jsonl').find((t) => t.label.includes('muon:muonLr=0.03'))!;
    expect((await verifyResult(muon, (config) => createTrainer(config, 1))).ok).toBe(false);
  }, 120_000);

  it('radial is LRD with zero Newton-Schulz iterations, to the bit', async () => {
    const radial = await run({ ...BASE, steps: 6, decay: 'radial', rate: 0.02 }, 1);
    const lrd0 = await run({ ...BASE, steps: 6, decay: 'lrd', rate: 0.02, nsIters: 0 }, 1);
    expect(radial.checksum).toBe(lrd0.checksum);
  }, 60_000);

  it('the registry lists every arm once, by the names the config takes', () => {
    expect(ARM_LIST.map((a) => a.name)).toEqual([...DECAYS]);
    for (const a of ARM_LIST) expect(a.reads).toContain(a.strength.field);
  });

  it('a config holding a non-default value in a field its arm does not read is refused in one line', () => {
    expect(() => resolveConfig({ decay: 'l2', rate: 0.01 })).toThrow(/^rate is not read by the l2 arm, so it must keep its default 0\.005 \(got 0\.01\); the l2 arm reads wd$/);
    expect(() => resolveConfig({ decay: 'lrd', alpha: 0.9 })).toThrow(/alpha is not read by the lrd arm/);
    expect(unusedArmFields('muon')).toEqual(['rate', 'nsIters', 'alpha', 'lambda', 'luonLambda']);
    expect(normalizeArmFields({ ...DEFAULT_CONFIG, decay: 'l2', rate: 0.3, nsIters: 2 })).toMatchObject({ rate: 0.005, nsIters: 5 });
  });

  it('optimizer groups: Muon takes the block matrices from AdamW, LowRankMuon the Q/K weights; --explain says so', () => {
    const table = parameterTable({ vocab: 12, seqLen: 3, dim: 8, depth: 2, heads: 2, mlp: 16 });
    const muon = optimizerGroups(resolveConfig({ decay: 'muon' }), table);
    expect(muon.filter((g) => g.weightDecay === null).map((g) => g.name)).toEqual(table.filter((p) => p.name.startsWith('layers.') && p.shape.length === 2).map((p) => p.name));
    const luon = optimizerGroups(resolveConfig({ decay: 'luon' }), table);
    expect(luon.filter((g) => g.weightDecay === null).map((g) => g.name)).toEqual(table.filter((p) => p.queryKey).map((p) => p.name));
    const lines = explainGroups(resolveConfig({ decay: 'lrd' }), optimizerGroups(resolveConfig({ decay: 'lrd' }), table));
    expect(lines[0]).toMatch(/^arm lrd \(Low-Rank Decay\): /);
    expect(lines).toContain('  layers.0.attn.q_proj.weight .. layers.0.attn.k_proj.weight (2 tensors): AdamW wd 0, minus rate x Newton-Schulz polar factor');
  });
});

describe('split pairs', () => {
  it('keeps (a, b) and (b, a) on one side, and the training share within one pair of the ordered split', async () => {
    const trainer = await createTrainer({ p: 13, dim: 8, heads: 2, mlp: 8, batch: 16, steps: 1, frac: 0.5, split: 'pairs' });
    const p = 13;
    const side = new Map<number, string>();
    for (const split of ['train', 'val'] as const) {
      const { inputs } = trainer.examples(split);
      for (let i = 0; i < inputs.length; i += 3) side.set(inputs[i] * p + inputs[i + 1], split);
    }
    expect(side.size).toBe(p * p);
    for (const [id, s] of side) expect(side.get((id % p) * p + Math.floor(id / p))).toBe(s);
    const { train } = trainer.datasetSizes;
    expect(train === Math.floor(p * p * 0.5) || train === Math.floor(p * p * 0.5) - 1).toBe(true);
    // No validation pair has its mirror trained: the mirrored share is empty.
    const row = trainer.evaluate();
    expect(row.valAccMirrored).toBeNull();
    expect(row.valAccUnmirrored).toBe(row.valAcc);
  });

  it('is refused for a task that is not commutative', () => {
    expect(() => resolveConfig({ task: 'sub', split: 'pairs' })).toThrow(/^split 'pairs' needs a commutative task/);
  });
});
