import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsError, createTrainer, decodeSafetensors, encodeSafetensors, readStateDict, saveStateDict } from '../src/node/index.js';

// A file with a hand-written header, to build hostile inputs.
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips tensors, dtypes and metadata', () => {
    const tensors = {
      a: { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6.5]) },
      b: { shape: [3], data: new Int32Array([-1, 0, 7]) },
      c: { shape: [1], data: new Float64Array([Math.PI]) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
    };
    const back = decodeSafetensors(encodeSafetensors(tensors, { note: 'x' }));
    expect(back.metadata).toEqual({ note: 'x' });
    for (const [name, t] of Object.entries(tensors)) {
      expect(back.tensors[name].shape).toEqual(t.shape);
      expect(Array.from(back.tensors[name].data)).toEqual(Array.from(t.data));
    }
  });

  it.each([
    ['a file shorter than its length field', new Uint8Array(5), /shorter than the 8-byte header length/],
    ['a header length past the end', rawFile({}, new Uint8Array(0), 1n << 60n), /exceeds the file/],
    ['a header that is not JSON', rawFile('{"a": '), /not valid UTF-8 JSON/],
    ['a header that is an array', rawFile([1, 2]), /not a JSON object/],
    ['an unsupported dtype', rawFile({ a: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, new Uint8Array(2)), /dtype "BF16"/],
    ['offsets past the data', rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), /run past the data/],
    ['a size that disagrees with the shape', rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs 12/],
    ['negative offsets', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, new Uint8Array(8)), /invalid data_offsets/],
    ['overlapping tensors', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /overlaps/],
    ['a tensor named twice', rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)), /key "a" appears twice/],
    ['a tensor named __proto__', rawFile('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /key "__proto__" at the top level is not allowed/],
    ['metadata named twice', rawFile('{"__metadata__":{"a":"1"},"__metadata__":{"a":"2"}}'), /key "__metadata__" appears twice/],
    ['bytes between tensors', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12)), /bytes 4\.\.8 of the data belong to no tensor \(a hole before "b"\)/],
    ['bytes after the last tensor', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), /bytes 4\.\.8 .*a hole after the last tensor/],
    ['a huge shape', rawFile({ a: { dtype: 'F32', shape: [1e6, 1e6, 1e6], data_offsets: [0, 4] } }, new Uint8Array(4)), /needs/],
  ])('refuses %s with a clear error', (_, file, message) => {
    expect(() => decodeSafetensors(file)).toThrow(SafetensorsError);
    expect(() => decodeSafetensors(file)).toThrow(message);
  });

  it("a trainer's state_dict round-trips through --save/--init files, strictly checked", async () => {
    const trainer = await createTrainer({ p: 7, dim: 8, heads: 2, mlp: 12 });
    trainer.step();
    const file = saveStateDict(trainer);
    const other = await createTrainer({ p: 7, dim: 8, heads: 2, mlp: 12, seed: 5 });
    other.setParams(readStateDict(other, file));
    expect(other.getParams()).toEqual(trainer.getParams());
    const { tensors } = decodeSafetensors(file);
    expect(tensors.pos_embedding.shape).toEqual([1, 3, 8]);
    const wrongShape = await createTrainer({ p: 7, dim: 8, heads: 2, mlp: 16 });
    expect(() => readStateDict(wrongShape, file)).toThrow("'layers.0.mlp.0.weight' has shape [12,8], this config needs [16,8]");
    const asF64 = encodeSafetensors(Object.fromEntries(Object.entries(trainer.getParams()).map(([k, v]) => [k, { shape: v.shape, data: Float64Array.from(v.data) }])));
    expect(() => readStateDict(other, asF64)).toThrow(/parameters must be F32/);
  });

  it('the CLI refuses a hostile --init file in one line, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'grokwasm-st-'));
    writeFileSync(join(dir, 'bad.safetensors'), rawFile({ 'embedding.weight': { dtype: 'F32', shape: [2], data_offsets: [0, 1 << 30] } }));
    const r = spawnSync(process.execPath, [new URL('../dist/cli/grokwasm.js', import.meta.url).pathname, 'run', '--init', join(dir, 'bad.safetensors')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^grokwasm: --init .*bad.safetensors: safetensors: "embedding.weight" data_offsets/);
    expect(readFileSync(join(dir, 'bad.safetensors')).length).toBeGreaterThan(8);
  });
});
