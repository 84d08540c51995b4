// The reference transformer's forward and backward, composed from the kernels.
//
// Two savings keep a step cheap without changing what is computed (only float32 rounding
// differs from the full computation, which the PyTorch parity fixtures check):
//  - Only the last position feeds the logits, so the last block computes keys and values at
//    every position but its query, attention output, residual and MLP at the last one only.
//  - Before the first attention, a row depends only on its (position, token) pair. The first
//    block's RMSNorm, Q/K/V projections and QK-norm therefore run once per distinct pair in
//    the batch (at most 2p + 1 rows for p = 113, against 3 x 512) and are gathered per example;
//    the backward scatter-adds the gradients back onto those rows in a fixed order.
import type { Arena } from '../kernel/arena.js';
import { PROBE_MAX_VOCAB, activationLayout, allocateLayout, maxUniqueRows, type Pointers } from './activations.js';
import type { ModelShape, ParamSpec } from './params.js';

type Layout = ReturnType<typeof activationLayout>;
import { matmulOnKernel, type MatmulCall, type MatmulLayout, type MatmulWork } from '../kernel/matmul_call.js';
import type { KernelExports } from '../kernel/wasm.js';
import type { Loss } from '../train/config.js';


const call = (layout: MatmulLayout, out: number, a: number, b: number, m: number, k: number, n: number, accumulate: boolean): MatmulCall =>
  ({ layout, out, a, b, m, k, n, accumulate });

/** Weight and gradient pointers of one block, looked up once. */
interface LayerParams {
  g1: number; wq: number; wk: number; wv: number; wo: number; gq: number; gk: number; g2: number; w1: number; w2: number;
}

export interface ModelPointers {
  params: number;
  grads: number;
}

/** Per-batch row bookkeeping, computed on the host from integer tokens only. */
interface RowIndex {
  uniqueCount: number;
}

export class Model {
  readonly shape: ModelShape;
  readonly maxBatch: number;
  private readonly k: KernelExports;
  private readonly table: Map<string, ParamSpec>;
  private readonly heads: number;
  private readonly headDim: number;
  private readonly maxUnique: number;

  // Every buffer of the activation layout (src/model/activations.ts), by name.
  private readonly io: Pointers<Layout['inputs']>;
  private readonly xTable: number;
  private readonly layers: Pointers<Layout['layers']>;
  private readonly head: Pointers<Layout['head']>;
  private readonly bw: Pointers<Layout['backward']>;
  private readonly probe: Pointers<NonNullable<Layout['probe']>> | null;
  private readonly seen: Int32Array;
  private tokensView!: Int32Array; private rowToUniqueView!: Int32Array; private lastToUniqueView!: Int32Array;
  private uniqueTokView!: Int32Array; private uniquePosView!: Int32Array; private lastRowsView!: Int32Array;

  private batch = 0;
  private unique = 0;
  // Each block's parameter and gradient pointers, looked up once: they never move.
  private readonly layerParams: LayerParams[];
  private readonly layerGrads: LayerParams[];

  constructor(kernels: KernelExports, arena: Arena, shape: ModelShape, table: ParamSpec[],
    private readonly ptr: ModelPointers, maxBatch: number, private readonly loss: Loss = 'softmax') {
    this.k = kernels;
    this.shape = shape;
    this.maxBatch = maxBatch;
    this.table = new Map(table.map((p) => [p.name, p]));
    this.layerParams = Array.from({ length: shape.depth }, (_, l) => this.layerPointers(l, (n) => this.param(n)));
    this.layerGrads = Array.from({ length: shape.depth }, (_, l) => this.layerPointers(l, (n) => this.grad(n)));
    this.heads = shape.heads;
    this.headDim = shape.dim / shape.heads;
    this.maxUnique = maxUniqueRows(shape, maxBatch);
    const layout = activationLayout(shape, maxBatch, (k, n) => kernels.matmulScratchFloats(k, n));
    const at = allocateLayout(layout, (count) => arena.words(count));
    this.io = at.inputs;
    this.xTable = at.xTable;
    this.layers = at.layers;
    this.head = at.head;
    this.bw = at.backward;
    this.probe = layout.probe ? (at.probe as Pointers<NonNullable<Layout['probe']>>) : null;
    this.seen = new Int32Array(shape.vocab * shape.seqLen);
  }

