/**
 * Test helpers: hand-built zip archives (any method, mismatched local headers, ZIP64, virtual gaps for offsets past
 * 4 GiB) and a tiny pickle assembler, so every refusal path of the readers can be reached on purpose.
 */
import { crc32 } from 'node:zlib';

/** One entry of a crafted zip. */
export interface CraftEntry {
  readonly name: string;
  readonly data: Uint8Array;
  /** Compression method written in both headers (the data is not actually compressed). */
  readonly method?: number;
  /** Name written in the local header when it should differ from the central directory's. */
  readonly localName?: string;
  /** Extra field of the local header only (torch pads with one). */
  readonly localExtra?: Uint8Array;
  /** Zero bytes before the local header; with `craftZipParts` they are virtual (a sparse file). */
  readonly gap?: number;
  /** Overrides the local header signature. */
  readonly localSignature?: number;
}

/** Options for the archive as a whole. */
export interface CraftOptions {
  /** Saturated 32-bit fields, ZIP64 extras on every entry, ZIP64 end record and locator. */
  readonly zip64?: boolean;
  /** Central directory entries get ZIP64 extras for their saturated fields only when this is false. */
  readonly omitZip64Extra?: boolean;
  readonly comment?: string;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function rec(size: number, fill: (dv: DataView, bytes: Uint8Array) => void): Uint8Array {
  const out = new Uint8Array(size);
  fill(new DataView(out.buffer), out);
  return out;
}

/** A zip as segments (absolute offset → bytes) and a total size; gaps between segments read as zeros. */
export function craftZipParts(entries: readonly CraftEntry[], opts: CraftOptions = {}) {
  const segments: Array<[number, Uint8Array]> = [];
  let at = 0;
  const emit = (bytes: Uint8Array): void => {
    segments.push([at, bytes]);
    at += bytes.length;
  };
  const central: Uint8Array[] = [];
  for (const e of entries) {
    at += e.gap ?? 0;
    const offset = at;
    const name = enc(e.name);
    const localName = enc(e.localName ?? e.name);
    const extra = e.localExtra ?? new Uint8Array(0);
    const crc = crc32(e.data);
    const usize = e.method ? e.data.length * 2 : e.data.length;
    emit(
      rec(30 + localName.length + extra.length, (dv, b) => {
        dv.setUint32(0, e.localSignature ?? 0x04034b50, true);
        dv.setUint16(4, 20, true);
        dv.setUint16(8, e.method ?? 0, true);
        dv.setUint32(14, crc, true);
        dv.setUint32(18, e.data.length, true);
        dv.setUint32(22, usize, true);
        dv.setUint16(26, localName.length, true);
        dv.setUint16(28, extra.length, true);
        b.set(localName, 30);
        b.set(extra, 30 + localName.length);
      }),
    );
    emit(e.data);
    const z64 = opts.zip64 === true;
    const extraLen = z64 && !opts.omitZip64Extra ? 28 : 0;
    central.push(
      rec(46 + name.length + extraLen, (dv, b) => {
        dv.setUint32(0, 0x02014b50, true);
        dv.setUint16(4, 45, true);
        dv.setUint16(6, 45, true);
        dv.setUint16(10, e.method ?? 0, true);
        dv.setUint32(16, crc, true);
        dv.setUint32(20, z64 ? 0xffffffff : e.data.length, true);
        dv.setUint32(24, z64 ? 0xffffffff : usize, true);
        dv.setUint16(28, name.length, true);
        dv.setUint16(30, extraLen, true);
        dv.setUint32(42, z64 ? 0xffffffff : offset, true);
        b.set(name, 46);
        if (extraLen === 0) return;
        const q = 46 + name.length;
        dv.setUint16(q, 1, true);
        dv.setUint16(q + 2, 24, true);
        dv.setBigUint64(q + 4, BigInt(usize), true);
        dv.setBigUint64(q + 12, BigInt(e.data.length), true);
        dv.setBigUint64(q + 20, BigInt(offset), true);
      }),
    );
  }
  const cdOffset = at;
  for (const c of central) emit(c);
  const cdSize = at - cdOffset;
  const n = entries.length;
  if (opts.zip64) {
    const recordAt = at;
    emit(
      rec(56, (dv) => {
        dv.setUint32(0, 0x06064b50, true);
        dv.setBigUint64(4, 44n, true);
        dv.setBigUint64(24, BigInt(n), true);
        dv.setBigUint64(32, BigInt(n), true);
        dv.setBigUint64(40, BigInt(cdSize), true);
        dv.setBigUint64(48, BigInt(cdOffset), true);
      }),
    );
    emit(
      rec(20, (dv) => {
        dv.setUint32(0, 0x07064b50, true);
        dv.setBigUint64(8, BigInt(recordAt), true);
        dv.setUint32(16, 1, true);
      }),
    );
  }
  const comment = enc(opts.comment ?? '');
  emit(
    rec(22 + comment.length, (dv, b) => {
      dv.setUint32(0, 0x06054b50, true);
      dv.setUint16(8, opts.zip64 ? 0xffff : n, true);
      dv.setUint16(10, opts.zip64 ? 0xffff : n, true);
      dv.setUint32(12, opts.zip64 ? 0xffffffff : cdSize, true);
      dv.setUint32(16, opts.zip64 ? 0xffffffff : cdOffset, true);
      dv.setUint16(20, comment.length, true);
      b.set(comment, 22);
    }),
  );
  return { size: at, segments, cdOffset };
}

/** A crafted zip as one buffer (gaps become real zero bytes). */
export function craftZip(entries: readonly CraftEntry[], opts: CraftOptions = {}): Uint8Array {
  const { size, segments } = craftZipParts(entries, opts);
  const out = new Uint8Array(size);
  for (const [at, bytes] of segments) out.set(bytes, at);
  return out;
}

/** Little-endian bytes of an unsigned integer. */
export function le(v: number | bigint, n: number): number[] {
  const out: number[] = [];
  let x = BigInt(v);
  for (let i = 0; i < n; i++, x >>= 8n) out.push(Number(x & 0xffn));
  return out;
}

/** A pickle assembler: opcodes in order, with `offset` giving the byte position of the next opcode. */
export class PickleAsm {
  private readonly out: number[] = [];

