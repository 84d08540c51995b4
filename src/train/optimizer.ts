// The optimiser of every arm, over the parameter, gradient, Adam-moment and arm-state buffers of
// one kernel instance: the arm's gradient transform, AdamW on the parameters the arm gives to
// AdamW (PyTorch's formula, in the adamw kernel), then the arm's own step (src/train/arms/).
import { ADAM, type RunConfig } from './config.js';
import { armOf, type Arm, type ArmBuffers } from './arms/index.js';
import { paddedEnd, type ParamSpec } from '../model/params.js';
import type { ParallelKernels } from '../kernel/parallel.js';

export interface OptimizerGroup {
  name: string;
  /** AdamW's weight decay, or null when AdamW does not update the parameter (the arm's step does). */
  weightDecay: number | null;
  /** The arm's update of the parameter besides AdamW, in a few words, or null. */
  extra: string | null;
}

/** Which parameters get which update: decided by the arm, in one visible place, and printed by `run --explain`. */
export function optimizerGroups(config: RunConfig, table: ParamSpec[]): OptimizerGroup[] {
  const arm = armOf(config.decay);
  return table.map((p) => ({ name: p.name, weightDecay: arm.adamDecay(config, p), extra: arm.extra?.(p) ?? null }));
}

/** The groups as lines: one per run of neighbouring parameters with the same update. */
export function explainGroups(config: RunConfig, groups: OptimizerGroup[]): string[] {
  const arm = armOf(config.decay);
  const lines = [`arm ${arm.name} (${arm.label}): ${arm.summary}`];
  const what = (g: OptimizerGroup) => (g.weightDecay === null ? g.extra ?? 'not updated' : [`AdamW wd ${g.weightDecay}`, g.extra].filter(Boolean).join(', '));
  let i = 0;
  while (i < groups.length) {
    let j = i;
    while (j + 1 < groups.length && what(groups[j + 1]) === what(groups[i])) j++;
    lines.push(`  ${groups[i].name}${j > i ? ` .. ${groups[j].name} (${j - i + 1} tensors)` : ''}: ${what(groups[i])}`);
    i = j + 1;
  }
  return lines;
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
    const wd = groups[i].weightDecay;
    // A parameter AdamW skips ends the run before it: the next one no longer starts at the run's end.
    if (wd === null) return;
    const last = runs[runs.length - 1];
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
  readonly arm: Arm;
  private readonly runs: AdamRun[];
  /** AdamW's step count t (bias corrections use t); part of the run state and the checksum. */
  adamStep = 0;

  constructor(private readonly k: ParallelKernels, private readonly config: RunConfig, private readonly table: ParamSpec[],
    private readonly buf: ArmBuffers) {
    this.arm = armOf(config.decay);
    this.groups = optimizerGroups(config, table);
    this.runs = adamRuns(table, this.groups);
  }

  /** One step from the gradients in buf.grads: the arm's transform, AdamW, then the arm's own step. */
  step(): void {
    this.adamStep++;
    const s = { k: this.k, config: this.config, table: this.table, buf: this.buf, step: this.adamStep };
    this.arm.beforeAdam?.(s);
    const { lr } = this.config;
    for (const run of this.runs) {
      const off = 4 * run.offset;
      this.k.adamwUpdate(this.buf.params + off, this.buf.grads + off, this.buf.m + off, this.buf.v + off, run.size,
        lr, ADAM.beta1, ADAM.beta2, ADAM.eps, run.weightDecay, this.adamStep);
    }
    this.arm.afterAdam?.(s);
  }

  /** The arm's own step alone, as after AdamW (the bench times it; LRD's is W -= rate * NS(W)). */
  armStep(): void {
    this.arm.afterAdam?.({ k: this.k, config: this.config, table: this.table, buf: this.buf, step: Math.max(1, this.adamStep) });
  }
}
