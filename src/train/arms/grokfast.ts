// Grokfast-EMA (Lee et al. 2024, arXiv 2405.20233): before AdamW, every gradient g is amplified
// along its slow component: e <- alpha e + (1 - alpha) g (e = g at the first step), g <- g + lambda e.
// AdamW then decays every parameter by wd, as the L2 arm does.
import type { Arm } from './arm.js';

export const grokfast: Arm = {
  name: 'grokfast', label: 'Grokfast-EMA', short: 'grokfast',
  summary: 'g += lambda * EMA_alpha(g) on every gradient, then AdamW with weight decay wd on every parameter',
  reads: ['wd', 'alpha', 'lambda'],
  strength: { field: 'wd', perRate: 10 },
  adamDecay: (config) => config.wd,
  extra: () => 'gradient plus lambda x its EMA',
  keepsState: true,
  // One call over the whole arena: the padding between tensors is zero in grads and state and stays zero.
  beforeAdam: (s) => {
    const floats = s.table.length ? s.table[s.table.length - 1].offset + Math.ceil(s.table[s.table.length - 1].size / 4) * 4 : 0;
    s.k.grokfastEma(s.buf.grads, s.buf.state, floats, s.config.alpha, s.config.lambda, s.step === 1);
  },
};
