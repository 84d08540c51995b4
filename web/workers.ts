// Every Web Worker the page starts goes through here, so that none outlives its use unseen: a
// finished, stopped or failed run ends its workers, and the page shows how many of each kind
// are alive and were started (window.grokwasmWorkers, for tests and the curious in the console).
export type WorkerKind = 'train' | 'sweep' | 'verify' | 'probe' | 'calibrate' | 'gpu-check';

const live = new Map<Worker, WorkerKind>();
const started: Partial<Record<WorkerKind, number>> = {};

function publish(): void {
  const alive: Partial<Record<WorkerKind, number>> = {};
  for (const kind of live.values()) alive[kind] = (alive[kind] ?? 0) + 1;
  (window as unknown as { grokwasmWorkers: unknown }).grokwasmWorkers = { live: live.size, alive, started: { ...started } };
}

/** A new worker running web/worker.ts, for `kind` of work. */
export function spawnWorker(kind: WorkerKind): Worker {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  live.set(worker, kind);
  started[kind] = (started[kind] ?? 0) + 1;
  publish();
  return worker;
}

/** Ends a worker (and the helper threads it started); ending one twice is harmless. */
export function endWorker(worker: Worker): void {
  worker.terminate();
  live.delete(worker);
  publish();
}

publish();
