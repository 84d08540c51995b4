import { describe, expect, it } from 'vitest';
import { randomArray, seeded } from './helpers.js';
import { Workspace, f32 } from './kernel_harness.js';

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

  it('zero gradient and zero decay leave a parameter unchanged', () => {
    const ws = new Workspace();
    const pp = ws.f32([0.5, -2, 3, 7, 1]);
    ws.k.adamwUpdate(pp, ws.f32(5), ws.f32(5), ws.f32(5), 5, 1e-3, 0.9, 0.999, 1e-8, 0, 1);
    expect(Array.from(ws.read(pp, 5))).toEqual([0.5, -2, 3, 7, 1]);
  });
});
