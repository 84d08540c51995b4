// What a run costs in floating-point work, for estimates before it starts: the matrix products
// of a training step (forward, input and weight gradients) and of the evaluations. An estimate:
// it counts every row of every block (the model saves about a third by computing the first
// block on distinct rows and the last on the last position), which a speed measured on this
// same count absorbs.
import type { RunConfig } from '../train/config.js';

const SEQ = 3;

/** Multiply-adds x 2 of one forward pass over `examples` examples. */
function forwardFlops(c: RunConfig, examples: number): number {
  const rows = examples * SEQ;
  const perBlock = 2 * rows * (4 * c.dim * c.dim + 2 * c.dim * c.mlp);
  return c.depth * perBlock + 2 * examples * c.dim * (c.p + 1);
}

/** Flops of one training step (forward, then the two gradient products of each). */
export function stepFlops(c: RunConfig): number {
  return 3 * forwardFlops(c, c.batch);
}

/** Flops of a whole run: every step, and an evaluation over all p*p pairs every evalEvery steps. */
export function runFlops(c: RunConfig): number {
  const evaluations = Math.floor((c.steps - 1) / c.evalEvery) + 1;
  return c.steps * stepFlops(c) + evaluations * forwardFlops(c, c.p * c.p);
}
