import { describe, expect, it } from 'vitest';
import type { ModelPiece, ModelProto } from '../../../../../../shared/engine/t5/sentencepiece/model-proto';
import {
  defaultNormalizerSpec,
  defaultTrainerSpec,
  encodeModelProto,
  PieceType,
} from '../../../../../../shared/engine/t5/sentencepiece/model-proto';
import { SentencePieceProcessor } from '../../../../../../shared/engine/t5/sentencepiece/processor';

const FILE = 'spiece.model';

function proto(entries: Array<[string, number, number]>, byteFallback = false): ModelProto {
  const pieces: ModelPiece[] = entries.map(([piece, score, type]) => ({
    piece,
    score,
    type: type as ModelPiece['type'],
  }));
  return {
    pieces,
    trainerSpec: { ...defaultTrainerSpec(), unkId: 2, bosId: -1, eosId: 1, padId: 0, byteFallback },
    normalizerSpec: { ...defaultNormalizerSpec(), name: 'identity' },
    denormalizerSpec: undefined,
  };
}

const { NORMAL, UNKNOWN, CONTROL, BYTE } = PieceType;
const T5ISH: Array<[string, number, number]> = [
  ['<pad>', 0, CONTROL],
  ['</s>', 0, CONTROL],
  ['<unk>', 0, UNKNOWN],
  ['▁', -2, NORMAL],
  ['▁a', -1, NORMAL],
  ['▁cat', -1, NORMAL],
  ['s', -2, NORMAL],
  ['c', -3, NORMAL],
  ['a', -3, NORMAL],
  ['t', -3, NORMAL],
];
const load = (entries = T5ISH, byteFallback = false): SentencePieceProcessor =>
  SentencePieceProcessor.fromBytes(encodeModelProto(proto(entries, byteFallback)), FILE);

describe('SentencePieceProcessor', () => {
  it('encodes text into ids and pieces', () => {
    const sp = load();
    expect(sp.encodeIds('a cats')).toEqual([4, 5, 6]);
    expect(sp.encodePieces('a cats')).toEqual(['▁a', '▁cat', 's']);
    expect(sp.encodeIds('')).toEqual([]);
  });

  it('merges a run of unknown characters into one unknown piece', () => {
    const sp = load();
    expect(sp.encode('a xyz😀 cat')).toEqual([
      { id: 4, piece: '▁a' },
      { id: 3, piece: '▁' },
      { id: 2, piece: 'xyz😀' },
      { id: 5, piece: '▁cat' },
    ]);
  });

  it('spells unknown characters as byte pieces with byte_fallback', () => {
    const bytes: Array<[string, number, number]> = Array.from({ length: 256 }, (_, b) => [
      `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
      0,
      BYTE,
    ]);
    const sp = load([...T5ISH, ...bytes], true);
    expect(sp.encodePieces('a é')).toEqual(['▁a', '▁', '<0xC3>', '<0xA9>']);
    expect(sp.encodeIds('a é')).toEqual([4, 3, 10 + 0xc3, 10 + 0xa9]);
    expect(sp.decodeIds(sp.encodeIds('a é'))).toBe('a é');
  });

  it('reports special ids and looks pieces up as the library does', () => {
    const sp = load();
    expect([sp.unkId, sp.bosId, sp.eosId, sp.padId, sp.vocabSize]).toEqual([2, -1, 1, 0, 10]);
    expect(sp.pieceToId('▁cat')).toBe(5);
    expect(sp.pieceToId('nope')).toBe(2);
    expect(sp.findPiece('nope')).toBeUndefined();
    expect(sp.idToPiece(1)).toBe('</s>');
    expect(() => sp.idToPiece(10)).toThrow(`${FILE}: id 10 is outside the vocabulary (0 … 9)`);
    expect(sp.isControl(0) && sp.isUnknown(2) && !sp.isByte(4)).toBe(true);
  });

  it('decodes ids: ▁ becomes a space, the leading one goes, control pieces vanish, <unk> prints as ⁇', () => {
    const sp = load();
    expect(sp.decodeIds([4, 5, 6, 1, 0])).toBe('a cats');
    // unk_surface is " ⁇ " and the next piece brings its own space, as in the library.
    expect(sp.decodeIds([4, 2, 5])).toBe('a \u2047  cat');
  });

  it('refuses models the library refuses, naming the file', () => {
    const bad =
      (entries: Array<[string, number, number]>, byteFallback = false): (() => unknown) =>
      () =>
        SentencePieceProcessor.fromModelProto(proto(entries, byteFallback), FILE);
    expect(bad(T5ISH.filter(([p]) => p !== '<unk>'))).toThrow(`${FILE}: the model has no UNKNOWN piece`);
    expect(bad([...T5ISH, ['<unk2>', 0, UNKNOWN]])).toThrow(/pieces 2 and 10 are both UNKNOWN/);
    expect(bad([...T5ISH, ['s', 0, NORMAL]])).toThrow(`${FILE}: piece "s" is defined twice (ids 6 and 10)`);
    expect(bad([...T5ISH, ['', 0, NORMAL]])).toThrow(/piece 10 is empty/);
    expect(bad([...T5ISH, ['<0x41>', 0, BYTE]])).toThrow(/byte_fallback is false/);
    expect(bad([...T5ISH, ['<0x41>', 0, BYTE]], true)).toThrow(/only 1 of the 256 byte pieces/);
    expect(bad([...T5ISH, ['<0xZZ>', 0, BYTE]], true)).toThrow(/not of the form <0xXX>/);
    expect(bad(T5ISH.slice(0, 3))).toThrow(/no NORMAL, USER_DEFINED or UNUSED piece/);
  });
});
