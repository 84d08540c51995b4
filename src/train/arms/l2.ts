// L2: AdamW with decoupled weight decay `wd` on every parameter, embeddings and norm gains
// included, as the reference's L2 arm.
import type { Arm } from './arm.js';

export const l2: Arm = {
  name: 'l2', label: 'L2 weight decay', short: 'L2',
  summary: 'AdamW with weight decay wd on every parameter',
  reads: ['wd'],
  strength: { field: 'wd', perRate: 10 },
  adamDecay: (config) => config.wd,
};
