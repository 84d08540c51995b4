// The parameter table: PyTorch state_dict names (in state_dict order), shapes (out x in,
// row-major), initialisation and offsets into the parameter arena. Layout, checkpoints,
// optimiser groups and tests all read it from here.

export interface ModelShape {
  vocab: number;
  seqLen: number;
  dim: number;
  depth: number;
  heads: number;
  mlp: number;
}

export type Init =
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'ones' };

export interface ParamSpec {
  name: string;
  /** PyTorch shape; 2-D weights are out x in. */
  shape: number[];
  /** Matrix view used by the kernels (vectors are 1 x n). */
  rows: number;
  cols: number;
  size: number;
  /** Offset in floats from the start of the parameter arena. */
  offset: number;
  init: Init;
  /** True for attn.q_proj / attn.k_proj: the weights Low-Rank Decay acts on. */
  queryKey: boolean;
}

function linear(name: string, out: number, inp: number): Omit<ParamSpec, 'offset'> {
  return {
    name, shape: [out, inp], rows: out, cols: inp, size: out * inp,
    init: { kind: 'uniform', bound: 1 / Math.sqrt(inp) },
    queryKey: /\.attn\.(q|k)_proj\.weight$/.test(name),
  };
}

function gain(name: string, dim: number): Omit<ParamSpec, 'offset'> {
  return { name, shape: [dim], rows: 1, cols: dim, size: dim, init: { kind: 'ones' }, queryKey: false };
}

/** Every parameter of the reference model, in PyTorch's state_dict order. */
export function parameterTable(m: ModelShape): ParamSpec[] {
  const specs: Omit<ParamSpec, 'offset'>[] = [
    // pos_embedding is registered on the model itself, so state_dict lists it first.
    { name: 'pos_embedding', shape: [1, m.seqLen, m.dim], rows: m.seqLen, cols: m.dim, size: m.seqLen * m.dim,
      init: { kind: 'normal', std: 0.02 }, queryKey: false },
    { name: 'embedding.weight', shape: [m.vocab, m.dim], rows: m.vocab, cols: m.dim, size: m.vocab * m.dim,
      init: { kind: 'normal', std: 1 }, queryKey: false },
  ];
  for (let i = 0; i < m.depth; i++) {
    const at = `layers.${i}`;
    specs.push(
      gain(`${at}.norm1.g`, m.dim),
      linear(`${at}.attn.q_proj.weight`, m.dim, m.dim),
      linear(`${at}.attn.k_proj.weight`, m.dim, m.dim),
      linear(`${at}.attn.v_proj.weight`, m.dim, m.dim),
      linear(`${at}.attn.o_proj.weight`, m.dim, m.dim),
      gain(`${at}.attn.q_norm.g`, m.dim),
      gain(`${at}.attn.k_norm.g`, m.dim),
      gain(`${at}.norm2.g`, m.dim),
      linear(`${at}.mlp.0.weight`, m.mlp, m.dim),
      linear(`${at}.mlp.2.weight`, m.dim, m.mlp),
    );
  }
  specs.push(gain('norm_final.g', m.dim), linear('lm_head.weight', m.vocab, m.dim));
  let offset = 0;
  return specs.map((s) => {
    const spec = { ...s, offset };
    offset = paddedEnd(spec);
    return spec;
  });
}

/** Where the next tensor after `spec` starts: every tensor is 16-byte aligned so kernels may use aligned vector loads. */
export function paddedEnd(spec: Pick<ParamSpec, 'offset' | 'size'>): number {
  return spec.offset + Math.ceil(spec.size / 4) * 4;
}

/** Floats the parameter arena needs (with alignment padding). */
export function parameterArenaFloats(table: ParamSpec[]): number {
  return paddedEnd(table[table.length - 1]);
}

/** Total number of trainable scalars. */
export function parameterCount(table: ParamSpec[]): number {
  return table.reduce((n, p) => n + p.size, 0);
}
