// What a run costs in floating-point work, for estimates before it starts: the matrix products
// of a training step (forward, input and weight gradients) and of the evaluations. An estimate:
// it counts every row of every block (the model saves about a third by computing the first
// block on distinct rows and the last on the last position), which a speed measured on this
// same count absorbs.
import { evalSchedule, type RunConfig } from '../train/config.js';

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
  const evaluations = evalSchedule(c, c.steps).count;
  return c.steps * stepFlops(c) + evaluations * forwardFlops(c, c.p * c.p);
}

/** What shares the machine during a run: the cores, and the threads each of the runs going at once computes on. */
export interface Sharing {
  /** The machine's hardware threads (navigator.hardwareConcurrency, os.availableParallelism). */
  cores: number;
  /** Threads per run (1 without shared memory). */
  threadsPerRun: number;
}

/**
 * Seconds for runs of `flops` each, all going at once (a mechanism's arms), at `gflops` per
 * thread measured alone: each run gets its threads, but never more than its share of the cores,
 * so N arms on fewer cores than N take N / cores times as long as one arm alone.
 */
export function parallelSeconds(flops: number[], gflops: number, sharing: Sharing): number {
  if (!flops.length || !(gflops > 0)) return 0;
  const perRun = Math.max(1e-9, Math.min(sharing.threadsPerRun, sharing.cores / flops.length));
  return Math.max(...flops) / (gflops * 1e9 * perRun);
}

/** Seconds for cells of `flops` each taken in turn by `lanes` workers of one thread each (a sweep). */
export function queueSeconds(flops: number[], gflops: number, cores: number, lanes: number): number {
  if (!flops.length || !(gflops > 0)) return 0;
  return flops.reduce((a, b) => a + b, 0) / (gflops * 1e9 * Math.max(1, Math.min(cores, lanes, flops.length)));
}

/**
 * Seconds left for a run going at `stepsPerSecond` (measured on its own steps since it started
 * or resumed): the measured speed replaces the estimate once there is one.
 */
export function secondsLeft(stepsLeft: number, stepsPerSecond: number): number | null {
  return stepsPerSecond > 0 ? stepsLeft / stepsPerSecond : null;
}

/** A duration in words: "40 s", "12 min", "3.5 h". */
export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Longer than this, a setup is not one to leave running in a browser tab: the estimate says so instead of a number. */
export const TAB_LIMIT_SECONDS = 24 * 3600;
