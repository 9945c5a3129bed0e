/**
 * SentencePieceProcessor for unigram models (sentencepiece_processor.cc): load checks as `InitializePieces`, encode
 * = normalize → Viterbi → `PopulateSentencePieceText` (a run of unknown segments becomes ONE unknown piece; with
 * byte_fallback each unknown segment becomes its `<0xXX>` byte pieces instead), decode as `Decode`.
 */
import { ByteTrie } from './byte-trie';
import { SentencePieceError } from './error';
import type { ModelProto } from './model-proto';
import { decodeModelProto, PieceType, pieceTypeName } from './model-proto';
import { Normalizer } from './normalizer';
import { UnigramModel } from './unigram';
import { utf8Encode, utf8ToString, validCharLength } from './utf8';

/** One encoded piece. */
export interface EncodedPiece {
  id: number;
  /** The normalized text it covers (▁ for spaces); an unknown run's full text, not `<unk>`. */
  piece: string;
}

const byteToPiece = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

/** A loaded unigram SentencePiece model. */
export class SentencePieceProcessor {
  /** NORMAL, USER_DEFINED and UNUSED pieces (the library's `pieces_`). */
  private readonly normalIds = new Map<string, number>();
  /** UNKNOWN, CONTROL and BYTE pieces (`reserved_id_map_`), looked up first. */
  private readonly reservedIds = new Map<string, number>();
  private readonly normalizer: Normalizer;
  private readonly denormalizer: Normalizer | null;
  private readonly unigram: UnigramModel;
  private readonly unk: number;

  private constructor(
    /** The parsed model. */
    readonly model: ModelProto,
    /** The model file, for messages. */
    readonly source: string,
  ) {
    const fail = (what: string): never => {
      throw new SentencePieceError(source, what);
    };
    const userDefined = new ByteTrie();
    let hasUserDefined = false;
    let unk = -1;
    const bytesFound = new Set<number>();
    model.pieces.forEach((p, id) => {
      if (p.piece === '') fail(`piece ${id} is empty`);
      const normal =
        p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED || p.type === PieceType.UNUSED;
      const map = normal ? this.normalIds : this.reservedIds;
      const prev = map.get(p.piece);
      if (prev !== undefined)
        fail(`piece ${JSON.stringify(p.piece)} is defined twice (ids ${prev} and ${id})`);
      map.set(p.piece, id);
      if (p.type === PieceType.USER_DEFINED) {
        userDefined.insert(utf8Encode(p.piece), id);
        hasUserDefined = true;
      }
      if (p.type === PieceType.UNKNOWN) {
        if (unk >= 0) fail(`pieces ${unk} and ${id} are both UNKNOWN; a model has one unknown piece`);
        unk = id;
      }
      if (p.type === PieceType.BYTE) {
        if (!model.trainerSpec.byteFallback)
          fail(`byte piece ${JSON.stringify(p.piece)} (id ${id}) but trainer_spec.byte_fallback is false`);
        const m = BYTE_PIECE.exec(p.piece);
        if (m === null) fail(`byte piece ${JSON.stringify(p.piece)} (id ${id}) is not of the form <0xXX>`);
        bytesFound.add(parseInt((m as RegExpExecArray)[1] as string, 16));
      }
    });
    if (unk < 0) fail('the model has no UNKNOWN piece');
    if (model.trainerSpec.byteFallback && bytesFound.size !== 256)
      fail(`trainer_spec.byte_fallback is true but only ${bytesFound.size} of the 256 byte pieces exist`);
    if (this.normalIds.size === 0)
      fail('the model has no NORMAL, USER_DEFINED or UNUSED piece to encode with');
    this.unk = unk;
    this.unigram = new UnigramModel(model.pieces, unk);
    this.normalizer = new Normalizer(model.normalizerSpec, source, {
      treatWhitespaceAsSuffix: model.trainerSpec.treatWhitespaceAsSuffix,
      userDefined: hasUserDefined ? userDefined : null,
    });
    const d = model.denormalizerSpec;
    this.denormalizer =
      d !== undefined && d.precompiledCharsmap.length > 0
        ? new Normalizer(d, `${source} (denormalizer)`)
        : null;
  }

  /** Loads a serialized model (the bytes of an spm `.model` file); errors name `source`. */
  static fromBytes(bytes: Uint8Array, source: string): SentencePieceProcessor {
    return new SentencePieceProcessor(decodeModelProto(bytes, source), source);
  }

  /** Loads an already parsed model. */
  static fromModelProto(model: ModelProto, source: string): SentencePieceProcessor {
    return new SentencePieceProcessor(model, source);
  }

  /** Number of pieces (ids are 0 … vocabSize − 1). */
  get vocabSize(): number {
    return this.model.pieces.length;
  }

  /** Id of the unknown piece (`unk_id()`). */
  get unkId(): number {
    return this.unk;
  }

  /** Id of the BOS piece, or -1 when it is not a CONTROL piece (`bos_id()`). */
  get bosId(): number {
    return this.controlId(this.model.trainerSpec.bosPiece);
  }

  /** Id of the EOS piece, or -1 (`eos_id()`). */
  get eosId(): number {
    return this.controlId(this.model.trainerSpec.eosPiece);
  }

  /** Id of the padding piece, or -1 (`pad_id()`). */
  get padId(): number {
    return this.controlId(this.model.trainerSpec.padPiece);
  }

