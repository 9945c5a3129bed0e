/**
 * A restricted unpickler for the `data.pkl` that `torch.save` writes (protocol 2; the protocol 2–5 opcodes a state
 * dict can hold are accepted). It never executes anything: globals resolve only against the allow-list in
 * torch-globals.ts, REDUCE and BINPERSID build plain records, and every other opcode is refused with the file, the
 * entry, the byte offset of the opcode and what was wrong. It is iterative (no recursion on nesting) and checks
 * every declared length against the bytes left, so a hostile pickle fails with an error, never a crash.
 */
import { utf8Decode } from '../safetensors/utf8';
import { CheckpointError } from './errors';
import type { PickleDict, PickleKey, PickleValue, TorchStorage } from './pickle-types';
import { describe } from './pickle-types';
import { PickleRefused, persistentLoad, reduceGlobal, resolveGlobal } from './torch-globals';

/** Where a pickle was read from, for error messages. */
export interface PickleSource {
  /** The checkpoint file. */
  readonly file: string;
  /** The entry inside it, e.g. `archive/data.pkl`. */
  readonly entry: string;
}

/** Deepest MARK nesting accepted (a state dict needs 3). */
export const MAX_MARK_DEPTH = 64;
/** Most values on the stack at once, and most memo entries. */
const MAX_STACK_VALUES = 1 << 20;
/** Longest integer accepted (LONG1/LONG4), in bytes; torch writes at most 8. */
const MAX_LONG_BYTES = 64;
/** Longest GLOBAL module or name line. */
const MAX_GLOBAL_LINE = 256;

/** Every pickle opcode by name (protocols 0-5), so the switch reads as names and a refusal can name one. */
// prettier-ignore
const OP = {
  MARK: 0x28, EMPTY_TUPLE: 0x29, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43, FLOAT: 0x46, BINFLOAT: 0x47, INT: 0x49, BININT: 0x4a, BININT1: 0x4b, LONG: 0x4c,
  BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52, STRING: 0x53, BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, EMPTY_LIST: 0x5d, APPEND: 0x61, BUILD: 0x62,
  GLOBAL: 0x63, DICT: 0x64, APPENDS: 0x65, GET: 0x67, BINGET: 0x68, INST: 0x69, LONG_BINGET: 0x6a, LIST: 0x6c,
  OBJ: 0x6f, PUT: 0x70, BINPUT: 0x71, LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, SETITEMS: 0x75,
  EMPTY_DICT: 0x7d, PROTO: 0x80, NEWOBJ: 0x81, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84, TUPLE1: 0x85, TUPLE2: 0x86,
  TUPLE3: 0x87, NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b, SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90, FROZENSET: 0x91, NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95, BYTEARRAY8: 0x96, NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
} as const;

const OPCODE_NAMES = new Map<number, string>(Object.entries(OP).map(([name, code]) => [code, name]));

const isDict = (v: PickleValue | undefined): v is PickleDict =>
  typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && v.kind === 'dict';

function asKey(v: PickleValue): PickleKey | null {
  return v === null || typeof v !== 'object' ? v : null;
}