  /**
   * Layer 0's attention among tokens 0..count-1, all at position 0, for one head: the
   * count x count softmax of QK-normed queries (rows) against keys, as the reference plots it.
   */
  attentionPattern(arena: Arena, count: number, head: number): Float32Array {
    const pr = this.probe;
    if (!pr) throw new RangeError(`attention patterns are computed for vocabularies up to ${PROBE_MAX_VOCAB}`);
    if (!(count >= 1 && count <= this.shape.vocab)) throw new RangeError(`count ${count} is outside [1, ${this.shape.vocab}]`);
    if (!(head >= 0 && head < this.heads)) throw new RangeError(`head ${head} is outside [0, ${this.heads - 1}]`);
    const k = this.k, D = this.shape.dim, H = this.heads, mm = this.bw.matmulScratch;
    const w = this.layerParams[0];
    arena.i32(pr.tokens, count).set(Array.from({ length: count }, (_, i) => i));
    arena.i32(pr.positions, count).fill(0);
    k.embeddingForward(pr.x, pr.tokens, pr.positions, this.param('embedding.weight'), this.param('pos_embedding'), count, D);
    k.rmsnormForward(pr.n, pr.norms, pr.x, w.g1, count, D);
    k.matmulForward(pr.qRaw, pr.n, w.wq, count, D, D, false, mm);
    k.rmsnormForward(pr.q, pr.qNorms, pr.qRaw, w.gq, count, D);
    k.matmulForward(pr.kRaw, pr.n, w.wk, count, D, D, false, mm);
    k.rmsnormForward(pr.k, pr.kNorms, pr.kRaw, w.gk, count, D);
    // One "example" of count positions; the values are irrelevant, only the probabilities are read.
    k.attentionForward(pr.out, pr.probs, pr.q, pr.k, pr.k, 1, count, count, H, this.headDim);
    return arena.f32(pr.probs + 4 * head * count * count, count * count).slice();
  }

  /** Byte offset of the logits [batch x vocab] of the last forward. */
  get logits(): number {
    return this.head.logits;
  }

  /**
   * Summed cross-entropy of given logits rows [b x classes] (classes <= vocab) against targets,
   * through the forward's own kernel, in the head's buffers (b <= the largest batch).
   */
  crossEntropyOf(rows: Float32Array, targets: Int32Array, b: number, classes: number): number {
    if (!(b >= 1 && b <= this.maxBatch && classes >= 1 && classes <= this.shape.vocab)) throw new RangeError(`${b} rows of ${classes} classes`);
    new Float32Array(this.k.memory.buffer, this.head.logits, b * classes).set(rows.subarray(0, b * classes));
    new Int32Array(this.k.memory.buffer, this.io.targets, b).set(targets.subarray(0, b));
    return this.k.crossEntropyForward(this.head.ceProbs, this.head.logits, this.io.targets, b, classes);
  }

  /** Takes views of the integer inputs; call once after the arena is committed. */
  bindViews(arena: Arena): void {
    const { seqLen: T } = this.shape;
    const N = this.maxBatch * T;
    this.tokensView = arena.i32(this.io.tokens, N);
    this.rowToUniqueView = arena.i32(this.io.rowToUnique, N);
    this.lastToUniqueView = arena.i32(this.io.lastToUnique, this.maxBatch);
    this.uniqueTokView = arena.i32(this.io.uniqueTok, this.maxUnique);
    this.uniquePosView = arena.i32(this.io.uniquePos, this.maxUnique);
    this.lastRowsView = arena.i32(this.io.lastRows, this.maxBatch);
  }

  /** Input tokens [maxBatch x seqLen] and targets [maxBatch] as host views. */
  inputViews(arena: Arena): { tokens: Int32Array; targets: Int32Array } {
    return {
      tokens: arena.i32(this.io.tokens, this.maxBatch * this.shape.seqLen),
      targets: arena.i32(this.io.targets, this.maxBatch),
    };
  }

  private param(name: string): number { return this.ptr.params + 4 * this.table.get(name)!.offset; }
  private grad(name: string): number { return this.ptr.grads + 4 * this.table.get(name)!.offset; }

  private layerPointers(l: number, base: (name: string) => number): LayerParams {
    const at = `layers.${l}`;
    return {
      g1: base(`${at}.norm1.g`), wq: base(`${at}.attn.q_proj.weight`), wk: base(`${at}.attn.k_proj.weight`),
      wv: base(`${at}.attn.v_proj.weight`), wo: base(`${at}.attn.o_proj.weight`), gq: base(`${at}.attn.q_norm.g`),
      gk: base(`${at}.attn.k_norm.g`), g2: base(`${at}.norm2.g`), w1: base(`${at}.mlp.0.weight`), w2: base(`${at}.mlp.2.weight`),
    };
  }

