import { describe, expect, it } from 'vitest';
import { TASKS, createTrainer, resolveConfig, taskTarget } from '../src/node/index.js';

// Each operation written out directly, with BigInt so nothing can overflow.
function expected(task: string, a: number, b: number, p: number): number {
  const [A, B, P] = [BigInt(a), BigInt(b), BigInt(p)];
  const m = (x: bigint) => Number(((x % P) + P) % P);
  switch (task) {
    case 'add': return m(A + B);
    case 'sub': return m(A - B);
    case 'mul': return m(A * B);
    case 'div': { for (let c = 0; c < p; c++) if (m(BigInt(c) * B) === a) return c; throw new Error('no quotient'); }
    case 'x2y2': return m(A * A + B * B);
    case 'x2xyy2': return m(A * A + A * B + B * B);
    case 'x3xy': return m(A * A * A + A * B);
  }
  throw new Error(task);
}

describe('tasks', () => {
  it.each(TASKS)('%s: every example of the split has the right target and no pair repeats', async (task) => {
    const p = 13;
    const t = await createTrainer({ task, p, dim: 8, heads: 2, mlp: 8, frac: 0.4 });
    const total = task === 'div' ? p * (p - 1) : p * p;
    expect(t.datasetSizes).toEqual({ train: Math.floor(total * 0.4), val: total - Math.floor(total * 0.4) });
    const seen = new Set<number>();
    for (const split of ['train', 'val'] as const) {
      const { inputs, targets } = t.examples(split);
      for (let n = 0; n < targets.length; n++) {
        const [a, b, eq] = [inputs[3 * n], inputs[3 * n + 1], inputs[3 * n + 2]];
        expect(eq).toBe(p);
        if (task === 'div') expect(b).not.toBe(0);
        expect(targets[n]).toBe(expected(task, a, b, p));
        seen.add(a * p + b);
      }
    }
    expect(seen.size).toBe(total);
    t.step(); // trains on it
  });

  // The largest moduli allowed (2000; 1999, the largest prime, for div): a^3 + ab reaches 8e9,
  // past 32-bit integers, so arithmetic in int32 (or reduced too late in floats) fails here.
  it.each(TASKS)('%s stays exact at the largest modulus allowed, on extreme and random operands', (task) => {
    const p = task === 'div' ? 1999 : 2000;
    const extremes = [0, 1, 2, p - 2, p - 1];
    const rand = (() => { let s = 12345; return () => (s = (s * 1103515245 + 12345) % 2147483648) % p; })();
    const pairs = [...extremes.flatMap((a) => extremes.map((b) => [a, b])), ...Array.from({ length: 200 }, () => [rand(), rand()])];
    for (const [a, b] of pairs) {
      if (task === 'div' && b === 0) continue;
      expect(taskTarget(task, a, b, p), `${task}(${a}, ${b}) mod ${p}`).toBe(expected(task, a, b, p));
    }
    expect(() => resolveConfig({ task, p })).not.toThrow();
  });

  it('division needs a prime modulus', () => {
    expect(() => resolveConfig({ task: 'div', p: 12 })).toThrow('p must be prime for task div, so that every b != 0 has an inverse (got 12)');
    expect(() => resolveConfig({ task: 'div', p: 97 })).not.toThrow();
    expect(() => resolveConfig({ task: 'pow' as never })).toThrow(/task must be one of add, sub, mul, div, x2y2, x2xyy2, x3xy/);
  });
});