/** One run of the unpickler over one pickle. */
class Unpickler {
  private pos = 0;
  /** Offset of the opcode being executed, for errors. */
  private at = 0;
  private readonly stack: PickleValue[] = [];
  /** Stack lengths at each open MARK. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly storages = new Map<string, TorchStorage>();
  private readonly dv: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: PickleSource,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(message: string): never {
    throw new CheckpointError(this.source.file, `${this.source.entry} at byte ${this.at}: ${message}`);
  }

  run(): PickleValue {
    for (;;) {
      if (this.pos >= this.bytes.length) {
        this.at = this.pos;
        this.fail('the pickle ends without a STOP opcode (truncated)');
      }
      this.at = this.pos;
      const op = this.bytes[this.pos++]!;
      if (op === OP.STOP) {
        if (this.marks.length > 0 || this.stack.length !== 1)
          this.fail(`STOP with ${this.stack.length} values on the stack and ${this.marks.length} open MARKs`);
        return this.stack[0]!;
      }
      try {
        this.step(op);
      } catch (e) {
        if (e instanceof PickleRefused) this.fail(e.message);
        throw e;
      }
    }
  }

  private step(op: number): void {
    switch (op) {
      case OP.PROTO: {
        const proto = this.u8();
        if (proto > 5) this.fail(`pickle protocol ${proto} is not supported (2 to 5)`);
        return;
      }
      case OP.FRAME: {
        // A frame only batches reads: check its length, then run the opcodes inside as usual.
        const n = this.u64();
        if (n > BigInt(this.bytes.length - this.pos))
          this.fail(`FRAME declares ${n} bytes but only ${this.bytes.length - this.pos} bytes remain`);
        return;
      }
      case OP.EMPTY_DICT:
        return this.push({ kind: 'dict', map: new Map(), ordered: false });
      case OP.EMPTY_LIST:
        return this.push({ kind: 'list', items: [] });
      case OP.EMPTY_TUPLE:
        return this.push({ kind: 'tuple', items: [] });
      case OP.MARK:
        if (this.marks.length >= MAX_MARK_DEPTH) this.fail(`MARKs nest deeper than ${MAX_MARK_DEPTH} levels`);
        this.marks.push(this.stack.length);
        return;
      case OP.BINUNICODE:
        return this.push(this.text(this.u32()));
      case OP.SHORT_BINUNICODE:
        return this.push(this.text(this.u8()));
      case OP.BINUNICODE8:
        return this.push(this.text(this.u64()));
      case OP.SHORT_BINBYTES:
        return this.push(this.take(this.u8(), 'bytes').slice());
      case OP.BINBYTES:
        return this.push(this.take(this.u32(), 'bytes').slice());
      case OP.BINBYTES8:
        return this.push(this.take(this.u64(), 'bytes').slice());
      case OP.BININT:
        return this.push(this.fixed(4, (at) => this.dv.getInt32(at, true)));
      case OP.BININT1:
        return this.push(this.u8());
      case OP.BININT2:
        return this.push(this.fixed(2, (at) => this.dv.getUint16(at, true)));
      case OP.LONG1:
        return this.push(this.long(this.u8()));
      case OP.LONG4: {
        const n = this.fixed(4, (at) => this.dv.getInt32(at, true));
        if (n < 0) this.fail(`LONG4 declares a negative length ${n}`);
        return this.push(this.long(n));
      }
      case OP.BINFLOAT:
        return this.push({ kind: 'float', value: this.fixed(8, (at) => this.dv.getFloat64(at, false)) });
      case OP.NEWTRUE:
        return this.push(true);
      case OP.NEWFALSE:
        return this.push(false);
      case OP.NONE:
        return this.push(null);
      case OP.TUPLE:
        return this.push({ kind: 'tuple', items: this.popMark() });
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const items = Array.from({ length: op - OP.TUPLE1 + 1 }, () => this.pop()).reverse();
        return this.push({ kind: 'tuple', items });
      }
      case OP.BINPUT:
        return this.put(this.u8());
      case OP.LONG_BINPUT:
        return this.put(this.u32());
      case OP.MEMOIZE:
        return this.put(this.memo.size);
      case OP.BINGET:
        return this.get(this.u8());
      case OP.LONG_BINGET:
        return this.get(this.u32());
      case OP.SETITEM: {
        const value = this.pop();
        const key = this.pop();
        return this.setItems([key, value]);
      }
      case OP.SETITEMS:
        return this.setItems(this.popMark());
      case OP.APPEND: {
        const value = this.pop();
        return this.append([value]);
      }
      case OP.APPENDS:
        return this.append(this.popMark());
      case OP.GLOBAL: {
        const module = this.line();
        return this.push(resolveGlobal(module, this.line()));
      }
      case OP.STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          this.fail(`STACK_GLOBAL needs two strings, got ${describe(module)} and ${describe(name)}`);
        return this.push(resolveGlobal(module, name));
      }
      case OP.REDUCE: {
        const args = this.pop();
        const callable = this.pop();
        if (typeof args !== 'object' || args === null || args instanceof Uint8Array || args.kind !== 'tuple')
          this.fail(`REDUCE arguments are ${describe(args)}, not a tuple`);
        return this.push(reduceGlobal(callable, args.items));
      }
      case OP.BINPERSID:
        return this.push(persistentLoad(this.pop(), this.storages));
      case OP.BUILD: {
        const state = this.pop();
        const target = this.top();
        // OrderedDict.__reduce__ hands its instance __dict__ (state_dict's `_metadata`) to BUILD: plain data, kept.
        if (!isDict(target)) this.fail(`BUILD on ${describe(target)} is not allowed (only on dicts)`);
        target.state = state;
        return;
      }
      case OP.POP:
        this.pop();
        return;
      case OP.POP_MARK:
        this.popMark();
        return;
      case OP.DUP:
        return this.push(this.top());
      default: {
        const name = OPCODE_NAMES.get(op);
        this.fail(
          `opcode ${name ?? `0x${op.toString(16).padStart(2, '0')}`} is not allowed (only the opcodes of a tensor state dict)`,
        );
      }
    }
  }

  private push(v: PickleValue): void {
    if (this.stack.length >= MAX_STACK_VALUES) this.fail(`more than ${MAX_STACK_VALUES} values on the stack`);
    this.stack.push(v);
  }

  private pop(): PickleValue {
    const floor = this.marks.at(-1) ?? 0;
    if (this.stack.length <= floor)
      this.fail('stack underflow (an opcode needs more values than were pushed)');
    return this.stack.pop()!;
  }

  private top(): PickleValue {
    const floor = this.marks.at(-1) ?? 0;
    if (this.stack.length <= floor)
      this.fail('stack underflow (an opcode needs a value that was not pushed)');
    return this.stack[this.stack.length - 1]!;
  }

  private popMark(): PickleValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail('an opcode needs a MARK but none is open');
    return this.stack.splice(mark);
  }

  private put(key: number): void {
    if (!this.memo.has(key) && this.memo.size >= MAX_STACK_VALUES)
      this.fail(`more than ${MAX_STACK_VALUES} memo entries`);
    this.memo.set(key, this.top());
  }

  private get(key: number): void {
    const v = this.memo.get(key);
    if (v === undefined) this.fail(`memo entry ${key} was never stored`);
    this.push(v);
  }

  private setItems(items: PickleValue[]): void {
    const target = this.top();
    if (!isDict(target)) this.fail(`SETITEM on ${describe(target)}, not a dict`);
    if (items.length % 2 !== 0) this.fail(`SETITEMS with an odd number (${items.length}) of keys and values`);
    for (let i = 0; i < items.length; i += 2) {
      const key = asKey(items[i]!);
      if (key === null && items[i] !== null) this.fail(`dict key ${describe(items[i]!)} is not a scalar`);
      target.map.set(key, items[i + 1]!);
    }
  }

  private append(items: PickleValue[]): void {
    const target = this.top();
    if (
      typeof target !== 'object' ||
      target === null ||
      target instanceof Uint8Array ||
      target.kind !== 'list'
    )
      this.fail(`APPEND on ${describe(target)}, not a list`);
    for (const v of items) target.items.push(v);
  }

  /** `n` bytes from the current position, or an error when the pickle is shorter than it declares. */
  private take(n: number | bigint, what: string): Uint8Array {
    const left = this.bytes.length - this.pos;
    if (BigInt(n) > BigInt(left)) this.fail(`declares ${n} bytes of ${what} but only ${left} bytes remain`);
    const out = this.bytes.subarray(this.pos, this.pos + Number(n));
    this.pos += Number(n);
    return out;
  }

