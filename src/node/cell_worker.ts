// A worker_threads worker: runs cells (whole training runs) posted by src/node_pool.ts, one at
// a time, each on its own trainer, and reports steps, evaluations and the result.
import { parentPort } from 'node:worker_threads';
import type { RunConfig } from '../train/config.js';
import { createTrainer } from './index.js';
import type { Backend } from '../kernel/matmul_call.js';
import { useNodeBackend } from './webgpu.js';
import { analyse } from '../train/verify.js';

export interface CellRequest {
  id: number;
  config: RunConfig;
  /** Also return the final q_proj spectrum, the layer-0 head-0 attention pattern and the key-frequency progress. */
  analysis: boolean;
  backend: Backend;
  threads: number;
}

export type CellMessage =
  | { type: 'step'; id: number; step: number }
  | { type: 'backend'; id: number; line: string }
  | { type: 'eval'; id: number; row: import('../train/trainer.js').EvalInfo }
  | ({ type: 'done'; id: number; result: import('../train/trainer.js').RunResult } & Partial<import('../format/mechanism.js').ArmAnalysis>)
  | { type: 'error'; id: number; message: string };

const port = parentPort!;
port.on('message', async (req: CellRequest) => {
  try {
    const trainer = await createTrainer(req.config, req.threads);
    const backend = await useNodeBackend(trainer, req.backend);
    if (backend.line) port.postMessage({ type: 'backend', id: req.id, line: backend.line } satisfies CellMessage);
    if (req.analysis) trainer.keepSnapshots();
    if (trainer.threads < req.threads) port.postMessage({ type: 'backend', id: req.id, line: trainer.threadsLine } satisfies CellMessage);
    const result = await trainer.run((row) => port.postMessage({ type: 'eval', id: req.id, row } satisfies CellMessage), {
      onStep: (s) => { if (s.step % 10 === 9) port.postMessage({ type: 'step', id: req.id, step: s.step + 1 } satisfies CellMessage); },
    }).finally(() => { backend.release(); trainer.close(); });
    if (trainer.gpuFailure) port.postMessage({ type: 'backend', id: req.id, line: trainer.backendLine } satisfies CellMessage);
    const done: CellMessage = { type: 'done', id: req.id, result };
    if (req.analysis) Object.assign(done, analyse(trainer));
    port.postMessage(done);
  } catch (e) {
    port.postMessage({ type: 'error', id: req.id, message: (e as Error).message } satisfies CellMessage);
  }
});
