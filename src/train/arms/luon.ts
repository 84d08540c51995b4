// LowRankMuon, the Luon fork of the reference (GitHub JiaxuanZou0714/Luon), on the Q/K weights
// only, which get no AdamW step: m <- momentum m + (g + luonLambda W), W <- W - muonLr NS(m), NS being
// the reference's cubic Newton-Schulz (nsIters steps). The decay term inside the momentum pulls
// W along its own polar factor, as LRD does, but through the optimiser. The others get AdamW with
// weight decay wd (the fork gives them none: --wd 0 reproduces it).
import { largestMatrix, queryKeyWeights, type Arm } from './arm.js';

export const luon: Arm = {
  name: 'luon', label: 'LowRankMuon (Luon)', short: 'luon',
  summary: 'on Q/K: m = momentum m + g + luonLambda W, W -= muonLr * NewtonSchulz(m); AdamW with weight decay wd on the rest',
  reads: ['wd', 'nsIters', 'muonLr', 'momentum', 'luonLambda'],
  strength: { field: 'luonLambda', perRate: 100 },
  adamDecay: (config, spec) => (spec.queryKey ? null : config.wd),
  extra: (spec) => (spec.queryKey ? 'LowRankMuon step instead of AdamW' : null),
  keepsState: true,
  scratch: (table, k) => {
    const qk = queryKeyWeights(table);
    return {
      matrixFloats: largestMatrix(qk),
      scratchFloats: Math.max(...qk.map((p) => k.newtonSchulzScratchFloats(p.rows, p.cols))),
      scratch64Doubles: 0,
    };
  },
  afterAdam: (s) => {
    const { muonLr, momentum, luonLambda, nsIters } = s.config;
    for (const spec of queryKeyWeights(s.table)) {
      const off = 4 * spec.offset;
      s.k.luonMomentum(s.buf.state + off, s.buf.grads + off, s.buf.params + off, spec.size, momentum, luonLambda);
      s.k.newtonSchulz(s.buf.matrixA, s.buf.state + off, spec.rows, spec.cols, nsIters, s.buf.scratch);
      s.k.scaledUpdate(s.buf.params + off, s.buf.matrixA, spec.size, 1, muonLr);
    }
  },
};
