// Wasm SIMD detection. Every kernel uses 128-bit SIMD (v128), so an engine without it cannot
// even compile the module, and its own error names a byte ("WebAssembly.Module doesn't parse at
// byte 5"). Asked first, with a module of a few bytes, the answer can be one plain sentence.

// (module (func (result v128) i32.const 0  i8x16.splat  i8x16.popcnt)): the probe wasm-feature-detect uses.
const PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** The versions that have Wasm SIMD (shipped in V8 9.1, SpiderMonkey 89, Safari 16.4). */
export const SIMD_BROWSERS = 'Chrome and Edge 91 or later, Firefox 89 or later, and Safari 16.4 or later';
export const SIMD_NODE = 'Node.js 16.4 or later';

/** Thrown instead of the engine's compile error when it has no Wasm SIMD. */
export class NoSimdError extends Error {
  override name = 'NoSimdError';
}

const inNode = () => typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

/** The one sentence shown where Wasm SIMD is missing, worded for a browser or for Node. */
export function noSimdMessage(host: 'browser' | 'node' = inNode() ? 'node' : 'browser'): string {
  return host === 'node'
    ? `This JavaScript engine's WebAssembly has no SIMD (128-bit vector instructions), which grokwasm's kernels are written in; ${SIMD_NODE} has it.`
    : `This browser's WebAssembly has no SIMD (128-bit vector instructions), which grokwasm's kernels are written in; ${SIMD_BROWSERS} have it.`;
}

let known: boolean | undefined;

/** Whether this engine's WebAssembly validates a SIMD instruction: asked once, or of `validate` when given (tests). */
export function hasWasmSimd(validate?: (bytes: BufferSource) => boolean): boolean {
  if (validate) return probe(validate);
  known ??= probe((b) => WebAssembly.validate(b));
  return known;
}

function probe(validate: (bytes: BufferSource) => boolean): boolean {
  try {
    return validate(PROBE);
  } catch {
    return false;
  }
}

/** Throws NoSimdError with the plain sentence where Wasm SIMD is missing. */
export function requireWasmSimd(): void {
  if (!hasWasmSimd()) throw new NoSimdError(noSimdMessage());
}
