/**
 * SentencePiece's normalizer (normalizer.cc `Normalizer::Normalize`), byte for byte. Per step it takes the longest
 * user-defined symbol at the input position verbatim, else the longest charsmap rule's replacement, else one
 * UTF-8 character (an invalid byte becomes U+FFFD). Around that: leading whitespace dropped, the dummy prefix ▁,
 * runs of spaces squeezed (also across replacements), spaces escaped as U+2581, trailing ones dropped.
 */
import type { ByteTrie } from './byte-trie';
import { PrecompiledCharsMap } from './charsmap';
import type { NormalizerSpec } from './model-proto';
import { validCharLength } from './utf8';

const SPACE = 0x20;
/** U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's whitespace symbol. */
const SPACE_SYMBOL = Uint8Array.of(0xe2, 0x96, 0x81);
const REPLACEMENT_CHAR = Uint8Array.of(0xef, 0xbf, 0xbd);

/** How the normalizer runs, beyond its spec. */
export interface NormalizerOptions {
  /** TrainerSpec.treat_whitespace_as_suffix: the dummy ▁ goes at the end. */
  treatWhitespaceAsSuffix?: boolean;
  /** User-defined symbols, matched first and never normalized (the model's PrefixMatcher). */
  userDefined?: ByteTrie | null;
}

/** One normalization step: `bytes[start, end)` is the output for `consumed` input bytes. */
interface Step {
  bytes: Uint8Array;
  start: number;
  end: number;
  consumed: number;
}

/** A normalizer for one NormalizerSpec. */
export class Normalizer {
  private readonly charsMap: PrecompiledCharsMap | null;
  private readonly suffix: boolean;
  private readonly userDefined: ByteTrie | null;

  constructor(
    private readonly spec: NormalizerSpec,
    file: string,
    opts: NormalizerOptions = {},
  ) {
    this.charsMap =
      spec.precompiledCharsmap.length > 0 ? PrecompiledCharsMap.decode(spec.precompiledCharsmap, file) : null;
    this.suffix = opts.treatWhitespaceAsSuffix ?? false;
    this.userDefined = opts.userDefined ?? null;
  }

  /** `NormalizePrefix`: what the input at `pos` becomes, and how many bytes that consumes. */
  private prefix(input: Uint8Array, pos: number): Step {
    const end = input.length;
    if (this.userDefined !== null) {
      const n = this.userDefined.longestPrefix(input, pos, end);
      if (n > 0) return { bytes: input, start: pos, end: pos + n, consumed: n };
    }
    const m = this.charsMap?.match(input, pos, end) ?? null;
    if (m !== null) return { bytes: m.replacement, start: 0, end: m.replacement.length, consumed: m.length };
    const n = validCharLength(input, pos, end);
    // A malformed byte becomes U+FFFD (three bytes out) but consumes only itself.
    if (n === 0) return { bytes: REPLACEMENT_CHAR, start: 0, end: 3, consumed: 1 };
    return { bytes: input, start: pos, end: pos + n, consumed: n };
  }

  /** Normalizes UTF-8 bytes (possibly malformed) into the string the model segments. */
  normalize(input: Uint8Array): Uint8Array {
    const { addDummyPrefix, removeExtraWhitespaces: squeeze, escapeWhitespaces: escape } = this.spec;
    let pos = 0;
    if (squeeze) {
      // Leading input whose normalization is exactly one space is dropped.
      while (pos < input.length) {
        const p = this.prefix(input, pos);
        if (p.end - p.start !== 1 || p.bytes[p.start] !== SPACE) break;
        pos += p.consumed;
      }
    }
    if (pos >= input.length) return new Uint8Array(0);

    const out = new ByteSink(escape);
    if (!this.suffix && addDummyPrefix) out.push(SPACE);
    let isPrevSpace = squeeze;
    while (pos < input.length) {
      const p = this.prefix(input, pos);
      let s = p.start;
      // Spaces that open a step are dropped after a step that ended in one.
      while (isPrevSpace && s < p.end && p.bytes[s] === SPACE) s++;
      if (s < p.end) {
        for (let i = s; i < p.end; i++) out.push(p.bytes[i] as number);
        isPrevSpace = p.bytes[p.end - 1] === SPACE;
      }
      pos += p.consumed;
      if (!squeeze) isPrevSpace = false;
    }
    // Trailing spaces go, as the escaped symbol or a plain space — a literal ▁ from the input included.
    if (squeeze) out.trimTrailing(escape ? SPACE_SYMBOL : Uint8Array.of(SPACE));
    if (this.suffix && addDummyPrefix) out.push(SPACE);
    return out.bytes();
  }
}

/** Growable output that writes a space as U+2581 when escaping. */
class ByteSink {
  private buf = new Uint8Array(64);
  private n = 0;

  constructor(private readonly escape: boolean) {}

  push(b: number): void {
    if (this.n + 3 > this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    if (this.escape && b === SPACE) {
      this.buf.set(SPACE_SYMBOL, this.n);
      this.n += 3;
    } else this.buf[this.n++] = b;
  }

  trimTrailing(sym: Uint8Array): void {
    const endsWithSym = (): boolean =>
      this.n >= sym.length && sym.every((b, i) => this.buf[this.n - sym.length + i] === b);
    while (endsWithSym()) this.n -= sym.length;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}
