import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../../shared/seeded-random';
import {
  BINARY_FRAME_KINDS,
  BINARY_FRAME_PURPOSES,
  BinaryFrameError,
  binaryFrameProtocolError,
  decodeBinaryFrame,
  encodeBinaryFrame,
  type BinaryFrame,
} from '../../../../shared/protocol/binary-frame';

/** Deterministic test randomness. */
const rng = mulberry32;

const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3);
const samples: BinaryFrame[] = [
  {
    kind: 'image-rgb8',
    purpose: 'preview',
    streamId: 'r-1',
    seq: 17,
    index: 2,
    dims: [2, 3, 3],
    payload: new Uint8Array(18).fill(7),
  },
  {
    kind: 'image-rgba8',
    purpose: 'frame',
    streamId: 'run.42',
    seq: 0,
    index: 50,
    dims: [1, 1, 4],
    payload: Uint8Array.of(1, 2, 3, 4),
  },
  { kind: 'png', purpose: 'frame', streamId: 'r', seq: 0, index: 0, dims: [64, 64], payload: png },
  {
    kind: 'tensor-f32',
    purpose: 'tensor',
    streamId: 'r-1',
    seq: 3,
    index: 0,
    dims: [1, 2, 3],
    payload: new Uint8Array(new Float32Array([0, 1, -1, 0.5, 3.25, Infinity]).buffer),
  },
  {
    kind: 'tensor-f32',
    purpose: 'tensor',
    streamId: 'scalar',
    seq: 0,
    index: 0,
    dims: [],
    payload: new Uint8Array(4),
  },
  {
    kind: 'bytes',
    purpose: 'blockset-chunk',
    streamId: 't-9',
    seq: 4_000_000_000,
    index: 0,
    dims: [],
    payload: Uint8Array.of(9, 8, 7),
  },
];

