// The WebGPU matmul against the Wasm kernel on random operands, odd sizes included: the
// self-check the page offers for a user's own GPU, and what the tests run in Chromium and
// Node. Operands come from the kernel module's own PRNG, so every platform checks the same numbers.
import { Arena } from '../kernel/arena.js';
import { matmulWith } from '../kernel/linalg.js';
import { operandSizes, type MatmulLayout } from '../kernel/matmul_call.js';
import type { KernelExports } from '../kernel/wasm.js';
import type { WebGpuMatmul } from './webgpu_matmul.js';

/**
 * Shapes (m, k, n) from one element to the model's sizes: 3x5x7 and 17x9x13 are multiples of
 * neither the SIMD width nor the 8x8 workgroup, and 64x33x40 has an odd inner size.
 */
export const CHECK_SHAPES: readonly (readonly [number, number, number])[] = [[1, 1, 1], [3, 5, 7], [17, 9, 13], [64, 33, 40], [96, 128, 72]];

/**
 * max |gpu - wasm| / max |wasm| allowed for one product: room for a GPU that fuses multiply-add
 * (about k half-ulps at worst over k <= 128 terms), far below any indexing or layout mistake.
 */
export const PRODUCT_TOLERANCE = 1e-5;

export interface CheckRow {
  layout: MatmulLayout;
  m: number; k: number; n: number;
  /** max |gpu - wasm| / max |wasm|. */
  relErr: number;
  /** Outputs whose bits equal the Wasm kernel's, of `outputs`. */
  bitEqual: number;
  outputs: number;
}

export interface CheckReport {
  rows: CheckRow[];
  ok: boolean;
  /** One line for people. */
  summary: string;
}

const LAYOUTS: MatmulLayout[] = ['forward', 'inputGrad', 'weightGrad'];

/** Runs every layout on every shape on both backends; operands uniform in [-1, 1) from `seed`. */
export async function checkGpuMatmul(kernels: KernelExports, gpu: WebGpuMatmul, seed = 1, shapes = CHECK_SHAPES): Promise<CheckReport> {
  const rows: CheckRow[] = [];
  for (const layout of LAYOUTS) {
    for (const [m, k, n] of shapes) {
      const size = operandSizes(layout, m, k, n);
      const a = randomOperand(kernels, size.a, seed, rows.length * 2);
      const b = randomOperand(kernels, size.b, seed, rows.length * 2 + 1);
      const ours = await gpu.multiply(layout, a, b, m, k, n);
      const ref = matmulWith(kernels, layout, a, b, m, k, n);
      let diff = 0, scale = 0, bitEqual = 0;
      for (let i = 0; i < ref.length; i++) {
        diff = Math.max(diff, Math.abs(ours[i] - ref[i]));
        scale = Math.max(scale, Math.abs(ref[i]));
        if (Object.is(ours[i], ref[i])) bitEqual++;
      }
      rows.push({ layout, m, k, n, relErr: scale === 0 ? diff : diff / scale, bitEqual, outputs: ref.length });
    }
  }
  const ok = rows.every((r) => r.relErr <= PRODUCT_TOLERANCE);
  const worst = Math.max(...rows.map((r) => r.relErr));
  const equal = rows.reduce((s, r) => s + r.bitEqual, 0), total = rows.reduce((s, r) => s + r.outputs, 0);
  const summary = `${rows.length} products (3 layouts, ${shapes.length} shapes) ${ok ? 'within' : 'NOT within'} ${PRODUCT_TOLERANCE.toExponential()} of the Wasm matmul: ` +
    `worst relative error ${worst.toExponential(2)}, ${equal} of ${total} outputs bit-equal`;
  return { rows, ok, summary };
}

// Uniform [-1, 1) floats from the kernel's PRNG, on its own stream per operand.
function randomOperand(k: KernelExports, count: number, seed: number, stream: number): Float32Array {
  const arena = Arena.growing(k);
  const state = arena.words(4), out = arena.words(count);
  k.randomSeed(state, seed, 1000 + stream);
  k.randomUniform(state, out, count, -1, 1);
  return new Float32Array(k.memory.buffer, out, count).slice();
}
