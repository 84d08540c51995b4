// A helper thread of one run in the page (src/kernel/threads.ts), started by the training
// worker: instantiates the threads build over the run's shared memory, says it is ready, then
// takes parts of jobs until the training worker ends it.
import { helperLoop, loadKernelsSync, type HelperInit } from '../src/core.js';

self.onmessage = (e: MessageEvent<HelperInit>) => {
  const kernels = loadKernelsSync(e.data.module, e.data.memory);
  self.postMessage('ready');
  helperLoop(kernels, e.data);
};
