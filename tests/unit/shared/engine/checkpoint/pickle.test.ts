import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../../../shared/engine/checkpoint/errors';
import { MAX_MARK_DEPTH, unpickle } from '../../../../../shared/engine/checkpoint/pickle';
import type { PickleValue, TorchTensor } from '../../../../../shared/engine/checkpoint/pickle-types';
import { PickleAsm, le } from './craft';

const SOURCE = { file: 'pytorch_model.bin', entry: 'archive/data.pkl' };
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/** data.pkl of torch 1.13's `torch.save({...})`: f32, f16, bf16, a tied pair, a view, a 0-d, a transpose, a Parameter. */
const TORCH_113_DICT = b64(
  'gAJ9cQAoWAEAAABhcQFjdG9yY2guX3V0aWxzCl9yZWJ1aWxkX3RlbnNvcl92MgpxAigoWAcAAABzdG9yYWdlcQNjdG9yY2gKRmxvYXRTdG9yYWdlCnEEWAEAAAAwcQVYAwAAAGNwdXEGSwZ0cQdRSwBLAksDhnEISwNLAYZxCYljY29sbGVjdGlvbnMKT3JkZXJlZERpY3QKcQopUnELdHEMUnENWAEAAABocQ5oAigoaANjdG9yY2gKSGFsZlN0b3JhZ2UKcQ9YAQAAADFxEGgGSwN0cRFRSwBLA4VxEksBhXETiWgKKVJxFHRxFVJxFlgBAAAAYnEXaAIoKGgDY3RvcmNoCkJGbG9hdDE2U3RvcmFnZQpxGFgBAAAAMnEZaAZLAnRxGlFLAEsChXEbSwGFcRyJaAopUnEddHEeUnEfWAQAAAB0aWVkcSBoDVgEAAAAdmlld3EhaAIoKGgDaARYAQAAADNxImgGSwp0cSNRSwJLCIVxJEsBhXEliWgKKVJxJnRxJ1JxKFgBAAAAc3EpaAIoKGgDaARYAQAAADRxKmgGSwF0cStRSwApKYloCilScSx0cS1ScS5YAQAAAHRxL2gCKChoA2gEWAEAAAA1cTBoBksGdHExUUsASwNLAoZxMksBSwOGcTOJaAopUnE0dHE1UnE2WAEAAABwcTdjdG9yY2guX3V0aWxzCl9yZWJ1aWxkX3BhcmFtZXRlcgpxOGgCKChoA2gEWAEAAAA2cTloBksCdHE6UUsASwKFcTtLAYVxPIloCilScT10cT5ScT+IaAopUnFAh3FBUnFCdS4=',
);
/** data.pkl of torch 1.13's `torch.save(nn.Linear(2, 3).state_dict())`: an OrderedDict with `_metadata` (BUILD). */
const TORCH_113_STATE_DICT = b64(
  'gAJjY29sbGVjdGlvbnMKT3JkZXJlZERpY3QKcQApUnEBKFgGAAAAd2VpZ2h0cQJjdG9yY2guX3V0aWxzCl9yZWJ1aWxkX3RlbnNvcl92MgpxAygoWAcAAABzdG9yYWdlcQRjdG9yY2gKRmxvYXRTdG9yYWdlCnEFWAEAAAAwcQZYAwAAAGNwdXEHSwZ0cQhRSwBLA0sChnEJSwJLAYZxColoAClScQt0cQxScQ1YBAAAAGJpYXNxDmgDKChoBGgFWAEAAAAxcQ9oB0sDdHEQUUsASwOFcRFLAYVxEoloAClScRN0cRRScRV1fXEWWAkAAABfbWV0YWRhdGFxF2gAKVJxGFgAAAAAcRl9cRpYBwAAAHZlcnNpb25xG0sBc3NzYi4=',
);
/** data.pkl of `torch.save({'x': Evil()})` where Evil.__reduce__ returns (os.system, ('touch …',)). */
const TORCH_113_EVIL = b64(
  'gAJ9cQBYAQAAAHhxAWNwb3NpeApzeXN0ZW0KcQJYFQAAAHRvdWNoIC90bXAvY2twdC9wd25lZHEDhXEEUnEFcy4=',
);

