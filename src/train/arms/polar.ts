// The exact polar step: as LRD, but W <- W - rate * U V^T with U V^T from the SVD of W (in f64,
// over the singular values above 1e-7 sigma_1), where LRD approximates it by Newton-Schulz. Five
// cubic Newton-Schulz steps after Frobenius normalisation scale each singular value by a factor
// that grows with it, so LRD shrinks small singular values less than large ones; this arm shrinks
// every one by exactly rate, which tells the method from its approximation.
import { largestMatrix, queryKeyWeights, type Arm, type ArmScratch } from './arm.js';
import type { ParamSpec } from '../../model/params.js';
import type { ParallelKernels } from '../../kernel/parallel.js';
import { sparesQueryKey } from './lrd.js';

/** What the exact SVD of every Q/K weight needs: room for one weight and the f64 eigensolver's scratch (polar and prox). */
export function exactSvdScratch(table: ParamSpec[], k: ParallelKernels): ArmScratch {
  const dim = Math.max(...queryKeyWeights(table).map((p) => Math.max(p.rows, p.cols)));
  return { matrixFloats: largestMatrix(queryKeyWeights(table)), scratchFloats: 0, scratch64Doubles: k.polarScratchDoubles(dim, dim) };
}

export const polar: Arm = {
  name: 'polar', label: 'Exact polar decay', short: 'polar',
  summary: 'AdamW (weight decay wd, none on Q/K), then W -= rate * U V^T (exact SVD) on each Q/K weight',
  reads: ['wd', 'rate'],
  strength: { field: 'rate', perRate: 1 },
  adamDecay: sparesQueryKey,
  extra: (spec) => (spec.queryKey ? 'minus rate x exact polar factor' : null),
  scratch: exactSvdScratch,
  afterAdam: (s) => {
    for (const spec of queryKeyWeights(s.table)) {
      if (!s.k.polarDecay(s.buf.params + 4 * spec.offset, spec.rows, spec.cols, s.config.rate, s.buf.matrixA, s.buf.scratch64)) {
        throw new Error(`polar: the singular value decomposition of ${spec.name} did not converge at step ${s.step}`);
      }
    }
  },
};
