// The kernels as the model and the optimiser call them, with the ones worth splitting routed
// through a KernelThreads pool when one is running: products, SiLU, AdamW, Low-Rank Decay,
// attention (by examples) and the RMSNorm forward (by rows). The RMSNorm backward sums its gain
// gradient over rows and cross-entropy sums its loss over examples, so they stay on one thread.
// Everything else, and any call too small to repay waking the helpers, runs on the calling
// thread. The split never changes a bit (src/kernel/threads.ts), so this choice is free.
import { JOB, PRODUCT_COLS, PRODUCT_ROWS, type KernelThreads } from './threads.js';
import type { KernelExports } from './wasm.js';

/** Multiply-adds below which a product runs on one thread (a wake-up costs tens of microseconds). */
const MIN_PRODUCT_MACS = 1 << 17;
/** Floats below which an elementwise kernel runs on one thread. */
const MIN_ELEMENTS = 1 << 14;
/** Floats below which the RMSNorm forward runs on one thread: at 512 x 128 (23 us) a split gained nothing (measured). */
const MIN_NORM_ELEMENTS = 1 << 17;

/** Weights per Low-Rank Decay job (the control block holds 40 arguments). */
const LRD_PER_JOB = 12;

export interface Weight { ptr: number; rows: number; cols: number }

export interface ParallelKernels extends KernelExports {
  /** W <- W - rate * NewtonSchulz(W) on each weight, one weight per thread when a pool runs. */
  lowRankDecayEach(weights: Weight[], rate: number, iters: number, polar: number, scratch: number): void;
}

/** The kernels `raw`, splitting work over `pool()` whenever it returns a pool of several live threads. */
export function parallelKernels(raw: KernelExports, pool: () => KernelThreads | null, polarFloats: number): ParallelKernels {
  const threads = (): KernelThreads | null => {
    const p = pool();
    return p && p.live > 1 ? p : null;
  };
  // layout 0 forward out m x n, 1 inputGrad out m x k, 2 weightGrad out n x k.
  const product = (layout: number, out: number, a: number, b: number, m: number, k: number, n: number,
    accumulate: boolean, scratch: number, whole: () => void): void => {
    const p = threads();
    if (!p || m * k * n < MIN_PRODUCT_MACS) return whole();
    const outRows = layout === 2 ? n : m, outCols = layout === 0 ? n : k;
    // Split the weight gradient by columns: each thread then packs only its share of the
    // summed-over operand, which is the largest packed panel of a step. Others split by rows.
    const rowUnits = Math.ceil(outRows / PRODUCT_ROWS), colUnits = Math.ceil(outCols / PRODUCT_COLS);
    const byRows = layout === 2 ? colUnits < p.live : rowUnits >= p.live;
    const parts = Math.min(p.live, byRows ? rowUnits : colUnits);
    if (parts < 2) return whole();
    p.run([JOB.matmul, layout, out, a, b, m, k, n, accumulate ? 1 : 0, byRows ? 1 : 0, outRows, outCols], parts);
  };
  // `units`: how many pieces the work can be cut into at most (floats, examples or rows);
  // below `least` floats the call stays on one thread.
  const elementwise = (n: number, args: number[], whole: () => void, units = n, least = MIN_ELEMENTS): void => {
    const p = threads();
    if (!p || n < least || units < 2) return whole();
    p.run(args, Math.min(p.live, units));
  };
  // Everything not overridden is looked up on `raw` at each call (its prototype), so wrapping
  // raw's functions later (the bench's profiler) is seen here too.
  type Split = 'matmulForward' | 'matmulBackwardInput' | 'matmulBackwardWeight' | 'siluForward' | 'siluBackward' | 'adamwUpdate'
    | 'attentionForward' | 'attentionBackward' | 'rmsnormForward';
  const overrides: Omit<ParallelKernels, Exclude<keyof KernelExports, Split>> = {
    matmulForward: (out, x, w, m, k, n, acc, s) =>
      product(0, out, x, w, m, k, n, acc, s, () => raw.matmulForward(out, x, w, m, k, n, acc, s)),
    matmulBackwardInput: (dx, dy, w, m, k, n, acc, s) =>
      product(1, dx, dy, w, m, k, n, acc, s, () => raw.matmulBackwardInput(dx, dy, w, m, k, n, acc, s)),
    matmulBackwardWeight: (dw, dy, x, m, k, n, acc, s) =>
      product(2, dw, dy, x, m, k, n, acc, s, () => raw.matmulBackwardWeight(dw, dy, x, m, k, n, acc, s)),
    siluForward: (out, sig, x, n) =>
      elementwise(n, [JOB.siluForward, out, sig, x, n], () => raw.siluForward(out, sig, x, n)),
    siluBackward: (dx, dy, x, sig, n) =>
      elementwise(n, [JOB.siluBackward, dx, dy, x, sig, n], () => raw.siluBackward(dx, dy, x, sig, n)),
    adamwUpdate: (param, grad, m, v, n, lr, beta1, beta2, eps, wd, step) =>
      elementwise(n, [JOB.adamw, param, grad, m, v, n, lr, beta1, beta2, eps, wd, step],
        () => raw.adamwUpdate(param, grad, m, v, n, lr, beta1, beta2, eps, wd, step)),
    // Examples (attention) and rows (RMSNorm) are the units; each part gets a run of them.
    attentionForward: (out, probs, q, k, v, b, tq, tk, heads, hd) =>
      elementwise(b * tq * tk * heads * hd, [JOB.attentionForward, out, probs, q, k, v, b, tq, tk, heads, hd],
        () => raw.attentionForward(out, probs, q, k, v, b, tq, tk, heads, hd), b),
    attentionBackward: (dq, dk, dv, dout, probs, q, k, v, b, tq, tk, heads, hd, dscratch) =>
      elementwise(b * tq * tk * heads * hd, [JOB.attentionBackward, dq, dk, dv, dout, probs, q, k, v, b, tq, tk, heads, hd],
        () => raw.attentionBackward(dq, dk, dv, dout, probs, q, k, v, b, tq, tk, heads, hd, dscratch), b),
    rmsnormForward: (out, norms, x, g, rows, dim) =>
      elementwise(rows * dim, [JOB.rmsnormForward, out, norms, x, g, rows, dim],
        () => raw.rmsnormForward(out, norms, x, g, rows, dim), rows, MIN_NORM_ELEMENTS),
    lowRankDecayEach(weights, rate, iters, polar, scratch) {
      const p = threads();
      if (!p || weights.length < 2) {
        for (const w of weights) raw.lowRankDecay(w.ptr, w.rows, w.cols, rate, iters, polar, scratch);
        return;
      }
      for (let i = 0; i < weights.length; i += LRD_PER_JOB) {
        const some = weights.slice(i, i + LRD_PER_JOB);
        p.run([JOB.lowRankDecay, rate, iters, polarFloats, ...some.flatMap((w) => [w.ptr, w.rows, w.cols])], some.length);
      }
    },
  };
  return Object.assign(Object.create(raw) as KernelExports, overrides);
}