  private controlId(piece: string): number {
    const id = this.pieceToId(piece);
    return this.isControl(id) ? id : -1;
  }

  /** The id of a piece; the unknown id when the vocabulary lacks it (as the library). */
  pieceToId(piece: string): number {
    return this.reservedIds.get(piece) ?? this.normalIds.get(piece) ?? this.unk;
  }

  /** The id of a piece, or undefined when the vocabulary lacks it. */
  findPiece(piece: string): number | undefined {
    return this.reservedIds.get(piece) ?? this.normalIds.get(piece);
  }

  /** The piece of an id; throws a RangeError outside 0 … vocabSize − 1. */
  idToPiece(id: number): string {
    const p = this.model.pieces[id];
    if (!Number.isInteger(id) || p === undefined)
      throw new RangeError(`${this.source}: id ${id} is outside the vocabulary (0 … ${this.vocabSize - 1})`);
    return p.piece;
  }

  private typeOf(id: number): number {
    return this.model.pieces[id]?.type ?? 0;
  }

  /** Whether an id is the unknown piece. */
  isUnknown(id: number): boolean {
    return this.typeOf(id) === PieceType.UNKNOWN;
  }

  /** Whether an id is a control piece (`<pad>`, `</s>`, ...). */
  isControl(id: number): boolean {
    return this.typeOf(id) === PieceType.CONTROL;
  }

  /** Whether an id is a byte piece `<0xXX>`. */
  isByte(id: number): boolean {
    return this.typeOf(id) === PieceType.BYTE;
  }

  /** The normalized form of a text (▁ for spaces), as the model sees it. */
  normalize(text: string | Uint8Array): string {
    return utf8ToString(this.normalizer.normalize(typeof text === 'string' ? utf8Encode(text) : text));
  }

  /** Encodes a text (a string, or UTF-8 bytes that may be malformed) into pieces and ids. */
  encode(text: string | Uint8Array): EncodedPiece[] {
    const normalized = this.normalizer.normalize(typeof text === 'string' ? utf8Encode(text) : text);
    const byteFallback = this.model.trainerSpec.byteFallback;
    const out: Array<{ id: number; start: number; end: number }> = [];
    let prevUnk = false;
    for (const seg of this.unigram.encode(normalized)) {
      const isUnk = this.isUnknown(seg.id);
      if (isUnk && byteFallback) {
        for (let i = seg.start; i < seg.end; i++) {
          const b = normalized[i] as number;
          out.push({ id: this.pieceToId(byteToPiece(b)), start: i, end: i + 1 });
        }
      } else if (isUnk && prevUnk) {
        // Merged so that a decoder sees one unknown token for a run of unknown characters.
        (out[out.length - 1] as { end: number }).end = seg.end;
      } else out.push({ ...seg });
      prevUnk = isUnk;
    }
    return out.map((s) =>
      this.isByte(s.id)
        ? { id: s.id, piece: this.idToPiece(s.id) }
        : { id: s.id, piece: utf8ToString(normalized, s.start, s.end) },
    );
  }

  /** The ids of a text (no BOS/EOS). */
  encodeIds(text: string | Uint8Array): number[] {
    return this.encode(text).map((p) => p.id);
  }

  /** The pieces of a text. */
  encodePieces(text: string | Uint8Array): string[] {
    return this.encode(text).map((p) => p.piece);
  }

  /** Text of ids as the library decodes them: control pieces vanish, `<unk>` prints as unk_surface (" ⁇ "). */
  decodeIds(ids: ArrayLike<number>): string {
    const { normalizerSpec, trainerSpec } = this.model;
    const stripBosWs = normalizerSpec.addDummyPrefix || normalizerSpec.removeExtraWhitespaces;
    const text: number[] = [];
    const run: number[] = [];
    const flushBytes = (): void => {
      const bytes = Uint8Array.from(run);
      for (let i = 0; i < bytes.length;) {
        const n = validCharLength(bytes, i, bytes.length);
        if (n === 0) text.push(0xef, 0xbf, 0xbd);
        else for (let k = 0; k < n; k++) text.push(bytes[i + k] as number);
        i += n === 0 ? 1 : n;
      }
      run.length = 0;
    };
    let isBosWs = true;
    let bosWsSeen = false;
    for (const raw of Array.from(ids)) {
      let piece = this.idToPiece(raw);
      // The library decodes the pieces, looking each id up again from its text.
      const id = this.pieceToId(piece);
      if (this.isByte(id)) {
        run.push(parseInt(piece.slice(3, 5), 16));
        continue;
      }
      flushBytes();
      if (bosWsSeen || text.length > 0) isBosWs = false;
      bosWsSeen = false;
      if (this.isControl(id)) piece = '';
      else if (this.isUnknown(id)) piece = trainerSpec.unkSurface;
      else if (isBosWs && stripBosWs && piece.startsWith('\u2581')) {
        piece = piece.slice(1);
        // With remove_extra_whitespaces every leading ▁ piece is stripped, not only the first.
        bosWsSeen = !normalizerSpec.removeExtraWhitespaces;
      }
      for (const b of utf8Encode(piece.replaceAll('\u2581', ' '))) text.push(b);
    }
    flushBytes();
    const bytes = Uint8Array.from(text);
    return utf8ToString(this.denormalizer === null ? bytes : this.denormalizer.normalize(bytes));
  }

  /** Name of an id's piece type, for messages. */
  pieceType(id: number): string {
    return pieceTypeName(this.typeOf(id));
  }
}
