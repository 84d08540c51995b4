// The training worker: runs the shared src/ code on the same .wasm as the CLI, driven by the page
// through Comlink. It holds one trainer; pausing aborts the run loop, resuming calls run again,
// which continues exactly where it stopped.
import * as Comlink from 'comlink';
import wasmUrl from '../build/grokwasm.wasm?url';
import { Trainer, compileKernels, resolveConfig, saveStateDict, type EvalInfo, type RunConfig, type RunResult, type StepInfo } from '../src/core.js';

let kernels: Promise<WebAssembly.Module> | undefined;
const loadKernels = () => (kernels ??= fetch(wasmUrl).then((r) => r.arrayBuffer()).then((b) => compileKernels(b)));

let trainer: Trainer | undefined;
let controller: AbortController | undefined;

const api = {
  /** Builds a trainer for the config (validated as the CLI does); returns the resolved config. */
  async create(config: Partial<RunConfig>): Promise<RunConfig> {
    trainer = await Trainer.create(resolveConfig(config), await loadKernels());
    return trainer.config;
  },

  /**
   * Trains until the end, an early stop or stop(); calls back at every evaluation and at most
   * every 100 ms with the step. `finished` is false when stop() ended it (a pause).
   */
  async run(onEval: (row: EvalInfo) => void, onStep: (info: StepInfo) => void): Promise<{ result: RunResult; finished: boolean }> {
    if (!trainer) throw new Error('no run: call create first');
    const signal = (controller = new AbortController()).signal;
    let last = 0;
    const result = await trainer.run((row) => onEval(row), {
      signal,
      onStep: (info) => {
        const now = performance.now();
        if (now - last > 100) { last = now; onStep(info); }
      },
    });
    return { result, finished: !signal.aborted };
  },

  /** Ends the current run() after its current step; the trainer keeps its state. */
  stop(): void {
    controller?.abort();
  },

  /** Final spectrum of layer 0's q_proj and layer 0 head 0's attention pattern. */
  analysis(): { spectrum: number[]; attention: number[][] } {
    if (!trainer) throw new Error('no run');
    return { spectrum: Array.from(trainer.spectrum('layers.0.attn.q_proj.weight')), attention: trainer.attentionPattern(0) };
  },

  /** The parameters as a PyTorch state_dict in safetensors. */
  stateDict(): Uint8Array {
    if (!trainer) throw new Error('no run');
    const bytes = saveStateDict(trainer);
    return Comlink.transfer(bytes, [bytes.buffer]);
  },
};

export type WorkerApi = typeof api;
Comlink.expose(api);
