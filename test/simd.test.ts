// Wasm SIMD detection (src/kernel/simd.ts): an engine without it gets one plain sentence naming
// what is missing and who has it, from the library, the CLI and the page (the page's case runs in
// WebKit with SIMD switched off, test/engines.test.ts), never the engine's compile error.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hasWasmSimd, noSimdMessage } from '../src/kernel/simd.js';

const root = new URL('..', import.meta.url).pathname;

describe('Wasm SIMD detection', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.resetModules();
  });

  it('Node 20 has it; a validator that refuses the probe means it is missing, and one that throws too', () => {
    expect(hasWasmSimd()).toBe(true);
    expect(hasWasmSimd(() => false)).toBe(false);
    expect(hasWasmSimd(() => { throw new Error('no'); })).toBe(false);
    // The probe is a SIMD instruction: a validator that passes its bytes says it is there.
    expect(hasWasmSimd((bytes) => WebAssembly.validate(bytes))).toBe(true);
  });

  it('says in one sentence what is missing and which versions have it', () => {
    expect(noSimdMessage('browser')).toBe("This browser's WebAssembly has no SIMD (128-bit vector instructions), which grokwasm's kernels are written in; " +
      'Chrome and Edge 91 or later, Firefox 89 or later, and Safari 16.4 or later have it.');
    expect(noSimdMessage('node')).toMatch(/^This JavaScript engine's WebAssembly has no SIMD .*; Node\.js 16\.4 or later has it\.$/);
    expect(noSimdMessage()).toBe(noSimdMessage('node'));
  });

  it('compiling or loading the kernels without SIMD throws NoSimdError with the sentence, not the engine\'s error', async () => {
    vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    const { compileKernels, loadKernels, loadKernelsSync } = await import('../src/kernel/wasm.js');
    const bytes = readFileSync(`${root}build/grokwasm.wasm`);
    await expect(compileKernels(bytes)).rejects.toThrow(expect.objectContaining({ name: 'NoSimdError', message: noSimdMessage('node') }));
    await expect(loadKernels(bytes)).rejects.toThrow(noSimdMessage('node'));
    expect(() => loadKernelsSync(bytes)).toThrow(noSimdMessage('node'));
  });

  it('the CLI says it in one line and exits 69 (unavailable) before any work', () => {
    const cli = spawnSync(process.execPath, ['--import', 'data:text/javascript,WebAssembly.validate=()=>false', `${root}dist/cli/grokwasm.js`, 'run', '--steps', '1'], { encoding: 'utf8' });
    expect(cli.status).toBe(69);
    expect(cli.stdout).toBe('');
    expect(cli.stderr).toBe(`grokwasm: ${noSimdMessage('node')}\n`);
  });
});
