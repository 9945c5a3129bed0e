import { describe, expect, it } from 'vitest';
import {
  PrecompiledCharsMap,
  compileCharsMap,
  encodeCharsMap,
} from '../../../../../../shared/engine/t5/sentencepiece/charsmap';
import { buildDoubleArray, DoubleArray } from '../../../../../../shared/engine/t5/sentencepiece/darts';
import { utf8Encode, utf8ToString } from '../../../../../../shared/engine/t5/sentencepiece/utf8';

/**
 * A double array written unit by unit: keys "a" → 5 and "ab" → 7. A unit is label | has_leaf << 8 | offset << 10;
 * a node's children sit at id ^ offset ^ byte and its leaf (value | 1 << 31) at id ^ offset.
 */
function handBuilt(): Uint32Array {
  const units = new Uint32Array(512);
  units[0] = 0x100 << 10; // root: label 0, children based at 0x100
  units[0x161] = 0x61 | (1 << 8) | ((0x161 ^ 0x180) << 10); // 'a', has a leaf, children based at 0x180
  units[0x180] = (0x80000000 | 5) >>> 0; // leaf of "a"
  units[0x1e2] = 0x62 | (1 << 8) | ((0x1e2 ^ 0x1f0) << 10); // 'b' (0x180 ^ 0x62), children based at 0x1f0
  units[0x1f0] = (0x80000000 | 7) >>> 0; // leaf of "ab"
  return units;
}

describe('darts-clone double array', () => {
  it('finds every key that prefixes the input, shortest first, in a hand-built trie', () => {
    const da = new DoubleArray(handBuilt());
    const b = utf8Encode('abc');
    expect(da.commonPrefixSearch(b, 0, 3)).toEqual([
      { length: 1, value: 5 },
      { length: 2, value: 7 },
    ]);
    expect(da.longestPrefix(b, 0, 1)).toEqual({ length: 1, value: 5 });
    expect(da.longestPrefix(b, 1, 3)).toBeNull();
    expect(da.commonPrefixSearch(utf8Encode('b'), 0, 1)).toEqual([]);
  });

  it('builds arrays that answer the same as a plain key lookup', () => {
    const keys = ['a', 'ab', 'abc', 'b', 'bcd', 'é', 'éa', '日本', '日本語', '\u2581x'];
    const da = new DoubleArray(buildDoubleArray(keys.map((k, i) => [utf8Encode(k), i * 3] as const)));
    for (const probe of ['abcd', 'bcde', 'éab', '日本語です', '\u2581xy', 'zzz', '']) {
      const b = utf8Encode(probe);
      const want = keys
        .map((k, i) => ({ k: utf8Encode(k), value: i * 3 }))
        .filter(({ k }) => k.length <= b.length && k.every((x, j) => b[j] === x))
        .map(({ k, value }) => ({ length: k.length, value }))
        .sort((x, y) => x.length - y.length);
      expect(da.commonPrefixSearch(b, 0, b.length), probe).toEqual(want);
    }
  });

  it('refuses keys the format cannot hold', () => {
    expect(() => buildDoubleArray([[new Uint8Array(0), 1]])).toThrow(/empty/);
    expect(() => buildDoubleArray([[Uint8Array.of(0x61, 0), 1]])).toThrow(/NUL/);
    expect(() => buildDoubleArray([[Uint8Array.of(0x61), -1]])).toThrow(/value -1/);
    expect(() =>
      buildDoubleArray([
        [Uint8Array.of(0x61), 1],
        [Uint8Array.of(0x61), 2],
      ]),
    ).toThrow(/repeated/);
  });
});

describe('precompiled charsmap', () => {
  it('maps the longest matching rule to its NUL-terminated replacement (hand-built trie)', () => {
    // A trie value is a byte offset into the replacement blob: point "a" at 0 ("x") and "ab" at 2 ("yz").
    const units = handBuilt();
    units[0x180] = 0x80000000 >>> 0;
    units[0x1f0] = (0x80000000 | 2) >>> 0;
    const map = PrecompiledCharsMap.decode(encodeCharsMap(units, utf8Encode('x\0yz\0')), 'm.model');
    const b = utf8Encode('abab a');
    expect(map.match(b, 0, b.length)).toMatchObject({ length: 2 });
    expect(utf8ToString(map.match(b, 0, b.length)?.replacement ?? new Uint8Array(0))).toBe('yz');
    expect(utf8ToString(map.match(b, 5, b.length)?.replacement ?? new Uint8Array(0))).toBe('x');
    expect(map.match(b, 4, b.length)).toBeNull();
    // Unchanged, the values 5 and 7 point past the 5-byte blob.
    const broken = PrecompiledCharsMap.decode(encodeCharsMap(handBuilt(), utf8Encode('x\0yz\0')), 'm.model');
    expect(() => broken.match(b, 0, b.length)).toThrow(
      /m\.model: precompiled_charsmap is broken: a rule points at byte 7/,
    );
  });

  it('compiles rules, deletions included', () => {
    const map = PrecompiledCharsMap.decode(
      compileCharsMap([
        ['ﬁ', 'fi'],
        ['\u200b', ''],
        ['Ａ', 'A'],
      ]),
      'm',
    );
    const b = utf8Encode('ﬁ\u200bＡ');
    expect(utf8ToString(map.match(b, 0, b.length)?.replacement ?? Uint8Array.of(0x3f))).toBe('fi');
    expect(map.match(b, 3, b.length)).toEqual({ length: 3, replacement: new Uint8Array(0) });
  });

  it('rejects broken blobs with the file name', () => {
    expect(() => PrecompiledCharsMap.decode(Uint8Array.of(1, 0, 0, 0), 'spiece.model')).toThrow(
      'spiece.model: precompiled_charsmap is broken: 4 bytes, too short for the trie size',
    );
    expect(() => PrecompiledCharsMap.decode(Uint8Array.of(0xff, 0, 0, 0, 1, 2), 'spiece.model')).toThrow(
      /trie size 255 exceeds the 6-byte blob/,
    );
    expect(() => PrecompiledCharsMap.decode(Uint8Array.of(2, 0, 0, 0, 1, 2, 3), 'spiece.model')).toThrow(
      /not a positive multiple of 4/,
    );
  });
});
