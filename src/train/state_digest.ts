// The training state that a checksum covers and a divergence inspects: every parameter, both
// Adam moments and Adam's step count, in one kernel instance's memory.
import type { Arena } from '../kernel/arena.js';
import type { KernelExports } from '../kernel/wasm.js';

/** Byte offsets of the three float buffers (each `floats` long) and a 4-byte slot for the step count. */
export interface StateBuffers { params: number; m: number; v: number; counter: number;
  /** The arm's state (EMA, momentum), or 0 when it keeps none: hashed after the step count, so the other arms' checksums are what they were. */
  state: number }

const SEED = 0x6772_6f6b_7761_736dn; // "grokwasm"
// The one NaN bit pattern a diverged state is stored with.
const CANONICAL_NAN = 0x7fc00000;

export class TrainingState {
  constructor(private readonly k: KernelExports, private readonly arena: Arena, private readonly buf: StateBuffers,
    private readonly floats: number) {}

  /** 64-bit hex digest of every parameter, both Adam moments and the Adam step count. */
  checksum(adamStep: number): string {
    const bytes = 4 * this.floats;
    this.arena.i32(this.buf.counter, 1)[0] = adamStep;
    let h = SEED;
    h = this.k.hashUpdate(h, this.buf.params, bytes);
    h = this.k.hashUpdate(h, this.buf.m, bytes);
    h = this.k.hashUpdate(h, this.buf.v, bytes);
    h = this.k.hashUpdate(h, this.buf.counter, 4);
    if (this.buf.state) h = this.k.hashUpdate(h, this.buf.state, bytes);
    return BigInt.asUintN(64, this.k.hashFinish(h)).toString(16).padStart(16, '0');
  }

  private buffers(): number[] {
    return [this.buf.params, this.buf.m, this.buf.v, ...(this.buf.state ? [this.buf.state] : [])];
  }

  /** Whether every parameter, Adam moment and arm state is finite. */
  isFinite(): boolean {
    for (const base of this.buffers()) {
      const values = this.arena.f32(base, this.floats);
      for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
    }
    return true;
  }

  /**
   * Rewrites every NaN in one bit pattern: WebAssembly lets engines choose a NaN's bits, and the
   * checksum of a diverged run must not depend on the engine.
   */
  canonicalizeNaNs(): void {
    for (const base of this.buffers()) {
      const values = this.arena.f32(base, this.floats), bits = this.arena.i32(base, this.floats);
      for (let i = 0; i < values.length; i++) if (values[i] !== values[i]) bits[i] = CANONICAL_NAN;
    }
  }
}