  // Distinct (position, token) rows of the batch in ascending (position, token) order, and each
  // example row's index into them. Integer bookkeeping only; no arithmetic on values.
  private indexRows(b: number): RowIndex {
    const { seqLen: T, vocab: V } = this.shape;
    const seen = this.seen;
    seen.fill(-1);
    const tokens = this.tokensView;
    for (let r = 0; r < b * T; r++) {
      const tok = tokens[r];
      if (!(tok >= 0 && tok < V)) throw new RangeError(`token ${tok} at row ${r} is outside [0, ${V - 1}]`);
      seen[(r % T) * V + tok] = 0;
    }
    let u = 0;
    for (let key = 0; key < seen.length; key++) {
      if (seen[key] < 0) continue;
      seen[key] = u;
      this.uniquePosView[u] = Math.floor(key / V);
      this.uniqueTokView[u] = key % V;
      u++;
    }
    for (let r = 0; r < b * T; r++) this.rowToUniqueView[r] = seen[(r % T) * V + tokens[r]];
    for (let n = 0; n < b; n++) {
      this.lastRowsView[n] = n * T + T - 1;
      this.lastToUniqueView[n] = this.rowToUniqueView[n * T + T - 1];
    }
    return { uniqueCount: u };
  }

  /** Computes one product on the Wasm kernel, in place in the module's memory. */
  matmulOnWasm(c: MatmulCall): void {
    matmulOnKernel(this.k, c, this.bw.matmulScratch);
  }

  /** Runs work to the end with every product on the Wasm kernel. */
  runOnWasm<T>(work: MatmulWork<T>): T {
    for (;;) {
      const next = work.next();
      if (next.done) return next.value;
      this.matmulOnWasm(next.value);
    }
  }

  /**
   * Forward over the first b examples of the token buffer; leaves logits [b x vocab] in
   * this.head.logits. Returns the summed cross-entropy over the b targets (which must be filled).
   */
  *forwardWork(b: number): MatmulWork<number> {
    if (!(b >= 1 && b <= this.maxBatch)) throw new RangeError(`batch ${b} is outside [1, ${this.maxBatch}]`);
    const k = this.k;
    const { dim: D, mlp: F, vocab: V, seqLen: T, depth: L } = this.shape;
    const H = this.heads, hd = this.headDim;
    const N = b * T;
    const U = this.indexRows(b).uniqueCount;
    this.batch = b;
    this.unique = U;

    k.embeddingForward(this.xTable, this.io.uniqueTok, this.io.uniquePos, this.param('embedding.weight'), this.param('pos_embedding'), U, D);
    let xIn = 0; // residual stream [N, D] entering layer l > 0
    for (let l = 0; l < L; l++) {
      const a = this.layers[l];
      const w = this.layerParams[l];
      const first = l === 0, last = l === L - 1;
      const src = first ? this.xTable : xIn;
      const srcRows = first ? U : N;
      const qRows = last ? b : N;
      const tq = last ? 1 : T;

      k.rmsnormForward(a.n1, a.norms1, src, w.g1, srcRows, D);
      let qIn = a.n1, qSrcRows = srcRows;
      if (last && !first) {
        k.gatherRows(a.n1Last, a.n1, this.io.lastRows, b, D);
        qIn = a.n1Last; qSrcRows = b;
      }
      yield call('forward', a.qRaw, qIn, w.wq, qSrcRows, D, D, false);
      k.rmsnormForward(a.q, a.qNorms, a.qRaw, w.gq, qSrcRows, D);
      yield call('forward', a.kRaw, a.n1, w.wk, srcRows, D, D, false);
      k.rmsnormForward(a.k, a.kNorms, a.kRaw, w.gk, srcRows, D);
      yield call('forward', a.v, a.n1, w.wv, srcRows, D, D, false);

      let q = a.q, kk = a.k, v = a.v;
      if (first) {
        k.gatherRows(a.qG, a.q, last ? this.io.lastToUnique : this.io.rowToUnique, qRows, D);
        k.gatherRows(a.kG, a.k, this.io.rowToUnique, N, D);
        k.gatherRows(a.vG, a.v, this.io.rowToUnique, N, D);
        q = a.qG; kk = a.kG; v = a.vG;
      }
      k.attentionForward(a.attnOut, a.probs, q, kk, v, b, tq, T, H, hd);

      // Residual: xMid = x + o_proj(attention), with x taken at the query rows.
      if (first) k.gatherRows(a.xMid, this.xTable, last ? this.io.lastToUnique : this.io.rowToUnique, qRows, D);
      else if (last) k.gatherRows(a.xMid, xIn, this.io.lastRows, b, D);
      else new Float32Array(k.memory.buffer, a.xMid, qRows * D).set(new Float32Array(k.memory.buffer, xIn, qRows * D));
      yield call('forward', a.xMid, a.attnOut, w.wo, qRows, D, D, true);

      k.rmsnormForward(a.n2, a.norms2, a.xMid, w.g2, qRows, D);
      yield call('forward', a.h, a.n2, w.w1, qRows, D, F, false);
      k.siluForward(a.a, a.sig, a.h, qRows * F);
      new Float32Array(k.memory.buffer, a.xOut, qRows * D).set(new Float32Array(k.memory.buffer, a.xMid, qRows * D));
      yield call('forward', a.xOut, a.a, w.w2, qRows, F, D, true);
      xIn = a.xOut;
    }
    k.rmsnormForward(this.head.nf, this.head.normsF, xIn, this.param('norm_final.g'), b, D);
    yield call('forward', this.head.logits, this.head.nf, this.param('lm_head.weight'), b, D, V, false);
    return this.loss === 'stablemax'
      ? k.stablemaxForward(this.head.ceProbs, this.head.logits, this.io.targets, b, V)
      : k.crossEntropyForward(this.head.ceProbs, this.head.logits, this.io.targets, b, V);
  }

