// The optimiser of both arms, over the parameter, gradient and Adam-moment buffers of one kernel
// instance: AdamW on every parameter (PyTorch's formula, in the adamw kernel), then in the LRD
// arm W <- W - rate * NewtonSchulz(W) on every q_proj and k_proj weight.
import { ADAM, type RunConfig } from './config.js';
import { paddedEnd, type ParamSpec } from '../model/params.js';
import type { ParallelKernels } from '../kernel/parallel.js';

export interface OptimizerGroup {
  name: string;
  weightDecay: number;
  lowRankDecay: boolean;
}

/** Which parameters get which decay: the reference's two arms, decided in one visible place. */
export function optimizerGroups(config: RunConfig, table: ParamSpec[]): OptimizerGroup[] {
  return table.map((p) => ({
    name: p.name,
    weightDecay: config.decay === 'lrd' && p.queryKey ? 0 : config.wd,
    lowRankDecay: config.decay === 'lrd' && p.queryKey,
  }));
}

/** Byte offsets of the optimiser's buffers in the kernel instance's memory. */
export interface OptimizerBuffers {
  params: number; grads: number; m: number; v: number;
  /** The polar factor and Newton-Schulz scratch of the largest q/k weight. */
  polar: number; nsScratch: number;
}

/** A stretch of consecutive parameters (floats from `offset`) that share one weight decay. */
export interface AdamRun { offset: number; size: number; weightDecay: number }

/**
 * The parameters as few AdamW calls as possible: neighbours with the same weight decay become one
 * call (one wake-up of the threads instead of one per tensor). The gaps between them are the
 * table's padding to 4 floats, zero in every buffer, and AdamW keeps a zero parameter with a zero
 * gradient and moments at zero; each float's update does not depend on where its call starts
 * (the kernel's vector body and scalar tail round alike), so the bits are those of one call per tensor.
 */
export function adamRuns(table: ParamSpec[], groups: OptimizerGroup[]): AdamRun[] {
  const runs: AdamRun[] = [];
  table.forEach((p, i) => {
    const last = runs[runs.length - 1];
    const wd = groups[i].weightDecay;
    if (last && last.weightDecay === wd && p.offset === paddedEnd(last)) {
      last.size = p.offset + p.size - last.offset;
    } else {
      runs.push({ offset: p.offset, size: p.size, weightDecay: wd });
    }
  });
  return runs;
}

export class Optimizer {
  readonly groups: OptimizerGroup[];
  private readonly runs: AdamRun[];
  /** AdamW's step count t (bias corrections use t); part of the run state and the checksum. */
  adamStep = 0;

  constructor(private readonly k: ParallelKernels, private readonly config: RunConfig, private readonly table: ParamSpec[],
    private readonly buf: OptimizerBuffers) {
    this.groups = optimizerGroups(config, table);
    this.runs = adamRuns(table, this.groups);
  }

  /** One step from the gradients in buf.grads: AdamW on every parameter, then Low-Rank Decay in the lrd arm. */
  step(): void {
    this.adamStep++;
    const { lr } = this.config;
    for (const run of this.runs) {
      const off = 4 * run.offset;
      this.k.adamwUpdate(this.buf.params + off, this.buf.grads + off, this.buf.m + off, this.buf.v + off, run.size,
        lr, ADAM.beta1, ADAM.beta2, ADAM.eps, run.weightDecay, this.adamStep);
    }
    if (this.config.decay === 'lrd') this.lowRankDecay();
  }

  /** The Low-Rank Decay update alone: W <- W - rate * NewtonSchulz(W) on every q_proj/k_proj weight. */
  lowRankDecay(): void {
    const weights = this.table.filter((_, i) => this.groups[i].lowRankDecay)
      .map((spec) => ({ ptr: this.buf.params + 4 * spec.offset, rows: spec.rows, cols: spec.cols }));
    // Each weight's update is independent of the others', so they may run on different threads.
    this.k.lowRankDecayEach(weights, this.config.rate, this.config.nsIters, this.buf.polar, this.buf.nsScratch);
  }
}
