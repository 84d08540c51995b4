import { describe, expect, it } from 'vitest';
import { randomArray, seeded } from './helpers.js';
import { Workspace, checkGradients } from './kernel_harness.js';

const s = (x: number) => (x >= 0 ? x + 1 : 1 / (1 - x));
// s as the kernel rounds it: each f32 operation rounded.
const sF = (x: number) => (x >= 0 ? Math.fround(x + 1) : Math.fround(1 / Math.fround(1 - x)));

// Per-example -log(s(x_t) / sum_j s(x_j)) in f64.
function reference(logits: Float64Array, targets: number[], v: number): Float64Array {
  return Float64Array.from(targets, (t, n) => {
    const row = logits.subarray(n * v, n * v + v);
    return -Math.log(s(row[t]) / row.reduce((a, x) => a + s(x), 0));
  });
}

describe('StableMax loss', () => {
  const rand = seeded(2501);
  it.each([[1, 2], [5, 14], [9, 113], [4, 97]])('forward sum matches the f64 reference (b %i, vocab %i)', (b, v) => {
    const ws = new Workspace();
    const logits = randomArray(b * v, rand, 6);
    const targets = Array.from({ length: b }, (_, n) => (n * 7) % v);
    const sv = ws.f32(b * v);
    const sum = ws.k.stablemaxForward(sv, ws.f32(logits), ws.i32(targets), b, v);
    const ref = reference(Float64Array.from(logits), targets, v).reduce((a, x) => a + x, 0);
    expect(Math.abs(sum - ref) / Math.abs(ref)).toBeLessThan(1e-6);
    // The kept values are s(x), rounded once to f32.
    expect(Array.from(ws.read(sv, b * v))).toEqual(Array.from(logits, sF));
  });

  it('backward of the mean matches finite differences (both branches of s, target on each side)', () => {
    const ws = new Workspace();
    const [b, v] = [4, 11];
    const logits = randomArray(b * v, rand, 3);
    logits[0 * v + 4] = 1.5; // target on the linear side
    logits[1 * v + 0] = -2.25; // target on the reciprocal side
    const targets = [4, 0, 10, 7];
    checkGradients([logits], ([l]) => Float64Array.of(reference(l, targets, v).reduce((a, x) => a + x, 0) / b), (dy) => {
      const sv = ws.f32(b * v), pl = ws.f32(logits), pt = ws.i32(targets), dl = ws.f32(b * v);
      ws.k.stablemaxForward(sv, pl, pt, b, v);
      ws.k.stablemaxBackward(dl, sv, pl, pt, b, v, dy[0] / b);
      return [ws.read(dl, b * v)];
    }, rand);
  });

  it('backward rounds as the formula says in f32', () => {
    const ws = new Workspace();
    const [b, v] = [2, 7];
    const logits = randomArray(b * v, rand, 4);
    const targets = [3, 6];
    const sv = ws.f32(b * v), pl = ws.f32(logits), pt = ws.i32(targets), dl = ws.f32(b * v);
    ws.k.stablemaxForward(sv, pl, pt, b, v);
    const scale = Math.fround(1 / b);
    ws.k.stablemaxBackward(dl, sv, pl, pt, b, v, scale);
    const f = Math.fround;
    const want: number[] = [];
    for (let n = 0; n < b; n++) {
      const x = logits.subarray(n * v, n * v + v), y = Array.from(x, sF);
      let sum = 0;
      for (const z of y) sum = f(sum + z);
      const t = targets[n];
      const own = x[t] >= 0 ? f(1 / y[t]) : y[t];
      for (let j = 0; j < v; j++) {
        const g = f((x[j] >= 0 ? 1 : f(y[j] * y[j])) / sum);
        want.push(f((j === t ? f(g - own) : g) * scale));
      }
    }
    expect(Array.from(ws.read(dl, b * v))).toEqual(want);
  });
});