function refusal(bytes: Uint8Array): CheckpointError {
  try {
    unpickle(bytes, SOURCE);
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('expected the pickle to be refused');
}

/** Asserts the refusal names the file, the entry and the byte offset, and returns the rest of the message. */
function refusedAt(bytes: Uint8Array, offset: number): string {
  const e = refusal(bytes);
  const head = `pytorch_model.bin: archive/data.pkl at byte ${offset}: `;
  expect(e.message.startsWith(head), e.message).toBe(true);
  return e.message.slice(head.length);
}

/** Like refusedAt, for the opcode(s) `add` appends to `p`. */
function refusedOn(p: PickleAsm, add: (p: PickleAsm) => PickleAsm): string {
  const at = p.offset;
  return refusedAt(add(p).bytes(), at);
}

function dictOf(v: PickleValue): Map<unknown, PickleValue> {
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array || v.kind !== 'dict')
    throw new Error('not a dict');
  return v.map;
}

const tensorOf = (v: PickleValue | undefined): TorchTensor => {
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array || v.kind !== 'tensor')
    throw new Error('not a tensor');
  return v;
};

describe('unpickling what torch.save writes', () => {
  it('reads torch 1.13 tensors: dtypes, shared storages, views, 0-d, transposes and parameters', () => {
    const d = dictOf(unpickle(TORCH_113_DICT, SOURCE));
    expect([...d.keys()]).toEqual(['a', 'h', 'b', 'tied', 'view', 's', 't', 'p']);
    const a = tensorOf(d.get('a'));
    expect(a).toMatchObject({ dtype: 'F32', shape: [2, 3], stride: [3, 1], storageOffset: 0 });
    expect(a.storage).toEqual({ kind: 'storage', key: '0', dtype: 'F32', location: 'cpu', numel: 6 });
    expect(tensorOf(d.get('h')).dtype).toBe('F16');
    expect(tensorOf(d.get('b')).dtype).toBe('BF16');
    expect(d.get('tied')).toBe(d.get('a'));
    expect(tensorOf(d.get('view'))).toMatchObject({ storageOffset: 2, shape: [8], stride: [1] });
    expect(tensorOf(d.get('view')).storage.numel).toBe(10);
    expect(tensorOf(d.get('s'))).toMatchObject({ shape: [], stride: [] });
    expect(tensorOf(d.get('t'))).toMatchObject({ shape: [3, 2], stride: [1, 3] });
    expect(tensorOf(d.get('p'))).toMatchObject({ shape: [2], storage: { key: '6' } });
  });

  it("reads a state_dict() OrderedDict and keeps BUILD's _metadata as plain data", () => {
    const root = unpickle(TORCH_113_STATE_DICT, SOURCE);
    expect([...dictOf(root).keys()]).toEqual(['weight', 'bias']);
    expect(root).toMatchObject({ kind: 'dict', ordered: true });
    const state = (root as { state?: PickleValue }).state!;
    expect([...dictOf(state).keys()]).toEqual(['_metadata']);
  });

  it('reads big numels (LONG1), STACK_GLOBAL, MEMOIZE, FRAME and _rebuild_tensor_v3 on an untyped storage', () => {
    const p = new PickleAsm()
      .proto(4)
      .raw(0x95, ...le(200, 8))
      .emptyDict()
      .raw(0x94)
      .mark();
    p.str('big').global('torch._utils', '_rebuild_tensor_v2').mark();
    p.storage('ByteStorage', '0', 5_000_000_000).int(0).ints([5_000_000_000]).ints([1]).bool(false).hooks();
    p.tuple().reduce();
    p.str('u16')
      .raw(0x8c, 12, ...new TextEncoder().encode('torch._utils'))
      .raw(0x8c, 18);
    p.raw(...new TextEncoder().encode('_rebuild_tensor_v3'))
      .raw(0x93)
      .mark();
    p.storage('UntypedStorage', '1', 8, 'torch.storage').int(1).ints([3]).ints([1]).bool(false).hooks();
    p.global('torch', 'uint16').tuple().reduce();
    const d = dictOf(unpickle(p.setitems().stop().bytes(), SOURCE));
    expect(tensorOf(d.get('big')).shape).toEqual([5_000_000_000]);
    expect(tensorOf(d.get('u16'))).toMatchObject({
      dtype: 'U16',
      storageOffset: 1,
      storage: { dtype: 'U8', numel: 8 },
    });
  });
});

