/**
 * Protobuf wire format, just enough for sentencepiece_model.proto (proto2): varints, fixed32 floats and
 * length-delimited fields. The reader is strict — a truncated varint, a length past the end, a group or a field
 * number 0 is an error naming the file and the byte offset — and skips unknown fields as protobuf does.
 */
import { SentencePieceError } from './error';

/** Protobuf wire types (3 and 4, groups, are not supported). */
export const WireType = { VARINT: 0, FIXED64: 1, LEN: 2, FIXED32: 5 } as const;
/** One of the supported wire types. */
export type WireTypeId = (typeof WireType)[keyof typeof WireType];

/** A field tag: number and wire type. */
export interface FieldTag {
  field: number;
  wireType: number;
}

/** Reads one message's fields from a byte range. */
export class ProtoReader {
  private pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    /** File name for errors. */
    readonly file: string,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  /** Offset of the next byte, from the start of the file. */
  get offset(): number {
    return this.pos;
  }

  /** Whether every field of the range has been read. */
  done(): boolean {
    return this.pos >= this.end;
  }

  /** Throws a SentencePieceError naming the file and the offset. */
  fail(what: string, at = this.pos): never {
    throw new SentencePieceError(this.file, `not a valid SentencePiece model: ${what} at byte ${at}`);
  }

  /** The next field tag. */
  tag(): FieldTag {
    const at = this.pos;
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) this.fail('field number 0', at);
    if (wireType === 3 || wireType === 4) this.fail(`unsupported group (wire type ${wireType})`, at);
    if (wireType !== 0 && wireType !== 1 && wireType !== 2 && wireType !== 5)
      this.fail(`unknown wire type ${wireType}`, at);
    return { field, wireType };
  }

  /** An unsigned varint up to 2^53; larger values only as far as their low bits matter (see int32). */
  varint(): number {
    let value = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.bytes[this.pos++] as number;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return value;
    }
    return this.fail('varint longer than 10 bytes', start);
  }

  /** A proto int32 / enum: the low 32 bits of the varint, signed (negative values are 10-byte varints). */
  int32(): number {
    const start = this.pos;
    let lo = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.bytes[this.pos++] as number;
      // Bits past 32 are dropped, as protobuf's int32 parsing truncates.
      if (i < 5) lo |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return lo | 0;
    }
    return this.fail('varint longer than 10 bytes', start);
  }

  /** A proto bool. */
  bool(): boolean {
    return this.varint() !== 0;
  }

  /** A little-endian float32 (wire type 5). */
  float(): number {
    if (this.pos + 4 > this.end) this.fail('truncated float');
    const b = this.bytes;
    const v = new DataView(b.buffer, b.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** The [start, end) range of a length-delimited field's payload, consumed. */
  lengthDelimited(): { start: number; end: number } {
    const at = this.pos;
    const n = this.varint();
    if (n > this.end - this.pos)
      this.fail(`length ${n} runs past the end of its message (${this.end - this.pos} bytes left)`, at);
    const start = this.pos;
    this.pos += n;
    return { start, end: this.pos };
  }

  /** A copy of a bytes field's payload. */
  bytesField(): Uint8Array {
    const { start, end } = this.lengthDelimited();
    return this.bytes.slice(start, end);
  }

  /** A reader over an embedded message's payload. */
  message(): ProtoReader {
    const { start, end } = this.lengthDelimited();
    return new ProtoReader(this.bytes, this.file, start, end);
  }

  /** Skips a field of the given wire type. */
  skip(wireType: number): void {
    if (wireType === WireType.VARINT) this.varint();
    else if (wireType === WireType.LEN) this.lengthDelimited();
    else {
      const n = wireType === WireType.FIXED64 ? 8 : 4;
      if (this.pos + n > this.end) this.fail(`truncated fixed${n * 8} field`);
      this.pos += n;
    }
  }

  /** Throws unless a known field has the wire type its declaration implies. */
  expect(tag: FieldTag, wireType: WireTypeId, name: string): void {
    if (tag.wireType !== wireType)
      this.fail(`field ${name} (${tag.field}) has wire type ${tag.wireType}, expected ${wireType}`);
  }
}

/** Growable buffer that writes protobuf fields. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  /** The bytes written so far. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private rawVarint(v: number): void {
    // Negative int32s are sign-extended to 64 bits: ten bytes, as protobuf writes them.
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }

  private tag(field: number, wireType: WireTypeId): void {
    this.rawVarint(field * 8 + wireType);
  }

  /** An int32, enum or bool field. */
  int(field: number, v: number | boolean): void {
    this.tag(field, WireType.VARINT);
    this.rawVarint(typeof v === 'boolean' ? Number(v) : v);
  }

  /** A float field (stored as float32). */
  float(field: number, v: number): void {
    this.tag(field, WireType.FIXED32);
    this.ensure(4);
    new DataView(this.buf.buffer, this.len, 4).setFloat32(0, v, true);
    this.len += 4;
  }

  /** A bytes or string (already UTF-8) field. */
  bytesField(field: number, b: Uint8Array): void {
    this.tag(field, WireType.LEN);
    this.rawVarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** An embedded message field. */
  message(field: number, write: (w: ProtoWriter) => void): void {
    const w = new ProtoWriter();
    write(w);
    this.bytesField(field, w.bytes());
  }
}
