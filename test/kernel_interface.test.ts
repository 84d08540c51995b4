// The host's copy of the kernel interface (src/kernel/wasm.ts) against what asc emits for
// assembly/ (build/grokwasm.d.ts, generated with --bindings raw on every build). The type-level
// checks fail `npm run typecheck` (run before the tests) when a signature drifts; the runtime
// check fails when a function is added to or removed from the module without the host knowing.
import { describe, expect, it } from 'vitest';
import type { instantiate } from '../build/grokwasm.js';
import { kernelModule, threadsModule, type KernelExports } from '../src/node/index.js';

type Runtime = '__new' | '__pin' | '__unpin' | '__collect' | '__rtti_base';
type Emitted = Omit<Awaited<ReturnType<typeof instantiate>>, Runtime>;

// Each direction of assignability catches a different drift (a parameter added or dropped, a
// type changed); together the two interfaces must agree. Never called: the compiler checks them.
export const emittedServesOurs = (e: Emitted): KernelExports => e;
export const oursCoversEmitted = (o: KernelExports): Emitted => o;

// Every name of KernelExports, once: `satisfies` rejects a missing or unknown name.
const DECLARED = {
  memory: true, heapBase: true, matmulForward: true, matmulBackwardInput: true, matmulBackwardWeight: true, matmulRange: true, matmulScratchFloats: true, matmulBlockSize: true,
  rmsnormForward: true, rmsnormBackward: true, attentionForward: true, attentionBackward: true, siluForward: true, siluBackward: true,
  expForward: true, embeddingForward: true, embeddingBackward: true, gatherRows: true, scatterAddRows: true,
  crossEntropyForward: true, crossEntropyBackward: true, countCorrect: true, adamwUpdate: true, newtonSchulz: true, lowRankDecay: true,
  newtonSchulzScratchFloats: true, singularValues: true, spectralScratchDoubles: true, stableRankOf: true, effectiveRankOf: true,
  polarFactor: true, polarDecay: true, nuclearProx: true, polarScratchDoubles: true, muonOrthogonalize: true, muonScratchFloats: true,
  stablemaxForward: true, stablemaxBackward: true, grokfastEma: true, orthogonalizeGradient: true, muonMomentum: true, luonMomentum: true, scaledUpdate: true,
  randomSeed: true, randomNext: true, randomBelow: true, randomUniform: true, randomNormal: true, randomShuffle: true,
  hashUpdate: true, hashFinish: true, simdPeak: true,
} satisfies Record<keyof KernelExports, true>;

describe('kernel interface', () => {
  it('the module exports exactly the kernels the host declares (besides the runtime)', () => {
    const runtime = new Set(['__new', '__pin', '__unpin', '__collect', '__rtti_base', '__setArgumentsLength']);
    const exported = WebAssembly.Module.exports(kernelModule()).map((e) => e.name).filter((n) => !runtime.has(n));
    expect(exported.sort()).toEqual(Object.keys(DECLARED).sort());
  });

  it('the threads build exports the same kernels and imports one shared memory', () => {
    const names = (m: WebAssembly.Module) => WebAssembly.Module.exports(m).map((e) => e.name).sort();
    expect(names(threadsModule())).toEqual(names(kernelModule()));
    expect(WebAssembly.Module.imports(threadsModule()).filter((i) => i.kind === 'memory')).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(WebAssembly.Module.imports(kernelModule()).filter((i) => i.kind === 'memory')).toEqual([]);
  });
});
