// A helper thread of one training run (src/kernel/threads.ts): instantiates the threads build
// over the run's shared memory, says it is ready, then takes parts of jobs until stopped.
import { parentPort, workerData } from 'node:worker_threads';
import { loadKernelsSync } from '../kernel/wasm.js';
import { helperLoop, type HelperInit } from '../kernel/threads.js';

const init = workerData as HelperInit;
const kernels = loadKernelsSync(init.module, init.memory);
parentPort!.postMessage('ready');
helperLoop(kernels, init);
