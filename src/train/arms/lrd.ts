// Low-Rank Decay, the reference's arm: AdamW with weight decay wd on every parameter but the
// Q/K weights, then W <- W - rate * NS(W) on each of them, NS being nsIters cubic Newton-Schulz
// steps towards the polar factor U V^T after Frobenius normalisation (a nuclear-norm
// subgradient step, approximated).
import { queryKeyWeights, type Arm, type ArmStep } from './arm.js';

/** AdamW decays everything but the Q/K weights, which the arm's own step shrinks instead. */
export function sparesQueryKey(config: { wd: number }, spec: { queryKey: boolean }): number {
  return spec.queryKey ? 0 : config.wd;
}

/** W <- W - rate * NS_iters(W) on every Q/K weight (one weight per thread when threads run). */
export function newtonSchulzDecay(s: ArmStep, iters: number): void {
  const weights = queryKeyWeights(s.table).map((spec) => ({ ptr: s.buf.params + 4 * spec.offset, rows: spec.rows, cols: spec.cols }));
  s.k.lowRankDecayEach(weights, s.config.rate, iters, s.buf.matrixA, s.buf.scratch);
}

export const lrd: Arm = {
  name: 'lrd', label: 'Low-Rank Decay', short: 'LRD',
  summary: 'AdamW (weight decay wd, none on Q/K), then W -= rate * NewtonSchulz(W) on each Q/K weight',
  reads: ['wd', 'rate', 'nsIters'],
  strength: { field: 'rate', perRate: 1 },
  adamDecay: sparesQueryKey,
  extra: (spec) => (spec.queryKey ? 'minus rate x Newton-Schulz polar factor' : null),
  afterAdam: (s) => newtonSchulzDecay(s, s.config.nsIters),
};
