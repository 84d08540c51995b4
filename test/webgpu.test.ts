// The WebGPU path in Node on Mesa's llvmpipe (Dawn's OpenGL ES backend): its matmul against the
// Wasm kernel, a short training run against the Wasm run, and every fallback: no WebGPU, no
// adapter, a GPU that fails in the middle of a run. Software adapters only here: correctness
// checks, not speed ones. (The same checks in Chromium on SwiftShader are in web.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyBackend } from '../src/gpu/backend.js';
import { createTrainer, kernelModule, loadKernelsSync, type MatmulCall, type ProductRunner } from '../src/node/index.js';
import { nodeGpu, type NodeGpu } from '../src/node/webgpu.js';
import { PRODUCT_TOLERANCE, checkGpuMatmul } from '../src/gpu/webgpu_check.js';
import { WebGpuMatmul, requestGpu } from '../src/gpu/webgpu_matmul.js';
import { SMALL_GPU_CONFIG, group, loadFixture, randomArray, relErr, seeded, trainingDifferences } from './helpers.js';

describe('WebGPU in Node (llvmpipe)', () => {
  let gpu: NodeGpu;
  beforeAll(async () => { gpu = await nodeGpu(); });
  afterAll(() => gpu?.release());

  // CI installs Mesa (.ci/run) and must get an adapter; elsewhere the GPU checks are skipped
  // when none is found.
  it('gets a (software) adapter', (ctx) => {
    if (!gpu.choice.device && !process.env.CI) ctx.skip();
    expect(gpu.choice.device, 'reason' in gpu.choice ? gpu.choice.reason : '').not.toBeNull();
  });

  it('the matmul equals the Wasm kernel within the product tolerance, every layout, odd shapes included', async (ctx) => {
    if (!gpu.choice.device) return ctx.skip();
    const report = await checkGpuMatmul(loadKernelsSync(kernelModule()), new WebGpuMatmul(gpu.choice.device), 7);
    expect(report.rows).toHaveLength(15);
    for (const row of report.rows) expect(row.relErr, `${row.layout} ${row.m}x${row.k}x${row.n}`).toBeLessThanOrEqual(PRODUCT_TOLERANCE);
    expect(report.ok).toBe(true);
  });

  it('accumulates into an existing output', async (ctx) => {
    if (!gpu.choice.device) return ctx.skip();
    const mm = new WebGpuMatmul(gpu.choice.device);
    const rand = seeded(101);
    const a = randomArray(6 * 5, rand), b = randomArray(4 * 5, rand), c = randomArray(6 * 4, rand);
    const sum = await mm.multiply('forward', a, b, 6, 5, 4, c);
    const plain = await mm.multiply('forward', a, b, 6, 5, 4);
    expect(relErr(sum, plain.map((v, i) => v + c[i]))).toBeLessThan(1e-6);
  });

  it('refuses a product past the device limits with the reason, instead of returning an unwritten buffer', async (ctx) => {
    if (!gpu.choice.device) return ctx.skip();
    const mm = new WebGpuMatmul(gpu.choice.device);
    const limit = Math.min(gpu.choice.device.limits.maxStorageBufferBindingSize, gpu.choice.device.limits.maxBufferSize);
    const k = 1024, m = Math.floor(limit / 4 / k) + 1;
    await expect(mm.multiply('forward', new Float32Array(m * k), new Float32Array(k), m, k, 1))
      .rejects.toThrow(`a forward product of ${m} x ${k} x 1 needs a ${4 * m * k}-byte buffer, over this device's limit of ${limit}`);
    // The same object still works for products that fit.
    const out = await mm.multiply('forward', Float32Array.of(1, 2), Float32Array.of(3, 4), 1, 2, 1);
    expect(Array.from(out)).toEqual([11]);
  });

  // The whole forward and backward with every product on the GPU: against PyTorch with the
  // bounds test/parity.test.ts uses for Wasm, and against the Wasm gradients at the product tolerance.
  it.for(['odd', 'single_block', 'small'])('fixture %s: loss and every gradient on the WebGPU backend match PyTorch and Wasm', { timeout: 60_000 }, async (name, ctx) => {
    if (!gpu.choice.device) return ctx.skip();
    const { tensors, config } = loadFixture(name);
    const cfg = { p: config.p, dim: config.dim, depth: config.depth, heads: config.heads, mlp: config.mlp, batch: config.batch, decay: 'l2' as const };
    const inputs = tensors.inputs.data as Int32Array, targets = tensors.targets.data as Int32Array;
    const wasmTrainer = await createTrainer(cfg);
    wasmTrainer.setParams(group(tensors, 'param.'));
    const wasm = wasmTrainer.lossAndGrads(inputs, targets);
    const trainer = await createTrainer(cfg);
    trainer.setParams(group(tensors, 'param.'));
    trainer.useGpu(new WebGpuMatmul(gpu.choice.device), 'llvmpipe');
    const ours = await trainer.lossAndGradsOnBackend(inputs, targets);
    expect(trainer.gpuFailure).toBeNull();
    expect(relErr(ours.logits, tensors.logits.data)).toBeLessThan(1e-5);
    expect(relErr(ours.logits, wasm.logits)).toBeLessThanOrEqual(PRODUCT_TOLERANCE);
    for (const [pname, ref] of Object.entries(group(tensors, 'grad.'))) {
      expect(relErr(ours.grads[pname], ref), `${pname} vs PyTorch`).toBeLessThan(1e-5);
      expect(relErr(ours.grads[pname], wasm.grads[pname]), `${pname} vs Wasm`).toBeLessThanOrEqual(PRODUCT_TOLERANCE);
    }
  });

  it('a short training run on the WebGPU backend stays within the training tolerance of the Wasm run', async (ctx) => {
    if (!gpu.choice.device) return ctx.skip();
    const wasm = await (await createTrainer(SMALL_GPU_CONFIG)).run();
    const trainer = await createTrainer(SMALL_GPU_CONFIG);
    const line = await applyBackend(trainer, 'webgpu', async () => gpu.choice);
    expect(line).toMatch(/^webgpu: the model's products on .+; the rest on Wasm$/);
    const result = await trainer.run();
    expect(result.backend).toBe('webgpu');
    expect(wasm.backend).toBe('wasm');
    expect(trainingDifferences(result, wasm)).toEqual([]);
    expect(trainer.gpuFailure).toBeNull();
  }, 60_000);

  it('a device lost in the middle of a run (destroyed at step 3): the run finishes on Wasm and says why', async (ctx) => {
    const own = await nodeGpu();
    try {
      if (!own.choice.device) return ctx.skip();
      const device = own.choice.device;
      const trainer = await createTrainer(SMALL_GPU_CONFIG);
      trainer.useGpu(new WebGpuMatmul(device), own.choice.description);
      const result = await trainer.run(undefined, { onStep: (s) => { if (s.step === 3) device.destroy(); } });
      expect(result.steps).toBe(SMALL_GPU_CONFIG.steps);
      expect(result.backend).toBe('webgpu');
      expect(trainer.gpuFailure).not.toBeNull();
      expect(trainer.backendLine).toBe("wasm: WebGPU failed at step 4 (the device was lost: device was destroyed); continuing on the Wasm matmul");
      expect(trainingDifferences(result, await (await createTrainer(SMALL_GPU_CONFIG)).run())).toEqual([]);
    } finally {
      own.release();
    }
  }, 60_000);

  it('a GPU that fails in the middle of a run: the run goes on with Wasm, says why, and stays within tolerance', async (ctx) => {
    if (!gpu.choice.device) return ctx.skip();
    const real = new WebGpuMatmul(gpu.choice.device);
    let calls = 0;
    const failing: ProductRunner = {
      run(call: MatmulCall, memory: WebAssembly.Memory) {
        if (++calls > 200) return Promise.reject(new Error('device lost'));
        return real.run(call, memory);
      },
    };
    const trainer = await createTrainer(SMALL_GPU_CONFIG);
    trainer.useGpu(failing, 'a test GPU');
    const result = await trainer.run();
    expect(result.steps).toBe(SMALL_GPU_CONFIG.steps);
    expect(result.backend).toBe('webgpu');
    expect(trainer.gpuFailure).toBe('device lost');
    expect(trainer.backendLine).toMatch(/^wasm: WebGPU failed at step \d+ \(device lost\); continuing on the Wasm matmul$/);
    expect(trainingDifferences(result, await (await createTrainer(SMALL_GPU_CONFIG)).run())).toEqual([]);
  }, 60_000);
});

describe('WebGPU fallback', () => {
  it('with no WebGPU at all, says so in one line', async () => {
    expect(await requestGpu(undefined)).toEqual({ device: null, reason: 'WebGPU is not available here (no navigator.gpu); using the Wasm matmul' });
  });

  it('with no adapter (Dawn without a usable backend), says so in one line', async () => {
    const none = await nodeGpu([]);
    try {
      // Here Dawn's default backends find nothing, and that must be said in one line; on a machine
      // with a GPU they find one, which must then compute the Wasm kernel's products.
      if (none.choice.device === null) expect(none.choice.reason).toBe('WebGPU found no adapter; using the Wasm matmul');
      else expect((await checkGpuMatmul(loadKernelsSync(kernelModule()), new WebGpuMatmul(none.choice.device), 3)).ok).toBe(true);
    } finally {
      none.release();
    }
  });

  it('a run that asked for WebGPU and got no adapter trains on Wasm, to the Wasm bits', async () => {
    const trainer = await createTrainer(SMALL_GPU_CONFIG);
    const line = await applyBackend(trainer, 'webgpu', () => requestGpu({ requestAdapter: async () => null } as unknown as GPU));
    expect(line).toBe('wasm: WebGPU found no adapter; using the Wasm matmul');
    const result = await trainer.run();
    expect(result.backend).toBe('wasm');
    expect(result.checksum).toBe((await (await createTrainer(SMALL_GPU_CONFIG)).run()).checksum);
  });

  it('a GPU whose set-up throws, or whose every product fails, never fails the run', async () => {
    const trainer = await createTrainer(SMALL_GPU_CONFIG);
    expect(await applyBackend(trainer, 'webgpu', () => Promise.reject(new Error('driver crashed'))))
      .toBe('wasm: WebGPU could not be set up (driver crashed); using the Wasm matmul');
    const broken = await createTrainer(SMALL_GPU_CONFIG);
    broken.useGpu({ run: () => Promise.reject(new Error('out of GPU memory')) }, 'a broken GPU');
    const result = await broken.run();
    // No product ran on the GPU, so this is exactly the Wasm run.
    expect(result.backend).toBe('wasm');
    expect(broken.backendLine).toBe('wasm: WebGPU failed at step 0 (out of GPU memory); continuing on the Wasm matmul');
    expect(result.checksum).toBe((await trainer.run()).checksum);
  });
});
