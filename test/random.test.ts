import { describe, expect, it } from 'vitest';
import { Workspace } from './kernel_harness.js';

describe('random (xoshiro128** in linear memory)', () => {
  function draws(seed: number, stream: number, n: number): number[] {
    const ws = new Workspace();
    const state = ws.f32(4);
    ws.k.randomSeed(state, seed, stream);
    return Array.from({ length: n }, () => ws.k.randomNext(state) >>> 0);
  }

  it('is a pure function of (seed, stream)', () => {
    expect(draws(7, 1, 50)).toEqual(draws(7, 1, 50));
    expect(draws(7, 1, 50)).not.toEqual(draws(7, 2, 50));
    expect(draws(7, 1, 50)).not.toEqual(draws(8, 1, 50));
  });

  it('randomBelow stays in range and covers it evenly', () => {
    const ws = new Workspace();
    const state = ws.f32(4);
    ws.k.randomSeed(state, 3, 0);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) {
      const x = ws.k.randomBelow(state, 7);
      expect(x >= 0 && x < 7).toBe(true);
      counts[x]++;
    }
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
  });

  it('uniform and normal fills have the requested moments', () => {
    const ws = new Workspace();
    const state = ws.f32(4), n = 40001;
    ws.k.randomSeed(state, 5, 0);
    const u = ws.f32(n), g = ws.f32(n);
    ws.k.randomUniform(state, u, n, -0.25, 0.25);
    ws.k.randomNormal(state, g, n, 0, 0.02);
    const us = ws.read(u, n), gs = ws.read(g, n);
    expect(Math.min(...us)).toBeGreaterThanOrEqual(-0.25);
    expect(Math.max(...us)).toBeLessThan(0.25);
    const mean = gs.reduce((s, x) => s + x, 0) / n;
    const std = Math.sqrt(gs.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.0005);
  });

  it('shuffle is a permutation', () => {
    const ws = new Workspace();
    const state = ws.f32(4);
    ws.k.randomSeed(state, 9, 0);
    const items = ws.i32(Array.from({ length: 101 }, (_, i) => i));
    ws.k.randomShuffle(state, items, 101);
    const out = Array.from(new Int32Array(ws.k.memory.buffer, items, 101));
    expect(out).not.toEqual(Array.from({ length: 101 }, (_, i) => i));
    expect([...out].sort((a, b) => a - b)).toEqual(Array.from({ length: 101 }, (_, i) => i));
  });
});

describe('hash', () => {
  it('sees every bit and every length', () => {
    const ws = new Workspace();
    const bytes = Array.from({ length: 37 }, (_, i) => (i * 37) & 0xff);
    const ptr = ws.i32(new Array(10).fill(0));
    const u8 = new Uint8Array(ws.k.memory.buffer, ptr, 40);
    u8.set(bytes);
    const digest = (len: number) => ws.k.hashFinish(ws.k.hashUpdate(1n, ptr, len));
    const base = digest(37);
    expect(digest(37)).toBe(base);
    expect(digest(36)).not.toBe(base);
    for (const bit of [0, 9, 100, 290]) {
      u8[bit >> 3] ^= 1 << (bit & 7);
      expect(digest(37)).not.toBe(base);
      u8[bit >> 3] ^= 1 << (bit & 7);
    }
  });
});
