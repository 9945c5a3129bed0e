import { describe, expect, it } from 'vitest';
import { ByteTrie } from '../../../../../../shared/engine/t5/sentencepiece/byte-trie';
import { compileCharsMap } from '../../../../../../shared/engine/t5/sentencepiece/charsmap';
import type { NormalizerSpec } from '../../../../../../shared/engine/t5/sentencepiece/model-proto';
import { defaultNormalizerSpec } from '../../../../../../shared/engine/t5/sentencepiece/model-proto';
import type { NormalizerOptions } from '../../../../../../shared/engine/t5/sentencepiece/normalizer';
import { Normalizer } from '../../../../../../shared/engine/t5/sentencepiece/normalizer';
import { utf8Encode, utf8ToString } from '../../../../../../shared/engine/t5/sentencepiece/utf8';

const RULES = compileCharsMap([
  ['\t', ' '],
  ['ﬁ', 'fi'],
  ['\u200b', ''],
  ['x', ' y '],
]);

function norm(
  input: string | number[],
  spec: Partial<NormalizerSpec> = {},
  opts: NormalizerOptions = {},
): string {
  const n = new Normalizer({ ...defaultNormalizerSpec(), ...spec }, 'test.model', opts);
  return utf8ToString(n.normalize(typeof input === 'string' ? utf8Encode(input) : Uint8Array.from(input)));
}

describe('SentencePiece normalizer (identity charsmap)', () => {
  it('adds the dummy prefix, squeezes and trims spaces, and escapes them as ▁', () => {
    expect(norm('  Hello   world  ')).toBe('▁Hello▁world');
    expect(norm('a')).toBe('▁a');
  });

  it('normalizes empty and all-space input to nothing', () => {
    expect(norm('')).toBe('');
    expect(norm('   ')).toBe('');
  });

  it('keeps every space without remove_extra_whitespaces', () => {
    expect(norm('  a  b ', { removeExtraWhitespaces: false })).toBe('▁▁▁a▁▁b▁');
  });

  it('follows add_dummy_prefix, escape_whitespaces and treat_whitespace_as_suffix', () => {
    expect(norm('a b', { addDummyPrefix: false })).toBe('a▁b');
    expect(norm('a  b', { escapeWhitespaces: false })).toBe(' a b');
    expect(norm('a b', {}, { treatWhitespaceAsSuffix: true })).toBe('a▁b▁');
  });

  it('drops a trailing literal ▁ as if it were a space', () => {
    expect(norm('a ▁')).toBe('▁a');
  });

  it('turns each byte of malformed UTF-8 into U+FFFD', () => {
    expect(norm([0x61, 0xff, 0xe2, 0x96])).toBe('▁a\ufffd\ufffd\ufffd');
    expect(norm([0xed, 0xa0, 0x80])).toBe('▁\ufffd\ufffd\ufffd'); // an encoded surrogate
    expect(norm([0xc0, 0xaf])).toBe('▁\ufffd\ufffd'); // an overlong '/'
  });

  it('reads a lone JS surrogate as U+FFFD', () => {
    expect(norm('a\ud800b')).toBe('▁a\ufffdb');
  });
});

describe('SentencePiece normalizer with a charsmap', () => {
  it('applies the longest rule, deletions included, squeezing spaces across replacements', () => {
    expect(norm('ﬁne', { precompiledCharsmap: RULES })).toBe('▁fine');
    expect(norm('a\t\tb', { precompiledCharsmap: RULES })).toBe('▁a▁b');
    expect(norm('a\u200b\u200b b', { precompiledCharsmap: RULES })).toBe('▁a▁b');
    expect(norm('a x b', { precompiledCharsmap: RULES })).toBe('▁a▁y▁b');
  });

  it('drops leading input only where it normalizes to exactly one space', () => {
    expect(norm('\t a', { precompiledCharsmap: RULES })).toBe('▁a');
    expect(norm('x a', { precompiledCharsmap: RULES })).toBe('▁y▁a');
  });

  it('passes user-defined symbols through unnormalized', () => {
    const ud = new ByteTrie();
    ud.insert(utf8Encode('ﬁ'), 5);
    expect(norm('ﬁne', { precompiledCharsmap: RULES }, { userDefined: ud })).toBe('▁ﬁne');
  });

  it('names the file when the charsmap is broken', () => {
    expect(() => norm('a', { precompiledCharsmap: Uint8Array.of(1, 2) })).toThrow(
      'test.model: precompiled_charsmap is broken',
    );
  });
});
