// The evaluation of a step: loss and accuracy over the whole training and validation sets, the
// Fourier measures, the weight norms, the QK ranks and the checksum, as one EvalInfo row.
import type { MatmulWork } from '../kernel/matmul_call.js';
import type { EvalInfo } from '../format/run_result.js';
import type { RunConfig } from './config.js';
import { checksumOf, paramView, type TrainerParts } from './parts.js';
import { inDomain, taskTarget } from './tasks.js';
import { FOURIER_MAX_P, embeddingFrequencyShares, keyFrequencies, splitLogits, trigTable, type TrigTable } from './fourier.js';

/** Whether the Fourier measures are computed: modular addition, at a modulus whose p^3 logits fit in memory. */
export function fourierApplies(config: RunConfig): boolean {
  return config.task === 'add' && config.p <= FOURIER_MAX_P;
}

/** What an evaluation reads: the trainer's model, data, parameters and state (read only, but for the model's activations and inputs). */
export type EvaluationParts = Pick<TrainerParts, 'config' | 'shape' | 'table' | 'arena' | 'model' | 'data' | 'inputs' | 'ptr' |
  'spectra' | 'digest' | 'optimizer' | 'run'>;

export class Evaluation {
  /** `valMirrored`: per validation pair, whether its mirror is a training pair (null: the task is not commutative). */
  constructor(private readonly parts: EvaluationParts, private readonly valMirrored: Uint8Array | null) {}

  /** The evaluation after the last update, with the trainer's checksum last. */
  *work(): MatmulWork<EvalInfo> {
    const { config, data } = this.parts;
    const { p } = config;
    const logits = fourierApplies(config) ? new Float64Array(p * p * p) : null;
    const train = yield* this.setWork(data.trainIds(), null, logits);
    const val = yield* this.setWork(data.valIds(), this.valMirrored, logits);
    return {
      step: this.parts.run.stepsDone - 1,
      trainLoss: train.loss, trainAcc: train.acc, valLoss: val.loss, valAcc: val.acc,
      valAccMirrored: val.accMirrored, valAccUnmirrored: val.accUnmirrored,
      ...this.fourierMeasures(logits),
      ...this.weightNorms(),
      ...this.parts.spectra.queryKeyRanks(),
      checksum: checksumOf(this.parts),
    };
  }

  /**
   * Mean loss and accuracy over `ids`; with `mirrored` (one flag per id), also the accuracy on
   * the flagged ids and on the others, or null for an empty group.
   */
  private *setWork(ids: Int32Array, mirrored: Uint8Array | null = null, logits: Float64Array | null = null):
    MatmulWork<{ loss: number; acc: number; accMirrored: number | null; accUnmirrored: number | null }> {
    const { config, shape, arena, model, data, inputs } = this.parts;
    const chunk = config.batch;
    const { p } = config, V = shape.vocab;
    let lossSum = 0, correct = 0, correctMirrored = 0;
    for (let from = 0; from < ids.length; from += chunk) {
      const b = Math.min(chunk, ids.length - from);
      data.fill(inputs.tokens, inputs.targets, ids, from, b);
      lossSum += yield* model.forwardWork(b);
      correct += model.correct();
      if (logits) {
        // The number classes of each pair's logits, at row id (for the Fourier measures).
        const rows = arena.f32(model.logits, b * V);
        for (let n = 0; n < b; n++) for (let c = 0; c < p; c++) logits[ids[from + n] * p + c] = rows[n * V + c];
      }
      if (mirrored) {
        // Count again with the unflagged examples' targets set to a class no argmax returns.
        for (let n = 0; n < b; n++) if (!mirrored[from + n]) inputs.targets[n] = -1;
        correctMirrored += model.correct();
      }
    }
    const flagged = mirrored ? mirrored.reduce((a, f) => a + f, 0) : 0;
    const share = (hits: number, of: number) => (mirrored && of > 0 ? hits / of : null);
    return {
      loss: lossSum / ids.length, acc: correct / ids.length,
      accMirrored: share(correctMirrored, flagged), accUnmirrored: share(correct - correctMirrored, ids.length - flagged),
    };
  }

  /**
   * The Fourier progress measures (src/train/fourier.ts) from the embedding and every pair's
   * logits, or nulls for a task other than addition; the key frequencies are the embedding's
   * five largest at this step.
   */
  private fourierMeasures(logits: Float64Array | null): Pick<EvalInfo, 'frequencyShares' | 'restrictedLoss' | 'excludedLoss'> {
    if (!logits) return { frequencyShares: null, restrictedLoss: null, excludedLoss: null };
    const trig = trigTable(this.parts.config.p);
    const shares = this.frequencyShares(trig);
    return { frequencyShares: shares, ...this.keyLosses(logits, keyFrequencies(shares), trig) };
  }

