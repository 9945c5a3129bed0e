/**
 * sentencepiece_model.proto's ModelProto: a strict reader of the fields the encoder needs and a writer of the same
 * message (for synthetic models). Unknown fields are skipped as protobuf does; proto2 defaults are applied, so every
 * field of the result is set. Only UNIGRAM models are accepted — T5's spiece.model is one.
 */
import { SentencePieceError } from './error';
import { ProtoReader, ProtoWriter, WireType } from './proto-wire';
import { isValidUtf8, utf8Encode, utf8ToString } from './utf8';

/** ModelProto.SentencePiece.Type. */
export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;
/** One of the piece types. */
export type PieceTypeId = (typeof PieceType)[keyof typeof PieceType];

/** TrainerSpec.ModelType. */
export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;

/** One vocabulary entry; its id is its index. */
export interface ModelPiece {
  piece: string;
  /** Log probability, a float32. */
  score: number;
  type: PieceTypeId;
}

/** The TrainerSpec fields that matter when encoding. */
export interface TrainerSpec {
  modelType: number;
  vocabSize: number;
  treatWhitespaceAsSuffix: boolean;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece: string;
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
  /** What decoding prints for `<unk>`. */
  unkSurface: string;
}

/** NormalizerSpec. */
export interface NormalizerSpec {
  /** The rule set it was compiled from (`nmt_nfkc`, `identity`, ...): informational, the charsmap is what runs. */
  name: string;
  /** `<u32 trie size><darts-clone trie><NUL-terminated replacements>`; empty for no character normalization. */
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

/** A parsed ModelProto (self_test_data is not kept). */
export interface ModelProto {
  pieces: ModelPiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
  /** Applied to decoded text when it has a charsmap. */
  denormalizerSpec: NormalizerSpec | undefined;
}

const PIECE_TYPE_NAMES = new Map<number, string>(Object.entries(PieceType).map(([k, v]) => [v, k]));
const MODEL_TYPE_NAMES = new Map<number, string>(Object.entries(ModelType).map(([k, v]) => [v, k]));

/** The proto2 defaults of TrainerSpec. */
export function defaultTrainerSpec(): TrainerSpec {
  return {
    modelType: ModelType.UNIGRAM,
    vocabSize: 8000,
    treatWhitespaceAsSuffix: false,
    byteFallback: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkPiece: '<unk>',
    bosPiece: '<s>',
    eosPiece: '</s>',
    padPiece: '<pad>',
    unkSurface: ' \u2047 ',
  };
}

/** The proto2 defaults of NormalizerSpec. */
export function defaultNormalizerSpec(): NormalizerSpec {
  return {
    name: '',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
}

function readString(r: ProtoReader, name: string): string {
  const at = r.offset;
  const b = r.bytesField();
  if (!isValidUtf8(b)) r.fail(`${name} is not valid UTF-8`, at);
  return utf8ToString(b);
}

function readPiece(r: ProtoReader, index: number): ModelPiece {
  const p: ModelPiece = { piece: '', score: 0, type: PieceType.NORMAL };
  while (!r.done()) {
    const tag = r.tag();
    if (tag.field === 1) {
      r.expect(tag, WireType.LEN, `pieces[${index}].piece`);
      p.piece = readString(r, `pieces[${index}].piece`);
    } else if (tag.field === 2) {
      r.expect(tag, WireType.FIXED32, `pieces[${index}].score`);
      p.score = r.float();
    } else if (tag.field === 3) {
      r.expect(tag, WireType.VARINT, `pieces[${index}].type`);
      const at = r.offset;
      const t = r.int32();
      if (!PIECE_TYPE_NAMES.has(t)) r.fail(`pieces[${index}] has unknown type ${t}`, at);
      p.type = t as PieceTypeId;
    } else r.skip(tag.wireType);
  }
  return p;
}

// TrainerSpec field numbers of the kept fields: [name, number, kind].
const TRAINER_FIELDS: ReadonlyArray<readonly [keyof TrainerSpec, number, 'int' | 'bool' | 'string']> = [
  ['modelType', 3, 'int'],
  ['vocabSize', 4, 'int'],
  ['treatWhitespaceAsSuffix', 24, 'bool'],
  ['byteFallback', 35, 'bool'],
  ['unkId', 40, 'int'],
  ['bosId', 41, 'int'],
  ['eosId', 42, 'int'],
  ['padId', 43, 'int'],
  ['unkSurface', 44, 'string'],
  ['unkPiece', 45, 'string'],
  ['bosPiece', 46, 'string'],
  ['eosPiece', 47, 'string'],
  ['padPiece', 48, 'string'],
];
const TRAINER_BY_NUMBER = new Map(TRAINER_FIELDS.map((f) => [f[1], f]));

function readTrainerSpec(r: ProtoReader, spec: TrainerSpec): void {
  const out = spec as unknown as Record<string, number | boolean | string>;
  while (!r.done()) {
    const tag = r.tag();
    const f = TRAINER_BY_NUMBER.get(tag.field);
    if (f === undefined) {
      r.skip(tag.wireType);
      continue;
    }
    const [name, , kind] = f;
    r.expect(tag, kind === 'string' ? WireType.LEN : WireType.VARINT, `trainer_spec.${name}`);
    out[name] =
      kind === 'int' ? r.int32() : kind === 'bool' ? r.bool() : readString(r, `trainer_spec.${name}`);
  }
}

function readNormalizerSpec(r: ProtoReader, spec: NormalizerSpec, what: string): void {
  while (!r.done()) {
    const tag = r.tag();
    switch (tag.field) {
      case 1:
        r.expect(tag, WireType.LEN, `${what}.name`);
        spec.name = readString(r, `${what}.name`);
        break;
      case 2:
        r.expect(tag, WireType.LEN, `${what}.precompiled_charsmap`);
        spec.precompiledCharsmap = r.bytesField();
        break;
      case 3:
        r.expect(tag, WireType.VARINT, `${what}.add_dummy_prefix`);
        spec.addDummyPrefix = r.bool();
        break;
      case 4:
        r.expect(tag, WireType.VARINT, `${what}.remove_extra_whitespaces`);
        spec.removeExtraWhitespaces = r.bool();
        break;
      case 5:
        r.expect(tag, WireType.VARINT, `${what}.escape_whitespaces`);
        spec.escapeWhitespaces = r.bool();
        break;
      default:
        r.skip(tag.wireType);
    }
  }
}

/** Parses a serialized ModelProto (an spm `.model` file); throws a SentencePieceError naming `file`. */
export function decodeModelProto(bytes: Uint8Array, file: string): ModelProto {
  if (bytes.length === 0)
    throw new SentencePieceError(file, 'not a valid SentencePiece model: the file is empty');
  const r = new ProtoReader(bytes, file);
  const pieces: ModelPiece[] = [];
  const trainerSpec = defaultTrainerSpec();
  const normalizerSpec = defaultNormalizerSpec();
  let denormalizerSpec: NormalizerSpec | undefined;
  while (!r.done()) {
    const tag = r.tag();
    if (tag.field === 1) {
      r.expect(tag, WireType.LEN, 'pieces');
      pieces.push(readPiece(r.message(), pieces.length));
    } else if (tag.field === 2) {
      r.expect(tag, WireType.LEN, 'trainer_spec');
      // A repeated embedded message merges into the first, as protobuf does.
      readTrainerSpec(r.message(), trainerSpec);
    } else if (tag.field === 3) {
      r.expect(tag, WireType.LEN, 'normalizer_spec');
      readNormalizerSpec(r.message(), normalizerSpec, 'normalizer_spec');
    } else if (tag.field === 5) {
      r.expect(tag, WireType.LEN, 'denormalizer_spec');
      denormalizerSpec ??= defaultNormalizerSpec();
      readNormalizerSpec(r.message(), denormalizerSpec, 'denormalizer_spec');
    } else r.skip(tag.wireType);
  }
  // An empty piece string means "the default" to the library (ModelInterface's RETURN_PIECE).
  const defaults = defaultTrainerSpec();
  for (const k of ['unkPiece', 'bosPiece', 'eosPiece', 'padPiece'] as const)
    if (trainerSpec[k] === '') trainerSpec[k] = defaults[k];
  if (trainerSpec.modelType !== ModelType.UNIGRAM) {
    const name = MODEL_TYPE_NAMES.get(trainerSpec.modelType) ?? `unknown (${trainerSpec.modelType})`;
    throw new SentencePieceError(
      file,
      `model_type is ${name}; only UNIGRAM SentencePiece models are supported`,
    );
  }
  if (pieces.length === 0) throw new SentencePieceError(file, 'the SentencePiece model has no pieces');
  return { pieces, trainerSpec, normalizerSpec, denormalizerSpec };
}

function writeNormalizerSpec(w: ProtoWriter, spec: NormalizerSpec): void {
  w.bytesField(1, utf8Encode(spec.name));
  if (spec.precompiledCharsmap.length > 0) w.bytesField(2, spec.precompiledCharsmap);
  w.int(3, spec.addDummyPrefix);
  w.int(4, spec.removeExtraWhitespaces);
  w.int(5, spec.escapeWhitespaces);
}

/** Serializes a ModelProto (every kept field written explicitly); `decodeModelProto` reads it back. */
export function encodeModelProto(model: ModelProto): Uint8Array {
  const w = new ProtoWriter();
  for (const p of model.pieces)
    w.message(1, (m) => {
      m.bytesField(1, utf8Encode(p.piece));
      m.float(2, p.score);
      m.int(3, p.type);
    });
  w.message(2, (m) => {
    const spec = model.trainerSpec as unknown as Record<string, number | boolean | string>;
    for (const [name, num, kind] of TRAINER_FIELDS) {
      const v = spec[name] as number | boolean | string;
      if (kind === 'string') m.bytesField(num, utf8Encode(v as string));
      else m.int(num, v as number | boolean);
    }
  });
  w.message(3, (m) => writeNormalizerSpec(m, model.normalizerSpec));
  if (model.denormalizerSpec !== undefined) {
    const d = model.denormalizerSpec;
    w.message(5, (m) => writeNormalizerSpec(m, d));
  }
  return w.bytes();
}

/** Name of a piece type, for messages. */
export function pieceTypeName(type: number): string {
  return PIECE_TYPE_NAMES.get(type) ?? `type ${type}`;
}
