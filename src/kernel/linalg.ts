// One-off matrix computations on a kernel instance: the Newton-Schulz polar factor, the exact
// polar factor and nuclear-norm prox, Muon's orthogonalisation, the singular values and single
// products, for tests, figures, the WebGPU check and users checking a weight matrix by hand.
import { Arena } from './arena.js';
import { matmulOnKernel, operandSizes, type MatmulLayout } from './matmul_call.js';
import type { KernelExports } from './wasm.js';

function checkMatrix(w: Float32Array, rows: number, cols: number): void {
  if (!(Number.isInteger(rows) && rows >= 1 && Number.isInteger(cols) && cols >= 1)) {
    throw new RangeError(`matrix shape must be positive integers (got ${rows} x ${cols})`);
  }
  if (w.length !== rows * cols) throw new RangeError(`matrix has ${w.length} values, expected ${rows} x ${cols}`);
}

/**
 * out = an iteration kernel of m[rows x cols] on copies in a fresh arena: `run(out, in, scratch)`
 * with `scratchFloats` floats of scratch (the Newton-Schulz and Muon wrappers below).
 */
function iterateOnCopy(k: KernelExports, m: Float32Array, rows: number, cols: number, scratchFloats: number,
  run: (out: number, input: number, scratch: number) => void): Float32Array {
  checkMatrix(m, rows, cols);
  const n = rows * cols;
  const arena = Arena.growing(k);
  const inPtr = arena.words(n), outPtr = arena.words(n), scratchPtr = arena.words(scratchFloats);
  arena.f32(inPtr, n).set(m);
  run(outPtr, inPtr, scratchPtr);
  return new Float32Array(k.memory.buffer, outPtr, n).slice();
}

/** Newton-Schulz polar factor of w[rows x cols] after `iters` iterations (the reference's cubic step). */
export function newtonSchulzWith(k: KernelExports, w: Float32Array, rows: number, cols: number, iters = 5): Float32Array {
  return iterateOnCopy(k, w, rows, cols, k.newtonSchulzScratchFloats(rows, cols), (out, input, scratch) => k.newtonSchulz(out, input, rows, cols, iters, scratch));
}

/** Singular values of w[rows x cols], descending, computed in f64. */
export function singularValuesWith(k: KernelExports, w: Float32Array, rows: number, cols: number): Float64Array {
  checkMatrix(w, rows, cols);
  const n = rows * cols, s = Math.min(rows, cols);
  const arena = Arena.growing(k);
  const inPtr = arena.words(n), svPtr = arena.doubles(s), scratchPtr = arena.doubles(k.spectralScratchDoubles(rows, cols));
  arena.f32(inPtr, n).set(w);
  if (!k.singularValues(svPtr, inPtr, rows, cols, scratchPtr)) throw new Error('singular values: the QL iteration did not converge');
  return new Float64Array(k.memory.buffer, svPtr, s).slice();
}

/** Exact polar factor U V^T of w[rows x cols] (f64 eigensolver; singular values <= 1e-7 sigma_1 count as zero). */
export function polarFactorWith(k: KernelExports, w: Float32Array, rows: number, cols: number): Float32Array {
  checkMatrix(w, rows, cols);
  const n = rows * cols;
  const arena = Arena.growing(k);
  const inPtr = arena.words(n), outPtr = arena.words(n), scratchPtr = arena.doubles(k.polarScratchDoubles(rows, cols));
  arena.f32(inPtr, n).set(w);
  if (!k.polarFactor(outPtr, inPtr, rows, cols, scratchPtr)) throw new Error('polar factor: the QL iteration did not converge');
  return new Float32Array(k.memory.buffer, outPtr, n).slice();
}

/** The nuclear-norm proximal step U max(S - rate, 0) V^T of w[rows x cols]. */
export function nuclearProxWith(k: KernelExports, w: Float32Array, rows: number, cols: number, rate: number): Float32Array {
  checkMatrix(w, rows, cols);
  const n = rows * cols;
  const arena = Arena.growing(k);
  const ptr = arena.words(n), scratchPtr = arena.doubles(k.polarScratchDoubles(rows, cols));
  arena.f32(ptr, n).set(w);
  if (!k.nuclearProx(ptr, rows, cols, rate, scratchPtr)) throw new Error('nuclear prox: the QL iteration did not converge');
  return new Float32Array(k.memory.buffer, ptr, n).slice();
}

/** Muon's quintic Newton-Schulz orthogonalisation of u[rows x cols] after `iters` steps. */
export function muonOrthogonalizeWith(k: KernelExports, u: Float32Array, rows: number, cols: number, iters = 5): Float32Array {
  return iterateOnCopy(k, u, rows, cols, k.muonScratchFloats(rows, cols), (out, input, scratch) => k.muonOrthogonalize(out, input, rows, cols, iters, scratch));
}

/** One product of the given layout on the Wasm kernel (shapes as in src/matmul_call.ts), from host arrays. */
export function matmulWith(k: KernelExports, layout: MatmulLayout, a: Float32Array, b: Float32Array, m: number, kk: number, n: number): Float32Array {
  const size = operandSizes(layout, m, kk, n);
  if (a.length !== size.a || b.length !== size.b) throw new RangeError(`${layout}: operands have ${a.length} and ${b.length} values, expected ${size.a} and ${size.b}`);
  const arena = Arena.growing(k);
  const pa = arena.words(size.a), pb = arena.words(size.b), out = arena.words(size.out);
  const pScratch = arena.words(k.matmulScratchFloats(Math.max(m, kk, n), Math.max(m, kk, n)));
  new Float32Array(k.memory.buffer, pa, size.a).set(a);
  new Float32Array(k.memory.buffer, pb, size.b).set(b);
  matmulOnKernel(k, { layout, out, a: pa, b: pb, m, k: kk, n, accumulate: false }, pScratch);
  return new Float32Array(k.memory.buffer, out, size.out).slice();
}
