// One run on several threads (src/kernel/threads.ts): the same bits for any thread count,
// blocks of a product equal to the whole product, checkpoints that move between thread counts,
// and helpers that fail to start or end mid-run.
import { describe, expect, it } from 'vitest';
import { operandSizes, type MatmulLayout } from '../src/kernel/matmul_call.js';
import { createTrainer, normalizeArmFields, resumeTrainer, spawnNodeHelper, threadsModule, kernelModule, Trainer, type SpawnHelper, type HelperHandle } from '../src/node/index.js';
import { seeded, randomArray } from './helpers.js';
import { Workspace } from './kernel_harness.js';
import { PRODUCT_COLS, PRODUCT_ROWS } from '../src/kernel/threads.js';

const LAYOUT_CODE: Record<MatmulLayout, number> = { forward: 0, inputGrad: 1, weightGrad: 2 };

describe('matmulRange', () => {
  const rand = seeded(5);
  // Output shapes just below, at and above the register block's 2 rows and 16 columns, and twice that.
  // The last spans the cache blocks (KC, MC, NC of assembly/matmul.ts) in every layout.
  const blocks = new Workspace().k;
  const span = Math.max(...[2, 3, 4].map((i) => blocks.matmulBlockSize(i))) + 9;
  // The register block (rows, columns): ranges start on its multiples.
  const [R, C] = [0, 1].map((i) => blocks.matmulBlockSize(i));
  const SHAPES: [number, number, number][] = [[3, 5, 7], [4, 8, 8], [5, 9, 9], [2, 16, 16], [3, 15, 17], [13, 17, 23], [31, 6, 17], [17, 33, 32], [36, 41, 33], [span, span + 5, span + 2]];
  it('the host splits products on the kernel\'s register block', () => {
    expect([PRODUCT_ROWS, PRODUCT_COLS]).toEqual([R, C]);
  });
  for (const layout of ['forward', 'inputGrad', 'weightGrad'] as MatmulLayout[]) {
    it.each(SHAPES)(`${layout}: every split into row or column blocks equals the whole product bit for bit (m %i, k %i, n %i)`, (m, k, n) => {
      const ws = new Workspace();
      const size = operandSizes(layout, m, k, n);
      const [rows, cols] = layout === 'forward' ? [m, n] : layout === 'inputGrad' ? [m, k] : [n, k];
      const a = ws.f32(randomArray(size.a, rand)), b = ws.f32(randomArray(size.b, rand));
      const c0 = randomArray(size.out, rand);
      const whole = ws.f32(c0), parts = ws.f32(c0);
      const scratch = ws.f32(ws.k.matmulScratchFloats(Math.max(m, k, n), Math.max(m, k, n)));
      for (const accumulate of [false, true]) {
        ws.write(whole, c0);
        ws.k.matmulRange(LAYOUT_CODE[layout], whole, a, b, m, k, n, accumulate, scratch, 0, rows, 0, cols);
        const expected = ws.read(whole, size.out);
        // Row blocks of one and two register blocks, column blocks of one and two, and grids of both.
        const splits: [number, number][] = [[R, cols], [2 * R, cols], [rows, C], [rows, 2 * C], [2 * R, 2 * C], [R, C]];
        for (const [rowStep, colStep] of splits) {
          ws.write(parts, c0);
          for (let r = 0; r < rows; r += rowStep) {
            for (let c = 0; c < cols; c += colStep) {
              ws.k.matmulRange(LAYOUT_CODE[layout], parts, a, b, m, k, n, accumulate, scratch, r, Math.min(rows, r + rowStep), c, Math.min(cols, c + colStep));
            }
          }
          expect(ws.read(parts, size.out)).toEqual(expected);
        }
      }
    });
  }
});

// Big enough that every product, SiLU and the larger AdamW tensors are split (see src/kernel/parallel.ts),
// with widths that are not multiples of the SIMD width or the matmul blocks.
const CONFIG = { p: 29, dim: 52, heads: 4, mlp: 340, batch: 250, steps: 24, evalEvery: 8, decay: 'lrd', rate: 0.01, lr: 0.003 } as const;

async function runWith(threads: number, config: Record<string, unknown> = CONFIG) {
  const trainer = await createTrainer(config, threads);
  try {
    const result = await trainer.run();
    return { result, threads: trainer.threads };
  } finally {
    trainer.close();
  }
}

describe('threads', () => {
  it('T = 1, 2, 3 and 4 give the same checksum and history, in both arms (4 is more threads than this machine may have)', async () => {
    for (const decay of ['lrd', 'l2'] as const) {
      const config = normalizeArmFields({ ...CONFIG, decay });
      const one = await runWith(1, config);
      for (const t of [2, 3, 4]) {
        const many = await runWith(t, config);
        expect(many.threads).toBe(t);
        expect(many.result.checksum).toBe(one.result.checksum);
        expect(many.result.history).toEqual(one.result.history);
      }
    }
  }, 240_000);

  it('a checkpoint written at T = 3 continues at T = 1 (and the reverse) to the uninterrupted bits', async () => {
    const whole = await runWith(1);
    const first = await createTrainer(CONFIG, 3);
    await first.run(undefined, { stopAt: 11 });
    const bytes = first.saveCheckpoint();
    first.close();
    const second = await resumeTrainer(bytes, 1);
    expect((await second.run()).checksum).toBe(whole.result.checksum);
    const third = await createTrainer(CONFIG, 1);
    await third.run(undefined, { stopAt: 5 });
    const fourth = await resumeTrainer(third.saveCheckpoint(), 3);
    expect((await fourth.run()).checksum).toBe(whole.result.checksum);
    fourth.close();
  }, 120_000);

  it('a helper that fails to start leaves one thread, said in one line, and the same bits', async () => {
    const whole = await runWith(1);
    const failing: SpawnHelper = async () => { throw new Error('no workers here'); };
    const trainer = await Trainer.create(CONFIG, kernelModule(), { count: 3, cores: 2, module: threadsModule(), spawn: failing });
    expect(trainer.threads).toBe(1);
    expect(trainer.threadsLine).toBe('threads: 1 (a helper thread did not start: no workers here)');
    expect((await trainer.run()).checksum).toBe(whole.result.checksum);
  }, 60_000);

  it('a helper that ends between steps: the others take its parts, one line says so, the bits stay', async () => {
    const whole = await runWith(1);
    // By thread index: helpers start concurrently and become ready in any order.
    const handles = new Map<number, HelperHandle>();
    const exited = new Map<number, Promise<void>>();
    const spawn: SpawnHelper = async (init, onExit) => {
      let ended!: () => void;
      exited.set(init.thread, new Promise((r) => { ended = r; }));
      const handle = await spawnNodeHelper(init, (why) => { onExit(why); ended(); });
      handles.set(init.thread, handle);
      return handle;
    };
    const trainer = await Trainer.create(CONFIG, kernelModule(), { count: 3, cores: 2, module: threadsModule(), spawn });
    await trainer.run(undefined, { stopAt: 9 });
    handles.get(1)!.terminate();
    await exited.get(1);
    expect(trainer.threads).toBe(2);
    expect(trainer.threadsLine).toMatch(/^threads: helper 1 ended \(exit code \d+\); continuing on 2 threads$/);
    expect((await trainer.run()).checksum).toBe(whole.result.checksum);
    trainer.close();
  }, 60_000);
});
