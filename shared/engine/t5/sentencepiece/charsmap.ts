/**
 * SentencePiece's precompiled charsmap (normalizer.cc `DecodePrecompiledCharsMap`): `<u32 LE trie size><darts-clone
 * double array><blob of NUL-terminated replacement strings>`; a trie value is the byte offset of the replacement
 * in the blob. The normalizer applies the longest key that prefixes the input.
 */
import { buildDoubleArray, DoubleArray } from './darts';
import { SentencePieceError } from './error';
import { utf8Encode } from './utf8';

/** The longest rule matching at a position. */
export interface CharsMapMatch {
  /** Input bytes the rule consumes. */
  length: number;
  /** What they become (may be empty: the rule deletes them). */
  replacement: Uint8Array;
}

/** A decoded precompiled charsmap. */
export class PrecompiledCharsMap {
  private readonly cache = new Map<number, Uint8Array>();

  private constructor(
    private readonly trie: DoubleArray,
    private readonly normalized: Uint8Array,
    private readonly file: string,
  ) {}

  /** Decodes the blob of `normalizer_spec.precompiled_charsmap`; throws a SentencePieceError naming `file`. */
  static decode(blob: Uint8Array, file: string): PrecompiledCharsMap {
    const fail = (what: string): never => {
      throw new SentencePieceError(file, `precompiled_charsmap is broken: ${what}`);
    };
    if (blob.length <= 4) fail(`${blob.length} bytes, too short for the trie size`);
    const trieBytes = new DataView(blob.buffer, blob.byteOffset, 4).getUint32(0, true);
    if (trieBytes > blob.length - 4) fail(`trie size ${trieBytes} exceeds the ${blob.length}-byte blob`);
    if (trieBytes % 4 !== 0 || trieBytes === 0)
      fail(`trie size ${trieBytes} is not a positive multiple of 4`);
    const units = new Uint32Array(trieBytes / 4);
    const dv = new DataView(blob.buffer, blob.byteOffset + 4, trieBytes);
    for (let i = 0; i < units.length; i++) units[i] = dv.getUint32(i * 4, true);
    return new PrecompiledCharsMap(new DoubleArray(units), blob.slice(4 + trieBytes), file);
  }

  /** The longest rule whose key prefixes `bytes[pos, end)`, or null. */
  match(bytes: Uint8Array, pos: number, end: number): CharsMapMatch | null {
    const m = this.trie.longestPrefix(bytes, pos, end);
    if (m === null) return null;
    return { length: m.length, replacement: this.replacement(m.value) };
  }

  private replacement(at: number): Uint8Array {
    let r = this.cache.get(at);
    if (r === undefined) {
      if (at >= this.normalized.length)
        throw new SentencePieceError(
          this.file,
          `precompiled_charsmap is broken: a rule points at byte ${at} of a ${this.normalized.length}-byte replacement blob`,
        );
      let end = at;
      while (end < this.normalized.length && this.normalized[end] !== 0) end++;
      r = this.normalized.subarray(at, end);
      this.cache.set(at, r);
    }
    return r;
  }
}

/** Packs a trie and a replacement blob as a precompiled charsmap (`EncodePrecompiledCharsMap`). */
export function encodeCharsMap(trie: Uint32Array, normalized: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + trie.length * 4 + normalized.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, trie.length * 4, true);
  trie.forEach((u, i) => dv.setUint32(4 + i * 4, u, true));
  out.set(normalized, 4 + trie.length * 4);
  return out;
}

/** Compiles rules (source text → replacement text) into a precompiled charsmap, for hand-made and test models. */
export function compileCharsMap(rules: ReadonlyArray<readonly [string, string]>): Uint8Array {
  const blob: number[] = [];
  const offsets = new Map<string, number>();
  const entries: Array<[Uint8Array, number]> = [];
  for (const [from, to] of rules) {
    let at = offsets.get(to);
    if (at === undefined) {
      at = blob.length;
      offsets.set(to, at);
      blob.push(...utf8Encode(to), 0);
    }
    entries.push([utf8Encode(from), at]);
  }
  return encodeCharsMap(buildDoubleArray(entries), Uint8Array.from(blob));
}
