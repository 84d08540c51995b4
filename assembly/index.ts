// The one Wasm module: every kernel the trainer uses, over raw pointers into linear memory.
// Memory is laid out by the host (src/kernel/arena.ts) from heapBase() upward, grown once before any
// view is taken, and never grown again, so host views never detach.
export { matmulForward, matmulBackwardInput, matmulBackwardWeight, matmulRange, matmulScratchFloats, matmulBlockSize } from './matmul';
export { rmsnormForward, rmsnormBackward } from './rmsnorm';
export { attentionForward, attentionBackward } from './attention';
export { siluForward, siluBackward } from './silu';
export { expForward } from './expf';
export { embeddingForward, embeddingBackward, gatherRows, scatterAddRows } from './embedding';
export { crossEntropyForward, crossEntropyBackward, countCorrect } from './crossentropy';
export { adamwUpdate } from './adamw';
export { newtonSchulz, lowRankDecay, newtonSchulzScratchFloats } from './newton_schulz';
export { singularValues, spectralScratchDoubles, stableRankOf, effectiveRankOf } from './spectral';
export { polarFactor, polarDecay, nuclearProx, polarScratchDoubles } from './polar';
export { muonOrthogonalize, muonScratchFloats } from './muon';
export { stablemaxForward, stablemaxBackward } from './stablemax';
export { grokfastEma, orthogonalizeGradient, muonMomentum, luonMomentum, scaledUpdate } from './grad_transforms';
export { randomSeed, randomNext, randomBelow, randomUniform, randomNormal, randomShuffle } from './random';
export { hashUpdate, hashFinish } from './hash';

/** First free byte after the module's static data, 16-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}
export { simdPeak } from './peak';
