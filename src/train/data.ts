// Modular-arithmetic data: every pair (a, b) of the task's domain -> a op b mod p, as token
// rows (a, b, '=') with '=' = p. The split and every epoch's order come from the run's PRNG in
// linear memory.
import type { Arena } from '../kernel/arena.js';
import { COMMUTATIVE, inDomain, taskTarget, type Task } from './tasks.js';
import type { Split } from './config.js';
import type { KernelExports } from '../kernel/wasm.js';

export const SEQ_LEN = 3;

/** Training/validation split: pair ids (a * p + b), shuffled once, train first. */
export class ModularData {
  readonly pairs: number;        // i32[total], pair ids, train prefix then validation
  readonly order: number;        // i32[trainCount], this epoch's order of training pair ids
  /** Training pairs: floor(total * frac), or up to one fewer with split 'pairs' (a mirror pair is never cut). */
  trainCount: number;
  valCount: number;
  private pairsView!: Int32Array;
  private orderView!: Int32Array;

  readonly total: number;

  constructor(arena: Arena, readonly p: number, frac: number, readonly task: Task = 'add', readonly split: Split = 'ordered') {
    const total = (this.total = domainSize(task, p));
    // Same rule as the reference: int(len(data) * train_frac).
    this.trainCount = Math.floor(total * frac);
    this.valCount = total - this.trainCount;
    this.pairs = arena.words(total);
    this.order = arena.words(this.trainCount);
  }

  /** After the arena is committed: lay out and shuffle the pairs with the split stream. */
  init(arena: Arena, kernels: KernelExports, splitState: number): void {
    this.pairsView = arena.i32(this.pairs, this.total);
    this.orderView = arena.i32(this.order, this.trainCount);
    let n = 0;
    for (let id = 0; id < this.p * this.p; id++) if (inDomain(this.task, Math.floor(id / this.p), id % this.p)) this.pairsView[n++] = id;
    kernels.randomShuffle(splitState, this.pairs, this.pairsView.length);
    if (this.split === 'pairs') this.keepMirrorsTogether();
  }

  /**
   * Split 'pairs': walks the shuffled pairs and gives each unordered pair {a, b} the side of the
   * first of its two members met, so both members land together. Training takes whole unordered
   * pairs in that order while they fit in floor(total * frac); one that would overshoot by its
   * second member goes to validation (at most one pair: a diagonal (a, a) fits any room left).
   */
  private keepMirrorsTogether(): void {
    const p = this.p, cap = this.trainCount;
    const shuffled = Int32Array.from(this.pairsView);
    const seen = new Uint8Array(p * p);
    const train: number[] = [], val: number[] = [];
    for (const id of shuffled) {
      if (seen[id]) continue;
      const a = Math.floor(id / p), b = id % p, mirror = b * p + a;
      seen[id] = seen[mirror] = 1;
      const members = a === b ? [id] : [id, mirror];
      (train.length + members.length <= cap ? train : val).push(...members);
    }
    this.trainCount = train.length;
    this.valCount = val.length;
    this.pairsView.set(train, 0);
    this.pairsView.set(val, train.length);
    this.orderView = this.orderView.subarray(0, this.trainCount);
  }

  /** Starts a new epoch: the training pairs in a fresh random order. */
  shuffleEpoch(kernels: KernelExports, orderState: number): void {
    this.orderView.set(this.pairsView.subarray(0, this.trainCount));
    kernels.randomShuffle(orderState, this.order, this.trainCount);
  }

  /**
   * For each validation pair (a, b), whether its mirror (b, a) is a training pair; null for a
   * task that is not commutative, where the mirror says nothing about the answer.
   */
  valMirrored(): Uint8Array | null {
    if (!COMMUTATIVE[this.task]) return null;
    const p = this.p;
    const train = new Set(this.trainIds());
    return Uint8Array.from(this.valIds(), (id) => (train.has((id % p) * p + Math.floor(id / p)) ? 1 : 0));
  }

  trainIds(): Int32Array { return this.pairsView.subarray(0, this.trainCount); }
  valIds(): Int32Array { return this.pairsView.subarray(this.trainCount); }
  epochIds(): Int32Array { return this.orderView; }

  /** Writes examples ids[from, from + count) as token rows and targets. */
  fill(tokens: Int32Array, targets: Int32Array, ids: Int32Array, from: number, count: number): void {
    const p = this.p;
    for (let n = 0; n < count; n++) {
      const id = ids[from + n];
      const a = Math.floor(id / p), b = id % p;
      tokens[n * SEQ_LEN] = a;
      tokens[n * SEQ_LEN + 1] = b;
      tokens[n * SEQ_LEN + 2] = p;
      targets[n] = taskTarget(this.task, a, b, p);
    }
  }
}

/** Number of pairs in the task's domain: p*p, or p*(p-1) for division. */
export function domainSize(task: Task, p: number): number {
  return task === 'div' ? p * (p - 1) : p * p;
}
