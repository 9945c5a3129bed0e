import { describe, expect, it } from 'vitest';
import {
  isValidUtf8,
  oneCharLen,
  utf8Encode,
  utf8ToString,
  validCharLength,
} from '../../../../../../shared/engine/t5/sentencepiece/utf8';

describe('SentencePiece UTF-8 helpers', () => {
  it('takes a character’s length from its lead byte alone', () => {
    expect([0x41, 0x80, 0xc3, 0xdf, 0xe2, 0xef, 0xf0, 0xff].map(oneCharLen)).toEqual([
      1, 1, 2, 2, 3, 3, 4, 4,
    ]);
  });

  it('rejects what DecodeUTF8 rejects: overlong forms, surrogates, cut sequences, past U+10FFFF', () => {
    const len = (b: number[]): number => validCharLength(Uint8Array.from(b), 0, b.length);
    expect(len([0xc3, 0xa9])).toBe(2);
    expect(len([0xef, 0xbf, 0xbd])).toBe(3); // a real U+FFFD is valid
    expect(len([0xf0, 0x9f, 0x98, 0x80])).toBe(4);
    for (const bad of [
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x96],
      [0x80],
      [0xff],
    ])
      expect(len(bad), bad.join(',')).toBe(0);
  });

  it('encodes lone surrogates as U+FFFD and round-trips everything else', () => {
    const text = 'a é ▁ 日本 😀';
    expect(utf8ToString(utf8Encode(text))).toBe(text);
    expect(Array.from(utf8Encode('\udc00'))).toEqual([0xef, 0xbf, 0xbd]);
    expect(isValidUtf8(utf8Encode(text))).toBe(true);
    expect(isValidUtf8(Uint8Array.of(0x61, 0xff))).toBe(false);
    expect(utf8ToString(Uint8Array.of(0x61, 0xff, 0x62))).toBe('a\ufffdb');
  });
});
