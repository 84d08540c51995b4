// The activation layout, as llm.c writes its activations: every buffer the model uses for a
// batch, with its shape, in one table. The model reserves them in this order from the arena
// (offsets are computed in allocateLayout only), and reads each by name.
//
// B = the largest batch, T = 3 positions, N = B x T rows, D = dim, F = mlp, V = vocab, H = heads,
// U = distinct (position, token) rows of a batch (the first block runs on those only; at most
// min(N, V x T)). The last block computes its query, attention output and MLP on the B last
// positions only. A null shape is a buffer that this configuration does not need.
import type { ModelShape } from './params.js';

type Shape = number[] | null;

/** The largest attention-pattern vocabulary: the probe needs H x V x V floats. */
export const PROBE_MAX_VOCAB = 512;

export function activationLayout(shape: ModelShape, maxBatch: number, matmulScratchFloats: (k: number, n: number) => number) {
  const { dim: D, mlp: F, vocab: V, seqLen: T, depth: L, heads: H } = shape;
  const B = maxBatch, N = B * T, U = maxUniqueRows(shape, maxBatch), R = Math.max(N, U);
  const layer = (l: number) => {
    const first = l === 0, last = l === L - 1;
    const src = first ? U : N;                  // rows the norm and the K/V projections run on
    const qSrc = first ? U : last ? B : N;      // rows the Q projection runs on
    const rows = last ? B : N;                  // rows after attention
    return {
      n1: [src, D], norms1: [src], n1Last: last && !first ? [B, D] : null,   // RMSNorm1
      qRaw: [qSrc, D], q: [qSrc, D], qNorms: [qSrc],                          // Q projection, QK-norm
      kRaw: [src, D], k: [src, D], kNorms: [src], v: [src, D],                // K, V
      qG: first ? [rows, D] : null, kG: first ? [N, D] : null, vG: first ? [N, D] : null, // first block: gathered per example
      probs: [B, H, last ? 1 : T, T],                                         // softmax weights
      attnOut: [rows, D], xMid: [rows, D], n2: [rows, D], norms2: [rows],     // attention output, residual, RMSNorm2
      h: [rows, F], sig: [rows, F], a: [rows, F], xOut: [rows, D],            // MLP pre-activation, sigmoid, SiLU; block output
    } satisfies Record<string, Shape>;
  };
  return {
    inputs: {
      tokens: [N], targets: [B],
      rowToUnique: [N], lastToUnique: [B], uniqueTok: [U], uniquePos: [U], lastRows: [B], // integer row bookkeeping
    },
    xTable: [U, D],                                                           // embeddings of the distinct rows
    layers: Array.from({ length: L }, (_, l) => layer(l)),
    head: { nf: [B, D], normsF: [B], logits: [B, V], ceProbs: [B, V] },       // final norm, lm_head, softmax
    backward: {                                                               // shared by every block
      dOutA: [N, D], dOutB: [N, D], dXMid: [N, D], dA: [N, F], dH: [N, F], dN2: [N, D], dAttnOut: [N, D],
      dQ: [N, D], dK: [N, D], dV: [N, D], dQT: [U, D], dKT: [U, D], dVT: [U, D],
      dQRaw: [R, D], dKRaw: [R, D], dN1: [R, D], dN1Last: [B, D], dTable: [U, D], dLogits: [B, V], dNf: [B, D],
      rowScratch: [Math.max(D, T)],                                           // rmsnormBackward: D; attentionBackward: T keys
      matmulScratch: [largestProductScratch(shape, maxBatch, matmulScratchFloats)],
    },
    // attentionPattern: layer 0 over the V token embeddings at position 0.
    probe: V <= PROBE_MAX_VOCAB ? {
      tokens: [V], positions: [V], x: [V, D], n: [V, D], norms: [V], qRaw: [V, D], q: [V, D], qNorms: [V],
      kRaw: [V, D], k: [V, D], kNorms: [V], out: [V, D], probs: [H, V, V],
    } : null,
  };
}

/** Scratch floats of the model's largest product: a summed dimension up to max(R, F, D, V) into up to max(F, D, V) columns. */
export function largestProductScratch(shape: ModelShape, maxBatch: number, matmulScratchFloats: (k: number, n: number) => number): number {
  const { dim: D, mlp: F, vocab: V } = shape;
  const R = Math.max(maxBatch * shape.seqLen, maxUniqueRows(shape, maxBatch));
  return matmulScratchFloats(Math.max(R, F, D, V), Math.max(F, D, V));
}

/** U: the most distinct (position, token) rows a batch of maxBatch examples can hold. */
export function maxUniqueRows(shape: ModelShape, maxBatch: number): number {
  return Math.min(maxBatch * shape.seqLen, shape.vocab * shape.seqLen);
}

/** A layout with each shape replaced by its buffer's byte offset (0 for a null shape). */
export type Pointers<T> = T extends number[] ? number : T extends null ? number : { [K in keyof T]: Pointers<T[K]> };

/** Reserves every buffer of a layout in table order (4-byte elements); a null shape gets pointer 0. */
export function allocateLayout<T>(layout: T, words: (count: number) => number): Pointers<T> {
  const walk = (node: unknown): unknown => {
    if (node === null) return 0;
    if (Array.isArray(node) && node.every((d) => typeof d === 'number')) return words(node.reduce((a: number, b: number) => a * b, 1));
    if (Array.isArray(node)) return node.map(walk);
    return Object.fromEntries(Object.entries(node as object).map(([k, v]) => [k, walk(v)]));
  };
  return walk(layout) as Pointers<T>;
}
