// Inputs of sentencepiece-parity.test.ts: deterministic prompts (hand-written edge cases, random mixtures), byte
// strings that are not valid UTF-8, and hand-made vocabularies that pin the library's arithmetic.
import { mulberry32 } from '../../../shared/seeded-random';
import type { ModelPiece } from '../../../shared/engine/t5/sentencepiece';
import {
  defaultNormalizerSpec,
  defaultTrainerSpec,
  encodeModelProto,
  PieceType,
} from '../../../shared/engine/t5/sentencepiece';

/** A small deterministic PRNG, so the prompt set is the same on every run. */
const rng = mulberry32;

const HAND_WRITTEN = [
  '',
  ' ',
  '   ',
  '\t\n',
  'a',
  'A red fox jumps over the lazy dog.',
  '  leading and trailing spaces  ',
  'many     inner      spaces',
  'tabs\tand\nnewlines\r\nmixed \t \n ',
  'ﬁne ﬂowers ﬀ ﬃ — ligatures',
  'ＦＵＬＬ　ｗｉｄｔｈ　１２３！？',
  'café naïve über façade',
  'cafe\u0301 nai\u0308ve u\u0308ber',
  'a\u0300\u0301\u0302 stacked combining marks',
  'emoji 😀 👍🏽 👨‍👩‍👧 🇯🇵 ❤️',
  '你好世界 日本語のテキスト 한국어',
  'مرحبا بالعالم שלום',
  'Ⅻ ① ½ ™ ㎏ ㍻ ℃ µ Å Ω',
  'non\u00a0breaking\u2003em\u3000ideographic spaces',
  'zero\u200bwidth\u200djoiner\u00adsoft hyphen\ufeffbom',
  'control \u0001\u0007\u001f\u007f\u0085 chars',
  'a literal ▁ symbol ▁▁ and ▁',
  '<sep>cat<sep> @@ ab c abc',
  'catcatcat concatenate <sep><sep>',
  'x'.repeat(300),
  'supercalifragilisticexpialidocious'.repeat(12),
  'numbers 3.14159 1,000,000 2024-05-17 07:45 #42 $9.99 50%',
  '!!!???... ,,, ;;; ::: (([[{{}}]])) <<>> "quotes" \'single\'',
  '“curly” ‘quotes’ «guillemets» — en–dash … ellipsis',
  'MiXeD CaSe WORDS and ALLCAPS',
  'a cat. A CAT! a-cat? a_cat / a\\cat',
  'aesthetic score: 6.5.',
  '\u2581leading symbol',
  'trailing symbol\u2581',
  '\ufffd replacement char \ufffd',
  'private use \ue000\uf8ff and noncharacter \ufdd0',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐛𝐨𝐥𝐝 math letters',
  'ǅ ǈ ǋ titlecase digraphs',
  'İstanbul ß ẞ ﬅ',
  '\u0000 nul byte',
  // For the hand-made models: ties, float32-versus-double comparisons and user-defined scores.
  'bx',
  'cd',
  'ey',
  'fg',
  'hij',
  'ñk',
  'bx cd ey fg hij ñk cdcd',
];

const EPS = 2 ** -20;
/**
 * Hand-made vocabularies whose scores pin the library's arithmetic (see unigram.ts), with identity normalization
 * and no dummy prefix. ts-ties: "cd" ties with "c"+"d" (the earlier start wins); "b"+unknown "x" rounds, as float32,
 * to exactly "bx" (not greater, so "bx" stays) while its exact sum is greater; "f"+"g" beats "fg" only when compared
 * in double precision; "ey" ties with "e"+unknown. ts-user-defined: all scores negative, so max_score is FLT_MIN
 * and "hij" scores ≈ −0.1, beating "hi"+"j". ts-user-defined-bytes: "ñk" scores by its 3 bytes, not 2 characters.
 */
