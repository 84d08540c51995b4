// A matrix product as data. The model's forward and backward are generators that yield each
// product they need instead of calling a kernel, so one code path runs on either backend: the
// Wasm driver computes each product at once (the same calls, in the same order, as a direct
// loop, so the same bits), the WebGPU driver awaits the GPU between them.
import type { KernelExports } from './wasm.js';

/** Where the model's products run: the Wasm kernel (bit-reproducible) or a WebGPU device (tolerance-equal). */
export const BACKENDS = ['wasm', 'webgpu'] as const;
export type Backend = (typeof BACKENDS)[number];

export type MatmulLayout = 'forward' | 'inputGrad' | 'weightGrad';

/**
 * One product on float32 buffers in the kernel module's memory (byte offsets), with m, k, n as
 * the Wasm kernels name them: forward out[m x n] = a[m x k] b[n x k]^T; inputGrad
 * out[m x k] = a[m x n] b[n x k]; weightGrad out[n x k] = a[m x n]^T b[m x k].
 * `accumulate` adds into out instead of overwriting it.
 */
export interface MatmulCall {
  layout: MatmulLayout;
  out: number; a: number; b: number;
  m: number; k: number; n: number;
  accumulate: boolean;
}

/** Work that needs products computed along the way and returns T at the end. */
export type MatmulWork<T> = Generator<MatmulCall, T, void>;

/** Computes one product on the Wasm kernel, in place in the module's memory (scratch: matmulScratchFloats floats). */
export function matmulOnKernel(kernels: KernelExports, c: MatmulCall, scratch: number): void {
  if (c.layout === 'forward') kernels.matmulForward(c.out, c.a, c.b, c.m, c.k, c.n, c.accumulate, scratch);
  else if (c.layout === 'inputGrad') kernels.matmulBackwardInput(c.out, c.a, c.b, c.m, c.k, c.n, c.accumulate, scratch);
  else kernels.matmulBackwardWeight(c.out, c.a, c.b, c.m, c.k, c.n, c.accumulate, scratch);
}

/** Element counts of a product's operands and output. */
export function operandSizes(layout: MatmulLayout, m: number, k: number, n: number): { a: number; b: number; out: number } {
  switch (layout) {
    case 'forward': return { a: m * k, b: n * k, out: m * n };
    case 'inputGrad': return { a: m * n, b: n * k, out: m * k };
    case 'weightGrad': return { a: m * n, b: m * k, out: n * k };
  }
}
