// The parts of a trainer in one kernel instance: its buffers reserved in the arena (which sets the
// memory layout, and so the speed), and the model, data, optimiser, product driver, spectra and
// state digest over them. The step, evaluation, run loop and checkpoint I/O each use some of them.
import { Arena } from '../kernel/arena.js';
import type { KernelExports } from '../kernel/wasm.js';
import { parallelKernels, type ParallelKernels } from '../kernel/parallel.js';
import { CONTROL_BYTES, type KernelThreads } from '../kernel/threads.js';
import { largestProductScratch } from '../model/activations.js';
import { Model } from '../model/model.js';
import { parameterArenaFloats, parameterTable, type ModelShape, type ParamSpec } from '../model/params.js';
import { ConfigError, type RunConfig } from './config.js';
import { armOf } from './arms/index.js';
import { ModularData, SEQ_LEN } from './data.js';
import { Optimizer } from './optimizer.js';
import { ProductDriver } from './product_driver.js';
import { WeightSpectra } from './spectra.js';
import { TrainingState } from './state_digest.js';
import { newRunState, type RunState } from './run_loop.js';

/** Byte offsets of the trainer's buffers. */
export interface TrainerBuffers {
  params: number; grads: number; m: number; v: number; rng: number; counter: number;
  polar: number; nsScratch: number; sv: number; svScratch: number;
  /** The arm's state (0 when it keeps none) and the extra scratch its step needs. */
  state: number; matrixB: number; scratch64: number;
}

/** Control block and per-thread scratch of a threaded run. */
export interface ThreadSlots { control: number; scratch: number; slotBytes: number }

export interface TrainerParts {
  config: RunConfig;
  shape: ModelShape;
  table: ParamSpec[];
  kernels: KernelExports;
  arena: Arena;
  /** Length of each parameter-sized buffer (params, grads, m, v, state): the table with its padding. */
  floats: number;
  ptr: TrainerBuffers;
  /** Control block and per-thread scratch of a threaded run (reserved when threads > 1). */
  slots: ThreadSlots | null;
  model: Model;
  data: ModularData;
  /** The model's input views: a batch's tokens and targets. */
  inputs: { tokens: Int32Array; targets: Int32Array };
  optimizer: Optimizer;
  driver: ProductDriver;
  spectra: WeightSpectra;
  /** The training state that a checksum covers and a divergence inspects. */
  digest: TrainingState;
  /** Steps done, epoch position, history, streak, divergence: advanced by the step and the loop, kept by checkpoints. */
  run: RunState;
}

/**
 * Reserves and wires a trainer's parts on `kernels` (threads > 1: with the threads' slots; `pool`
 * gives the helper threads once started). An arena that does not fit is a ConfigError on batch.
 */
export function buildParts(kernels: KernelExports, config: RunConfig, threads: number, pool: () => KernelThreads | null): TrainerParts {
  const shape: ModelShape = {
    vocab: config.p + 1, seqLen: SEQ_LEN, dim: config.dim, depth: config.depth, heads: config.heads, mlp: config.mlp,
  };
  const table = parameterTable(shape);
  const floats = parameterArenaFloats(table);
  const arena = new Arena(kernels);
  const { ptr, slots, polarFloats } = reserveBuffers(arena, kernels, config, shape, table, floats, threads);
  const parallel = parallelKernels(kernels, pool, polarFloats);
  const model = new Model(parallel, arena, shape, table, { params: ptr.params, grads: ptr.grads }, config.batch, config.loss);
  const data = new ModularData(arena, config.p, config.frac, config.task, config.split);
  try {
    arena.commit();
  } catch (e) {
    throw new ConfigError('batch', `batch ${config.batch} with dim ${config.dim}, mlp ${config.mlp}, depth ${config.depth} and p ${config.p} ${(e as Error).message}; reduce batch, mlp or dim`);
  }
  const optimizer = new Optimizer(parallel, config, table, {
    params: ptr.params, grads: ptr.grads, m: ptr.m, v: ptr.v, state: ptr.state,
    matrixA: ptr.polar, matrixB: ptr.matrixB, scratch: ptr.nsScratch, scratch64: ptr.scratch64,
  });
  const driver = new ProductDriver(model, kernels.memory);
  const spectra = new WeightSpectra(kernels, arena, table, ptr);
  const digest = new TrainingState(kernels, arena, ptr, floats);
  model.bindViews(arena);
  const inputs = model.inputViews(arena);
  return { config, shape, table, kernels, arena, floats, ptr, slots, model, data, inputs, optimizer, driver, spectra, digest, run: newRunState() };
}

/**
 * Reserves the trainer's buffers (before the model's and the data's, in this order); the slots
 * only when threads > 1. polarFloats is one thread's share of a q/k weight's polar factor.
 */
function reserveBuffers(arena: Arena, kernels: KernelExports, config: RunConfig, shape: ModelShape,
  table: ParamSpec[], floats: number, threads: number): { ptr: TrainerBuffers; slots: ThreadSlots | null; polarFloats: number } {
  const D = config.dim;
  const arm = armOf(config.decay);
  // Kernels are not split over threads yet here; the arm only reads the scratch functions.
  const need = arm.scratch?.(table, kernels as ParallelKernels) ?? { matrixFloats: 0, scratchFloats: 0, scratch64Doubles: 0 };
  const ptr: TrainerBuffers = {
    params: arena.words(floats), grads: arena.words(floats),
    m: arena.words(floats), v: arena.words(floats),
    rng: arena.words(4 * 3), counter: arena.words(4),
    polar: arena.words(Math.max(D * D, need.matrixFloats)),
    nsScratch: arena.words(Math.max(kernels.newtonSchulzScratchFloats(D, D), need.scratchFloats)),
    sv: arena.doubles(D), svScratch: arena.doubles(kernels.spectralScratchDoubles(D, D)),
    // Allocated after everything the L2 and LRD arms use, and only when an arm needs them, so
    // that those arms' layout (and so their speed) is what it was.
    state: arm.keepsState ? arena.words(floats) : 0,
    matrixB: need.matrixFloats ? arena.words(need.matrixFloats) : 0,
    scratch64: need.scratch64Doubles ? arena.doubles(need.scratch64Doubles) : 0,
  };
  // Each thread's scratch holds the largest product's, or a q/k weight's polar factor and
  // Newton-Schulz scratch, or the attention backward's one row of scores per key.
  const polarFloats = Math.ceil((D * D) / 4) * 4;
  const slotFloats = Math.max(largestProductScratch(shape, config.batch, kernels.matmulScratchFloats),
    polarFloats + kernels.newtonSchulzScratchFloats(D, D), shape.seqLen);
  const slotBytes = 4 * Math.ceil(slotFloats / 4) * 4 + 64;
  const slots = threads > 1
    ? { control: arena.words(CONTROL_BYTES / 4), scratch: arena.words((threads * slotBytes) / 4), slotBytes }
    : null;
  return { ptr, slots, polarFloats };
}

/** A parameter's values in one of the parameter-sized buffers (params, grads, m, v, state). */
export function paramView(arena: Arena, base: number, spec: ParamSpec): Float32Array {
  return arena.f32(base + 4 * spec.offset, spec.size);
}

/** Hex digest of every parameter, both Adam moments, the Adam step count and the arm's state. */
export function checksumOf(parts: Pick<TrainerParts, 'digest' | 'optimizer'>): string {
  return parts.digest.checksum(parts.optimizer.adamStep);
}
