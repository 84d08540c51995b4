// One training run on T threads. Every thread runs its own instance of the threads build
// (build/grokwasm.threads.wasm) over one shared memory; the main thread's instance owns every
// allocation, helpers allocate nothing and write only the outputs of the parts they claim.
//
// A job is split into parts over output rows, columns or elements, never over a summed
// dimension, so every value is computed by the same instructions in the same order whatever
// the thread count: results are bit-identical for any T (tested for T = 1..4).
//
// Synchronisation is a control block in shared memory, not messages: the main thread writes
// the job's arguments, publishes (parts, next part) in one word and bumps a generation counter
// that idle helpers wait on. Every thread, the main one included, claims parts with a
// compare-and-swap on that word until none is left, so a helper that is slow, or has died
// while idle, delays nothing: the others take its parts.
import type { KernelExports } from './wasm.js';

// Control block (Int32 words), then the job's arguments as f64 from byte ARGS.
const GEN = 0, NEXT = 1, DONE = 2, FAILED = 3, STOP = 4;
const ARGS = 64;
const MAX_ARGS = 40;
/** Bytes of the control block. */
export const CONTROL_BYTES = ARGS + 8 * MAX_ARGS;
/** A part unfinished for this long means its helper is gone: the run stops with one line. */
const STALL_MS = 60_000;
/**
 * Polls of a word before sleeping on it: about 1 ms here (5.5 ns a poll), longer than most gaps
 * between the jobs of a step, so helpers rarely pay a futex wake-up mid-step (20k polls, 0.1 ms,
 * left the 2-thread step 1-3 ms slower, measured in turns).
 */
const SPIN_POLLS = 200_000;
/** The most threads one run may ask for. */
export const MAX_THREADS = 64;
/** Threads per run when `total` threads are shared by `running` runs at a time: never fewer than one. */
export function threadsPerRun(total: number, running: number): number {
  return Math.max(1, Math.floor(total / Math.max(1, running)));
}

/** Parts of one job at most (the NEXT word holds the count in its high 16 bits). */
const MAX_PARTS = 256;

export const JOB = { matmul: 1, adamw: 2, lowRankDecay: 3, siluForward: 4, siluBackward: 5, attentionForward: 6, attentionBackward: 7, rmsnormForward: 8 } as const;

/** Where a helper finds the control block and its own scratch. */
export interface HelperInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  /** 1..T-1; the main thread is 0. */
  thread: number;
  scratch: number;
  /** Polls before sleeping on a futex: worth it only while every thread has a core of its own. */
  spin: number;
}

/** A started helper, as the front end's worker API gives it. */
export interface HelperHandle {
  terminate(): void;
}

/**
 * Starts one helper (a worker_threads Worker in Node, a Web Worker in the page) that calls
 * helperLoop; resolves once its kernels are instantiated. `onExit` reports a helper that ends.
 */
export type SpawnHelper = (init: HelperInit, onExit: (why: string) => void) => Promise<HelperHandle>;

/** Output rows and columns of the matmul's register block (assembly/matmul.ts): a product splits only on these. */
export const PRODUCT_ROWS = 2, PRODUCT_COLS = 16;

/** Parts [lo, hi) of `units` split into `parts` near-equal runs. */
function span(units: number, part: number, parts: number): [number, number] {
  return [Math.floor((units * part) / parts), Math.floor((units * (part + 1)) / parts)];
}

/** Part [lo, hi) of n floats, cut on multiples of 4 so each float takes the same (vector or tail) path as in one call. */
function floatSpan(n: number, part: number, parts: number): [number, number] {
  const [lo, hi] = span(Math.ceil(n / 4), part, parts);
  return [Math.min(lo * 4, n), Math.min(hi * 4, n)];
}

