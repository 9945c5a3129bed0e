/**
 * The `data.pkl` of a torch.save'd state dict, byte for byte as torch writes it for an `OrderedDict` of plain CPU
 * tensors (protocol 2, CPython's memo numbering, SETITEMS in batches of 1000): one storage per tensor, keyed by
 * its declaration index. Only what the synthetic checkpoints need; the restricted unpickler reads it back.
 */
import { utf8Encode } from '../safetensors/utf8';

/** One tensor of the state dict: its storage class comes from the dtype. */
export interface PickledTensor {
  readonly name: string;
  readonly dtype: 'F32' | 'F16' | 'BF16';
  readonly shape: readonly number[];
}

const STORAGE_CLASS = { F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage' } as const;
/** CPython's Pickler._BATCHSIZE: dict items go out in SETITEMS batches of this many. */
const BATCH = 1000;

/** Appends opcodes to a growing buffer, memoizing the way CPython's pickler does for these objects. */
class PickleBuilder {
  private chunks: number[] = [];
  private nextMemo = 0;
  /** Globals and interned strings CPython reuses by identity (BINGET instead of a second copy). */
  private readonly memoized = new Map<string, number>();

  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }

  op(...bytes: number[]): void {
    for (const b of bytes) this.chunks.push(b);
  }

  /** BINPUT / LONG_BINPUT of the value just written. */
  put(): number {
    const n = this.nextMemo++;
    if (n < 256) this.op(0x71, n);
    else this.op(0x72, ...le(n, 4));
    return n;
  }

  get(n: number): void {
    if (n < 256) this.op(0x68, n);
    else this.op(0x6a, ...le(n, 4));
  }

  /** A value written once and fetched from the memo after (a global, or a string literal CPython interns). */
  shared(id: string, write: () => void): void {
    const n = this.memoized.get(id);
    if (n !== undefined) return this.get(n);
    write();
    this.memoized.set(id, this.put());
  }

  global(module: string, name: string): void {
    this.shared(`global:${module}.${name}`, () => this.op(0x63, ...utf8Encode(`${module}\n${name}\n`)));
  }

  /** BINUNICODE (protocol 2 has no SHORT_BINUNICODE), memoized. */
  string(s: string): void {
    const b = utf8Encode(s);
    this.op(0x58, ...le(b.length, 4), ...b);
    this.put();
  }

  /** CPython's save_long: BININT1, BININT2, BININT, else LONG1 with the minimal two's-complement bytes. */
  int(v: number): void {
    if (v >= 0 && v <= 0xff) return this.op(0x4b, v);
    if (v >= 0 && v <= 0xffff) return this.op(0x4d, ...le(v, 2));
    if (v >= -0x80000000 && v <= 0x7fffffff) return this.op(0x4a, ...le(v >>> 0, 4));
    const n = Math.floor(BigInt(v).toString(2).length / 8) + 1; // (bit_length >> 3) + 1 for v > 0
    this.op(0x8a, n, ...le(v, n));
  }

  /** A tuple of ints: EMPTY_TUPLE, TUPLE1-3 or MARK…TUPLE, memoized unless empty. */
  intTuple(items: readonly number[]): void {
    if (items.length === 0) return this.op(0x29);
    if (items.length > 3) this.op(0x28);
    for (const v of items) this.int(v);
    this.op(items.length > 3 ? 0x74 : 0x84 + items.length);
    this.put();
  }
}

/** Little-endian bytes of a non-negative integer below 2^53. */
function le(v: number, n: number): number[] {
  const out: number[] = [];
  let x = BigInt(v);
  for (let i = 0; i < n; i++, x >>= 8n) out.push(Number(x & 0xffn));
  return out;
}

/** Row-major strides of a shape. */
function contiguousStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i]!;
  }
  return stride;
}

function writeTensor(p: PickleBuilder, t: PickledTensor, key: string, count: number): void {
  p.global('torch._utils', '_rebuild_tensor_v2');
  p.op(0x28, 0x28); // MARK for the arguments, MARK for the persistent id
  p.shared('str:storage', () => p.op(0x58, ...le(7, 4), ...utf8Encode('storage')));
  p.global('torch', STORAGE_CLASS[t.dtype]);
  p.string(key);
  p.shared('str:cpu', () => p.op(0x58, ...le(3, 4), ...utf8Encode('cpu')));
  p.int(count);
  p.op(0x74);
  p.put();
  p.op(0x51); // BINPERSID
  p.int(0); // storage offset
  p.intTuple(t.shape);
  p.intTuple(contiguousStrides(t.shape));
  p.op(0x89); // requires_grad = False
  p.global('collections', 'OrderedDict'); // backward_hooks = OrderedDict()
  p.op(0x29, 0x52);
  p.put();
  p.op(0x74);
  p.put();
  p.op(0x52);
  p.put();
}

/** The data.pkl bytes of `OrderedDict(name → tensor)`, storage keys `'0'`, `'1'`, … in declaration order. */
export function encodeStateDictPickle(tensors: readonly PickledTensor[]): Uint8Array {
  const p = new PickleBuilder();
  p.op(0x80, 2);
  p.global('collections', 'OrderedDict');
  p.op(0x29, 0x52);
  p.put();
  for (let start = 0; start < tensors.length; start += BATCH) {
    const batch = tensors.slice(start, start + BATCH);
    if (batch.length > 1) p.op(0x28);
    batch.forEach((t, i) => {
      p.string(t.name);
      writeTensor(
        p,
        t,
        String(start + i),
        t.shape.reduce((a, b) => a * b, 1),
      );
    });
    p.op(batch.length > 1 ? 0x75 : 0x73);
  }
  p.op(0x2e);
  return p.bytes();
}