  /** Byte offset of the next opcode (what an error about it reports). */
  get offset(): number {
    return this.out.length;
  }

  raw(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }

  proto(n = 2): this {
    return this.raw(0x80, n);
  }
  mark(): this {
    return this.raw(0x28);
  }
  stop(): this {
    return this.raw(0x2e);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  setitem(): this {
    return this.raw(0x73);
  }
  persid(): this {
    return this.raw(0x51);
  }
  bool(v: boolean): this {
    return this.raw(v ? 0x88 : 0x89);
  }
  str(s: string): this {
    const b = enc(s);
    return this.raw(0x58, ...le(b.length, 4), ...b);
  }
  global(module: string, name: string): this {
    return this.raw(0x63, ...enc(`${module}\n${name}\n`));
  }
  /** BININT1 / BININT2 / BININT, or LONG1 beyond 31 bits. */
  int(v: number): this {
    if (v >= 0 && v < 256) return this.raw(0x4b, v);
    if (v >= 0 && v < 65536) return this.raw(0x4d, ...le(v, 2));
    if (v >= -(2 ** 31) && v < 2 ** 31) return this.raw(0x4a, ...le(v >>> 0, 4));
    return this.raw(0x8a, 8, ...le(BigInt.asUintN(64, BigInt(v)), 8));
  }
  ints(values: readonly number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  /** `('storage', torch.<cls>, key, 'cpu', numel)` + BINPERSID. */
  storage(cls: string, key: string, numel: number, module = 'torch'): this {
    return this.mark().str('storage').global(module, cls).str(key).str('cpu').int(numel).tuple().persid();
  }
  /** `OrderedDict()` (backward hooks). */
  hooks(): this {
    return this.global('collections', 'OrderedDict').emptyTuple().reduce();
  }
  /** `_rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict())`. */
  tensor(t: {
    cls: string;
    key: string;
    numel: number;
    offset?: number;
    shape: number[];
    stride?: number[];
  }): this {
    const stride = t.stride ?? t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    return this.global('torch._utils', '_rebuild_tensor_v2')
      .mark()
      .storage(t.cls, t.key, t.numel)
      .int(t.offset ?? 0)
      .ints(t.shape)
      .ints(stride)
      .bool(false)
      .hooks()
      .tuple()
      .reduce();
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** A state dict pickle of `{name: tensor}` with the given storages (tied weights: reuse a key). */
export function stateDictPickle(
  tensors: ReadonlyArray<Parameters<PickleAsm['tensor']>[0] & { name: string }>,
) {
  const p = new PickleAsm().proto().emptyDict().mark();
  for (const t of tensors) p.str(t.name).tensor(t);
  return p.setitems().stop().bytes();
}

/** A torch.save-like zip: `<prefix>/data.pkl`, optional byteorder, `<prefix>/data/<key>` records, version. */
export function torchZip(
  pickle: Uint8Array,
  records: Record<string, Uint8Array>,
  opts: { prefix?: string; byteorder?: string; zip64?: boolean } = {},
): Uint8Array {
  const prefix = opts.prefix ?? 'archive';
  const entries: CraftEntry[] = [{ name: `${prefix}/data.pkl`, data: pickle }];
  if (opts.byteorder !== undefined) entries.push({ name: `${prefix}/byteorder`, data: enc(opts.byteorder) });
  for (const [key, data] of Object.entries(records))
    entries.push({
      name: `${prefix}/data/${key}`,
      data,
      localExtra: new Uint8Array([0x46, 0x42, 3, 0, 90, 90, 90]),
    });
  entries.push({ name: `${prefix}/version`, data: enc('3\n') });
  return craftZip(entries, { zip64: opts.zip64 });
}

/** Little-endian float32 bytes. */
export const f32Bytes = (values: readonly number[]): Uint8Array =>
  new Uint8Array(new Float32Array(values).buffer);
