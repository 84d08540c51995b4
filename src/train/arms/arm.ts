// What an arm is: the update rule a run trains with, as one module. An arm says which config
// fields it reads, which parameters AdamW updates and with what weight decay, what state it keeps
// (one float per parameter float, laid out like the parameters), the transform it applies to the
// gradients before AdamW and the step it takes after. The optimiser (../optimizer.ts) runs these
// hooks in that order; the registry (./index.ts) lists the arms for the CLI, the page, the formats,
// verify and the figures.
import type { ParamSpec } from '../../model/params.js';
import type { ParallelKernels } from '../../kernel/parallel.js';
import type { RunConfig } from '../config.js';

/** Config fields that belong to arms: every one is read by some arms and ignored by others. */
export const ARM_FIELDS = ['wd', 'rate', 'nsIters', 'alpha', 'lambda', 'muonLr', 'momentum', 'luonLambda'] as const;
export type ArmField = (typeof ARM_FIELDS)[number];

/** Byte offsets an arm's hooks work on, in the trainer's kernel instance. */
export interface ArmBuffers {
  params: number; grads: number; m: number; v: number;
  /** The arm's state (EMA or momentum), laid out like params; 0 when the arm keeps none. */
  state: number;
  /** Room for one weight-shaped float matrix (the largest weight the arm's step works on), twice. */
  matrixA: number; matrixB: number;
  /** Float scratch of the largest Newton-Schulz or Muon iteration, and f64 scratch of the exact polar step. */
  scratch: number; scratch64: number;
}

export interface ArmStep {
  k: ParallelKernels;
  config: RunConfig;
  table: ParamSpec[];
  buf: ArmBuffers;
  /** AdamW's step count t after this step (1 at the first step). */
  step: number;
}

/** Sizes of the scratch an arm needs for a model's weights. */
export interface ArmScratch { matrixFloats: number; scratchFloats: number; scratch64Doubles: number }

export interface Arm {
  name: string;
  /** Plain name for tables, figures and the page ("Low-Rank Decay"). */
  label: string;
  /** Short tag for terminal lines ("LRD"). */
  short: string;
  /** One sentence: what the arm does to which parameters. */
  summary: string;
  /** The arm fields it reads; the others must keep their defaults (config.ts refuses otherwise). */
  reads: readonly ArmField[];
  /** The field a sweep's rate axis sets, and how (the reference's L2 arm uses wd = 10 x rate). */
  strength: { field: ArmField; perRate: number };
  /** AdamW's weight decay for a parameter, or null when AdamW does not update it (the arm's own step does). */
  adamDecay(config: RunConfig, spec: ParamSpec): number | null;
  /** What the arm does to a parameter besides AdamW, in a few words, or null. */
  extra?(spec: ParamSpec): string | null;
  /** Whether the arm keeps a state buffer laid out like the parameters (saved in checkpoints, covered by the checksum). */
  keepsState?: boolean;
  scratch?(table: ParamSpec[], kernels: ParallelKernels): ArmScratch;
  /** Transforms buf.grads before AdamW. */
  beforeAdam?(s: ArmStep): void;
  /** The arm's own step after AdamW. */
  afterAdam?(s: ArmStep): void;
}

/** The q_proj and k_proj weights of every block. */
export function queryKeyWeights(table: ParamSpec[]): ParamSpec[] {
  return table.filter((p) => p.queryKey);
}

/** The 2-D weights inside the blocks: the q, k, v and o projections and the MLP's two layers. */
export function blockMatrices(table: ParamSpec[]): ParamSpec[] {
  return table.filter((p) => p.name.startsWith('layers.') && p.shape.length === 2);
}

export function largestMatrix(specs: ParamSpec[]): number {
  return specs.reduce((n, p) => Math.max(n, Math.ceil(p.size / 4) * 4), 4);
}
