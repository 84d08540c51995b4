// Where the model's matrix products run during training. The model yields each product as data
// (src/kernel/matmul_call.ts); this driver computes it on the Wasm kernel at once, or awaits a
// GPU. A product that fails on the GPU has not touched its output, so it and every later one
// are computed on Wasm, and the driver says why in one line.
import type { MatmulCall, MatmulWork } from '../kernel/matmul_call.js';
import type { Model } from '../model/model.js';

/** The most work between two turns of the event loop in the training loop (a step is never cut short). */
export const YIELD_MS = 25;

/**
 * One turn of the event loop, so that queued messages and timers run: a MessageChannel round trip,
 * which browsers do not clamp to 4 ms as they do nested setTimeout(0). Node has MessageChannel too.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(null);
  });
}

/** Runs a model product somewhere other than the Wasm kernel (a WebGpuMatmul in practice). */
export interface ProductRunner {
  run(call: MatmulCall, memory: WebAssembly.Memory): Promise<void>;
}

export class ProductDriver {
  private gpu: ProductRunner | null = null;
  /** Whether any product so far ran on a GPU (a result then says backend 'webgpu'). */
  usedGpu = false;
  /** Why the GPU was dropped during training, or null. */
  failure: string | null = null;
  /** Where the products run now and why, in one line. */
  line = 'wasm: every product on the Wasm matmul';

  constructor(private readonly model: Model, private readonly memory: WebAssembly.Memory) {}

  useGpu(runner: ProductRunner, description: string): void {
    this.gpu = runner;
    this.line = `webgpu: the model's products on ${description}; the rest on Wasm`;
  }

  /** Runs `work`: synchronously on Wasm (the same bits as a direct loop), or on the GPU. `step` names the step in a failure. */
  drive<T>(work: MatmulWork<T>, step: number): T | Promise<T> {
    return this.gpu ? this.driveOnGpu(work, step) : this.model.runOnWasm(work);
  }

  /**
   * Runs `work` while letting the event loop in every YIELD_MS; gives up (returning null) when
   * `signal` is aborted at one of those turns. Only for work that changes no run state (an
   * evaluation), which can simply be run again later.
   */
  async driveInterruptible<T>(work: MatmulWork<T>, step: number, signal: AbortSignal): Promise<T | null> {
    let last = performance.now();
    for (;;) {
      const next = work.next();
      if (next.done) return next.value;
      if (this.gpu) await this.runOne(next.value, step);
      else this.model.matmulOnWasm(next.value);
      if (performance.now() - last >= YIELD_MS) {
        await yieldToEventLoop();
        if (signal.aborted) return null;
        last = performance.now();
      }
    }
  }

  private async runOne(call: MatmulCall, step: number): Promise<void> {
    if (this.gpu) {
      try {
        await this.gpu.run(call, this.memory);
        this.usedGpu = true;
        return;
      } catch (e) {
        this.gpu = null;
        this.failure = (e as Error).message || (e as Error).name || String(e);
        this.line = `wasm: WebGPU failed at step ${step} (${this.failure}); continuing on the Wasm matmul`;
      }
    }
    this.model.matmulOnWasm(call);
  }

  private async driveOnGpu<T>(work: MatmulWork<T>, step: number): Promise<T> {
    for (;;) {
      const next = work.next();
      if (next.done) return next.value;
      await this.runOne(next.value, step);
    }
  }
}