describe('refusing everything else', () => {
  it('refuses torch.save of an object reducing to os.system, naming the global and its offset', () => {
    expect(refusedAt(TORCH_113_EVIL, 13)).toBe(
      "global 'posix.system' is not allowed (only tensors and plain containers)",
    );
  });

  it('refuses globals outside the allow-list, however they are spelled', () => {
    const p = new PickleAsm().proto();
    const at = p.offset;
    expect(refusedAt(p.global('builtins', 'eval').bytes(), at)).toContain(
      "global 'builtins.eval' is not allowed",
    );
    const s = new PickleAsm().proto().str('torch').str('load');
    const at2 = s.offset;
    expect(refusedAt(s.raw(0x93).bytes(), at2)).toContain("global 'torch.load' is not allowed");
    const t = new PickleAsm().proto();
    expect(refusedAt(t.global('torch.nn.modules.linear', 'Linear').bytes(), 2)).toContain(
      "'torch.nn.modules.linear.Linear'",
    );
  });

  it('refuses REDUCE on anything but the rebuild functions', () => {
    const p = new PickleAsm().proto().global('torch', 'FloatStorage').emptyTuple();
    const at = p.offset;
    expect(refusedAt(p.reduce().stop().bytes(), at)).toBe(
      "REDUCE on 'torch.FloatStorage' is not allowed (it is not a rebuild function)",
    );
    const q = new PickleAsm().proto().str('posix.system').emptyTuple();
    expect(refusedOn(q, (x) => x.reduce())).toContain('REDUCE on the string "posix.system" is not allowed');
    const r = new PickleAsm().proto().global('collections', 'OrderedDict').mark().int(1).tuple();
    expect(refusedOn(r, (x) => x.reduce())).toContain('OrderedDict takes no arguments here, got 1');
  });

  it('refuses object-building, extension and text opcodes by name', () => {
    for (const [op, name] of [
      [0x81, 'NEWOBJ'],
      [0x92, 'NEWOBJ_EX'],
      [0x69, 'INST'],
      [0x6f, 'OBJ'],
      [0x82, 'EXT1'],
      [0x50, 'PERSID'],
      [0x97, 'NEXT_BUFFER'],
      [0xff, '0xff'],
    ] as const) {
      const p = new PickleAsm().proto().emptyTuple();
      const at = p.offset;
      expect(refusedAt(p.raw(op).bytes(), at)).toBe(
        `opcode ${name} is not allowed (only the opcodes of a tensor state dict)`,
      );
    }
    expect(refusedAt(new PickleAsm().proto(6).bytes(), 0)).toContain('pickle protocol 6 is not supported');
  });

  it('accepts only storage persistent ids', () => {
    const p = new PickleAsm().proto().mark().str('module').str('x').str('y').str('z').int(1).tuple();
    expect(refusedOn(p, (x) => x.persid())).toContain('persistent id a tuple of 5 items is not allowed');
    const q = new PickleAsm()
      .proto()
      .mark()
      .str('storage')
      .global('torch', 'float32')
      .str('0')
      .str('cpu')
      .int(1)
      .tuple();
    expect(refusedOn(q, (x) => x.persid())).toContain(
      "persistent id names 'torch.float32', not a storage class",
    );
    const r = new PickleAsm().proto().mark().storage('FloatStorage', '0', 4).storage('HalfStorage', '0', 4);
    expect(refusal(r.bytes()).message).toContain("storage '0' is declared as 4 × F32 and as 4 × F16");
  });

  it('checks the arguments of _rebuild_tensor_v2', () => {
    const p = new PickleAsm().proto().global('torch._utils', '_rebuild_tensor_v2').mark();
    p.storage('FloatStorage', '0', 4).int(0).ints([2, 2]).ints([2]).bool(false).hooks().tuple();
    expect(refusedOn(p, (x) => x.reduce())).toBe('_rebuild_tensor_v2 has 2 sizes but 1 strides');
    const q = new PickleAsm().proto().global('torch._utils', '_rebuild_tensor_v2').mark();
    q.str('not a storage').int(0).ints([2]).ints([1]).bool(false).hooks().tuple();
    expect(refusedOn(q, (x) => x.reduce())).toContain(
      'needs a storage first, got the string "not a storage"',
    );
    const r = new PickleAsm().proto().global('torch._utils', '_rebuild_tensor_v2').mark();
    r.storage('FloatStorage', '0', 4).int(-1).ints([2]).ints([1]).bool(false).hooks().tuple();
    expect(refusedOn(r, (x) => x.reduce())).toContain(
      'storage offset is the integer -1, not a non-negative integer',
    );
  });

  it('refuses declared lengths beyond the pickle, never allocating them', () => {
    const p = new PickleAsm().proto();
    expect(refusedAt(p.raw(0x58, 0xff, 0xff, 0xff, 0xff, 0x41).bytes(), 2)).toBe(
      'declares 4294967295 bytes of string but only 1 bytes remain',
    );
    const huge = new PickleAsm().proto().raw(0x8d, ...le(1n << 62n, 8));
    expect(refusedAt(huge.bytes(), 2)).toContain(`declares ${1n << 62n} bytes of string`);
    expect(
      refusedAt(
        new PickleAsm()
          .proto()
          .raw(0x8e, ...le(1n << 40n, 8))
          .bytes(),
        2,
      ),
    ).toContain('bytes of bytes');
    expect(
      refusedAt(
        new PickleAsm()
          .proto()
          .raw(0x95, ...le(1n << 50n, 8))
          .bytes(),
        2,
      ),
    ).toContain('FRAME declares');
    expect(
      refusedAt(
        new PickleAsm()
          .proto()
          .raw(0x8b, ...le(100000, 4))
          .bytes(),
        2,
      ),
    ).toContain('integer of 100000 bytes is too large');
    expect(
      refusedAt(
        new PickleAsm()
          .proto()
          .raw(0x63, ...new Array(300).fill(0x61))
          .bytes(),
        2,
      ),
    ).toContain('GLOBAL operand is not a line');
  });

  it('refuses deep MARK nesting but reads deeply nested lists without recursion', () => {
    const p = new PickleAsm().proto();
    for (let i = 0; i < MAX_MARK_DEPTH; i++) p.mark();
    expect(refusedAt(p.mark().bytes(), 2 + MAX_MARK_DEPTH)).toBe(
      `MARKs nest deeper than ${MAX_MARK_DEPTH} levels`,
    );
    const deep = new PickleAsm().proto();
    for (let i = 0; i < 100_000; i++) deep.raw(0x5d);
    for (let i = 1; i < 100_000; i++) deep.raw(0x61);
    expect(unpickle(deep.stop().bytes(), SOURCE)).toMatchObject({ kind: 'list', items: [{ kind: 'list' }] });
  });

  it('refuses malformed programs: truncation, underflow, unknown memo, wrong targets', () => {
    expect(refusedAt(new PickleAsm().proto().emptyDict().bytes(), 3)).toBe(
      'the pickle ends without a STOP opcode (truncated)',
    );
    expect(refusedAt(new PickleAsm().proto().raw(0x73).bytes(), 2)).toContain('stack underflow');
    expect(refusedAt(new PickleAsm().proto().raw(0x68, 7).bytes(), 2)).toBe('memo entry 7 was never stored');
    expect(refusedAt(new PickleAsm().proto().raw(0x5d).str('k').int(1).setitem().bytes(), 11)).toBe(
      'SETITEM on a list of 0 items, not a dict',
    );
    expect(refusedAt(new PickleAsm().proto().emptyDict().emptyTuple().int(1).setitem().bytes(), 6)).toBe(
      'dict key a tuple of 0 items is not a scalar',
    );
    expect(refusedAt(new PickleAsm().proto().raw(0x5d).emptyDict().raw(0x62).bytes(), 4)).toBe(
      'BUILD on a list of 0 items is not allowed (only on dicts)',
    );
    expect(refusedAt(new PickleAsm().proto().emptyDict().emptyDict().stop().bytes(), 4)).toContain(
      'STOP with 2 values on the stack',
    );
    expect(refusedAt(new PickleAsm().proto().raw(0x58, 2, 0, 0, 0, 0xc3, 0x28).bytes(), 2)).toBe(
      'string is not valid UTF-8',
    );
  });
});