  /** The token embedding's share of squared norm per frequency 0..floor(p/2), now. */
  frequencyShares(trig = trigTable(this.parts.config.p)): number[] {
    const { config, table, arena } = this.parts;
    const embedding = paramView(arena, this.parts.ptr.params, table.find((s) => s.name === 'embedding.weight')!);
    return embeddingFrequencyShares(embedding, config.p, config.dim, trig);
  }

  /**
   * The restricted and excluded losses at given key frequencies with the current parameters
   * (Nanda et al.'s progress measures with the keys fixed, e.g. from the final model): every
   * pair's logits, then the split. Addition only.
   */
  *keyLossesWork(keys: number[]): MatmulWork<{ restrictedLoss: number; excludedLoss: number }> {
    const { config, data } = this.parts;
    const logits = new Float64Array(config.p * config.p * config.p);
    yield* this.setWork(data.trainIds(), null, logits);
    yield* this.setWork(data.valIds(), null, logits);
    return this.keyLosses(logits, keys, trigTable(config.p));
  }

  /** Means over the training pairs of the cross-entropy over the p number classes, of the logits split at `keys`. */
  private keyLosses(logits: Float64Array, keys: number[], trig: TrigTable): { restrictedLoss: number; excludedLoss: number } {
    const { config, model, data } = this.parts;
    const { p } = config;
    const { restricted, excluded } = splitLogits(logits, p, keys, trig);
    const ids = data.trainIds();
    const loss = (values: Float64Array) => {
      const b = config.batch;
      const rows = new Float32Array(b * p), targets = new Int32Array(b);
      let sum = 0;
      for (let from = 0; from < ids.length; from += b) {
        const n = Math.min(b, ids.length - from);
        for (let i = 0; i < n; i++) {
          const id = ids[from + i];
          rows.set(values.subarray(id * p, (id + 1) * p), i * p);
          targets[i] = taskTarget('add', Math.floor(id / p), id % p, p);
        }
        sum += model.crossEntropyOf(rows, targets, n, p);
      }
      return sum / ids.length;
    };
    return { restrictedLoss: loss(restricted), excludedLoss: loss(excluded) };
  }

  /**
   * Mean Frobenius norm of the q_proj and k_proj weights, and the norm of all parameters: sums of
   * squares in f64 in table order, so the same bits on every engine.
   */
  weightNorms(): { queryKeyNorm: number; paramNorm: number } {
    let total = 0, qk = 0, count = 0;
    for (const spec of this.parts.table) {
      const w = paramView(this.parts.arena, this.parts.ptr.params, spec);
      let sq = 0;
      for (let i = 0; i < w.length; i++) sq += w[i] * w[i];
      total += sq;
      if (spec.queryKey) { qk += Math.sqrt(sq); count++; }
    }
    return { queryKeyNorm: count ? qk / count : 0, paramNorm: Math.sqrt(total) };
  }

  /**
   * How often the model's answer to (a, b) is its answer to (b, a), over the unordered pairs
   * a != b of the whole domain: the architecture's symmetry under swapping the two inputs (the
   * last position attends to both without a mask; only the small positional embeddings tell
   * them apart), which a model may have before it learns anything.
   */
  *swapAgreementWork(): MatmulWork<{ agree: number; pairs: number }> {
    const { config, shape, arena, model, data, inputs } = this.parts;
    const { p } = config, V = shape.vocab;
    // Every pair of the task's domain (division leaves out b = 0); answer -1 for the others.
    const ids = Int32Array.from({ length: p * p }, (_, i) => i).filter((id) => inDomain(config.task, Math.floor(id / p), id % p));
    const answer = new Int32Array(p * p).fill(-1);
    for (let from = 0; from < ids.length; from += config.batch) {
      const b = Math.min(config.batch, ids.length - from);
      data.fill(inputs.tokens, inputs.targets, ids, from, b);
      yield* model.forwardWork(b);
      const rows = arena.f32(model.logits, b * V);
      // The first largest logit, as PyTorch's argmax and the accuracy count take it.
      for (let n = 0; n < b; n++) {
        let best = 0;
        for (let c = 1; c < V; c++) if (rows[n * V + c] > rows[n * V + best]) best = c;
        answer[ids[from + n]] = best;
      }
    }
    let agree = 0, pairs = 0;
    for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) {
      if (answer[a * p + b] < 0 || answer[b * p + a] < 0) continue;
      pairs++;
      if (answer[a * p + b] === answer[b * p + a]) agree++;
    }
    return { agree, pairs };
  }
}
