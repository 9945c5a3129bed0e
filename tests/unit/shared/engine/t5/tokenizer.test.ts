import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeModelProto,
  encodeModelProto,
  syntheticT5SentencePiece,
} from '../../../../../shared/engine/t5/sentencepiece';
import { preparePrompt, T5Tokenizer, T5_EOS_ID, T5_PAD_ID } from '../../../../../shared/engine/t5/tokenizer';

const JSON_PATH = join(__dirname, '../../../../fixtures/tokenizers/t5-tiny-unigram.json');
const tokJson = JSON.parse(readFileSync(JSON_PATH, 'utf8')) as Record<string, unknown>;
const tok = T5Tokenizer.fromJson(tokJson);

describe('T5Tokenizer (hand-made Unigram tokenizer.json)', () => {
  it('picks the best-scoring pieces with the Metaspace pre-tokenizer', () => {
    expect(tok.tokenize('a cat runs')).toEqual(['▁a', '▁cat', '▁runs']);
    expect(tok.tokenize('the dogs  run.')).toEqual(['▁the', '▁dog', 's', '▁run', '.']);
  });

  it('appends EOS (id 1), pads with id 0 to max length, mask 1 for pieces and EOS', () => {
    const r = tok.encode('a cat runs', { maxLength: 8 });
    expect(Array.from(r.ids, Number)).toEqual([4, 5, 19, T5_EOS_ID, T5_PAD_ID, 0, 0, 0]);
    expect(Array.from(r.mask)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(r.validLength).toBe(4);
    expect(r.truncated).toBe(false);
  });

  it('defaults to L = 300', () => {
    const r = tok.encode('a cat');
    expect(r.ids).toHaveLength(300);
    expect(r.mask).toHaveLength(300);
    expect(r.mask.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('truncates to L − 1 pieces and keeps the EOS', () => {
    const r = tok.encode('the dogs run. a cat', { maxLength: 4 });
    expect(Array.from(r.ids, Number)).toEqual([9, 11, 10, T5_EOS_ID]);
    expect(Array.from(r.mask)).toEqual([1, 1, 1, 1]);
    expect(r.truncated).toBe(true);
  });

  it('encodes an empty prompt as EOS alone', () => {
    const r = tok.encode('', { maxLength: 3 });
    expect(Array.from(r.ids, Number)).toEqual([1, 0, 0]);
    expect(Array.from(r.mask)).toEqual([1, 0, 0]);
  });

  it('maps unknown text to <unk> (id 2) and decodes without special tokens', () => {
    expect(Array.from(tok.encode('xyz a', { maxLength: 5 }).ids, Number)).toEqual([3, 2, 4, 1, 0]);
    expect(tok.encode('xyz a').unknown).toEqual(['xyz']);
    expect(tok.kind).toBe('tokenizer.json');
    expect(tok.decode([4, 5, 1, 0, 0])).toBe('a cat');
  });

  it('rejects what is not a tokenizer.json, and a vocabulary with EOS elsewhere', () => {
    expect(() => T5Tokenizer.fromJson(null)).toThrow(/JSON object/);
    expect(() => T5Tokenizer.fromJson({ version: '1.0' })).toThrow(/no "model"/);
    const model = tokJson['model'] as { vocab: [string, number][] };
    const swapped = {
      ...tokJson,
      added_tokens: [],
      model: { ...model, vocab: [model.vocab[1], model.vocab[0], ...model.vocab.slice(2)] },
    };
    expect(() => T5Tokenizer.fromJson(swapped)).toThrow(/'<\/s>' has id 0/);
    expect(() => tok.encode('a', { maxLength: 0 })).toThrow(/maxLength/);
  });
});

describe('preparePrompt', () => {
  it('python: appends the .1f aesthetic score (default 6.5), lower-cases and collapses whitespace', () => {
    expect(preparePrompt('  A  Cat\n runs ', { style: 'python' })).toBe('a cat runs aesthetic score: 6.5.');
    expect(preparePrompt('A cat', { style: 'python', aestheticScore: 7 })).toBe(
      'a cat aesthetic score: 7.0.',
    );
    expect(preparePrompt('A cat', { style: 'python', aestheticScore: 0.25 })).toBe(
      'a cat aesthetic score: 0.2.',
    );
    expect(preparePrompt('A cat', { style: 'python', aestheticScore: 5.75 })).toBe(
      'a cat aesthetic score: 5.8.',
    );
    expect(preparePrompt('A  Cat', { style: 'python', aestheticScore: null })).toBe('a cat');
    expect(() => preparePrompt('a', { style: 'python', aestheticScore: 'high' })).toThrow(/not a number/);
  });

  it('app: appends the user value verbatim and does not clean or lower-case', () => {
    expect(preparePrompt('A  Cat', { style: 'app', aestheticScore: '6.50' })).toBe(
      'A  Cat aesthetic score: 6.50.',
    );
    expect(preparePrompt('A  Cat', { style: 'app', aestheticScore: 7 })).toBe('A  Cat aesthetic score: 7.');
    expect(preparePrompt('A  Cat', { style: 'app' })).toBe('A  Cat');
  });

  it('tokenises app and python prompts differently (spec 10 item 4)', () => {
    const app = tok.encode(preparePrompt('A Cat', { style: 'app' }), { maxLength: 6 });
    const py = tok.encode(preparePrompt('A Cat', { style: 'python', aestheticScore: null }), {
      maxLength: 6,
    });
    expect(Array.from(app.ids, Number)).toEqual([21, 22, 1, 0, 0, 0]);
    expect(Array.from(py.ids, Number)).toEqual([4, 5, 1, 0, 0, 0]);
  });
});

describe('a word-level vocabulary (the nano model’s tokenizer)', () => {
  const wordLevel = (unk: boolean): unknown => ({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 0,
        content: '<pad>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
      {
        id: 1,
        content: '</s>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
      {
        id: 2,
        content: '<unk>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: null,
    model: {
      type: 'WordLevel',
      vocab: { '<pad>': 0, '</s>': 1, '<unk>': 2, a: 3, red: 4, circle: 5 },
      ...(unk ? { unk_token: '<unk>' } : {}),
    },
  });

  it('encodes out-of-vocabulary words as the unknown token and names them', () => {
    const tok = T5Tokenizer.fromJson(wordLevel(true));
    const t = tok.encode('A red ball', { maxLength: 6 });
    expect(Array.from(t.ids, Number)).toEqual([3, 4, 2, 1, 0, 0]);
    expect(t.unknown).toEqual(['ball']);
  });

  it('refuses an out-of-vocabulary word when the tokenizer has no unknown token', () => {
    const tok = T5Tokenizer.fromJson(wordLevel(false));
    expect(() => tok.encode('a blue circle', { maxLength: 6 })).toThrow(/'blue' is not in the vocabulary/);
  });
});

describe('a SentencePiece model (spiece.model)', () => {
  const bytes = syntheticT5SentencePiece({ vocabSize: 1000 });
  const sp = T5Tokenizer.fromSentencePiece(bytes, 'text_encoder/spiece.model');

  it('tokenises with the unigram model and appends EOS, pads to L', () => {
    expect(sp.kind).toBe('sentencepiece');
    expect(sp.tokenize('the dog  runs')).toEqual(['▁the', '▁dog', '▁runs']);
    const t = sp.encode('the dog runs', { maxLength: 6 });
    const pieces = Array.from(t.ids, Number).slice(0, 3);
    expect(pieces.every((id) => id > 2)).toBe(true);
    expect(Array.from(t.ids, Number).slice(3)).toEqual([T5_EOS_ID, T5_PAD_ID, T5_PAD_ID]);
    expect(Array.from(t.mask)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(t.validLength).toBe(4);
    expect(t.unknown).toEqual([]);
  });

  it('truncates to L − 1 pieces and keeps the EOS', () => {
    const t = sp.encode('the dog runs over the river', { maxLength: 3 });
    expect(Array.from(t.ids, Number)[2]).toBe(T5_EOS_ID);
    expect(t.truncated).toBe(true);
    expect(Array.from(sp.encode('', { maxLength: 2 }).ids, Number)).toEqual([T5_EOS_ID, T5_PAD_ID]);
  });

  it('reports runs of unknown characters as one unknown piece each', () => {
    const t = sp.encode('the 你好 dog 🦊', { maxLength: 10 });
    expect(t.unknown).toEqual(['你好', '🦊']);
    expect(Array.from(t.ids, Number).filter((id) => id === 2)).toHaveLength(2);
  });

  it('decodes ids without special or unknown tokens', () => {
    expect(sp.decode(sp.encode('the dog runs', { maxLength: 10 }).ids)).toBe('the dog runs');
    // The ▁ piece before the unknown run stays a space.
    expect(sp.decode(sp.encode('the 你好 dog', { maxLength: 10 }).ids)).toBe('the  dog');
  });

  it('rejects a model without T5’s <pad> = 0 and </s> = 1, naming the file', () => {
    const m = decodeModelProto(bytes, 'x');
    const [pad, eos] = m.pieces as [(typeof m.pieces)[0], (typeof m.pieces)[0]];
    const swapped = encodeModelProto({ ...m, pieces: [eos, pad, ...m.pieces.slice(2)] });
    expect(() => T5Tokenizer.fromSentencePiece(swapped, 'bad/spiece.model')).toThrow(
      "bad/spiece.model: T5 tokenizer: '</s>' has id 0, the T5 vocabulary has it at 1",
    );
    const noPad = encodeModelProto({ ...m, pieces: [{ ...pad, piece: '<p>' }, ...m.pieces.slice(1)] });
    expect(() => T5Tokenizer.fromSentencePiece(noPad, 'bad/spiece.model')).toThrow(
      "bad/spiece.model: T5 tokenizer: the SentencePiece model has no '<pad>' piece",
    );
    expect(() => T5Tokenizer.fromSentencePiece(Uint8Array.of(0x0a, 0x05), 'bad/spiece.model')).toThrow(
      /^bad\/spiece\.model: not a valid SentencePiece model/,
    );
  });
});
