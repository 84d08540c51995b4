// The QK-rank metrics and spectra of the reference, from the singular values of the weights in
// one kernel instance (computed in f64 by the spectral kernel).
import type { Arena } from '../kernel/arena.js';
import type { KernelExports } from '../kernel/wasm.js';
import type { ParamSpec } from '../model/params.js';

/** Byte offsets: the parameters, a f64 buffer for the largest weight's singular values, its scratch. */
export interface SpectraBuffers { params: number; sv: number; svScratch: number }

export class WeightSpectra {
  constructor(private readonly k: KernelExports, private readonly arena: Arena, private readonly table: ParamSpec[],
    private readonly buf: SpectraBuffers) {}

  /** Mean stable rank (||W||_F^2 / sigma_max^2) and effective rank (exp of the entropy of sigma / sum sigma) over every q_proj and k_proj weight. */
  queryKeyRanks(): { stableRank: number; effectiveRank: number } {
    let stable = 0, effective = 0, count = 0;
    for (const spec of this.table) {
      if (!spec.queryKey) continue;
      const n = this.compute(spec);
      stable += this.k.stableRankOf(this.buf.sv, n);
      effective += this.k.effectiveRankOf(this.buf.sv, n);
      count++;
    }
    return { stableRank: stable / count, effectiveRank: effective / count };
  }

  /** Singular values (descending) of a parameter matrix, e.g. 'layers.0.attn.q_proj.weight'. */
  spectrum(name: string): Float64Array {
    const spec = this.table.find((s) => s.name === name);
    if (!spec) throw new Error(`spectrum: unknown parameter '${name}'`);
    return this.arena.f64(this.buf.sv, this.compute(spec)).slice();
  }

  private compute(spec: ParamSpec): number {
    if (!this.k.singularValues(this.buf.sv, this.buf.params + 4 * spec.offset, spec.rows, spec.cols, this.buf.svScratch)) {
      throw new Error('singular values: the QL iteration did not converge');
    }
    return Math.min(spec.rows, spec.cols);
  }
}
