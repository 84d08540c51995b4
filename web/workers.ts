// Every Web Worker the page starts goes through here, so that none outlives its use unseen: a
// finished, stopped or failed run ends its workers, and the page shows how many are alive
// (window.grokwasmWorkers, for tests and anyone curious in the console).
const live = new Set<Worker>();
let started = 0;

function publish(): void {
  (window as unknown as { grokwasmWorkers: { live: number; started: number } }).grokwasmWorkers = { live: live.size, started };
}

/** A new training worker (web/worker.ts). */
export function spawnWorker(): Worker {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  live.add(worker);
  started++;
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
