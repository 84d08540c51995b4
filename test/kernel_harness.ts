// A tiny harness for testing one kernel at a time on a fresh module instance: buffers in linear
// memory, float64 reference helpers, and a finite-difference gradient check (tinygrad-style:
// one call per kernel compares its backward against numerical derivatives of a f64 reference).
import { expect } from 'vitest';
import { kernelModule, loadKernelsSync, type KernelExports } from '../src/node/index.js';
import { relErr } from './helpers.js';
import { Arena } from '../src/kernel/arena.js';

/** Buffers on a fresh module instance, from the project's one allocator (a growing Arena). */
export class Workspace {
  readonly k: KernelExports;
  private readonly arena: Arena;

  constructor() {
    this.k = loadKernelsSync(kernelModule());
    this.arena = Arena.growing(this.k);
  }

  /** A f32 buffer holding `init` (or n zeros); returns its pointer. */
  f32(init: ArrayLike<number> | number): number {
    const n = typeof init === 'number' ? init : init.length;
    const ptr = this.arena.words(n);
    if (typeof init !== 'number') new Float32Array(this.k.memory.buffer, ptr, n).set(init);
    return ptr;
  }

  i32(init: ArrayLike<number>): number {
    const ptr = this.arena.words(init.length);
    new Int32Array(this.k.memory.buffer, ptr, init.length).set(init);
    return ptr;
  }

  f64(n: number): number {
    return this.arena.doubles(n);
  }

  read(ptr: number, n: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, ptr, n).slice();
  }

  readF64(ptr: number, n: number): Float64Array {
    return new Float64Array(this.k.memory.buffer, ptr, n).slice();
  }

  write(ptr: number, data: ArrayLike<number>): void {
    new Float32Array(this.k.memory.buffer, ptr, data.length).set(data);
  }
}

/**
 * Checks analytic gradients against central differences of a float64 reference:
 * L(x) = sum(weights * reference(x)), dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / 2h.
 * `analytic` receives the weights as dy and returns the kernel's gradient for each input.
 */
export function checkGradients(
  inputs: Float32Array[],
  reference: (xs: Float64Array[]) => Float64Array,
  analytic: (dy: Float32Array) => Float32Array[],
  rand: () => number,
  tol = 2e-3,
): void {
  const xs = inputs.map((x) => Float64Array.from(x));
  const outLength = reference(xs).length;
  const weights = new Float32Array(outLength);
  for (let i = 0; i < outLength; i++) weights[i] = rand() * 2 - 1;
  const loss = (v: Float64Array[]) => reference(v).reduce((s, y, i) => s + weights[i] * y, 0);
  const grads = analytic(weights);
  const h = 1e-5;
  inputs.forEach((_, which) => {
    const numeric = new Float64Array(xs[which].length);
    for (let i = 0; i < numeric.length; i++) {
      const keep = xs[which][i];
      xs[which][i] = keep + h;
      const up = loss(xs);
      xs[which][i] = keep - h;
      const down = loss(xs);
      xs[which][i] = keep;
      numeric[i] = (up - down) / (2 * h);
    }
    expect(relErr(grads[which], numeric), `gradient of input ${which}`).toBeLessThan(tol);
  });
}

/** Round-trips a JS number through float32, the rounding every kernel operation applies. */
export const f32 = Math.fround;

export interface KernelCase {
  /** What the kernel reads, as float32. */
  inputs: Float32Array[];
  /** The float64 reference of the output. */
  reference: (xs: Float64Array[]) => ArrayLike<number>;
  /** Runs the forward kernel on the inputs' pointers and returns its output. */
  forward: (ws: Workspace, ptrs: number[]) => Float32Array;
  /** Runs the forward then the backward kernel with output gradient dy; returns each input's gradient. */
  backward?: (ws: Workspace, ptrs: number[], dy: number) => Float32Array[];
  /** Forward relative error (default 1e-6) and gradient relative error against finite differences (default 2e-3). */
  tol?: { forward?: number; backward?: number };
}

/**
 * tinygrad's helper_test_op for one kernel: the forward against its float64 reference, then
 * (when given) the backward against central differences of that reference, each on a fresh
 * module instance, in one call.
 */
export function checkKernel(c: KernelCase, rand: () => number): void {
  const ws = new Workspace();
  const out = c.forward(ws, c.inputs.map((x) => ws.f32(x)));
  const want = c.reference(c.inputs.map((x) => Float64Array.from(x)));
  expect(relErr(out, want), 'forward').toBeLessThan(c.tol?.forward ?? 1e-6);
  if (!c.backward) return;
  const backward = c.backward;
  checkGradients(c.inputs, (xs) => Float64Array.from(c.reference(xs)), (dy) => {
    const bw = new Workspace();
    return backward(bw, c.inputs.map((x) => bw.f32(x)), bw.f32(dy));
  }, rand, c.tol?.backward);
}
