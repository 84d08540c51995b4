// Checkpoint I/O: a trainer's tensors (parameters, Adam moments, arm state, PRNG, data order) and
// run state to a checkpoint's bytes, and back, checking that they belong to this config.
import { CheckpointError, encodeCheckpoint, type CheckpointState } from '../format/checkpoint.js';
import type { Tensor, TensorData } from '../format/safetensors.js';
import { checksumOf, paramView, type TrainerParts } from './parts.js';

/** What a checkpoint holds, where it lives in a trainer: the buffers, the data order, Adam's step count, the run state. */
export type CheckpointParts = Pick<TrainerParts, 'config' | 'table' | 'arena' | 'ptr' | 'data' | 'optimizer' | 'driver' | 'digest' | 'run'>;

/** The checkpoint of a trainer with no evaluation pending; `extraElapsedMs` is added to the run's time. */
export function saveCheckpoint(c: CheckpointParts, extraElapsedMs: number): Uint8Array {
  const { table, arena, ptr, data, run } = c;
  const tensors: Record<string, { shape: number[]; data: TensorData }> = {};
  for (const spec of table) tensors[`param.${spec.name}`] = { shape: spec.shape, data: paramView(arena, ptr.params, spec) };
  for (const spec of table) tensors[`adam.m.${spec.name}`] = { shape: spec.shape, data: paramView(arena, ptr.m, spec) };
  for (const spec of table) tensors[`adam.v.${spec.name}`] = { shape: spec.shape, data: paramView(arena, ptr.v, spec) };
  if (ptr.state) for (const spec of table) tensors[`arm.state.${spec.name}`] = { shape: spec.shape, data: paramView(arena, ptr.state, spec) };
  tensors.rng = { shape: [3, 4], data: arena.i32(ptr.rng, 12) };
  tensors.order = { shape: [data.trainCount], data: data.epochIds() };
  const state: CheckpointState = {
    stepsDone: run.stepsDone, adamStep: c.optimizer.adamStep, epochCursor: run.epochCursor, streak: run.streak,
    stopped: run.stopped, elapsedMs: run.elapsedMs + extraElapsedMs, history: run.history, checksum: checksumOf(c),
    usedGpu: c.driver.usedGpu,
  };
  if (run.diverged) state.diverged = run.diverged;
  return encodeCheckpoint(c.config, state, tensors);
}

/**
 * Restores a decoded checkpoint into a fresh trainer of its config: every tensor must be there
 * with this config's dtype and shape, and no other; the data order must be a permutation of the
 * training pairs, the loop state inside the config, and the checksum must match. Otherwise a
 * CheckpointError.
 */
export function restoreCheckpoint(c: CheckpointParts, tensors: Record<string, Tensor>, state: CheckpointState): void {
  const { config, table, arena, ptr, data, run } = c;
  const need = (name: string, dtype: string, shape: number[]): Tensor => {
    const t = tensors[name];
    if (!t) throw new CheckpointError(`'${name}' is missing`);
    if (t.dtype !== dtype || t.shape.join('x') !== shape.join('x')) {
      throw new CheckpointError(`'${name}' is ${t.dtype} [${t.shape}], expected ${dtype} [${shape}] for this config`);
    }
    return t;
  };
  for (const spec of table) {
    paramView(arena, ptr.params, spec).set(need(`param.${spec.name}`, 'F32', spec.shape).data);
    paramView(arena, ptr.m, spec).set(need(`adam.m.${spec.name}`, 'F32', spec.shape).data);
    paramView(arena, ptr.v, spec).set(need(`adam.v.${spec.name}`, 'F32', spec.shape).data);
    if (ptr.state) paramView(arena, ptr.state, spec).set(need(`arm.state.${spec.name}`, 'F32', spec.shape).data);
  }
  const expected = new Set([...table.flatMap((s) => [`param.${s.name}`, `adam.m.${s.name}`, `adam.v.${s.name}`,
    ...(ptr.state ? [`arm.state.${s.name}`] : [])]), 'rng', 'order']);
  const extra = Object.keys(tensors).find((name) => !expected.has(name));
  if (extra) throw new CheckpointError(`'${extra}' is not a tensor of a ${config.decay} run of this config`);
  arena.i32(ptr.rng, 12).set(need('rng', 'I32', [3, 4]).data);
  const order = need('order', 'I32', [data.trainCount]).data as Int32Array;
  const train = new Set(data.trainIds());
  if (new Set(order).size !== order.length || !order.every((id) => train.has(id))) {
    throw new CheckpointError("'order' is not a permutation of this config's training pairs");
  }
  data.epochIds().set(order);
  if (state.stepsDone > config.steps || state.epochCursor > data.trainCount || state.streak > 2) {
    throw new CheckpointError(`its loop state is outside this config (step ${state.stepsDone} of ${config.steps}, ` +
      `epoch position ${state.epochCursor} of ${data.trainCount}, streak ${state.streak})`);
  }
  run.stepsDone = state.stepsDone;
  c.optimizer.adamStep = state.adamStep;
  run.epochCursor = state.epochCursor;
  run.streak = state.streak;
  run.stopped = state.stopped;
  run.elapsedMs = state.elapsedMs;
  run.history = state.history;
  c.driver.usedGpu = state.usedGpu;
  run.diverged = state.diverged ?? null;
  if (checksumOf(c) !== state.checksum) {
    throw new CheckpointError(`its contents do not match its checksum (${checksumOf(c)} != ${state.checksum}): the file is corrupt`);
  }
}
