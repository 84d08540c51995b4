// npm run bench [-- --json] [-- --torch] [-- --webgpu] [-- --profile]: speed at the reference config.
// Measures this core's f32x4 multiply-plus-add peak first, then prints GFLOP/s of each matmul
// layout at the model's shapes with its share of that peak, the LRD step, a training step (per
// thread count, 1 up to the cores, with each count's speed-up), an evaluation and a spectrum.
// --profile times every kernel call of a training step and prints each kernel's share;
// --torch also times PyTorch's step (Debian's python3-torch) back to back and prints the ratio,
// since single figures drift on a shared machine; --webgpu adds the WebGPU matmul and a forward
// + backward with every product on it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Arena } from '../src/kernel/arena.js';
import { splitLogits, trigTable } from '../src/train/fourier.js';
import {
  ARM_LIST, DEFAULT_CONFIG, coreCount, createTrainer, kernelModule, loadKernelsSync, normalizeArmFields, singularValues, type Decay, type KernelExports, type Trainer,
} from '../src/node/index.js';

type Layout = 'forward' | 'inputGrad' | 'weightGrad';
const args = new Set(process.argv.slice(2));
const json = args.has('--json');
const log = (s: string) => { if (!json) console.log(s); };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median ms of fn over enough repetitions to fill about `budgetMs`. */
function time(fn: () => void, budgetMs = 400): number {
  fn();
  const t0 = performance.now();
  fn();
  const once = Math.max(performance.now() - t0, 0.01);
  const reps = Math.max(5, Math.min(200, Math.round(budgetMs / once)));
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  return median(xs);
}

function matmulBench(k: KernelExports, layout: Layout, m: number, kk: number, n: number): number {
  // C[m x n] = A[m x kk] B[kk x n] in the layout's own storage.
  const arena = Arena.growing(k);
  const a = arena.words(m * kk), b = arena.words(kk * n), c = arena.words(m * n);
  const s = arena.words(k.matmulScratchFloats(Math.max(m, kk, n), Math.max(m, kk, n)));
  const mem = new Float32Array(k.memory.buffer);
  for (let i = a / 4; i < s / 4; i++) mem[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  let run: () => void;
  if (layout === 'forward') run = () => k.matmulForward(c, a, b, m, kk, n, false, s);
  else if (layout === 'inputGrad') run = () => k.matmulBackwardInput(c, a, b, m, n, kk, false, s);
  else run = () => k.matmulBackwardWeight(c, a, b, kk, n, m, false, s);
  // Best of enough runs to fill about 400 ms, as the peak is taken: both then read the least
  // disturbed speed, and the share compares like with like.
  const t0 = performance.now();
  run();
  const reps = Math.max(5, Math.min(200, Math.round(400 / Math.max(performance.now() - t0, 0.01))));
  const ms = best(run, reps);
  return (2 * m * kk * n) / (ms * 1e6);
}

/** The products of build/bench_blocks.wasm (assembly/bench/blocks.ts): the 2 x 16 kernel and the earlier 4 x 8. */
interface BlockKernels {
  memory: WebAssembly.Memory;
  [name: string]: unknown;
}
type Product = (out: number, a: number, b: number, m: number, k: number, n: number, accumulate: boolean, scratch: number) => void;

/**
 * GFLOP/s of each register block at one shape, in turns (2 x 16, 4 x 8, five rounds, best of
 * each), on the same operands at the same addresses: the ratio is what the block changes.
 */
function blockBench(bk: BlockKernels, layout: Layout, m: number, kk: number, n: number): { wide: number; tall: number } {
  const name = layout === 'forward' ? 'matmulForward' : layout === 'inputGrad' ? 'matmulBackwardInput' : 'matmulBackwardWeight';
  const base = 1 << 16;
  const a = base, b = a + 4 * m * kk + 4096 + 64, c = b + 4 * kk * n + 4096 + 128;
  const s = c + 4 * m * n + 4096 + 192;
  const big = Math.max(m, kk, n);
  const floats = Math.max((bk.matmulScratchFloats as (k: number, n: number) => number)(big, big), (bk.matmulScratchFloats4x8 as (k: number, n: number) => number)(big, big));
  const need = s + 4 * floats;
  if (bk.memory.buffer.byteLength < need) bk.memory.grow(Math.ceil((need - bk.memory.buffer.byteLength) / 65536));
  const mem = new Float32Array(bk.memory.buffer);
  for (let i = a / 4; i < s / 4; i++) mem[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const call = (fn: Product) => () => {
    if (layout === 'forward') fn(c, a, b, m, kk, n, false, s);
    else if (layout === 'inputGrad') fn(c, a, b, m, n, kk, false, s);
    else fn(c, a, b, kk, n, m, false, s);
  };
  const wide = call(bk[name] as Product), tall = call(bk[`${name}4x8`] as Product);
  let wideMs = Infinity, tallMs = Infinity;
  for (let round = 0; round < 5; round++) {
    wideMs = Math.min(wideMs, best(wide, 10));
    tallMs = Math.min(tallMs, best(tall, 10));
  }
  const flops = 2 * m * kk * n;
  return { wide: flops / (wideMs * 1e6), tall: flops / (tallMs * 1e6) };
}

/** Best of `runs` timings of fn, in ms (the least disturbed run on a shared machine). */
function best(fn: () => void, runs: number): number {
  fn();
  let ms = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t);
  }
  return ms;
}

