// The proximal step of the nuclear norm: as LRD (AdamW without weight decay on Q/K), but the step
// after AdamW is W <- U max(S - rate, 0) V^T (soft-thresholding, exact SVD in f64). Singular
// values below rate go to zero instead of overshooting past it, as a subgradient step does; the
// difference between `polar` and `prox` is the discretisation, not the method.
import { queryKeyWeights, type Arm } from './arm.js';
import { sparesQueryKey } from './lrd.js';
import { exactSvdScratch } from './polar.js';

export const prox: Arm = {
  name: 'prox', label: 'Nuclear-norm proximal step', short: 'prox',
  summary: 'AdamW (weight decay wd, none on Q/K), then W <- U max(S - rate, 0) V^T on each Q/K weight',
  reads: ['wd', 'rate'],
  strength: { field: 'rate', perRate: 1 },
  adamDecay: sparesQueryKey,
  extra: (spec) => (spec.queryKey ? 'singular values soft-thresholded by rate' : null),
  scratch: exactSvdScratch,
  afterAdam: (s) => {
    for (const spec of queryKeyWeights(s.table)) {
      if (!s.k.nuclearProx(s.buf.params + 4 * spec.offset, spec.rows, spec.cols, s.config.rate, s.buf.scratch64)) {
        throw new Error(`prox: the singular value decomposition of ${spec.name} did not converge at step ${s.step}`);
      }
    }
  },
};
