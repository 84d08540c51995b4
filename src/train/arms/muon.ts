// Muon (Jordan et al. 2024) on every 2-D weight inside the blocks, AdamW (weight decay wd) on the
// rest. Per Muon weight: Nesterov momentum, five quintic Newton-Schulz steps towards an
// orthogonal matrix, and W <- W (1 - muonLr wd) - muonLr sqrt(max(1, out/in)) O. Float32 throughout,
// where the public implementations run the iteration in bfloat16 on GPUs. Tveit et al. 2025
// (arXiv 2504.16041) report that Muon shortens grokking on modular tasks.
import { blockMatrices, largestMatrix, type Arm } from './arm.js';

/** Quintic iterations of Muon's orthogonalisation (fixed, as in the public implementations). */
export const MUON_ITERATIONS = 5;

export const muon: Arm = {
  name: 'muon', label: 'Muon', short: 'muon',
  summary: 'Muon (momentum, quintic Newton-Schulz, lr muonLr, decay wd) on the block matrices, AdamW with weight decay wd on the rest',
  reads: ['wd', 'muonLr', 'momentum'],
  strength: { field: 'wd', perRate: 10 },
  adamDecay: (config, spec) => (spec.name.startsWith('layers.') && spec.shape.length === 2 ? null : config.wd),
  extra: (spec) => (spec.name.startsWith('layers.') && spec.shape.length === 2 ? 'Muon step instead of AdamW' : null),
  keepsState: true,
  scratch: (table, k) => {
    const mats = blockMatrices(table);
    return {
      matrixFloats: largestMatrix(mats),
      scratchFloats: Math.max(...mats.map((p) => k.muonScratchFloats(p.rows, p.cols))),
      scratch64Doubles: 0,
    };
  },
  afterAdam: (s) => {
    const { muonLr, momentum, wd } = s.config;
    for (const spec of blockMatrices(s.table)) {
      const off = 4 * spec.offset;
      s.k.muonMomentum(s.buf.matrixA, s.buf.state + off, s.buf.grads + off, spec.size, momentum);
      s.k.muonOrthogonalize(s.buf.matrixB, s.buf.matrixA, spec.rows, spec.cols, MUON_ITERATIONS, s.buf.scratch);
      s.k.scaledUpdate(s.buf.params + off, s.buf.matrixB, spec.size, 1 - muonLr * wd, muonLr * Math.sqrt(Math.max(1, spec.rows / spec.cols)));
    }
  },
};
