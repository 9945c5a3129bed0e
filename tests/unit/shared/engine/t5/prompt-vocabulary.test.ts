import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { promptVocabulary, unknownWordsWarning } from '../../../../../shared/engine/t5/prompt-vocabulary';
import { T5Tokenizer } from '../../../../../shared/engine/t5/tokenizer';

const read = (path: string): unknown => JSON.parse(readFileSync(join(__dirname, path), 'utf8'));
/** Open-Sora Nano's word-level tokenizer, as bundled. */
const nano = T5Tokenizer.fromJson(read('../../../../../models/opensora-nano/text_encoder/tokenizer.json'));
/** A Unigram (subword) tokenizer.json. */
const unigram = T5Tokenizer.fromJson(read('../../../../fixtures/tokenizers/t5-tiny-unigram.json'));

describe('promptVocabulary', () => {
  it("lists a word-level model's words, specials left out, in id order", () => {
    expect(nano.vocabularyWords?.slice(0, 5)).toEqual(['a', 'on', 'background', 'moving', 'red']);
    expect(nano.vocabularyWords).toHaveLength(22);
    expect(nano.vocabularyWords).not.toContain('<unk>');
    expect(unigram.vocabularyWords).toBeNull();
  });

  it('names each unknown word once, as the tokenizer normalised it', () => {
    const check = promptVocabulary(nano, 'A Purple ELEPHANT moving left, elephant on a black background');
    expect(check.unknownWords).toEqual(['elephant', ',']);
    expect(check.vocabulary).toEqual(nano.vocabularyWords);
    expect(promptVocabulary(nano, 'a red circle moving up on a gray background').unknownWords).toEqual([]);
  });

  it('warns with what is unknown and what is known, or not at all', () => {
    const warning = unknownWordsWarning(promptVocabulary(nano, 'a dancing red circle'));
    expect(warning).toMatch(/^the model's vocabulary lacks 'dancing': encoded as the unknown token/);
    expect(warning).toMatch(/Words it knows: a on background moving red .* brown\.$/);
    expect(unknownWordsWarning(promptVocabulary(nano, 'a red circle'))).toBeNull();
    expect(unknownWordsWarning({ unknownWords: ['⁇'], vocabulary: null })).not.toMatch(/Words it knows/);
  });
});
