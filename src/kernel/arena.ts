// The one allocator of the kernel instance's linear memory: a bump allocator from heapBase().
// The alignment rule: every buffer starts on 16 bytes, which every kernel's pointer contract and
// scratch size assume, so no caller adds slack of its own.
//
// A trainer reserves everything first and commits once, then takes views, so that none of them
// ever detaches; reserving after that commit is an error. One-off users (linear algebra for
// figures, tests, the bench) use a growing arena, which commits at each reservation: their
// pointers are usable at once, and views are taken after the last reservation.
import type { KernelExports } from './wasm.js';

export const ALIGN = 16;
// A small gap after each buffer keeps large buffers from starting exactly a power of two
// apart, which aliases cache sets (seen costing up to 3x on one matmul shape).
const STAGGER = 64;
// 32-bit WebAssembly memory: 65536 pages of 64 KiB.
const MAX_PAGES = 65536;

export class Arena {
  private next: number;
  private committed = false;

  constructor(private readonly kernels: KernelExports, private readonly growing = false) {
    this.next = kernels.heapBase();
  }

  /** An arena for one-off use: every reservation grows memory at once (see above). */
  static growing(kernels: KernelExports): Arena {
    return new Arena(kernels, true);
  }

  private reserve(bytes: number): number {
    if (this.committed && !this.growing) throw new Error('Arena: reserve after commit');
    const ptr = Math.ceil(this.next / ALIGN) * ALIGN;
    this.next = ptr + bytes + STAGGER;
    if (this.growing) this.commit();
    return ptr;
  }

  /** Byte offset of a new buffer of `count` 4-byte elements (f32 or i32). */
  words(count: number): number {
    return this.reserve(4 * count);
  }

  /** Byte offset of a new buffer of `count` f64 elements. */
  doubles(count: number): number {
    return this.reserve(8 * count);
  }

  /** Grows memory once to hold everything reserved; returns the bytes in use. */
  commit(): number {
    const memory = this.kernels.memory;
    const needed = Math.ceil(this.next / 65536);
    if (needed > MAX_PAGES) throw new RangeError(`needs ${(this.next / 2 ** 30).toFixed(1)} GiB of memory, over WebAssembly's 4 GiB`);
    const have = memory.buffer.byteLength / 65536;
    if (needed > have) memory.grow(needed - have);
    this.committed = true;
    return this.next;
  }

  f32(ptr: number, count: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, ptr, count);
  }

  i32(ptr: number, count: number): Int32Array {
    return new Int32Array(this.kernels.memory.buffer, ptr, count);
  }

  f64(ptr: number, count: number): Float64Array {
    return new Float64Array(this.kernels.memory.buffer, ptr, count);
  }
}