describe('binary frames', () => {
  it.each(samples.map((f) => [`${f.kind}/${f.purpose}`, f] as const))(
    'a %s frame round-trips',
    (_n, frame) => {
      const bytes = encodeBinaryFrame(frame);
      expect([...bytes.subarray(0, 4)]).toEqual([0x4f, 0x53, 0x46, 0x31]);
      const headerLength = bytes[4]! | (bytes[5]! << 8);
      expect(headerLength % 8).toBe(0);
      expect(bytes.length).toBe(headerLength + frame.payload.length);
      const out = decodeBinaryFrame(bytes);
      expect(out).toEqual({ ok: true, frame: { ...frame, dims: [...frame.dims] } });
    },
  );

  it('lays the header out byte by byte as the spec says', () => {
    const bytes = encodeBinaryFrame(samples[0]!);
    const view = new DataView(bytes.buffer);
    expect(view.getUint16(4, true)).toBe(40); // 24 + 3·4 + 3 = 39, padded to 40
    expect(bytes[6]).toBe(BINARY_FRAME_KINDS['image-rgb8']);
    expect(bytes[7]).toBe(BINARY_FRAME_PURPOSES.preview);
    expect(view.getUint32(8, true)).toBe(17);
    expect(view.getUint32(12, true)).toBe(2);
    expect(view.getUint32(16, true)).toBe(18);
    expect(bytes[20]).toBe(3);
    expect(bytes[21]).toBe(3);
    expect([view.getUint32(24, true), view.getUint32(28, true), view.getUint32(32, true)]).toEqual([2, 3, 3]);
    expect(String.fromCharCode(bytes[36]!, bytes[37]!, bytes[38]!)).toBe('r-1');
    expect(bytes[39]).toBe(0);
  });

  it('a tensor payload decodes to an aligned Float32Array view', () => {
    const out = decodeBinaryFrame(encodeBinaryFrame(samples[3]!));
    if (!out.ok) throw new Error(out.error.message);
    const p = out.frame.payload;
    expect(p.byteOffset % 4).toBe(0);
    expect([...new Float32Array(p.buffer, p.byteOffset, p.length / 4)]).toEqual([
      0,
      1,
      -1,
      0.5,
      3.25,
      Infinity,
    ]);
  });

  it('every truncation of a valid frame is a typed error', () => {
    for (const frame of samples) {
      const bytes = encodeBinaryFrame(frame);
      for (let n = 0; n < bytes.length; n++) {
        const out = decodeBinaryFrame(bytes.subarray(0, n));
        expect(out.ok).toBe(false);
        if (!out.ok) expect(['truncated', 'length-mismatch']).toContain(out.error.code);
      }
    }
  });

  it.each([
    ['bad magic', (b: Uint8Array) => void (b[0] = 0x58), 'bad-magic'],
    ['an unknown kind', (b: Uint8Array) => void (b[6] = 99), 'unknown-kind'],
    ['an unknown purpose', (b: Uint8Array) => void (b[7] = 0), 'unknown-purpose'],
    [
      'a kind its purpose cannot carry',
      (b: Uint8Array) => void (b[7] = BINARY_FRAME_PURPOSES['blockset-chunk']),
      'bad-header',
    ],
    ['nonzero reserved bytes', (b: Uint8Array) => void (b[22] = 1), 'bad-header'],
    ['a wrong header length', (b: Uint8Array) => void (b[4] = 48), 'bad-header'],
    ['a stream id with a slash', (b: Uint8Array) => void (b[37] = 0x2f), 'bad-stream-id'],
    ['nonzero padding', (b: Uint8Array) => void (b[39] = 1), 'bad-header'],
    ['dims that disagree with the payload', (b: Uint8Array) => void (b[24] = 5), 'length-mismatch'],
    ['a wrong channel count', (b: Uint8Array) => void (b[32] = 4), 'bad-dims'],
  ])('%s is refused as %s', (_w, mutate, code) => {
    const bytes = encodeBinaryFrame(samples[0]!);
    mutate(bytes);
    expect(decodeBinaryFrame(bytes)).toMatchObject({ ok: false, error: { code } });
  });

  it('trailing bytes after the payload are refused', () => {
    const bytes = encodeBinaryFrame(samples[1]!);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(decodeBinaryFrame(longer)).toMatchObject({ ok: false, error: { code: 'length-mismatch' } });
  });

  it('a png payload without the PNG signature is refused on both sides', () => {
    const bad = { ...samples[2]!, payload: new Uint8Array(16) };
    expect(() => encodeBinaryFrame(bad)).toThrow(BinaryFrameError);
    const bytes = encodeBinaryFrame(samples[2]!);
    bytes[bytes.length - png.length] = 0;
    expect(decodeBinaryFrame(bytes)).toMatchObject({ ok: false, error: { code: 'bad-header' } });
  });

  it('encode refuses frames a decoder would reject, with a typed error', () => {
    const bad: BinaryFrame[] = [
      { ...samples[0]!, streamId: '' },
      { ...samples[0]!, streamId: 'x'.repeat(65) },
      { ...samples[0]!, seq: -1 },
      { ...samples[0]!, dims: [2, 3, 4] },
      { ...samples[3]!, dims: [1, 1, 1, 1, 1, 1, 1, 1, 1] },
      { ...samples[0]!, purpose: 'tensor' },
    ];
    for (const f of bad) expect(() => encodeBinaryFrame(f)).toThrow(BinaryFrameError);
  });

  it('2,000 random and mutated buffers each decode to a typed error or a valid frame, never a throw', () => {
    const random = rng(20240601);
    const encoded = samples.map(encodeBinaryFrame);
    let valid = 0;
    let invalid = 0;
    const codes = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      let buf: Uint8Array;
      const mode = i % 4;
      if (mode === 0) {
        buf = new Uint8Array(Math.floor(random() * 200));
        for (let k = 0; k < buf.length; k++) buf[k] = Math.floor(random() * 256);
        if (random() < 0.5 && buf.length >= 4) buf.set([0x4f, 0x53, 0x46, 0x31]);
      } else {
        const base = encoded[Math.floor(random() * encoded.length)]!;
        buf = base.slice();
        const flips = 1 + Math.floor(random() * 4);
        for (let k = 0; k < flips; k++) {
          const at =
            mode === 1 ? Math.floor(random() * Math.min(buf.length, 48)) : Math.floor(random() * buf.length);
          buf[at] = Math.floor(random() * 256);
        }
        if (mode === 3) buf = buf.subarray(0, Math.floor(random() * (buf.length + 1)));
      }
      let out;
      expect(() => (out = decodeBinaryFrame(buf))).not.toThrow();
      const r = out as unknown as ReturnType<typeof decodeBinaryFrame>;
      if (r.ok) {
        valid += 1;
        // A frame that decodes re-encodes to the same bytes.
        expect(encodeBinaryFrame(r.frame)).toEqual(buf);
      } else {
        invalid += 1;
        codes.add(r.error.code);
        expect(binaryFrameProtocolError(r.error)).toMatchObject({ type: 'error', code: 'bad-binary-frame' });
      }
    }
    expect(valid + invalid).toBe(2000);
    expect(invalid).toBeGreaterThan(1000);
    expect(codes.size).toBeGreaterThanOrEqual(5);
  });

  it('a non-Uint8Array input is a typed error', () => {
    expect(decodeBinaryFrame('OSF1' as unknown as Uint8Array)).toMatchObject({
      ok: false,
      error: { code: 'bad-header' },
    });
  });
});
