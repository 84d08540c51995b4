import { describe, expect, it } from 'vitest';
import { randomArray, seeded } from './helpers.js';
import { Workspace, checkGradients } from './kernel_harness.js';

function reference(logits: Float64Array, targets: number[], v: number): Float64Array {
  return Float64Array.from(targets, (t, n) => {
    const row = logits.subarray(n * v, n * v + v);
    const peak = Math.max(...row);
    return Math.log(row.reduce((s, x) => s + Math.exp(x - peak), 0)) + peak - row[t];
  });
}

describe('cross-entropy', () => {
  const rand = seeded(61);
  it.each([[1, 2], [5, 14], [9, 114]])('forward sum matches the f64 reference (b %i, vocab %i)', (b, v) => {
    const ws = new Workspace();
    const logits = randomArray(b * v, rand, 6);
    const targets = Array.from({ length: b }, (_, n) => (n * 7) % v);
    const sum = ws.k.crossEntropyForward(ws.f32(b * v), ws.f32(logits), ws.i32(targets), b, v);
    const ref = reference(Float64Array.from(logits), targets, v).reduce((s, x) => s + x, 0);
    expect(Math.abs(sum - ref) / Math.abs(ref)).toBeLessThan(1e-6);
  });

  it('backward of the mean matches finite differences', () => {
    const ws = new Workspace();
    const [b, v] = [3, 11];
    const logits = randomArray(b * v, rand, 3);
    const targets = [4, 0, 10];
    checkGradients([logits], ([l]) => Float64Array.of(reference(l, targets, v).reduce((s, x) => s + x, 0) / b), (dy) => {
      const probs = ws.f32(b * v), pl = ws.f32(logits), pt = ws.i32(targets), dl = ws.f32(b * v);
      ws.k.crossEntropyForward(probs, pl, pt, b, v);
      ws.k.crossEntropyBackward(dl, probs, pt, b, v, dy[0] / b);
      return [ws.read(dl, b * v)];
    }, rand);
  });

  it('countCorrect takes the first maximum, like argmax', () => {
    const ws = new Workspace();
    const logits = [1, 3, 3, 0, /**/ 5, 1, 5, 5, /**/ 0, 0, 0, 1];
    expect(ws.k.countCorrect(ws.f32(logits), ws.i32([1, 0, 3]), 3, 4)).toBe(3);
    expect(ws.k.countCorrect(ws.f32(logits), ws.i32([2, 2, 3]), 3, 4)).toBe(1);
  });
});
