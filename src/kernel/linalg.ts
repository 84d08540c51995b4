// One-off matrix computations on a kernel instance: the Newton-Schulz polar factor, the
// singular values and single products, for tests, figures, the WebGPU check and users
// checking a weight matrix by hand.
import { matmulOnKernel, operandSizes, type MatmulLayout } from './matmul_call.js';
import type { KernelExports } from './wasm.js';

// Grows the instance's memory to hold `bytes` past the heap base; returns that base. Only for
// one-off use: views must be taken after this call.
export function workspace(k: KernelExports, bytes: number): number {
  const base = k.heapBase();
  const needed = Math.ceil((base + bytes) / 65536);
  const have = k.memory.buffer.byteLength / 65536;
  if (needed > have) k.memory.grow(needed - have);
  return base;
}

function checkMatrix(w: Float32Array, rows: number, cols: number): void {
  if (!(Number.isInteger(rows) && rows >= 1 && Number.isInteger(cols) && cols >= 1)) {
    throw new RangeError(`matrix shape must be positive integers (got ${rows} x ${cols})`);
  }
  if (w.length !== rows * cols) throw new RangeError(`matrix has ${w.length} values, expected ${rows} x ${cols}`);
}

/** Newton-Schulz polar factor of w[rows x cols] after `iters` iterations (the reference's cubic step). */
export function newtonSchulzWith(k: KernelExports, w: Float32Array, rows: number, cols: number, iters = 5): Float32Array {
  checkMatrix(w, rows, cols);
  const n = rows * cols;
  const scratch = k.newtonSchulzScratchFloats(rows, cols) + 8;
  const base = workspace(k, 4 * (2 * n + scratch) + 64);
  const inPtr = base, outPtr = base + 4 * n + 16 - ((4 * n) % 16), scratchPtr = outPtr + 4 * n + 16 - ((4 * n) % 16);
  new Float32Array(k.memory.buffer, inPtr, n).set(w);
  k.newtonSchulz(outPtr, inPtr, rows, cols, iters, scratchPtr);
  return new Float32Array(k.memory.buffer, outPtr, n).slice();
}

/** Singular values of w[rows x cols], descending, computed in f64. */
export function singularValuesWith(k: KernelExports, w: Float32Array, rows: number, cols: number): Float64Array {
  checkMatrix(w, rows, cols);
  const n = rows * cols, s = Math.min(rows, cols);
  const base = workspace(k, 4 * n + 8 * (s + k.spectralScratchDoubles(rows, cols)) + 64);
  const inPtr = base, svPtr = base + 8 * Math.ceil((4 * n) / 8) + 16, scratchPtr = svPtr + 8 * s + 16;
  new Float32Array(k.memory.buffer, inPtr, n).set(w);
  if (!k.singularValues(svPtr, inPtr, rows, cols, scratchPtr)) throw new Error('singular values: the QL iteration did not converge');
  return new Float64Array(k.memory.buffer, svPtr, s).slice();
}

/** One product of the given layout on the Wasm kernel (shapes as in src/matmul_call.ts), from host arrays. */
export function matmulWith(k: KernelExports, layout: MatmulLayout, a: Float32Array, b: Float32Array, m: number, kk: number, n: number): Float32Array {
  const size = operandSizes(layout, m, kk, n);
  if (a.length !== size.a || b.length !== size.b) throw new RangeError(`${layout}: operands have ${a.length} and ${b.length} values, expected ${size.a} and ${size.b}`);
  const pad = (floats: number) => 4 * floats + 16 - ((4 * floats) % 16);
  const scratch = k.matmulScratchFloats(Math.max(m, kk, n), Math.max(m, kk, n));
  const base = workspace(k, pad(size.a) + pad(size.b) + pad(size.out) + 4 * scratch + 64);
  const pa = base, pb = pa + pad(size.a), out = pb + pad(size.b), pScratch = out + pad(size.out);
  new Float32Array(k.memory.buffer, pa, size.a).set(a);
  new Float32Array(k.memory.buffer, pb, size.b).set(b);
  matmulOnKernel(k, { layout, out, a: pa, b: pb, m, k: kk, n, accumulate: false }, pScratch);
  return new Float32Array(k.memory.buffer, out, size.out).slice();
}
