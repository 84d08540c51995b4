import { describe, expect, it } from 'vitest';
import { randomArray, relErr, seeded } from './helpers.js';
import { Workspace, checkKernel } from './kernel_harness.js';

describe('silu and its exponential', () => {
  const rand = seeded(41);
  it('the f32x4 exponential is within 2 ulp of exp over [-87, 88]', () => {
    const ws = new Workspace();
    const n = 20003;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = -87 + (175 * i) / (n - 1);
    const out = ws.f32(n);
    ws.k.expForward(out, ws.f32(x), n);
    const y = ws.read(out, n);
    let worstUlp = 0;
    for (let i = 0; i < n; i++) {
      const exact = Math.exp(x[i]);
      const ulp = 2 ** (Math.floor(Math.log2(exact)) - 23);
      worstUlp = Math.max(worstUlp, Math.abs(y[i] - exact) / ulp);
    }
    expect(worstUlp).toBeLessThan(2);
  });

  it('clamps instead of overflowing: exp(200) and exp(-200) stay finite', () => {
    const ws = new Workspace();
    const out = ws.f32(2);
    ws.k.expForward(out, ws.f32([200, -200]), 2);
    const [big, small] = ws.read(out, 2);
    expect(Number.isFinite(big) && big > 1e38).toBe(true);
    expect(small >= 0 && small < 1e-37).toBe(true);
  });

  const silu = (n: number) => ({
    inputs: [randomArray(n, rand, 6)],
    reference: ([x]: Float64Array[]) => x.map((v) => v / (1 + Math.exp(-v))),
    forward: (ws: Workspace, [x]: number[]) => { const out = ws.f32(n); ws.k.siluForward(out, ws.f32(n), x, n); return ws.read(out, n); },
    backward: (ws: Workspace, [x]: number[], dy: number) => {
      const out = ws.f32(n), sig = ws.f32(n), dx = ws.f32(n);
      ws.k.siluForward(out, sig, x, n);
      ws.k.siluBackward(dx, dy, x, sig, n);
      return [ws.read(dx, n)];
    },
  });
  it.each([1, 3, 4, 5, 7, 12, 33])('forward and backward against x * sigmoid(x) (n %i, including the scalar tail)', (n) => checkKernel(silu(n), rand));

  it('the sigmoid it saves is 1 / (1 + exp(-x))', () => {
    const ws = new Workspace();
    const x = randomArray(7, rand, 8);
    const out = ws.f32(7), sig = ws.f32(7);
    ws.k.siluForward(out, sig, ws.f32(x), 7);
    expect(relErr(ws.read(sig, 7), Array.from(x, (v) => 1 / (1 + Math.exp(-v))))).toBeLessThan(1e-6);
  });

  it('lanes and the scalar tail round identically', () => {
    const ws = new Workspace();
    const x = randomArray(8, rand, 5);
    const shifted = new Float32Array([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
    const a = ws.f32(8), sa = ws.f32(8), b = ws.f32(3), sb = ws.f32(3);
    ws.k.siluForward(a, sa, ws.f32(shifted), 8);
    ws.k.siluForward(b, sb, ws.f32(shifted.subarray(5)), 3); // all three in the scalar tail
    expect(Array.from(ws.read(b, 3))).toEqual(Array.from(ws.read(a, 8).subarray(5)));
  });

});