  private fixed<T>(n: number, read: (at: number) => T): T {
    const at = this.pos;
    this.take(n, 'operand');
    return read(at);
  }

  private u8(): number {
    return this.fixed(1, (at) => this.dv.getUint8(at));
  }

  private u32(): number {
    return this.fixed(4, (at) => this.dv.getUint32(at, true));
  }

  private u64(): bigint {
    return this.fixed(8, (at) => this.dv.getBigUint64(at, true));
  }

  private text(n: number | bigint): string {
    const s = utf8Decode(this.take(n, 'string'));
    if (s === null) this.fail('string is not valid UTF-8');
    return s;
  }

  /** A little-endian two's-complement integer; a number when it is exactly representable. */
  private long(n: number): number | bigint {
    if (n > MAX_LONG_BYTES) this.fail(`integer of ${n} bytes is too large (at most ${MAX_LONG_BYTES})`);
    const b = this.take(n, 'integer');
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  /** One newline-terminated GLOBAL operand. */
  private line(): string {
    // Search a bounded window: a missing newline must not cost a scan of the whole pickle per opcode.
    const found = this.bytes.subarray(this.pos, this.pos + MAX_GLOBAL_LINE + 1).indexOf(0x0a);
    if (found < 0) this.fail(`GLOBAL operand is not a line of at most ${MAX_GLOBAL_LINE} bytes`);
    const s = this.text(found);
    this.pos++;
    return s;
  }
}

/** Unpickles `bytes` with the torch allow-list; throws a CheckpointError naming the source and byte offset. */
export function unpickle(bytes: Uint8Array, source: PickleSource): PickleValue {
  return new Unpickler(bytes, source).run();
}
