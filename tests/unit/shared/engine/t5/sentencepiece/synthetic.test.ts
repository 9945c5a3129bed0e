import { describe, expect, it } from 'vitest';
import { decodeModelProto, PieceType } from '../../../../../../shared/engine/t5/sentencepiece/model-proto';
import { SentencePieceProcessor } from '../../../../../../shared/engine/t5/sentencepiece/processor';
import { syntheticT5SentencePiece } from '../../../../../../shared/engine/t5/sentencepiece/synthetic';

const PROMPTS = [
  'A red fox jumps over the lazy dog at sunset, cinematic, high quality. aesthetic score: 6.5.',
  'aerial drone shot of a snowy mountain river in the morning',
  'Two children playing with a small brown dog on the beach; waves, 4K, slow motion!',
  'close-up of a woman’s face, soft light — café in Paris, naïve style',
];

describe('syntheticT5SentencePiece', () => {
  it('writes exactly vocabSize pieces with T5’s special layout and an identity normalizer', () => {
    for (const vocabSize of [4, 100, 32000]) {
      const m = decodeModelProto(syntheticT5SentencePiece({ vocabSize }), 'synthetic');
      expect(m.pieces).toHaveLength(vocabSize);
      expect(m.pieces.slice(0, 3)).toEqual([
        { piece: '<pad>', score: 0, type: PieceType.CONTROL },
        { piece: '</s>', score: 0, type: PieceType.CONTROL },
        { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
      ]);
      expect(new Set(m.pieces.map((p) => p.piece)).size).toBe(vocabSize);
      expect(m.normalizerSpec.name).toBe('identity');
      expect(m.normalizerSpec.precompiledCharsmap).toHaveLength(0);
      expect([m.trainerSpec.padId, m.trainerSpec.eosId, m.trainerSpec.unkId, m.trainerSpec.bosId]).toEqual([
        0, 1, 2, -1,
      ]);
    }
  });

  it('is deterministic', () => {
    expect(syntheticT5SentencePiece({ vocabSize: 5000 })).toEqual(
      syntheticT5SentencePiece({ vocabSize: 5000 }),
    );
  });

  it('tokenises English prompts into many ids with few unknowns', () => {
    const sp = SentencePieceProcessor.fromBytes(syntheticT5SentencePiece({ vocabSize: 32000 }), 'synthetic');
    for (const prompt of PROMPTS) {
      const ids = sp.encodeIds(prompt);
      expect(ids.length, prompt).toBeGreaterThan(prompt.split(' ').length);
      expect(ids.filter((id) => id === sp.unkId).length, prompt).toBe(0);
      expect(new Set(ids).size, prompt).toBeGreaterThan(5);
    }
    expect(sp.encodePieces('the dog runs')).toEqual(['▁the', '▁dog', '▁runs']);
  });

  it('still encodes with a tiny vocabulary (everything unknown but the word boundary)', () => {
    const sp = SentencePieceProcessor.fromBytes(syntheticT5SentencePiece({ vocabSize: 4 }), 'synthetic');
    expect(sp.encodeIds('a b')).toEqual([3, 2, 3, 2]);
  });

  it('rejects a vocabulary size it cannot honour', () => {
    for (const vocabSize of [3, 4.5, -1, Number.NaN])
      expect(() => syntheticT5SentencePiece({ vocabSize })).toThrow(/vocabSize must be an integer/);
  });
});
