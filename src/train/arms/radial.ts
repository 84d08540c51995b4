// The radial control: as LRD, but the step after AdamW is W <- W - rate * W / (||W||_F + 1e-8) on
// each Q/K weight, a shrink of the whole matrix with no preference among its singular values. It
// is LRD with zero Newton-Schulz iterations, and computed by the same kernel, so the two agree to
// the bit: a difference between LRD and radial is the spectral selectivity, nothing else.
import type { Arm } from './arm.js';
import { newtonSchulzDecay, sparesQueryKey } from './lrd.js';

export const radial: Arm = {
  name: 'radial', label: 'Radial Q/K shrink', short: 'radial',
  summary: 'AdamW (weight decay wd, none on Q/K), then W -= rate * W / ||W||_F on each Q/K weight',
  reads: ['wd', 'rate'],
  strength: { field: 'rate', perRate: 1 },
  adamDecay: sparesQueryKey,
  extra: (spec) => (spec.queryKey ? 'minus rate x W / ||W||_F' : null),
  afterAdam: (s) => newtonSchulzDecay(s, 0),
};
