import { describe, expect, it } from 'vitest';
import { frameHeader, unmask, utf8Truncated } from '../../../../../ios-companion/src/ws/frames';
import { FrameParser, WsProtocolError, type WsEvent } from '../../../../../ios-companion/src/ws/parser';
import { utf8Decode, utf8Encode } from '../../../../../shared/engine/safetensors/utf8';

/** A masked client frame (what a browser or `ws` sends). */
function clientFrame(
  b0: number,
  payload: Uint8Array,
  mask = Uint8Array.of(0x12, 0x34, 0x56, 0x78),
): Uint8Array {
  const n = payload.length;
  const head =
    n < 126
      ? [b0, 0x80 | n]
      : n < 0x10000
        ? [b0, 0x80 | 126, n >> 8, n & 0xff]
        : [b0, 0x80 | 127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(head.length + 4 + n);
  out.set(head, 0);
  out.set(mask, head.length);
  for (let i = 0; i < n; i++) out[head.length + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Events in a form that compares fast (byte arrays as hex). */
function plain(events: WsEvent[]): unknown[] {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  return events.map((e) =>
    e.kind === 'binary'
      ? { ...e, data: hex(e.data) }
      : e.kind === 'ping' || e.kind === 'pong'
        ? { ...e, payload: hex(e.payload) }
        : e,
  );
}

/** A seeded PRNG so a failing split can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const bytes = (n: number, seed: number): Uint8Array => {
  const r = lcg(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};

describe('the WebSocket frame parser', () => {
  const big = bytes(70_000, 3);
  const stream = concat([
    clientFrame(0x81, utf8Encode('héllo 🌍')),
    clientFrame(0x02, bytes(10, 1)), // binary, not final
    clientFrame(0x89, utf8Encode('ping!')), // a ping between fragments
    clientFrame(0x00, big), // continuation, not final
    clientFrame(0x80, bytes(3, 2)), // final continuation
    clientFrame(0x8a, new Uint8Array(0)),
    clientFrame(0x88, Uint8Array.of(0x0f, 0xa0, 0x62, 0x79, 0x65)), // close 4000 "bye"
  ]);
  const expected: WsEvent[] = [
    { kind: 'text', text: 'héllo 🌍' },
    { kind: 'ping', payload: utf8Encode('ping!') },
    { kind: 'binary', data: concat([bytes(10, 1), big, bytes(3, 2)]) },
    { kind: 'pong', payload: new Uint8Array(0) },
    { kind: 'close', code: 4000, reason: 'bye' },
  ];

  it('gives the same messages however TCP splits the bytes (whole, 1-byte pieces, random pieces)', () => {
    const whole = new FrameParser({ maxMessageBytes: 1 << 20 }).push(stream);
    expect(plain(whole)).toEqual(plain(expected));
    const p1 = new FrameParser({ maxMessageBytes: 1 << 20 });
    const one: WsEvent[] = [];
    for (let i = 0; i < 300; i++) one.push(...p1.push(stream.subarray(i, i + 1)));
    one.push(...p1.push(stream.subarray(300)));
    expect(plain(one)).toEqual(plain(expected));
    for (let seed = 1; seed <= 20; seed++) {
      const r = lcg(seed);
      const p = new FrameParser({ maxMessageBytes: 1 << 20 });
      const got: WsEvent[] = [];
      for (let at = 0; at < stream.length;) {
        const n = 1 + Math.floor(r() * 5000);
        got.push(...p.push(stream.subarray(at, at + n)));
        at += n;
      }
      expect(plain(got), `split seed ${seed}`).toEqual(plain(expected));
    }
  });

  it('refuses an oversized message from its header, before buffering the payload', () => {
    const p = new FrameParser({ maxMessageBytes: 1000 });
    const header = clientFrame(0x82, new Uint8Array(1001)).subarray(0, 8);
    expect(() => p.push(header)).toThrow(expect.objectContaining({ closeCode: 1009 }));
  });

  it('counts fragments together against the limit', () => {
    const p = new FrameParser({ maxMessageBytes: 1000 });
    expect(p.push(clientFrame(0x02, new Uint8Array(600)))).toEqual([]);
    let error: unknown;
    try {
      p.push(clientFrame(0x80, new Uint8Array(600)));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WsProtocolError);
    expect((error as WsProtocolError).closeCode).toBe(1009);
  });

  it('rejects invalid UTF-8 only once the text message is complete, with 1007', () => {
    const p = new FrameParser({ maxMessageBytes: 1000 });
    const euro = utf8Encode('€'); // split inside the character: still valid as a whole
    expect(p.push(clientFrame(0x01, euro.subarray(0, 1)))).toEqual([]);
    expect(p.push(clientFrame(0x80, euro.subarray(1)))).toEqual([{ kind: 'text', text: '€' }]);
    expect(() => p.push(clientFrame(0x81, Uint8Array.of(0xf8, 0x88, 0x80, 0x80, 0x80)))).toThrow(
      expect.objectContaining({ closeCode: 1007 }),
    );
  });
});

describe('frame helpers', () => {
  it('writes the 7-, 16- and 64-bit length forms at their boundaries', () => {
    expect([...frameHeader(2, 125)]).toEqual([0x82, 125]);
    expect([...frameHeader(2, 126)]).toEqual([0x82, 126, 0, 126]);
    expect([...frameHeader(2, 65535)]).toEqual([0x82, 126, 255, 255]);
    expect([...frameHeader(2, 65536)]).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect([...frameHeader(1, 2 ** 32 + 5, false)]).toEqual([0x01, 127, 0, 0, 0, 1, 0, 0, 0, 5]);
  });

  it('unmasks identically on the word path and the byte path, at any offset and length', () => {
    const mask = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
    for (const [offset, length] of [
      [0, 1000],
      [1, 999],
      [4, 17],
      [0, 3],
    ] as const) {
      const src = bytes(offset + length, offset + length);
      const fast = src.slice();
      unmask(fast.subarray(offset), mask);
      const slow = src.slice();
      for (let i = 0; i < length; i++) slow[offset + i] = slow[offset + i]! ^ mask[i & 3]!;
      expect(fast).toEqual(slow);
    }
  });

  it('cuts a close reason to 123 bytes without splitting a character', () => {
    const cut = utf8Truncated('a' + '€'.repeat(60), 123);
    expect(cut.length).toBeLessThanOrEqual(123);
    expect(utf8Decode(cut)).toBe('a' + '€'.repeat(40));
  });
});