export const HAND_MADE: Record<string, ReadonlyArray<readonly [string, number, number?]>> = {
  'ts-ties': [
    ['q', -100],
    ['b', 10.5 + EPS],
    ['bx', -99.5],
    ['c', -1],
    ['d', -1],
    ['cd', -2],
    ['e', 20],
    ['ey', -90],
    ['f', 10.5 + EPS],
    ['g', -100],
    ['fg', -89.5],
    ['\u2581', -5],
  ],
  'ts-user-defined': [
    ['h', -0.5],
    ['hi', -0.06],
    ['j', -0.05],
    ['i', -0.5],
    ['hij', 0, PieceType.USER_DEFINED],
    ['\u2581', -1],
  ],
  'ts-user-defined-bytes': [
    ['k', 1],
    ['ñ', 1],
    ['ñk', 0, PieceType.USER_DEFINED],
    ['\u2581', -1],
  ],
};

/** A model of the given pieces after <pad>, </s>, <unk>: identity normalization, no dummy prefix. */
export function handMadeModel(entries: ReadonlyArray<readonly [string, number, number?]>): Uint8Array {
  const pieces: ModelPiece[] = [
    { piece: '<pad>', score: 0, type: PieceType.CONTROL },
    { piece: '</s>', score: 0, type: PieceType.CONTROL },
    { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
    ...entries.map(([piece, score, type]) => ({
      piece,
      score,
      type: (type ?? PieceType.NORMAL) as ModelPiece['type'],
    })),
  ];
  return encodeModelProto({
    pieces,
    trainerSpec: {
      ...defaultTrainerSpec(),
      vocabSize: pieces.length,
      unkId: 2,
      bosId: -1,
      eosId: 1,
      padId: 0,
    },
    normalizerSpec: { ...defaultNormalizerSpec(), name: 'identity', addDummyPrefix: false },
    denormalizerSpec: undefined,
  });
}

const POOL_WORDS = (
  'the a cat dog runs red blue green quickly over lazy fox jumps sunset ocean waves city night lights camera ' +
  'slowly drone shot forest mountain river snow aesthetic score thing other moving'
).split(' ');
const POOL_CHARS = [
  ...'.,!?;:\'"-()[]{}/\\@#$%^&*+=<>|~`_0123456789',
  ...'éèàüöñçÅØæœß',
  ...'ＡＢＣａｂｃ０１２',
  ...'ﬁﬂ①½™Ⅻ',
  '\u0301',
  '\u0308',
  '😀',
  '👍🏽',
  '你',
  '好',
  '한',
  '\u00a0',
  '\u3000',
  '\u200b',
  '▁',
  '\ufffd',
];
const POOL_SPACES = [' ', ' ', ' ', '  ', '   ', '\t', '\n', ' \n '];

/** Deterministic prompts: hand-written edge cases, then random mixtures of words, odd characters and spaces. */
export function makePrompts(count: number): string[] {
  const rand = rng(20240517);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const out = [...HAND_WRITTEN];
  while (out.length < count) {
    let s = rand() < 0.2 ? pick(POOL_SPACES) : '';
    const n = 1 + Math.floor(rand() * 14);
    for (let i = 0; i < n; i++) {
      const r = rand();
      let w = pick(POOL_WORDS);
      if (r < 0.15) w = w.toUpperCase();
      else if (r < 0.3) w = w[0]?.toUpperCase() + w.slice(1);
      else if (r < 0.45)
        w = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(POOL_CHARS)).join('');
      else if (r < 0.55) w += pick(POOL_CHARS);
      else if (r < 0.6) w = pick(POOL_CHARS) + w;
      s += w + (i < n - 1 ? pick(POOL_SPACES) : '');
    }
    if (rand() < 0.2) s += pick(POOL_SPACES);
    out.push(s);
  }
  return out;
}

/** Byte strings that are not valid UTF-8 (truncated, overlong, surrogates, stray bytes) mixed with text. */
export function makeBytePrompts(count: number): string[] {
  const rand = rng(7);
  const fixed = [
    'ff',
    'c0af',
    'e080af',
    'eda080',
    'f4908080',
    'f880808080',
    'e29681',
    '61e296',
    'c3',
    '20c320',
  ];
  const pieces = [
    '61',
    '20',
    '636174',
    'c3a9',
    'e29681',
    'efbca1',
    'f09f9880',
    '80',
    'bf',
    'c3',
    'e2',
    'f0',
    'fe',
  ];
  const out = [...fixed];
  while (out.length < count) {
    const n = 1 + Math.floor(rand() * 10);
    let h = '';
    for (let i = 0; i < n; i++) h += pieces[Math.floor(rand() * pieces.length)] as string;
    out.push(h);
  }
  return out;
}
