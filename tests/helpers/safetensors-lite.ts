/**
 * A tiny safetensors parser for tests (F32 and I64 only). The engine's real reader lives in
 * shared/engine/safetensors; tests will switch to it once it lands.
 */
import { readFileSync } from 'node:fs';
import { floatTensor, int64Tensor, type FloatTensor, type Int64Tensor } from '../../shared/engine/tensor';

/** A parsed safetensors file: tensors by name. */
export type LiteTensors = Map<string, FloatTensor | Int64Tensor>;

/** Reads every F32/I64 tensor of a safetensors file into memory (copies, so data is aligned). */
export function readSafetensorsLite(path: string): LiteTensors {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLen;
  const out: LiteTensors = new Map();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [start, end] = info.data_offsets;
    const raw = new Uint8Array(bytes.subarray(base + start, base + end)); // aligned copy
    if (info.dtype === 'F32') out.set(name, floatTensor(info.shape, new Float32Array(raw.buffer)));
    else if (info.dtype === 'I64') out.set(name, int64Tensor(info.shape, new BigInt64Array(raw.buffer)));
    else throw new Error(`${path}: tensor ${name} has unsupported dtype ${info.dtype}`);
  }
  return out;
}

/** Gets a float32 tensor by name or throws. */
export function getFloat(tensors: LiteTensors, name: string): FloatTensor {
  const t = tensors.get(name);
  if (!t || t.type !== 'float32') throw new Error(`missing float32 tensor ${name}`);
  return t;
}

/** Gets an int64 tensor by name or throws. */
export function getInt64(tensors: LiteTensors, name: string): Int64Tensor {
  const t = tensors.get(name);
  if (!t || t.type !== 'int64') throw new Error(`missing int64 tensor ${name}`);
  return t;
}

/** Max |a − g| and whether every element satisfies |a − g| ≤ atol + rtol·|g|. */
export function compareClose(
  actual: Float32Array,
  golden: Float32Array,
  atol = 1e-4,
  rtol = 1e-4,
): { maxAbs: number; ok: boolean; worstIndex: number } {
  if (actual.length !== golden.length) throw new Error(`length ${actual.length} != golden ${golden.length}`);
  let maxAbs = 0;
  let ok = true;
  let worstIndex = -1;
  for (let i = 0; i < actual.length; i++) {
    const g = golden[i] as number;
    const d = Math.abs((actual[i] as number) - g);
    if (!(d <= atol + rtol * Math.abs(g))) ok = false;
    if (d > maxAbs || Number.isNaN(d)) {
      maxAbs = Number.isNaN(d) ? Infinity : d;
      worstIndex = i;
    }
  }
  return { maxAbs, ok, worstIndex };
}
