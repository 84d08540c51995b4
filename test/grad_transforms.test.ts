import { describe, expect, it } from 'vitest';
import { randomArray, seeded } from './helpers.js';
import { Workspace } from './kernel_harness.js';

const f = Math.fround;
const SIZES = [1, 3, 4, 7, 33];

// Each reference rounds every operation to f32 as the kernel's scalar tail does; the kernel's
// f32x4 body must give the same bits, so every size (body + tail) is compared exactly.
describe('gradient transforms', () => {
  const rand = seeded(4242);

  it.each(SIZES)('grokfastEma, first and later steps (n %i)', (n) => {
    const ws = new Workspace();
    const [alpha, lambda] = [0.98, 2.0];
    const g1 = randomArray(n, rand), g2 = randomArray(n, rand);
    const pg = ws.f32(g1), pe = ws.f32(n);
    ws.k.grokfastEma(pg, pe, n, alpha, lambda, true);
    const l = f(lambda), a = f(alpha), keep = f(1 - alpha);
    let e = Array.from(g1);
    expect(Array.from(ws.read(pe, n))).toEqual(e);
    expect(Array.from(ws.read(pg, n))).toEqual(Array.from(g1, (g, i) => f(g + f(e[i] * l))));
    ws.write(pg, g2);
    ws.k.grokfastEma(pg, pe, n, alpha, lambda, false);
    e = e.map((x, i) => f(f(x * a) + f(g2[i] * keep)));
    expect(Array.from(ws.read(pe, n))).toEqual(e);
    expect(Array.from(ws.read(pg, n))).toEqual(Array.from(g2, (g, i) => f(g + f(e[i] * l))));
  });

  it.each(SIZES)('orthogonalizeGradient (n %i)', (n) => {
    const ws = new Workspace();
    const g = randomArray(n, rand), w = randomArray(n, rand);
    const pg = ws.f32(g);
    ws.k.orthogonalizeGradient(pg, ws.f32(w), n);
    let wg = 0, ww = 0, gg = 0;
    for (let i = 0; i < n; i++) { wg += w[i] * g[i]; ww += w[i] * w[i]; gg += g[i] * g[i]; }
    const coef = f(wg / (ww + 1e-30));
    const perp = Array.from(g, (x, i) => f(x - f(coef * w[i])));
    const pp = perp.reduce((s, x) => s + x * x, 0);
    const scale = f(Math.sqrt(gg) / (Math.sqrt(pp) + 1e-30));
    const got = ws.read(pg, n);
    expect(Array.from(got)).toEqual(perp.map((x) => f(x * scale)));
    if (n > 1) {
      // Orthogonal to w (up to f32 rounding) and as long as the gradient was.
      let dot = 0, norm = 0;
      for (let i = 0; i < n; i++) { dot += got[i] * w[i]; norm += got[i] * got[i]; }
      expect(Math.abs(dot)).toBeLessThan(1e-5 * Math.sqrt(gg * ww));
      expect(Math.sqrt(norm)).toBeCloseTo(Math.sqrt(gg), 5);
    }
  });

  it('orthogonalizeGradient of a zero gradient stays zero', () => {
    const ws = new Workspace();
    const pg = ws.f32(7);
    ws.k.orthogonalizeGradient(pg, ws.f32(randomArray(7, rand)), 7);
    expect(Array.from(ws.read(pg, 7))).toEqual(new Array(7).fill(0));
  });

  it.each(SIZES)('muonMomentum, Nesterov (n %i)', (n) => {
    const ws = new Workspace();
    const mu = 0.95;
    const g = randomArray(n, rand), b0 = randomArray(n, rand);
    const pu = ws.f32(n), pb = ws.f32(b0);
    ws.k.muonMomentum(pu, pb, ws.f32(g), n, mu);
    const m = f(mu);
    const buf = Array.from(b0, (b, i) => f(f(m * b) + g[i]));
    expect(Array.from(ws.read(pb, n))).toEqual(buf);
    expect(Array.from(ws.read(pu, n))).toEqual(Array.from(g, (x, i) => f(x + f(m * buf[i]))));
  });

  it.each(SIZES)('luonMomentum (n %i)', (n) => {
    const ws = new Workspace();
    const [mu, lambda] = [0.9, 0.01];
    const g = randomArray(n, rand), w = randomArray(n, rand), m0 = randomArray(n, rand);
    const pm = ws.f32(m0);
    ws.k.luonMomentum(pm, ws.f32(g), ws.f32(w), n, mu, lambda);
    const k = f(mu), l = f(lambda);
    expect(Array.from(ws.read(pm, n))).toEqual(Array.from(m0, (x, i) => f(f(k * x) + f(g[i] + f(l * w[i])))));
  });

  it.each(SIZES)('scaledUpdate (n %i)', (n) => {
    const ws = new Workspace();
    const [lr, wd, scale] = [0.02, 0.1, 0.2];
    const decay = 1 - lr * wd, step = lr * scale;
    const w = randomArray(n, rand), o = randomArray(n, rand);
    const pw = ws.f32(w);
    ws.k.scaledUpdate(pw, ws.f32(o), n, decay, step);
    const d = f(decay), s = f(step);
    expect(Array.from(ws.read(pw, n))).toEqual(Array.from(w, (x, i) => f(f(x * d) - f(s * o[i]))));
  });
});
