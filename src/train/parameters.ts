// The parameters' values in the trainer's arena: initialisation from the seed's stream, copies
// by PyTorch name, and a checked replacement that zeroes the optimiser's buffers.
import type { Arena } from '../kernel/arena.js';
import type { KernelExports } from '../kernel/wasm.js';
import type { ParamSpec } from '../model/params.js';
import { paramView, type TrainerBuffers } from './parts.js';

/** Draws every parameter from its init (normal, uniform, or ones) in table order from the PRNG state at `rng`. */
export function initParams(kernels: KernelExports, arena: Arena, table: ParamSpec[], params: number, rng: number): void {
  for (const spec of table) {
    const ptr = params + 4 * spec.offset;
    if (spec.init.kind === 'normal') kernels.randomNormal(rng, ptr, spec.size, 0, spec.init.std);
    else if (spec.init.kind === 'uniform') kernels.randomUniform(rng, ptr, spec.size, -spec.init.bound, spec.init.bound);
    else paramView(arena, params, spec).fill(1);
  }
}

/** Copies of every parameter, by PyTorch name. */
export function readParams(arena: Arena, table: ParamSpec[], params: number): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const spec of table) out[spec.name] = { shape: [...spec.shape], data: paramView(arena, params, spec).slice() };
  return out;
}

/**
 * Replaces parameter values (every name must be present with the right size, and no other) and
 * zeroes both Adam moments and the arm's state; the caller resets Adam's step count.
 */
export function writeParams(arena: Arena, table: ParamSpec[], ptr: Pick<TrainerBuffers, 'params' | 'm' | 'v' | 'state'>,
  floats: number, params: Record<string, Float32Array>): void {
  for (const spec of table) {
    const value = params[spec.name];
    if (!value) throw new Error(`setParams: missing parameter '${spec.name}'`);
    if (value.length !== spec.size) {
      throw new Error(`setParams: '${spec.name}' has ${value.length} values, expected ${spec.size} (shape ${spec.shape.join('x')})`);
    }
  }
  const known = new Set(table.map((s) => s.name));
  for (const name of Object.keys(params)) if (!known.has(name)) throw new Error(`setParams: unknown parameter '${name}'`);
  for (const spec of table) paramView(arena, ptr.params, spec).set(params[spec.name]);
  arena.f32(ptr.m, floats).fill(0);
  arena.f32(ptr.v, floats).fill(0);
  if (ptr.state) arena.f32(ptr.state, floats).fill(0);
}
