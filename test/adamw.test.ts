import { describe, expect, it } from 'vitest';
import { randomArray, seeded } from './helpers.js';
import { Workspace, f32 } from './kernel_harness.js';
import { parameterArenaFloats, parameterTable } from '../src/model/params.js';
import { adamRuns, optimizerGroups } from '../src/train/optimizer.js';
import { resolveConfig } from '../src/core.js';

// PyTorch 1.13 _single_tensor_adamw, rounding each tensor operation to float32 and the Python
// scalars (lr, betas, bias corrections) to float32 where PyTorch casts them.
function reference(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, wd: number, step: number) {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const stepSize = f32(-(lr / (1 - b1 ** step)));
  const bc2 = f32(Math.sqrt(1 - b2 ** step));
  for (let i = 0; i < p.length; i++) {
    p[i] = f32(p[i] * f32(1 - lr * wd));
    m[i] = f32(f32(m[i] * f32(b1)) + f32(f32(1 - b1) * g[i]));
    v[i] = f32(f32(v[i] * f32(b2)) + f32(f32(f32(1 - b2) * g[i]) * g[i]));
    const denom = f32(f32(f32(Math.sqrt(v[i])) / bc2) + f32(eps));
    p[i] = f32(p[i] + f32(f32(stepSize * m[i]) / denom));
  }
}

describe('adamw', () => {
  const rand = seeded(71);
  it.each([1, 4, 7, 130])('three steps equal PyTorch\'s rounding bit for bit (n %i)', (n) => {
    const ws = new Workspace();
    const p = randomArray(n, rand), m = new Float32Array(n), v = new Float32Array(n);
    const pp = ws.f32(p), pm = ws.f32(n), pv = ws.f32(n);
    for (let step = 1; step <= 3; step++) {
      const g = randomArray(n, rand, 0.1);
      ws.k.adamwUpdate(pp, ws.f32(g), pm, pv, n, 1e-3, 0.9, 0.999, 1e-8, step === 2 ? 0 : 0.1, step);
      reference(p, g, m, v, 1e-3, step === 2 ? 0 : 0.1, step);
    }
    expect(ws.read(pp, n)).toEqual(p);
    expect(ws.read(pm, n)).toEqual(m);
    expect(ws.read(pv, n)).toEqual(v);
  });

  // The optimiser merges neighbouring tensors with one weight decay into one call
  // (src/train/optimizer.ts); widths of 29 and 50 leave padding between tensors.
  it.each(['lrd', 'l2'] as const)('merged AdamW calls give the bits of one call per tensor, padding included (%s arm)', (decay) => {
    const config = resolveConfig({ decay, p: 23, dim: 50, heads: 2, mlp: 29 });
    const table = parameterTable({ vocab: 25, seqLen: 3, dim: 50, depth: 2, heads: 2, mlp: 29 });
    const groups = optimizerGroups(config, table);
    const runs = adamRuns(table, groups);
    expect(runs.length).toBe(decay === 'l2' ? 1 : 5);
    const floats = parameterArenaFloats(table);
    const start = randomArray(floats, rand), grad = randomArray(floats, rand, 0.1);
    // Padding is zero in every buffer, as the arena leaves it.
    const used = new Uint8Array(floats);
    for (const t of table) used.fill(1, t.offset, t.offset + t.size);
    for (let i = 0; i < floats; i++) if (!used[i]) start[i] = grad[i] = 0;
    expect(used.includes(0)).toBe(true);
    const finals = [false, true].map((merged) => {
      const ws = new Workspace();
      const [pp, pg, pm, pv] = [ws.f32(start), ws.f32(grad), ws.f32(floats), ws.f32(floats)];
      for (let step = 1; step <= 2; step++) {
        const calls = merged ? runs : table.map((t, i) => ({ offset: t.offset, size: t.size, weightDecay: groups[i].weightDecay ?? 0 }));
        for (const c of calls) {
          const o = 4 * c.offset;
          ws.k.adamwUpdate(pp + o, pg + o, pm + o, pv + o, c.size, 1e-3, 0.9, 0.999, 1e-8, c.weightDecay, step);
        }
      }
      return [pp, pm, pv].map((ptr) => Array.from(ws.read(ptr, floats)));
    });
    expect(finals[1]).toEqual(finals[0]);
  });

  it('zero gradient and zero decay leave a parameter unchanged', () => {
    const ws = new Workspace();
    const pp = ws.f32([0.5, -2, 3, 7, 1]);
    ws.k.adamwUpdate(pp, ws.f32(5), ws.f32(5), ws.f32(5), 5, 1e-3, 0.9, 0.999, 1e-8, 0, 1);
    expect(Array.from(ws.read(pp, 5))).toEqual([0.5, -2, 3, 7, 1]);
  });
});
