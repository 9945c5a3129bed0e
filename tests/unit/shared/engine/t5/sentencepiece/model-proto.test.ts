import { describe, expect, it } from 'vitest';
import type { ModelProto } from '../../../../../../shared/engine/t5/sentencepiece/model-proto';
import {
  decodeModelProto,
  defaultNormalizerSpec,
  defaultTrainerSpec,
  encodeModelProto,
  ModelType,
  PieceType,
} from '../../../../../../shared/engine/t5/sentencepiece/model-proto';
import { ProtoWriter } from '../../../../../../shared/engine/t5/sentencepiece/proto-wire';
import { utf8Encode } from '../../../../../../shared/engine/t5/sentencepiece/utf8';

const FILE = 'models/spiece.model';

function sample(): ModelProto {
  return {
    pieces: [
      { piece: '<pad>', score: 0, type: PieceType.CONTROL },
      { piece: '</s>', score: 0, type: PieceType.CONTROL },
      { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
      { piece: '▁the', score: -3.25, type: PieceType.NORMAL },
      { piece: 'é', score: -7.1, type: PieceType.NORMAL },
      { piece: '<sep>', score: 0, type: PieceType.USER_DEFINED },
      { piece: 'old', score: -9, type: PieceType.UNUSED },
    ],
    trainerSpec: { ...defaultTrainerSpec(), vocabSize: 7, unkId: 2, bosId: -1, eosId: 1, padId: 0 },
    normalizerSpec: {
      ...defaultNormalizerSpec(),
      name: 'nmt_nfkc',
      precompiledCharsmap: Uint8Array.of(1, 2, 3, 4, 5),
      addDummyPrefix: false,
    },
    denormalizerSpec: undefined,
  };
}

describe('ModelProto writer and reader', () => {
  it('round-trips pieces, scores as float32, types, the trainer spec (negative ids too) and the normalizer spec', () => {
    const back = decodeModelProto(encodeModelProto(sample()), FILE);
    const want = sample();
    expect(back.pieces.map((p) => [p.piece, p.type])).toEqual(want.pieces.map((p) => [p.piece, p.type]));
    expect(back.pieces.map((p) => p.score)).toEqual(want.pieces.map((p) => Math.fround(p.score)));
    expect(back.trainerSpec).toEqual(want.trainerSpec);
    expect(back.normalizerSpec).toEqual(want.normalizerSpec);
    expect(back.denormalizerSpec).toBeUndefined();
  });

  it('applies the proto2 defaults to fields a file leaves out and skips fields it does not know', () => {
    const w = new ProtoWriter();
    w.message(1, (m) => m.bytesField(1, utf8Encode('<unk>')));
    w.message(1, (m) => {
      m.bytesField(1, utf8Encode('a'));
      m.int(99, 7); // unknown field inside a piece
    });
    w.bytesField(4, Uint8Array.of(1, 2, 3)); // self_test_data: not kept
    w.int(200, 1); // an extension
    w.float(201, 1.5);
    const m = decodeModelProto(w.bytes(), FILE);
    expect(m.pieces).toEqual([
      { piece: '<unk>', score: 0, type: PieceType.NORMAL },
      { piece: 'a', score: 0, type: PieceType.NORMAL },
    ]);
    expect(m.trainerSpec).toEqual(defaultTrainerSpec());
    expect(m.normalizerSpec).toEqual(defaultNormalizerSpec());
    expect(m.trainerSpec.unkPiece).toBe('<unk>');
    expect(m.normalizerSpec.addDummyPrefix).toBe(true);
  });

  it('treats an empty special piece name as the default, as the library does', () => {
    const model = sample();
    model.trainerSpec.eosPiece = '';
    expect(decodeModelProto(encodeModelProto(model), FILE).trainerSpec.eosPiece).toBe('</s>');
  });

  it('keeps a denormalizer spec when the file has one', () => {
    const model = sample();
    model.denormalizerSpec = {
      ...defaultNormalizerSpec(),
      name: 'de',
      precompiledCharsmap: Uint8Array.of(9),
    };
    expect(decodeModelProto(encodeModelProto(model), FILE).denormalizerSpec?.name).toBe('de');
  });
});

describe('ModelProto reader errors name the file', () => {
  const bytes = encodeModelProto(sample());

  it('rejects an empty file', () => {
    expect(() => decodeModelProto(new Uint8Array(0), FILE)).toThrow(
      `${FILE}: not a valid SentencePiece model`,
    );
  });

  it('rejects a file truncated anywhere inside a field', () => {
    for (const cut of [1, 2, 5, 17, bytes.length - 1]) {
      expect(() => decodeModelProto(bytes.subarray(0, cut), FILE), `cut at ${cut}`).toThrow(
        new RegExp(`^${FILE}: not a valid SentencePiece model: .* at byte \\d+$`),
      );
    }
  });

  it('rejects garbled bytes: bad wire types, groups, field 0, overlong varints, lengths past the end', () => {
    const cases: Array<[number[], RegExp]> = [
      [[0x0c], /unsupported group/],
      [[0x0f], /unknown wire type 7/],
      [[0x00, 0x00], /field number 0/],
      [[0x08, 0x01], /field pieces \(1\) has wire type 0, expected 2/],
      [[0x0a, 0x7f, 0x00], /length 127 runs past the end/],
      [[0x38, ...new Array<number>(11).fill(0xff)], /varint longer than 10 bytes/],
      [[0x0a, 0x02, 0x15, 0x00], /truncated float/],
    ];
    for (const [b, re] of cases) expect(() => decodeModelProto(Uint8Array.from(b), FILE)).toThrow(re);
    expect(() => decodeModelProto(Uint8Array.from([0x0a, 0x02, 0x18, 0x09]), FILE)).toThrow(
      /pieces\[0\] has unknown type 9/,
    );
    expect(() => decodeModelProto(Uint8Array.from([0x0a, 0x03, 0x0a, 0x01, 0xff]), FILE)).toThrow(
      /pieces\[0\].piece is not valid UTF-8/,
    );
  });

  it('rejects models that are not unigram, and a model without pieces', () => {
    const bpe = sample();
    bpe.trainerSpec.modelType = ModelType.BPE;
    expect(() => decodeModelProto(encodeModelProto(bpe), FILE)).toThrow(
      `${FILE}: model_type is BPE; only UNIGRAM SentencePiece models are supported`,
    );
    bpe.trainerSpec.modelType = 9;
    expect(() => decodeModelProto(encodeModelProto(bpe), FILE)).toThrow(/model_type is unknown \(9\)/);
    const none = sample();
    none.pieces = [];
    expect(() => decodeModelProto(encodeModelProto(none), FILE)).toThrow(
      `${FILE}: the SentencePiece model has no pieces`,
    );
  });
});