  /** Number of the last forward's examples whose argmax logit equals the target. */
  correct(): number {
    return this.k.countCorrect(this.head.logits, this.io.targets, this.batch, this.shape.vocab);
  }

  private zero(ptr: number, floats: number): void {
    new Float32Array(this.k.memory.buffer, ptr, floats).fill(0);
  }

  private copy(dst: number, src: number, floats: number): void {
    const buf = this.k.memory.buffer;
    new Float32Array(buf, dst, floats).set(new Float32Array(buf, src, floats));
  }

  /**
   * Backward of the mean loss (cross-entropy or StableMax) of the last forward;
   * adds into the gradient arena, which the caller zeroes once per step.
   */
  *backwardWork(): MatmulWork<void> {
    const k = this.k;
    const { dim: D, mlp: F, vocab: V, seqLen: T, depth: L } = this.shape;
    const H = this.heads, hd = this.headDim;
    const b = this.batch, N = b * T, U = this.unique;
    const rs = this.bw.rowScratch;

    // Head: logits = RMSNorm_final(x_last) W_lm^T.
    const xLast = this.layers[L - 1].xOut;
    if (this.loss === 'stablemax') k.stablemaxBackward(this.bw.dLogits, this.head.ceProbs, this.head.logits, this.io.targets, b, V, Math.fround(1 / b));
    else k.crossEntropyBackward(this.bw.dLogits, this.head.ceProbs, this.io.targets, b, V, Math.fround(1 / b));
    yield call('weightGrad', this.grad('lm_head.weight'), this.bw.dLogits, this.head.nf, b, D, V, true);
    yield call('inputGrad', this.bw.dNf, this.bw.dLogits, this.param('lm_head.weight'), b, D, V, false);
    let dOut = this.bw.dOutA;
    this.zero(dOut, b * D);
    k.rmsnormBackward(dOut, this.grad('norm_final.g'), this.bw.dNf, xLast, this.param('norm_final.g'), this.head.normsF, b, D, rs);

    for (let l = L - 1; l >= 0; l--) {
      const a = this.layers[l];
      const w = this.layerParams[l];
      const g = this.layerGrads[l];
      const first = l === 0, last = l === L - 1;
      const qRows = last ? b : N;
      const tq = last ? 1 : T;
      const srcRows = first ? U : N;
      const qSrcRows = first ? U : last ? b : N;

      // MLP: xOut = xMid + W2 silu(W1 RMSNorm2(xMid)).
      this.copy(this.bw.dXMid, dOut, qRows * D);
      yield call('weightGrad', g.w2, dOut, a.a, qRows, F, D, true);
      yield call('inputGrad', this.bw.dA, dOut, w.w2, qRows, F, D, false);
      this.zero(this.bw.dH, qRows * F);
      k.siluBackward(this.bw.dH, this.bw.dA, a.h, a.sig, qRows * F);
      yield call('weightGrad', g.w1, this.bw.dH, a.n2, qRows, D, F, true);
      yield call('inputGrad', this.bw.dN2, this.bw.dH, w.w1, qRows, D, F, false);
      k.rmsnormBackward(this.bw.dXMid, g.g2, this.bw.dN2, a.xMid, w.g2, a.norms2, qRows, D, rs);

      // Attention: xMid = x + W_o attention(q, k, v).
      yield call('weightGrad', g.wo, this.bw.dXMid, a.attnOut, qRows, D, D, true);
      yield call('inputGrad', this.bw.dAttnOut, this.bw.dXMid, w.wo, qRows, D, D, false);
      this.zero(this.bw.dQ, qRows * D); this.zero(this.bw.dK, N * D); this.zero(this.bw.dV, N * D);
      const q = first ? a.qG : a.q, kk = first ? a.kG : a.k, v = first ? a.vG : a.v;
      k.attentionBackward(this.bw.dQ, this.bw.dK, this.bw.dV, this.bw.dAttnOut, a.probs, q, kk, v, b, tq, T, H, hd, rs);

      // Residual into the layer input, and the Q/K/V gradients in the projections' row space.
      let dSrc: number, dq = this.bw.dQ, dkk = this.bw.dK, dv = this.bw.dV;
      if (first) {
        dSrc = this.bw.dTable;
        const qIndex = last ? this.io.lastToUnique : this.io.rowToUnique;
        this.zero(dSrc, U * D);
        k.scatterAddRows(dSrc, this.bw.dXMid, qIndex, qRows, D);
        this.zero(this.bw.dQT, U * D); this.zero(this.bw.dKT, U * D); this.zero(this.bw.dVT, U * D);
        k.scatterAddRows(this.bw.dQT, this.bw.dQ, qIndex, qRows, D);
        k.scatterAddRows(this.bw.dKT, this.bw.dK, this.io.rowToUnique, N, D);
        k.scatterAddRows(this.bw.dVT, this.bw.dV, this.io.rowToUnique, N, D);
        dq = this.bw.dQT; dkk = this.bw.dKT; dv = this.bw.dVT;
      } else {
        dSrc = dOut === this.bw.dOutA ? this.bw.dOutB : this.bw.dOutA;
        if (last) {
          this.zero(dSrc, N * D);
          k.scatterAddRows(dSrc, this.bw.dXMid, this.io.lastRows, b, D);
        } else {
          this.copy(dSrc, this.bw.dXMid, N * D);
        }
      }

      // QK-norm, then the projections.
      this.zero(this.bw.dQRaw, qSrcRows * D); this.zero(this.bw.dKRaw, srcRows * D);
      k.rmsnormBackward(this.bw.dQRaw, g.gq, dq, a.qRaw, w.gq, a.qNorms, qSrcRows, D, rs);
      k.rmsnormBackward(this.bw.dKRaw, g.gk, dkk, a.kRaw, w.gk, a.kNorms, srcRows, D, rs);
      const qIn = last && !first ? a.n1Last : a.n1;
      yield call('weightGrad', g.wq, this.bw.dQRaw, qIn, qSrcRows, D, D, true);
      yield call('weightGrad', g.wk, this.bw.dKRaw, a.n1, srcRows, D, D, true);
      yield call('weightGrad', g.wv, dv, a.n1, srcRows, D, D, true);
      yield call('inputGrad', this.bw.dN1, this.bw.dKRaw, w.wk, srcRows, D, D, false);
      yield call('inputGrad', this.bw.dN1, dv, w.wv, srcRows, D, D, true);
      if (last && !first) {
        yield call('inputGrad', this.bw.dN1Last, this.bw.dQRaw, w.wq, b, D, D, false);
        k.scatterAddRows(this.bw.dN1, this.bw.dN1Last, this.io.lastRows, b, D);
      } else {
        yield call('inputGrad', this.bw.dN1, this.bw.dQRaw, w.wq, qSrcRows, D, D, true);
      }
      const src = first ? this.xTable : this.layers[l - 1].xOut;
      k.rmsnormBackward(dSrc, g.g1, this.bw.dN1, src, w.g1, a.norms1, srcRows, D, rs);
      dOut = dSrc;
    }
    // dOut now holds the gradient of the (position, token) embedding rows.
    k.embeddingBackward(this.grad('embedding.weight'), this.grad('pos_embedding'), this.bw.dTable,
      this.io.uniqueTok, this.io.uniquePos, U, D);
  }
}
