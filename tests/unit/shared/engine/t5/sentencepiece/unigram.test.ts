import { describe, expect, it } from 'vitest';
import type { ModelPiece } from '../../../../../../shared/engine/t5/sentencepiece/model-proto';
import { PieceType } from '../../../../../../shared/engine/t5/sentencepiece/model-proto';
import { UnigramModel } from '../../../../../../shared/engine/t5/sentencepiece/unigram';
import { utf8Encode, utf8ToString } from '../../../../../../shared/engine/t5/sentencepiece/utf8';

/** A vocabulary with <unk> at id 0, then the given pieces (NORMAL unless a type is given). */
function model(entries: Array<[string, number, number?]>): UnigramModel {
  const pieces: ModelPiece[] = [
    { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
    ...entries.map(([piece, score, type]) => ({
      piece,
      score,
      type: (type ?? PieceType.NORMAL) as ModelPiece['type'],
    })),
  ];
  return new UnigramModel(pieces, 0);
}

function segment(m: UnigramModel, text: string): Array<[string, number]> {
  const b = utf8Encode(text);
  return m.encode(b).map((s) => [utf8ToString(b, s.start, s.end), s.id]);
}

describe('unigram Viterbi segmentation', () => {
  it('takes the path with the highest total score', () => {
    const m = model([
      ['a', -1], // 1
      ['b', -1], // 2
      ['ab', -3], // 3
      ['abc', -2.5], // 4
      ['c', -1], // 5
    ]);
    expect(segment(m, 'ab')).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(segment(m, 'abc')).toEqual([['abc', 4]]);
    expect(segment(m, '')).toEqual([]);
  });

  it('breaks ties toward the earlier start, then the shorter piece', () => {
    const m = model([
      ['c', -1], // 1
      ['d', -1], // 2
      ['cd', -2], // 3: ties with c + d and is found first
    ]);
    expect(segment(m, 'cd')).toEqual([['cd', 3]]);
  });

  it('spans an uncovered character with an unknown node scored min_score − 10, per character', () => {
    const m = model([
      ['a', -1], // 1
      ['ay', -12], // 2: a + unknown y scores −1 + (−12 − 10): "ay" wins
      ['z', -12], // 3
    ]);
    expect(segment(m, 'ay')).toEqual([['ay', 2]]);
    expect(segment(m, 'xé')).toEqual([
      ['x', 0],
      ['é', 0],
    ]);
  });

  it('adds an unknown node where only longer pieces start', () => {
    // "qr" covers two characters but not "q" alone: an unknown "q" is still a candidate (and loses here).
    const m = model([
      ['qr', -1], // 1
      ['r', -1], // 2
    ]);
    expect(segment(m, 'qr')).toEqual([['qr', 1]]);
  });

  it('gives user-defined pieces byte length × max_score − 0.1, with max_score at least FLT_MIN', () => {
    const negative = model([
      ['h', -0.5], // 1
      ['hi', -0.06], // 2
      ['j', -0.05], // 3
      ['hij', 0, PieceType.USER_DEFINED], // 4: ≈ −0.1 beats −0.11
    ]);
    expect(segment(negative, 'hij')).toEqual([['hij', 4]]);
    const positive = model([
      ['k', 1], // 1
      ['ñ', 1], // 2
      ['ñk', 0, PieceType.USER_DEFINED], // 3: 3 bytes × 1 − 0.1 = 2.9 beats ñ + k = 2
    ]);
    expect(segment(positive, 'ñk')).toEqual([['ñk', 3]]);
  });

  it('never produces an UNUSED piece', () => {
    const m = model([
      ['a', -1], // 1
      ['b', -1], // 2
      ['ab', -0.1, PieceType.UNUSED], // 3
    ]);
    expect(segment(m, 'ab')).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });
});
