/**
 * A synthetic T5-shaped SentencePiece model for benchmark checkpoints with random weights: `<pad>` = 0, `</s>` = 1,
 * `<unk>` = 2 (T5's layout, no BOS), then NORMAL pieces — the word boundary ▁, printable ASCII, common accented
 * letters and typographic punctuation, common English words and affixes, then letter n-grams — until exactly
 * `vocabSize` pieces. The normalizer is `identity` (no charsmap) and scores come from plain arithmetic rounded to
 * float32, nothing random, so the bytes depend on `vocabSize` alone and English prompts tokenise into many ids with
 * few unknowns.
 */
import {
  encodeModelProto,
  defaultNormalizerSpec,
  defaultTrainerSpec,
  ModelType,
  PieceType,
} from './model-proto';
import type { ModelPiece } from './model-proto';

/** Options of `syntheticT5SentencePiece`. */
export interface SyntheticSentencePieceOptions {
  /** Exact number of pieces, specials included (T5's spiece.model has 32000); at least 4. */
  vocabSize: number;
}

const ASCII = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i));
const NON_ASCII = [...'éèêëàâäáãåçñöôóòõüûúùïîíìÿýæœøßÉÈÀÇÑÖÜ’‘“”—–…°€£×'];
const WORDS = (
  'the a an of and in on with to at by for from as is are was be it its this that his her their they he she we ' +
  'you i or not but all one two three up down out over under into through near far small large big little ' +
  'old new young red orange yellow green blue purple pink brown black white gray grey gold silver dark bright ' +
  'light sun sunset sunrise sky cloud clouds rain snow wind water sea ocean wave waves river lake beach sand ' +
  'mountain mountains forest tree trees flower flowers grass field city street road car cars train bus boat ship ' +
  'house building buildings room window door night day morning evening time slow slowly fast quickly camera ' +
  'shot view scene video aerial drone close closeup wide angle zoom pan moving moves walking walks running runs ' +
  'flying flies swimming dancing sitting standing looking holding playing man woman men women people person ' +
  'child children girl boy dog cat bird birds fish horse animal animals face hand hands eyes hair background ' +
  'foreground style cinematic realistic beautiful high quality detailed aesthetic score'
).split(' ');
const AFFIXES = [
  's',
  'es',
  'ed',
  'ing',
  'ly',
  'er',
  'est',
  'tion',
  'ness',
  'ment',
  'ful',
  'less',
  'able',
  'un',
  're',
];
const LETTERS = 'etaoinshrdlcumwfgypbvkjxqz';

/** Every NORMAL piece in id order, without end: fixed lists, then n-grams of ever greater length. */
function* candidatePieces(): Generator<string> {
  yield '\u2581';
  yield* ASCII;
  yield* NON_ASCII;
  for (const w of WORDS) yield `\u2581${w}`;
  yield* AFFIXES;
  for (const ch of ASCII) yield `\u2581${ch}`;
  for (let n = 2; ; n++) {
    const idx = new Array<number>(n).fill(0);
    for (;;) {
      const s = idx.map((i) => LETTERS[i]).join('');
      yield `\u2581${s}`;
      yield s;
      let k = n - 1;
      while (k >= 0 && idx[k] === LETTERS.length - 1) idx[k--] = 0;
      if (k < 0) break;
      idx[k] = (idx[k] as number) + 1;
    }
  }
}

/** The bytes of a valid unigram spiece.model shaped like T5's, with exactly `vocabSize` pieces. */
export function syntheticT5SentencePiece(opts: SyntheticSentencePieceOptions): Uint8Array {
  const { vocabSize } = opts;
  if (!Number.isInteger(vocabSize) || vocabSize < 4 || vocabSize > 1_000_000)
    throw new Error(
      `syntheticT5SentencePiece: vocabSize must be an integer in [4, 1000000], got ${vocabSize}`,
    );
  const pieces: ModelPiece[] = [
    { piece: '<pad>', score: 0, type: PieceType.CONTROL },
    { piece: '</s>', score: 0, type: PieceType.CONTROL },
    { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
  ];
  const seen = new Set<string>();
  const normal = vocabSize - pieces.length;
  for (const piece of candidatePieces()) {
    if (pieces.length === vocabSize) break;
    if (seen.has(piece)) continue;
    seen.add(piece);
    // Scores fall from −2 to −10 with rank: a listed word beats spelling it out, a rare n-gram rarely wins.
    const rank = pieces.length - 3;
    pieces.push({ piece, score: Math.fround(-2 - (8 * rank) / normal), type: PieceType.NORMAL });
  }
  return encodeModelProto({
    pieces,
    trainerSpec: {
      ...defaultTrainerSpec(),
      modelType: ModelType.UNIGRAM,
      vocabSize,
      unkId: 2,
      bosId: -1,
      eosId: 1,
      padId: 0,
    },
    normalizerSpec: { ...defaultNormalizerSpec(), name: 'identity' },
    denormalizerSpec: undefined,
  });
}