/** Runs part `part` of `parts` of the job described by args, with this thread's scratch. */
export function runPart(k: KernelExports, a: Float64Array, part: number, parts: number, scratch: number): void {
  switch (a[0]) {
    case JOB.matmul: {
      // layout, out, a, b, m, k, n, accumulate, byRows, outRows, outCols
      const byRows = a[9] === 1, outRows = a[10], outCols = a[11];
      let r0 = 0, r1 = outRows, c0 = 0, c1 = outCols;
      if (byRows) [r0, r1] = span(Math.ceil(outRows / PRODUCT_ROWS), part, parts).map((u) => u * PRODUCT_ROWS);
      else [c0, c1] = span(Math.ceil(outCols / PRODUCT_COLS), part, parts).map((u) => u * PRODUCT_COLS);
      k.matmulRange(a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8] === 1, scratch, r0, r1, c0, c1);
      return;
    }
    case JOB.adamw: {
      // param, grad, m, v, n, lr, beta1, beta2, eps, wd, step
      const [lo, hi] = floatSpan(a[5], part, parts);
      const off = 4 * lo;
      k.adamwUpdate(a[1] + off, a[2] + off, a[3] + off, a[4] + off, hi - lo, a[6], a[7], a[8], a[9], a[10], a[11]);
      return;
    }
    case JOB.lowRankDecay: {
      // rate, iters, polarFloats, then (w, rows, cols) per weight; part = weight
      const at = 4 + 3 * part;
      k.lowRankDecay(a[at], a[at + 1], a[at + 2], a[1], a[2], scratch, scratch + 4 * a[3]);
      return;
    }
    case JOB.siluForward: {
      const [lo, hi] = floatSpan(a[4], part, parts);
      k.siluForward(a[1] + 4 * lo, a[2] + 4 * lo, a[3] + 4 * lo, hi - lo);
      return;
    }
    case JOB.siluBackward: {
      const [lo, hi] = floatSpan(a[5], part, parts);
      k.siluBackward(a[1] + 4 * lo, a[2] + 4 * lo, a[3] + 4 * lo, a[4] + 4 * lo, hi - lo);
      return;
    }
    case JOB.attentionForward: {
      // out, probs, q, k, v, b, tq, tk, heads, hd; parts are runs of examples, which share nothing
      const [b, tq, tk, heads, hd] = [a[6], a[7], a[8], a[9], a[10]];
      const [lo, hi] = span(b, part, parts);
      const qRow = 4 * lo * tq * heads * hd, kRow = 4 * lo * tk * heads * hd, pRow = 4 * lo * heads * tq * tk;
      k.attentionForward(a[1] + qRow, a[2] + pRow, a[3] + qRow, a[4] + kRow, a[5] + kRow, hi - lo, tq, tk, heads, hd);
      return;
    }
    case JOB.attentionBackward: {
      // dq, dk, dv, dout, probs, q, k, v, b, tq, tk, heads, hd; runs of examples, each with this thread's scratch
      const [b, tq, tk, heads, hd] = [a[9], a[10], a[11], a[12], a[13]];
      const [lo, hi] = span(b, part, parts);
      const qRow = 4 * lo * tq * heads * hd, kRow = 4 * lo * tk * heads * hd, pRow = 4 * lo * heads * tq * tk;
      k.attentionBackward(a[1] + qRow, a[2] + kRow, a[3] + kRow, a[4] + qRow, a[5] + pRow, a[6] + qRow, a[7] + kRow, a[8] + kRow,
        hi - lo, tq, tk, heads, hd, scratch);
      return;
    }
    case JOB.rmsnormForward: {
      // out, norms, x, g, rows, dim; runs of rows
      const [lo, hi] = span(a[5], part, parts);
      const row = 4 * lo * a[6];
      k.rmsnormForward(a[1] + row, a[2] + 4 * lo, a[3] + row, a[4], hi - lo, a[6]);
      return;
    }
    default:
      throw new Error(`unknown job ${a[0]}`);
  }
}

/** Claims the next unclaimed part of the current job: [part, parts], or null when none is left. */
function claim(ctl: Int32Array): [number, number] | null {
  for (;;) {
    const word = Atomics.load(ctl, NEXT);
    const parts = word >>> 16, next = word & 0xffff;
    if (next >= parts) return null;
    if (Atomics.compareExchange(ctl, NEXT, word, word + 1) === word) return [next, parts];
  }
}

/** Claims and runs parts until none is left. Returns false if one failed (FAILED says which thread). */
function work(k: KernelExports, ctl: Int32Array, args: Float64Array, thread: number, scratch: number): void {
  for (;;) {
    const got = claim(ctl);
    if (!got) return;
    const [part, parts] = got;
    try {
      runPart(k, args, part, parts, scratch);
    } catch {
      Atomics.store(ctl, FAILED, thread + 1);
    }
    if (Atomics.add(ctl, DONE, 1) + 1 === parts) Atomics.notify(ctl, DONE);
  }
}

/** Polls ctl[at] up to `polls` times while it equals `value`; true once it changed. */
function spinWhile(ctl: Int32Array, at: number, value: number, polls: number): boolean {
  for (let i = 0; i < polls; i++) if (Atomics.load(ctl, at) !== value) return true;
  return false;
}

