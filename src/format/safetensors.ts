// safetensors (the Hugging Face tensor file format): an 8-byte little-endian header length,
// a JSON header of { name: { dtype, shape, data_offsets } } plus optional __metadata__,
// then the raw little-endian data. The reader treats every file as hostile: it checks each
// length and offset before reading, so a bad file gets a clear error, never a wild read.
import { parseJson } from './problem.js';

export type Dtype = 'F32' | 'F64' | 'I32';
export type TensorData = Float32Array | Float64Array | Int32Array;

export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

const BYTES: Record<Dtype, number> = { F32: 4, F64: 8, I32: 4 };
const MAX_HEADER = 100 * 1024 * 1024;

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(`safetensors: ${message}`);
    this.name = 'SafetensorsError';
  }
}

function dtypeOf(data: TensorData): Dtype {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  return 'I32';
}

/** Serialises tensors (in the given order) with optional string metadata. */
export function encodeSafetensors(tensors: Record<string, { shape: number[]; data: TensorData }>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new SafetensorsError(`'${name}' has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: dtypeOf(t.data), shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.fill(0x20, 8, 8 + padded);
  out.set(json, 8);
  let at = 8 + padded;
  for (const t of Object.values(tensors)) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at); // little-endian hosts only, as are all engines this runs on
    at += bytes.length;
  }
  return out;
}

/** Parses and validates a safetensors file; tensors come back as copies in their own buffers. */
export function decodeSafetensors(file: Uint8Array): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  if (file.length < 8) throw new SafetensorsError(`file is ${file.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER, file.length - 8))) {
    throw new SafetensorsError(`header length ${headerLength} exceeds the file (${file.length - 8} bytes after the length field)`);
  }
  const n = Number(headerLength);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + n));
  } catch (e) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  let header: unknown;
  try {
    // The strict reader: a tensor named twice, or named __proto__, is refused.
    header = parseJson(text, 'header');
  } catch (e) {
    const message = (e as Error).message;
    throw new SafetensorsError(message.startsWith('header: not JSON') ? `header is not valid UTF-8 JSON${message.slice('header: not JSON'.length)}` : message);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = file.length - dataStart;
  const tensors: Record<string, Tensor> = {};
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw new SafetensorsError('__metadata__ must map strings to strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) throw new SafetensorsError(`${JSON.stringify(name)} is not an object`);
    if (e.dtype !== 'F32' && e.dtype !== 'F64' && e.dtype !== 'I32') {
      throw new SafetensorsError(`${JSON.stringify(name)} has dtype ${JSON.stringify(e.dtype)}; supported: F32, F64, I32`);
    }
    if (!Array.isArray(e.shape) || e.shape.length > 8 || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${JSON.stringify(name)} has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      throw new SafetensorsError(`${JSON.stringify(name)} has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end > dataLength) throw new SafetensorsError(`${JSON.stringify(name)} data_offsets [${begin}, ${end}] run past the data (${dataLength} bytes)`);
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    const size = BYTES[e.dtype];
    if (end - begin !== count * size) {
      throw new SafetensorsError(`${JSON.stringify(name)} holds ${end - begin} bytes but shape [${e.shape}] of ${e.dtype} needs ${count * size}`);
    }
    const bytes = file.slice(dataStart + begin, dataStart + end);
    const data = e.dtype === 'F32' ? new Float32Array(bytes.buffer) : e.dtype === 'F64' ? new Float64Array(bytes.buffer) : new Int32Array(bytes.buffer);
    tensors[name] = { dtype: e.dtype, shape: e.shape as number[], data };
    spans.push([begin, end, name]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  // The tensors must tile the data exactly, as the format requires: bytes that no tensor covers
  // could carry anything past a check that reads tensors only.
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin < covered) throw new SafetensorsError(`${JSON.stringify(name)} overlaps the tensor before it (data_offsets [${begin}, ${end}])`);
    if (begin > covered) throw new SafetensorsError(`bytes ${covered}..${begin} of the data belong to no tensor (a hole before ${JSON.stringify(name)})`);
    covered = end;
  }
  if (covered !== dataLength) throw new SafetensorsError(`bytes ${covered}..${dataLength} of the data belong to no tensor (a hole after the last tensor)`);
  return { tensors, metadata };
}
