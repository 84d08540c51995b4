// The perpendicular gradient (Prieto et al. 2025, arXiv 2501.04697): per parameter tensor, the
// gradient loses its component along the weight and is rescaled to its old norm, so that AdamW
// cannot grow the weights by scaling them (the logit growth that delays grokking in their account).
// AdamW then decays every parameter by wd (--wd 0 gives their plain perpendicular AdamW).
import type { Arm } from './arm.js';

export const orthograd: Arm = {
  name: 'orthograd', label: 'Perpendicular gradient', short: 'orthograd',
  summary: 'each gradient projected perpendicular to its weight (norm kept), then AdamW with weight decay wd on every parameter',
  reads: ['wd'],
  strength: { field: 'wd', perRate: 10 },
  adamDecay: (config) => config.wd,
  extra: () => 'gradient made perpendicular to the weight',
  // Each tensor's sums run in index order on the calling thread: the same bits at any thread count.
  beforeAdam: (s) => {
    for (const spec of s.table) s.k.orthogonalizeGradient(s.buf.grads + 4 * spec.offset, s.buf.params + 4 * spec.offset, spec.size);
  },
};