/** A helper's life: wait for a job, take parts of it, repeat until the pool stops. */
export function helperLoop(k: KernelExports, init: HelperInit): void {
  const ctl = new Int32Array(init.memory.buffer, init.control, ARGS / 4);
  const args = new Float64Array(init.memory.buffer, init.control + ARGS, MAX_ARGS);
  for (;;) {
    const gen = Atomics.load(ctl, GEN);
    if (Atomics.load(ctl, STOP) !== 0) return;
    work(k, ctl, args, init.thread, init.scratch);
    if (!spinWhile(ctl, GEN, gen, init.spin)) Atomics.wait(ctl, GEN, gen);
  }
}

/** Thrown when a helper fails or disappears in the middle of a part: the run cannot go on. */
export class ThreadError extends Error {}

/** The main thread's side: T - 1 helpers and the control block. */
export class KernelThreads {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private helpers: (HelperHandle | null)[] = [];
  /** Lines about helpers that ended, for the front end to print once. */
  readonly notices: string[] = [];

  private constructor(private readonly k: KernelExports, memory: WebAssembly.Memory, control: number,
    private readonly scratch: number, readonly threads: number, private readonly spin: number) {
    this.ctl = new Int32Array(memory.buffer, control, ARGS / 4);
    this.args = new Float64Array(memory.buffer, control + ARGS, MAX_ARGS);
  }

  /**
   * Starts threads - 1 helpers over `memory` (control block at `control`, scratch slots of
   * slotBytes from `scratch`, slot 0 the main thread's). A helper that does not start makes
   * the pool smaller; `line` says so.
   */
  static async start(k: KernelExports, module: WebAssembly.Module, memory: WebAssembly.Memory, control: number,
    scratch: number, slotBytes: number, threads: number, cores: number, spawn: SpawnHelper): Promise<{ pool: KernelThreads; line: string | null }> {
    new Int32Array(memory.buffer, control, CONTROL_BYTES / 4).fill(0);
    const spin = threads <= cores ? SPIN_POLLS : 0;
    const pool = new KernelThreads(k, memory, control, scratch, threads, spin);
    const started = await Promise.allSettled(Array.from({ length: threads - 1 }, (_, i) =>
      spawn({ module, memory, control, thread: i + 1, scratch: scratch + (i + 1) * slotBytes, spin },
        (why) => pool.lost(i, why))));
    pool.helpers = started.map((s) => (s.status === 'fulfilled' ? s.value : null));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (!failed) return { pool, line: null };
    pool.stop();
    const why = (failed.reason as Error)?.message ?? String(failed.reason);
    const single = new KernelThreads(k, memory, control, scratch, 1, 0);
    return { pool: single, line: `threads: 1 (a helper thread did not start: ${why})` };
  }

  private lost(i: number, why: string): void {
    if (!this.helpers[i]) return;
    this.helpers[i] = null;
    const left = 1 + this.helpers.filter(Boolean).length;
    this.notices.push(`threads: helper ${i + 1} ended (${why}); continuing on ${left} thread${left === 1 ? '' : 's'}`);
  }

  /** Threads that can take parts now (the main one included). */
  get live(): number {
    return 1 + this.helpers.filter(Boolean).length;
  }

  /** Runs a job of `parts` parts on every live thread, returning when all are done. */
  run(args: readonly number[], parts: number): void {
    if (args.length > MAX_ARGS || !(parts >= 1 && parts <= MAX_PARTS)) throw new RangeError(`job of ${args.length} args in ${parts} parts`);
    const ctl = this.ctl;
    this.args.set(args);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, FAILED, 0);
    Atomics.store(ctl, NEXT, parts << 16);
    if (this.live > 1) {
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
    }
    work(this.k, ctl, this.args, 0, this.scratch);
    let last = performance.now();
    let seen = Atomics.load(ctl, DONE);
    if (seen !== parts && spinWhile(ctl, DONE, seen, this.spin)) seen = Atomics.load(ctl, DONE);
    while (seen !== parts) {
      Atomics.wait(ctl, DONE, seen, 1000);
      const now = Atomics.load(ctl, DONE);
      if (now !== seen) { seen = now; last = performance.now(); continue; }
      if (performance.now() - last > STALL_MS) {
        throw new ThreadError(`a helper thread stopped in the middle of a product (${parts - seen} part(s) unfinished for ${STALL_MS / 1000} s); rerun or resume with --threads 1`);
      }
    }
    const failed = Atomics.load(ctl, FAILED);
    if (failed) throw new ThreadError(`thread ${failed - 1} failed in a ${jobName(args[0])} part; rerun or resume with --threads 1`);
  }

  /** Ends the helpers (idempotent). */
  stop(): void {
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    const helpers = this.helpers;
    this.helpers = [];
    for (const h of helpers) h?.terminate();
  }
}

function jobName(kind: number): string {
  return Object.entries(JOB).find(([, v]) => v === kind)?.[0] ?? String(kind);
}
