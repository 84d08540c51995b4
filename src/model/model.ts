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
import type { ModelShape, ParamSpec } from './params.js';
import { matmulOnKernel, type MatmulCall, type MatmulLayout, type MatmulWork } from '../kernel/matmul_call.js';
import type { KernelExports } from '../kernel/wasm.js';

const PROBE_MAX_VOCAB = 512;

const call = (layout: MatmulLayout, out: number, a: number, b: number, m: number, k: number, n: number, accumulate: boolean): MatmulCall =>
  ({ layout, out, a, b, m, k, n, accumulate });

interface LayerActivations {
  n1: number; norms1: number;       // RMSNorm1 of the projection source [srcRows, D]
  n1Last: number;                   // last-layer query source, gathered [B, D]
  qRaw: number; q: number; qNorms: number;  // [qSrcRows, D]
  kRaw: number; k: number; kNorms: number;  // [srcRows, D]
  v: number;                                // [srcRows, D]
  qG: number; kG: number; vG: number;       // first layer: gathered per example
  probs: number;                    // [B, H, tq, T]
  attnOut: number;                  // [qRows, D]
  xMid: number;                     // residual after attention [qRows, D]
  n2: number; norms2: number;       // [qRows, D]
  h: number; sig: number; a: number; // MLP hidden pre-activation, sigmoid, SiLU [qRows, F]
  xOut: number;                     // [qRows, D]
}

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

  // integer inputs
  readonly tokens: number; readonly targets: number;
  private readonly rowToUnique: number; private readonly lastToUnique: number;
  private readonly uniqueTok: number; private readonly uniquePos: number; private readonly lastRows: number;
  private readonly seen: Int32Array;
  private tokensView!: Int32Array; private rowToUniqueView!: Int32Array; private lastToUniqueView!: Int32Array;
  private uniqueTokView!: Int32Array; private uniquePosView!: Int32Array; private lastRowsView!: Int32Array;

  // activations
  private readonly xTable: number;
  private readonly layers: LayerActivations[] = [];
  private readonly nf: number; private readonly normsF: number;
  readonly logits: number; private readonly ceProbs: number;

  // backward buffers, shared by all layers
  private readonly dOutA: number; private readonly dOutB: number; private readonly dXMid: number;
  private readonly dA: number; private readonly dH: number; private readonly dN2: number; private readonly dAttnOut: number;
  private readonly dQ: number; private readonly dK: number; private readonly dV: number;
  private readonly dQT: number; private readonly dKT: number; private readonly dVT: number;
  private readonly dQRaw: number; private readonly dKRaw: number; private readonly dN1: number; private readonly dN1Last: number;
  private readonly dTable: number; private readonly dLogits: number; private readonly dNf: number;
  private readonly rowScratch: number; private readonly matmulScratch: number;

  // Buffers for attentionPattern: layer 0 over the token embeddings at position 0.
  private readonly probe: Record<'tokens' | 'positions' | 'x' | 'n' | 'norms' | 'qRaw' | 'q' | 'qNorms' | 'kRaw' | 'k' | 'kNorms' | 'out' | 'probs', number> | null;

  private batch = 0;
  private unique = 0;
  // Each block's parameter and gradient pointers, looked up once: they never move.
  private readonly layerParams: LayerParams[];
  private readonly layerGrads: LayerParams[];

  constructor(kernels: KernelExports, arena: Arena, shape: ModelShape, table: ParamSpec[],
    private readonly ptr: ModelPointers, maxBatch: number) {
    this.k = kernels;
    this.shape = shape;
    this.maxBatch = maxBatch;
    this.table = new Map(table.map((p) => [p.name, p]));
    this.layerParams = Array.from({ length: shape.depth }, (_, l) => this.layerPointers(l, (n) => this.param(n)));
    this.layerGrads = Array.from({ length: shape.depth }, (_, l) => this.layerPointers(l, (n) => this.grad(n)));
    this.heads = shape.heads;
    this.headDim = shape.dim / shape.heads;
    const { dim: D, mlp: F, vocab: V, seqLen: T, depth: L } = shape;
    const B = maxBatch;
    const N = B * T;
    const U = Math.min(N, V * T);
    this.maxUnique = U;
    const W = (n: number) => arena.words(n);

    this.tokens = W(N); this.targets = W(B);
    this.rowToUnique = W(N); this.lastToUnique = W(B);
    this.uniqueTok = W(U); this.uniquePos = W(U); this.lastRows = W(B);
    this.seen = new Int32Array(V * T);

    this.xTable = W(U * D);
    for (let l = 0; l < L; l++) {
      const first = l === 0;
      const last = l === L - 1;
      const srcRows = first ? U : N;
      const qSrcRows = first ? U : last ? B : N;
      const qRows = last ? B : N;
      this.layers.push({
        n1: W(srcRows * D), norms1: W(srcRows), n1Last: last && !first ? W(B * D) : 0,
        qRaw: W(qSrcRows * D), q: W(qSrcRows * D), qNorms: W(qSrcRows),
        kRaw: W(srcRows * D), k: W(srcRows * D), kNorms: W(srcRows), v: W(srcRows * D),
        qG: first ? W(qRows * D) : 0, kG: first ? W(N * D) : 0, vG: first ? W(N * D) : 0,
        probs: W(B * this.heads * (last ? 1 : T) * T),
        attnOut: W(qRows * D), xMid: W(qRows * D), n2: W(qRows * D), norms2: W(qRows),
        h: W(qRows * F), sig: W(qRows * F), a: W(qRows * F), xOut: W(qRows * D),
      });
    }
    this.nf = W(B * D); this.normsF = W(B);
    this.logits = W(B * V); this.ceProbs = W(B * V);

    const R = Math.max(N, U);
    this.dOutA = W(N * D); this.dOutB = W(N * D); this.dXMid = W(N * D);
    this.dA = W(N * F); this.dH = W(N * F); this.dN2 = W(N * D); this.dAttnOut = W(N * D);
    this.dQ = W(N * D); this.dK = W(N * D); this.dV = W(N * D);
    this.dQT = W(U * D); this.dKT = W(U * D); this.dVT = W(U * D);
    this.dQRaw = W(R * D); this.dKRaw = W(R * D); this.dN1 = W(R * D); this.dN1Last = W(B * D);
    this.dTable = W(U * D); this.dLogits = W(B * V); this.dNf = W(B * D);
    this.rowScratch = W(Math.max(D, T)); // rmsnormBackward needs dim floats, attentionBackward keys
    // The largest product: any summed dimension up to max(N, F, V, D) into up to max(F, D, V) columns.
    const inner = Math.max(R, F, D, V);
    const cols = Math.max(F, D, V);
    this.matmulScratch = W(kernels.matmulScratchFloats(inner, cols));
    // The attention pattern needs heads x V x V floats: only offered up to V = 512.
    this.probe = V <= PROBE_MAX_VOCAB ? {
      tokens: W(V), positions: W(V), x: W(V * D), n: W(V * D), norms: W(V), qRaw: W(V * D), q: W(V * D), qNorms: W(V),
      kRaw: W(V * D), k: W(V * D), kNorms: W(V), out: W(V * D), probs: W(this.heads * V * V),
    } : null;
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
    const k = this.k, D = this.shape.dim, H = this.heads, mm = this.matmulScratch;
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

  /** Takes views of the integer inputs; call once after the arena is committed. */
  bindViews(arena: Arena): void {
    const { seqLen: T } = this.shape;
    const N = this.maxBatch * T;
    this.tokensView = arena.i32(this.tokens, N);
    this.rowToUniqueView = arena.i32(this.rowToUnique, N);
    this.lastToUniqueView = arena.i32(this.lastToUnique, this.maxBatch);
    this.uniqueTokView = arena.i32(this.uniqueTok, this.maxUnique);
    this.uniquePosView = arena.i32(this.uniquePos, this.maxUnique);
    this.lastRowsView = arena.i32(this.lastRows, this.maxBatch);
  }

  /** Input tokens [maxBatch x seqLen] and targets [maxBatch] as host views. */
  inputViews(arena: Arena): { tokens: Int32Array; targets: Int32Array } {
    return {
      tokens: arena.i32(this.tokens, this.maxBatch * this.shape.seqLen),
      targets: arena.i32(this.targets, this.maxBatch),
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
    matmulOnKernel(this.k, c, this.matmulScratch);
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
   * this.logits. Returns the summed cross-entropy over the b targets (which must be filled).
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

    k.embeddingForward(this.xTable, this.uniqueTok, this.uniquePos, this.param('embedding.weight'), this.param('pos_embedding'), U, D);
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
        k.gatherRows(a.n1Last, a.n1, this.lastRows, b, D);
        qIn = a.n1Last; qSrcRows = b;
      }
      yield call('forward', a.qRaw, qIn, w.wq, qSrcRows, D, D, false);
      k.rmsnormForward(a.q, a.qNorms, a.qRaw, w.gq, qSrcRows, D);
      yield call('forward', a.kRaw, a.n1, w.wk, srcRows, D, D, false);
      k.rmsnormForward(a.k, a.kNorms, a.kRaw, w.gk, srcRows, D);
      yield call('forward', a.v, a.n1, w.wv, srcRows, D, D, false);

      let q = a.q, kk = a.k, v = a.v;
      if (first) {
        k.gatherRows(a.qG, a.q, last ? this.lastToUnique : this.rowToUnique, qRows, D);
        k.gatherRows(a.kG, a.k, this.rowToUnique, N, D);
        k.gatherRows(a.vG, a.v, this.rowToUnique, N, D);
        q = a.qG; kk = a.kG; v = a.vG;
      }
      k.attentionForward(a.attnOut, a.probs, q, kk, v, b, tq, T, H, hd);

      // Residual: xMid = x + o_proj(attention), with x taken at the query rows.
      if (first) k.gatherRows(a.xMid, this.xTable, last ? this.lastToUnique : this.rowToUnique, qRows, D);
      else if (last) k.gatherRows(a.xMid, xIn, this.lastRows, b, D);
      else new Float32Array(k.memory.buffer, a.xMid, qRows * D).set(new Float32Array(k.memory.buffer, xIn, qRows * D));
      yield call('forward', a.xMid, a.attnOut, w.wo, qRows, D, D, true);

      k.rmsnormForward(a.n2, a.norms2, a.xMid, w.g2, qRows, D);
      yield call('forward', a.h, a.n2, w.w1, qRows, D, F, false);
      k.siluForward(a.a, a.sig, a.h, qRows * F);
      new Float32Array(k.memory.buffer, a.xOut, qRows * D).set(new Float32Array(k.memory.buffer, a.xMid, qRows * D));
      yield call('forward', a.xOut, a.a, w.w2, qRows, F, D, true);
      xIn = a.xOut;
    }
    k.rmsnormForward(this.nf, this.normsF, xIn, this.param('norm_final.g'), b, D);
    yield call('forward', this.logits, this.nf, this.param('lm_head.weight'), b, D, V, false);
    return k.crossEntropyForward(this.ceProbs, this.logits, this.targets, b, V);
  }

  /** Number of the last forward's examples whose argmax logit equals the target. */
  correct(): number {
    return this.k.countCorrect(this.logits, this.targets, this.batch, this.shape.vocab);
  }

  private zero(ptr: number, floats: number): void {
    new Float32Array(this.k.memory.buffer, ptr, floats).fill(0);
  }

  private copy(dst: number, src: number, floats: number): void {
    const buf = this.k.memory.buffer;
    new Float32Array(buf, dst, floats).set(new Float32Array(buf, src, floats));
  }

  /**
   * Backward of the mean cross-entropy of the last forward;
   * adds into the gradient arena, which the caller zeroes once per step.
   */
  *backwardWork(): MatmulWork<void> {
    const k = this.k;
    const { dim: D, mlp: F, vocab: V, seqLen: T, depth: L } = this.shape;
    const H = this.heads, hd = this.headDim;
    const b = this.batch, N = b * T, U = this.unique;
    const rs = this.rowScratch;

    // Head: logits = RMSNorm_final(x_last) W_lm^T.
    const xLast = this.layers[L - 1].xOut;
    k.crossEntropyBackward(this.dLogits, this.ceProbs, this.targets, b, V, Math.fround(1 / b));
    yield call('weightGrad', this.grad('lm_head.weight'), this.dLogits, this.nf, b, D, V, true);
    yield call('inputGrad', this.dNf, this.dLogits, this.param('lm_head.weight'), b, D, V, false);
    let dOut = this.dOutA;
    this.zero(dOut, b * D);
    k.rmsnormBackward(dOut, this.grad('norm_final.g'), this.dNf, xLast, this.param('norm_final.g'), this.normsF, b, D, rs);

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
      this.copy(this.dXMid, dOut, qRows * D);
      yield call('weightGrad', g.w2, dOut, a.a, qRows, F, D, true);
      yield call('inputGrad', this.dA, dOut, w.w2, qRows, F, D, false);
      this.zero(this.dH, qRows * F);
      k.siluBackward(this.dH, this.dA, a.h, a.sig, qRows * F);
      yield call('weightGrad', g.w1, this.dH, a.n2, qRows, D, F, true);
      yield call('inputGrad', this.dN2, this.dH, w.w1, qRows, D, F, false);
      k.rmsnormBackward(this.dXMid, g.g2, this.dN2, a.xMid, w.g2, a.norms2, qRows, D, rs);

      // Attention: xMid = x + W_o attention(q, k, v).
      yield call('weightGrad', g.wo, this.dXMid, a.attnOut, qRows, D, D, true);
      yield call('inputGrad', this.dAttnOut, this.dXMid, w.wo, qRows, D, D, false);
      this.zero(this.dQ, qRows * D); this.zero(this.dK, N * D); this.zero(this.dV, N * D);
      const q = first ? a.qG : a.q, kk = first ? a.kG : a.k, v = first ? a.vG : a.v;
      k.attentionBackward(this.dQ, this.dK, this.dV, this.dAttnOut, a.probs, q, kk, v, b, tq, T, H, hd, rs);

      // Residual into the layer input, and the Q/K/V gradients in the projections' row space.
      let dSrc: number, dq = this.dQ, dkk = this.dK, dv = this.dV;
      if (first) {
        dSrc = this.dTable;
        const qIndex = last ? this.lastToUnique : this.rowToUnique;
        this.zero(dSrc, U * D);
        k.scatterAddRows(dSrc, this.dXMid, qIndex, qRows, D);
        this.zero(this.dQT, U * D); this.zero(this.dKT, U * D); this.zero(this.dVT, U * D);
        k.scatterAddRows(this.dQT, this.dQ, qIndex, qRows, D);
        k.scatterAddRows(this.dKT, this.dK, this.rowToUnique, N, D);
        k.scatterAddRows(this.dVT, this.dV, this.rowToUnique, N, D);
        dq = this.dQT; dkk = this.dKT; dv = this.dVT;
      } else {
        dSrc = dOut === this.dOutA ? this.dOutB : this.dOutA;
        if (last) {
          this.zero(dSrc, N * D);
          k.scatterAddRows(dSrc, this.dXMid, this.lastRows, b, D);
        } else {
          this.copy(dSrc, this.dXMid, N * D);
        }
      }

      // QK-norm, then the projections.
      this.zero(this.dQRaw, qSrcRows * D); this.zero(this.dKRaw, srcRows * D);
      k.rmsnormBackward(this.dQRaw, g.gq, dq, a.qRaw, w.gq, a.qNorms, qSrcRows, D, rs);
      k.rmsnormBackward(this.dKRaw, g.gk, dkk, a.kRaw, w.gk, a.kNorms, srcRows, D, rs);
      const qIn = last && !first ? a.n1Last : a.n1;
      yield call('weightGrad', g.wq, this.dQRaw, qIn, qSrcRows, D, D, true);
      yield call('weightGrad', g.wk, this.dKRaw, a.n1, srcRows, D, D, true);
      yield call('weightGrad', g.wv, dv, a.n1, srcRows, D, D, true);
      yield call('inputGrad', this.dN1, this.dKRaw, w.wk, srcRows, D, D, false);
      yield call('inputGrad', this.dN1, dv, w.wv, srcRows, D, D, true);
      if (last && !first) {
        yield call('inputGrad', this.dN1Last, this.dQRaw, w.wq, b, D, D, false);
        k.scatterAddRows(this.dN1, this.dN1Last, this.lastRows, b, D);
      } else {
        yield call('inputGrad', this.dN1, this.dQRaw, w.wq, qSrcRows, D, D, true);
      }
      const src = first ? this.xTable : this.layers[l - 1].xOut;
      k.rmsnormBackward(dSrc, g.g1, this.dN1, src, w.g1, a.norms1, srcRows, D, rs);
      dOut = dSrc;
    }
    // dOut now holds the gradient of the (position, token) embedding rows.
    k.embeddingBackward(this.grad('embedding.weight'), this.grad('pos_embedding'), this.dTable,
      this.uniqueTok, this.uniquePos, U, D);
  }
}
