/**
 * The unigram model's Viterbi segmentation, as unigram_model.cc `Model::EncodeOptimized` (the library's default
 * encoder) computes it, down to float32 rounding and tie-breaking:
 * - scores are summed along the path and kept per end position as float32; a piece candidate (its score is a
 *   double there) is compared in double precision against the stored float32, an unknown one in float32;
 * - a candidate replaces the stored best only when strictly greater, so at equal scores the earliest start wins,
 *   then the shorter piece (pieces are tried shortest first), and a piece beats the unknown node;
 * - where no piece covers exactly the next character, an unknown node of score min_score − 10 spans that
 *   character, and a user-defined piece scores byte length × max_score − 0.1 so that it always wins;
 * - UNUSED pieces are never produced.
 */
import { ByteTrie, TRIE_ROOT } from './byte-trie';
import type { ModelPiece } from './model-proto';
import { PieceType } from './model-proto';
import { oneCharLen, utf8Encode } from './utf8';

/** One segment of the normalized bytes. */
export interface Segment {
  /** Byte range in the normalized input. */
  start: number;
  end: number;
  /** Vocabulary id (the unknown id for an unknown segment). */
  id: number;
}

const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;
const UNK_PENALTY = 10;

/** A unigram language model over a vocabulary. */
export class UnigramModel {
  /** NORMAL, USER_DEFINED and UNUSED pieces by UTF-8 bytes (the library's `pieces_` trie). */
  readonly trie = new ByteTrie();
  private readonly scores: Float32Array;
  private readonly types: Uint8Array;
  private readonly unkScore: number;
  private readonly maxScore: number;

  constructor(
    pieces: readonly ModelPiece[],
    /** Id of the UNKNOWN piece. */
    readonly unkId: number,
  ) {
    this.scores = Float32Array.from(pieces, (p) => p.score);
    this.types = Uint8Array.from(pieces, (p) => p.type);
    // The library starts min at FLT_MAX and max at FLT_MIN (the smallest positive float, not −FLT_MAX): with all
    // scores negative, max_score is FLT_MIN and a user-defined piece scores ≈ −0.1.
    let min = FLT_MAX;
    let max = FLT_MIN;
    pieces.forEach((p, id) => {
      if (p.type === PieceType.NORMAL) {
        min = Math.min(min, p.score);
        max = Math.max(max, p.score);
      }
      if (p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED || p.type === PieceType.UNUSED)
        this.trie.insert(utf8Encode(p.piece), id);
    });
    this.maxScore = max;
    this.unkScore = Math.fround(min - UNK_PENALTY);
  }

  /** Best segmentation of normalized UTF-8 bytes. */
  encode(normalized: Uint8Array): Segment[] {
    const size = normalized.length;
    if (size === 0) return [];
    // Per end position: best path score (float32, as the library stores it), where its last piece starts, its id.
    const best = new Float32Array(size + 1);
    const startsAt = new Int32Array(size + 1).fill(-1);
    const ids = new Int32Array(size + 1).fill(-1);
    const { trie, scores, types, unkScore } = this;
    for (let start = 0; start < size;) {
      const tillHere = best[start] as number;
      const mblen = Math.min(oneCharLen(normalized[start] as number), size - start);
      let hasSingleNode = false;
      let node = TRIE_ROOT;
      for (let end = start + 1; end <= size; end++) {
        node = trie.step(node, normalized[end - 1] as number);
        if (node < 0) break;
        const id = trie.value(node);
        if (id < 0 || types[id] === PieceType.UNUSED) continue;
        const length = end - start;
        // A double here (`length * max_score_ - 0.1` promotes the conditional), so the sum stays a double.
        const score =
          types[id] === PieceType.USER_DEFINED
            ? Math.fround(length * this.maxScore) - 0.1
            : (scores[id] as number);
        const candidate = score + tillHere;
        if (startsAt[end] === -1 || candidate > (best[end] as number)) {
          best[end] = candidate;
          startsAt[end] = start;
          ids[end] = id;
        }
        if (length === mblen) hasSingleNode = true;
      }
      if (!hasSingleNode) {
        const end = start + mblen;
        // float + float: rounded to float32 before the comparison.
        const candidate = Math.fround(unkScore + tillHere);
        if (startsAt[end] === -1 || candidate > (best[end] as number)) {
          best[end] = candidate;
          startsAt[end] = start;
          ids[end] = this.unkId;
        }
      }
      start += mblen;
    }
    const out: Segment[] = [];
    for (let end = size; end > 0;) {
      const start = startsAt[end] as number;
      // Every character boundary is reached (an unknown node at worst), so this is a bug, not bad input.
      if (start < 0) throw new Error(`unigram: no path reaches byte ${end} of the normalized text`);
      out.push({ start, end, id: ids[end] as number });
      end = start;
    }
    return out.reverse();
  }
}
