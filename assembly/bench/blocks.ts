// Bench only (npm run bench -- --blocks, build/bench_blocks.wasm): the trainer's 2 x 16 product
// kernel and the earlier 4 x 8 one in one module, so the bench times them back to back on the
// same memory. Not part of the trainer's module (assembly/index.ts).
export { matmulForward, matmulBackwardInput, matmulBackwardWeight, matmulScratchFloats } from '../matmul';
export {
  matmulForward as matmulForward4x8, matmulBackwardInput as matmulBackwardInput4x8,
  matmulBackwardWeight as matmulBackwardWeight4x8, matmulScratchFloats as matmulScratchFloats4x8,
} from './matmul4x8';