/**
 * GFLOP/s of 7 multiply and 7 add f32x4 chains with no load in the loop (assembly/peak.ts): the
 * 128-bit arithmetic ceiling of this core, best of 15 runs of about 50 ms.
 */
function simdPeak(k: KernelExports): number {
  const arena = Arena.growing(k);
  const ones = arena.words(4);
  arena.f32(ones, 4).fill(1);
  const iters = 2_000_000;
  return (56 * iters) / (best(() => { k.simdPeak(ones, iters); }, 15) * 1e6);
}

/**
 * The same instruction mix in C (bench/peak_probe.c, vmulps/vaddps on xmm), compiled with the
 * system's gcc when there is one: GFLOP/s, or why there is no figure.
 */
function cPeak(): { gflops?: number; note: string } {
  const source = new URL('../../bench/peak_probe.c', import.meta.url).pathname;
  const gcc = ['/usr/bin/gcc', '/usr/bin/cc', '/usr/local/bin/gcc'].find((p) => existsSync(p));
  if (!gcc) return { note: 'no gcc on this machine: the C probe (bench/peak_probe.c) was not run' };
  if (!existsSync(source)) return { note: `${source} is missing: the C probe was not run` };
  const dir = mkdtempSync(join(tmpdir(), 'grokwasm-peak-'));
  try {
    const exe = join(dir, 'peak_probe');
    execFileSync(gcc, ['-O2', '-mavx', '-o', exe, source], { stdio: 'pipe' });
    const out = JSON.parse(execFileSync(exe, ['15', '4000000'], { encoding: 'utf8' }).trim()) as { gflops: number };
    return { gflops: out.gflops, note: `gcc -O2 -mavx, ${gcc}` };
  } catch (e) {
    return { note: `the C probe failed: ${(e as Error).message.split('\n')[0]}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Times every kernel call of `steps` training steps by wrapping the instance's exports (the model,
 * the optimiser and the metrics share that one object); returns ms per step by kernel.
 */
function profileStep(kernels: KernelExports, step: () => void, steps: number): Map<string, number> {
  const spent = new Map<string, number>();
  const exports = kernels as unknown as Record<string, unknown>;
  const originals = new Map<string, (...a: unknown[]) => unknown>();
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value !== 'function') continue;
    const fn = value as (...a: unknown[]) => unknown;
    originals.set(name, fn);
    exports[name] = (...a: unknown[]) => {
      const t = performance.now();
      const r = fn(...a);
      spent.set(name, (spent.get(name) ?? 0) + performance.now() - t);
      return r;
    };
  }
  try {
    for (let i = 0; i < steps; i++) step();
  } finally {
    for (const [name, fn] of originals) exports[name] = fn;
  }
  return new Map([...spent].map(([name, ms]): [string, number] => [name, ms / steps]).sort((a, b) => b[1] - a[1]));
}

/** ms of `count` full-batch training steps (the epoch's last batch is partial: 6384 = 12 x 512 + 240). */
function fullBatchSteps(trainer: Trainer, count: number): number[] {
  const steps: number[] = [];
  while (steps.length < count) {
    const t = performance.now();
    const info = trainer.step();
    const ms = performance.now() - t;
    if (info.batch === 512) steps.push(ms);
  }
  return steps;
}

async function main() {
  const k = loadKernelsSync(kernelModule());
  // The Wasm loop and the C probe in turns, three times each, best of all: a drift of the
  // machine's speed then touches both alike.
  let wasmPeak = 0, cGflops: number | undefined, cNote = '';
  for (let round = 0; round < 3; round++) {
    wasmPeak = Math.max(wasmPeak, simdPeak(k));
    const c = cPeak();
    cNote = c.note;
    if (c.gflops !== undefined) cGflops = Math.max(cGflops ?? 0, c.gflops);
    else break;
  }
  // The ceiling the shares are taken against: the higher of the two, so no product reads above it.
  const peakGflops = Math.max(wasmPeak, cGflops ?? 0);
  log(`f32x4 multiply-plus-add peak of this core (7 multiply + 7 add chains, no loads, best of 45 runs): ${wasmPeak.toFixed(1)} GFLOP/s`);
  if (cGflops !== undefined) log(`the same mix in C (${cNote}): ${cGflops.toFixed(1)} GFLOP/s; Wasm reaches ${(100 * wasmPeak / cGflops).toFixed(1)}% of it`);
  else log(cNote);
  const N = 1536, D = 128, F = 512;
  // (m, k, n) of C = A B: the product each layout computes for the model's linear layers.
  const shapes: [Layout, number, number, number][] = [
    ['forward', N, D, D], ['forward', N, D, F], ['forward', N, F, D],
    ['inputGrad', N, D, D], ['inputGrad', N, D, F], ['inputGrad', N, F, D],
    ['weightGrad', D, N, D], ['weightGrad', F, N, D], ['weightGrad', D, N, F],
  ];
  const matmul = shapes.map(([layout, m, kk, n]) => {
    const gflops = matmulBench(k, layout, m, kk, n);
    return { layout, m, k: kk, n, gflops, share: gflops / peakGflops };
  });
  for (const r of matmul) {
    log(`matmul ${r.layout.padEnd(10)} ${String(r.m).padStart(5)} x ${String(r.k).padStart(4)} x ${String(r.n).padStart(4)}: ${r.gflops.toFixed(1)} GFLOP/s, ${(100 * r.share).toFixed(0)}% of the peak`);
  }

  // --blocks: the trainer's 2 x 16 register block against the earlier 4 x 8 at the same shapes.
  let blocks: { layout: Layout; m: number; k: number; n: number; gflops2x16: number; gflops4x8: number; ratio: number }[] | undefined;
  if (args.has('--blocks')) {
    const file = new URL('../../build/bench_blocks.wasm', import.meta.url);
    if (!existsSync(file)) log('register blocks: build/bench_blocks.wasm is missing (npm run build:wasm builds it)');
    else {
      const bk = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), {}).exports as unknown as BlockKernels;
      blocks = shapes.map(([layout, m, kk, n]) => {
        const r = blockBench(bk, layout, m, kk, n);
        return { layout, m, k: kk, n, gflops2x16: r.wide, gflops4x8: r.tall, ratio: r.wide / r.tall };
      });
      log('register blocks, in turns, best of 50 runs each (2 x 16 is the trainer\'s, 4 x 8 the earlier one):');
      for (const r of blocks) {
        log(`  ${r.layout.padEnd(10)} ${String(r.m).padStart(5)} x ${String(r.k).padStart(4)} x ${String(r.n).padStart(4)}: 2 x 16 ${r.gflops2x16.toFixed(1)} (${(100 * r.gflops2x16 / peakGflops).toFixed(0)}%), 4 x 8 ${r.gflops4x8.toFixed(1)} (${(100 * r.gflops4x8 / peakGflops).toFixed(0)}%) GFLOP/s: ${r.ratio.toFixed(3)}x`);
      }
    }
  }

  // One run per thread count up to the cores, measured in turns (8 steps each, 4 rounds) so
  // that a drift of the machine's speed touches every count alike; medians per count.
  const counts = Array.from({ length: coreCount() }, (_, i) => i + 1);
  const runs = await Promise.all(counts.map((t) => createTrainer({}, t)));
  const samples = counts.map(() => [] as number[]);
  for (const r of runs) for (let i = 0; i < 3; i++) r.step();
  for (let round = 0; round < 4; round++) runs.forEach((r, i) => samples[i].push(...fullBatchSteps(r, 8)));
  const trainer = runs[0];
  const stepMs = median(samples[0]);
  const threads = counts.map((t, i) => ({ threads: t, stepMs: median(samples[i]), speedup: stepMs / median(samples[i]) }));
  for (const t of threads) log(`training step (batch 512, LRD arm), ${t.threads} thread${t.threads > 1 ? 's' : ''}: ${t.stepMs.toFixed(1)} ms, ${t.speedup.toFixed(2)}x the 1-thread speed`);
  for (const r of runs.slice(1)) r.close();
  let profile: { kernel: string; ms: number; share: number }[] | undefined;
  if (args.has('--profile')) {
    const kernels = (trainer as unknown as { k: KernelExports }).k;
    const t0 = performance.now();
    const byKernel = profileStep(kernels, () => trainer.step(), 12);
    const total = (performance.now() - t0) / 12;
    const inKernels = [...byKernel.values()].reduce((a, b) => a + b, 0);
    profile = [...byKernel].map(([kernel, ms]) => ({ kernel, ms, share: ms / total }));
    profile.push({ kernel: '(host: JavaScript between kernels, timer overhead)', ms: total - inKernels, share: (total - inKernels) / total });
    log(`profile of a training step (${total.toFixed(1)} ms with timers, 12 steps):`);
    for (const p of profile) log(`  ${p.kernel.padEnd(28)} ${p.ms.toFixed(2).padStart(7)} ms  ${(100 * p.share).toFixed(1).padStart(5)}%`);
  }

  const lrdMs = time(() => trainer.armStep());
  log(`LRD step (4 q/k weights, 5 Newton-Schulz iterations): ${lrdMs.toFixed(2)} ms`);

  // Each arm's whole step at the reference size on one thread beside LRD's, in turns (4 steps
  // each, 3 rounds) so that the machine's drift touches every arm alike; and its own update alone.
  let arms: { arm: string; stepMs: number; ofLrd: number; updateMs: number }[] | undefined;
  if (args.has('--profile')) {
    const trainers = await Promise.all(ARM_LIST.map((a) => createTrainer(normalizeArmFields({ ...DEFAULT_CONFIG, decay: a.name as Decay }), 1)));
    const armSamples = trainers.map(() => [] as number[]);
    for (const t of trainers) t.step();
    for (let round = 0; round < 3; round++) trainers.forEach((t, i) => armSamples[i].push(...fullBatchSteps(t, 4)));
    const lrdIndex = ARM_LIST.findIndex((a) => a.name === 'lrd');
    arms = trainers.map((t, i) => ({ arm: ARM_LIST[i].name, stepMs: median(armSamples[i]), ofLrd: median(armSamples[i]) / median(armSamples[lrdIndex]), updateMs: time(() => t.armStep(), 200) }));
    log('each arm at the reference size, one thread (whole step; the arm\'s own update after AdamW alone):');
    for (const a of arms) log(`  ${a.arm.padEnd(10)} ${a.stepMs.toFixed(1).padStart(7)} ms  ${a.ofLrd.toFixed(2)}x LRD's step;  update ${a.updateMs.toFixed(2)} ms`);
  }
  const q = trainer.getParams()['layers.0.attn.q_proj.weight'].data;
  const svdMs = time(() => singularValues(q, 128, 128));
  log(`all singular values of a 128 x 128 weight: ${svdMs.toFixed(2)} ms`);
  const evalMs = time(() => trainer.evaluate(), 1500);
  log(`evaluation (6384 train + 6385 validation examples, ranks): ${evalMs.toFixed(0)} ms`);
  // The Fourier split of the p^3 logits at 5 key frequencies, in every evaluation of addition (host JavaScript, one thread).
  const p = DEFAULT_CONFIG.p, trig = trigTable(p);
  const logits = Float64Array.from({ length: p * p * p }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const fourierMs = time(() => splitLogits(logits, p, [1, 2, 3, 4, 5], trig), 1000);
  log(`  of which the Fourier split of the ${p}^3 logits at 5 key frequencies: ${fourierMs.toFixed(0)} ms`);

  // PyTorch twice: with this machine's OpenBLAS settings as they are (OPENBLAS_CORETYPE may pin
  // an older kernel), and with them unset so OpenBLAS picks its best kernel for the CPU.
  const torch: { setting: string; threads: number; stepMs: number; ratio: number }[] = [];
  if (args.has('--torch') && existsSync('/usr/bin/python3')) {
    const script = new URL('../../shared/bench/torch_reference_step.py', new URL('../', import.meta.url)).pathname;
    const unset = { ...process.env };
    delete unset.OPENBLAS_CORETYPE;
    delete unset.OPENBLAS_L2_SIZE;
    for (const [setting, env] of [['environment', process.env], ['OPENBLAS_* unset', unset]] as const) {
      for (const n of threads.map((t) => t.threads)) {
        try {
          const out = execFileSync('/usr/bin/python3', [script, '--threads', String(n)], { encoding: 'utf8', env: { ...env, OMP_NUM_THREADS: String(n) } });
          const t = JSON.parse(out.trim().split('\n').pop()!);
          const ours = threads.find((x) => x.threads === n)!.stepMs;
          torch.push({ setting, threads: n, stepMs: t.stepMs, ratio: t.stepMs / ours });
          log(`PyTorch ${t.torch} step (${setting}, ${n} thread${n > 1 ? 's' : ''}): ${t.stepMs.toFixed(1)} ms; grokwasm at ${n} is ${(t.stepMs / ours).toFixed(2)}x as fast`);
        } catch (e) {
          log(`PyTorch comparison skipped: ${(e as Error).message.split('\n')[0]}`);
        }
      }
    }
    if (torch.length) {
      const best = torch.reduce((a, b) => (b.stepMs < a.stepMs ? b : a));
      const fastest = threads.reduce((a, b) => (b.stepMs < a.stepMs ? b : a));
      log(`PyTorch at its best (${best.setting}, ${best.threads} threads) ${best.stepMs.toFixed(1)} ms against grokwasm at ${fastest.threads} threads ${fastest.stepMs.toFixed(1)} ms: ${(best.stepMs / fastest.stepMs).toFixed(2)}x`);
    }
  }
  // --webgpu: the WGSL matmul on whatever adapter Dawn finds (here Mesa's llvmpipe, a CPU
  // rasteriser: a correctness path whose speed says nothing about a real GPU), per product and
  // for a whole forward and backward of the reference batch with every product on it.
  const webgpu: { layout: string; m: number; k: number; n: number; gflops: number }[] = [];
  let webgpuStep: { gpuMs: number; wasmMs: number; ratio: number; adapter: string } | undefined;
  if (args.has('--webgpu')) {
    const { nodeGpu } = await import('../src/node/webgpu.js');
    const { WebGpuMatmul } = await import('../src/gpu/webgpu_matmul.js');
    const gpu = await nodeGpu();
    if (!gpu.choice.device) log(`WebGPU: ${gpu.choice.reason}`);
    else {
      const adapter = gpu.choice.description;
      log(`WebGPU adapter: ${adapter}`);
      const mm = new WebGpuMatmul(gpu.choice.device);
      for (const [layout, m, kk, n] of shapes.slice(0, 3)) {
        const a = Float32Array.from({ length: m * kk }, (_, i) => Math.sin(i)), b = Float32Array.from({ length: kk * n }, (_, i) => Math.cos(i));
        await mm.multiply(layout, a, b, m, kk, n); // compiles the pipeline, sizes the buffers
        const xs: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          await mm.multiply(layout, a, b, m, kk, n);
          xs.push(performance.now() - t0);
        }
        webgpu.push({ layout, m, k: kk, n, gflops: (2 * m * kk * n) / (median(xs) * 1e6) });
        log(`WebGPU matmul ${layout} ${m} x ${kk} x ${n}: ${webgpu.at(-1)!.gflops.toFixed(2)} GFLOP/s (upload and readback included)`);
      }
      const onGpu = await createTrainer({});
      onGpu.useGpu(mm, adapter);
      const { inputs, targets } = onGpu.examples('train');
      const batch = { inputs: inputs.subarray(0, 512 * 3), targets: targets.subarray(0, 512) };
      await onGpu.lossAndGradsOnBackend(batch.inputs, batch.targets);
      const gpuTimes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await onGpu.lossAndGradsOnBackend(batch.inputs, batch.targets);
        gpuTimes.push(performance.now() - t0);
      }
      const wasmMs = time(() => trainer.lossAndGrads(batch.inputs, batch.targets), 1000);
      const gpuMs = median(gpuTimes);
      webgpuStep = { gpuMs, wasmMs, ratio: gpuMs / wasmMs, adapter };
      log(`forward + backward, batch 512, every product on WebGPU: ${gpuMs.toFixed(0)} ms; on Wasm ${wasmMs.toFixed(1)} ms (WebGPU takes ${(gpuMs / wasmMs).toFixed(1)}x the time)`);
      if (onGpu.gpuFailure) log(`WebGPU failed during the step (${onGpu.gpuFailure}); the figure above is partly Wasm`);
      mm.destroy();
      gpu.release();
    }
  }
  if (json) console.log(JSON.stringify({ peakGflops, wasmPeakGflops: wasmPeak, cPeakGflops: cGflops ?? null, matmul, ...(blocks ? { blocks } : {}), threads, lrdMs, stepMs, evalMs, fourierMs, svdMs, ...(profile ? { profile } : {}), ...(arms ? { arms } : {}), ...(torch.length ? { torch } : {}), ...(webgpu.length ? { webgpu, webgpuStep } : {}) }));
}

await main();
