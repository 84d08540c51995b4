// The training step: a batch's forward and backward pass into the gradient buffer, then the arm's
// update of the parameters through the optimiser (src/train/optimizer.ts); and the epoch's batches.
import type { MatmulWork } from '../kernel/matmul_call.js';
import { SEQ_LEN } from './data.js';
import { paramView, type TrainerParts } from './parts.js';

export interface StepInfo {
  /** 0-based index of the update just made (the reference's step numbering). */
  step: number;
  loss: number;
  /** Examples in the batch: config.batch, or fewer for an epoch's last batch. */
  batch: number;
}

/** What lossAndGrads returns: copies, by PyTorch parameter name. */
export interface BatchGradients {
  loss: number;
  /** [batch x vocab] */
  logits: Float32Array;
  grads: Record<string, Float32Array>;
}

/** What a step reads and writes: the model and its inputs, the data, the gradients, the optimiser, the run's step count and epoch position. */
export type StepParts = Pick<TrainerParts, 'config' | 'shape' | 'table' | 'kernels' | 'arena' | 'model' | 'data' | 'inputs' |
  'optimizer' | 'ptr' | 'floats' | 'run'>;

export class TrainingStep {
  /** Whether the gradient buffer holds gradients that applyGrads has not used. */
  private hasGrads = false;

  /** `orderRng`: byte offset of the PRNG stream that shuffles each epoch. */
  constructor(private readonly parts: StepParts, private readonly orderRng: number) {}

  /** Forgets pending gradients (new parameters were set). */
  clearGrads(): void {
    this.hasGrads = false;
  }

  /** The mean loss of the batch in the model's inputs, leaving its gradients in the gradient buffer. */
  *forwardBackwardWork(b: number): MatmulWork<number> {
    const { arena, model } = this.parts;
    arena.f32(this.parts.ptr.grads, this.parts.floats).fill(0);
    const sum = yield* model.forwardWork(b);
    yield* model.backwardWork();
    this.hasGrads = true;
    return sum / b;
  }

  /** Checks a batch (inputs: batch x 3 tokens) and puts it in the model's inputs; returns its size. */
  setBatch(inputs: Int32Array, targets: Int32Array): number {
    const { config, shape } = this.parts;
    const b = targets.length;
    if (b < 1 || b > config.batch) throw new RangeError(`lossAndGrads: batch ${b} is outside [1, ${config.batch}]`);
    if (inputs.length !== b * SEQ_LEN) throw new RangeError(`lossAndGrads: inputs has ${inputs.length} tokens, expected ${b} x ${SEQ_LEN}`);
    for (const t of targets) {
      if (!(t >= 0 && t < shape.vocab)) throw new RangeError(`lossAndGrads: target ${t} is outside [0, ${shape.vocab - 1}]`);
    }
    this.parts.inputs.tokens.set(inputs);
    this.parts.inputs.targets.set(targets);
    return b;
  }

  /** Copies of the last batch's logits and gradients. */
  batchGradients(loss: number, b: number): BatchGradients {
    const { table, arena, model, shape } = this.parts;
    const grads: Record<string, Float32Array> = {};
    for (const spec of table) grads[spec.name] = paramView(arena, this.parts.ptr.grads, spec).slice();
    return { loss, logits: arena.f32(model.logits, b * shape.vocab).slice(), grads };
  }

  /** Replaces the pending gradients (e.g. computed elsewhere), so that applyGrads uses them. */
  setGrads(grads: Record<string, Float32Array>): void {
    const { table, arena } = this.parts;
    for (const spec of table) {
      const g = grads[spec.name];
      if (!g || g.length !== spec.size) throw new Error(`setGrads: '${spec.name}' needs ${spec.size} values`);
    }
    for (const spec of table) paramView(arena, this.parts.ptr.grads, spec).set(grads[spec.name]);
    this.hasGrads = true;
  }

  /** One optimiser step from the last gradients: the arm's transform, AdamW, then the arm's own step. */
  applyGrads(): void {
    if (!this.hasGrads) throw new Error('applyGrads: no gradients; call lossAndGrads or step first');
    this.parts.optimizer.step();
    this.hasGrads = false;
  }

  /** One training step on the next batch of the epoch (reshuffled when an epoch ends, last batch partial). */
  *work(): MatmulWork<StepInfo> {
    const { config, data, inputs, run } = this.parts;
    const { batch } = config;
    const ids = data.epochIds();
    if (run.epochCursor >= ids.length) {
      data.shuffleEpoch(this.parts.kernels, this.orderRng);
      run.epochCursor = 0;
    }
    const b = Math.min(batch, ids.length - run.epochCursor);
    data.fill(inputs.tokens, inputs.targets, ids, run.epochCursor, b);
    run.epochCursor += b;
    const loss = yield* this.forwardBackwardWork(b);
    this.applyGrads();
    run.stepsDone++;
    return { step: run.stepsDone - 1, loss, batch: b };
  }
}
