/**
 * T5 tokenisation (spec 8, "Tokenisation") with two backends behind one interface: Hugging Face's pure-JS
 * `@huggingface/tokenizers` on a `tokenizer.json` (Unigram / SentencePiece conversions, the nano model's word-level
 * vocabulary), and our own SentencePiece unigram encoder on a raw `spiece.model` (what DeepFloyd/t5-v1_1-xxl ships),
 * id-exact with the C++ library. Also the prompt preparation of the Python code and of the app (spec 8 "Prompt
 * preparation", spec 10 item 4).
 *
 * `encode` mirrors `T5TokenizerFast(prompt, max_length=L, padding="max_length", truncation=True)`: the pieces
 * without special tokens, truncated to L − 1, then EOS (id 1) appended — our code appends it, so whatever
 * post-processor the tokenizer.json has, truncation never drops the EOS — then pad id 0 up to L.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { SentencePieceError } from './sentencepiece/error';
import { SentencePieceProcessor } from './sentencepiece/processor';

/** EOS id of the T5 vocabulary (`</s>`). */
export const T5_EOS_ID = 1;
/** Pad id of the T5 vocabulary (`<pad>`). */
export const T5_PAD_ID = 0;
/** Open-Sora's `model_max_length` for T5. */
export const T5_MAX_LENGTH = 300;

/** A tokenised prompt. */
export interface T5Tokens {
  /** Token ids [L]: pieces, EOS, then padding. */
  ids: BigInt64Array;
  /** 1 for the pieces and EOS, 0 for padding [L]. */
  mask: Int32Array;
  /** Tokens before padding, EOS included. */
  validLength: number;
  /** True when the prompt had more than L − 1 pieces and was cut. */
  truncated: boolean;
  /** Pieces the vocabulary lacks, encoded as the unknown token (a run of unknown characters is one piece). */
  unknown: string[];
}

/** Options of `encode`. */
export interface T5EncodeOptions {
  /** Padded length L (default 300). */
  maxLength?: number;
}

/** Which backend a tokenizer runs on. */
export type T5TokenizerKind = 'tokenizer.json' | 'sentencepiece';

/** What both backends provide: pieces of a text without special tokens, and text of ids. */
interface TokenizerBackend {
  readonly kind: T5TokenizerKind;
  /** Ids and pieces without special tokens; `unknown` lists the pieces that became the unknown token. */
  pieces(text: string): { ids: number[]; tokens: string[]; unknown: string[] };
  /** Text of ids, special tokens skipped. */
  decode(ids: number[]): string;
}

/** `@huggingface/tokenizers` on a parsed tokenizer.json. */
class JsonBackend implements TokenizerBackend {
  readonly kind = 'tokenizer.json';

  constructor(
    private readonly tok: Tokenizer,
    /** Id of the model's unknown token, if it declares one (`model.unk_token` / `unk_id`). */
    private readonly unkId: number | undefined,
  ) {}

  pieces(text: string): { ids: number[]; tokens: string[]; unknown: string[] } {
    const encoded = this.tok.encode(text, { add_special_tokens: false });
    // Word-level vocabularies (the nano model's) can leave out-of-vocabulary ids undefined: map them to the declared
    // unknown token, as the Rust tokenizers library does, and report the words.
    const unknown: string[] = [];
    const ids = encoded.ids.map((id, i) => {
      const piece = encoded.tokens[i] ?? '?';
      if (id !== undefined && id !== null) {
        if (id === this.unkId) unknown.push(piece);
        return id;
      }
      if (this.unkId === undefined)
        throw new Error(
          `T5 tokenizer: '${piece}' is not in the vocabulary and the tokenizer has no unknown token`,
        );
      unknown.push(piece);
      return this.unkId;
    });
    return { ids, tokens: encoded.tokens, unknown };
  }

  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: true });
  }
}

/** Our SentencePiece unigram encoder on a spiece.model. */
class SentencePieceBackend implements TokenizerBackend {
  readonly kind = 'sentencepiece';

  constructor(private readonly sp: SentencePieceProcessor) {}

  pieces(text: string): { ids: number[]; tokens: string[]; unknown: string[] } {
    const encoded = this.sp.encode(text);
    return {
      ids: encoded.map((p) => p.id),
      tokens: encoded.map((p) => p.piece),
      unknown: encoded.filter((p) => p.id === this.sp.unkId).map((p) => p.piece),
    };
  }

  decode(ids: number[]): string {
    // As `skip_special_tokens`: control pieces (<pad>, </s>) and <unk> are dropped rather than printed as " ⁇ ".
    return this.sp.decodeIds(ids.filter((id) => id !== this.sp.unkId && !this.sp.isControl(id)));
  }
}

/** The T5 SentencePiece tokenizer. */
export class T5Tokenizer {
  private constructor(
    private readonly backend: TokenizerBackend,
    /** The words of a word-level vocabulary (the nano model's), specials left out; null for subword vocabularies. */
    readonly vocabularyWords: readonly string[] | null = null,
  ) {}

  /** Builds the tokenizer from a parsed `tokenizer.json`; throws a clear error when it is not one. */
  static fromJson(tokenizerJson: unknown): T5Tokenizer {
    if (typeof tokenizerJson !== 'object' || tokenizerJson === null || Array.isArray(tokenizerJson))
      throw new Error('T5 tokenizer: tokenizer.json must be a JSON object');
    const model = (tokenizerJson as Record<string, unknown>)['model'];
    if (typeof model !== 'object' || model === null)
      throw new Error('T5 tokenizer: tokenizer.json has no "model" object');
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(tokenizerJson, {});
    } catch (e) {
      throw new Error(`T5 tokenizer: could not build the tokenizer (${(e as Error).message})`);
    }
    const eos = tok.token_to_id('</s>');
    if (eos !== undefined && eos !== T5_EOS_ID)
      throw new Error(`T5 tokenizer: '</s>' has id ${eos}, the T5 vocabulary has it at ${T5_EOS_ID}`);
    const pad = tok.token_to_id('<pad>');
    if (pad !== undefined && pad !== T5_PAD_ID)
      throw new Error(`T5 tokenizer: '<pad>' has id ${pad}, the T5 vocabulary has it at ${T5_PAD_ID}`);
    const m = model as Record<string, unknown>;
    const unkToken = m['unk_token'];
    // WordLevel/BPE name the unknown token; Unigram gives its index.
    const unkId =
      typeof unkToken === 'string'
        ? tok.token_to_id(unkToken)
        : typeof m['unk_id'] === 'number'
          ? m['unk_id']
          : undefined;
    return new T5Tokenizer(new JsonBackend(tok, unkId), wordLevelVocabulary(tokenizerJson, m));
  }

  /**
   * Builds the tokenizer from the bytes of a SentencePiece unigram model (`spiece.model`); errors name `source`,
   * including a model whose `<pad>` / `</s>` are not at T5's ids 0 / 1.
   */
  static fromSentencePiece(bytes: Uint8Array, source: string): T5Tokenizer {
    const sp = SentencePieceProcessor.fromBytes(bytes, source);
    for (const [piece, want] of [
      ['</s>', T5_EOS_ID],
      ['<pad>', T5_PAD_ID],
    ] as const) {
      const id = sp.findPiece(piece);
      if (id === undefined)
        throw new SentencePieceError(
          source,
          `T5 tokenizer: the SentencePiece model has no '${piece}' piece (T5 has it at ${want})`,
        );
      if (id !== want)
        throw new SentencePieceError(
          source,
          `T5 tokenizer: '${piece}' has id ${id}, the T5 vocabulary has it at ${want}`,
        );
    }
    return new T5Tokenizer(new SentencePieceBackend(sp));
  }

  /** Which backend this tokenizer runs on. */
  get kind(): T5TokenizerKind {
    return this.backend.kind;
  }

  /** The pieces of a text (no EOS, no padding), for inspection. */
  tokenize(text: string): string[] {
    return this.backend.pieces(text).tokens;
  }

  /** Tokenises one prompt: pieces (truncated to L − 1), EOS, pad to L. */
  encode(text: string, opts: T5EncodeOptions = {}): T5Tokens {
    const L = opts.maxLength ?? T5_MAX_LENGTH;
    if (!Number.isInteger(L) || L < 1)
      throw new Error(`T5 tokenizer: maxLength must be a positive integer, got ${L}`);
    const { ids: pieces, unknown } = this.backend.pieces(text);
    const keep = Math.min(pieces.length, L - 1);
    const ids = new BigInt64Array(L).fill(BigInt(T5_PAD_ID));
    const mask = new Int32Array(L);
    for (let i = 0; i < keep; i++) ids[i] = BigInt(pieces[i] as number);
    ids[keep] = BigInt(T5_EOS_ID);
    mask.fill(1, 0, keep + 1);
    return { ids, mask, validLength: keep + 1, truncated: pieces.length > keep, unknown };
  }

  /** Text of some ids (special tokens skipped). */
  decode(ids: ArrayLike<number | bigint>): string {
    return this.backend.decode(Array.from(ids, Number));
  }
}

/** Options of `preparePrompt`. */
export interface PreparePromptOptions {
  /**
   * Aesthetic score suffix ` aesthetic score: <v>.`. `python`: a number formatted with one decimal (default 6.5 as
   * `scripts/inference.py`); `app`: the user's value verbatim (default: none). null: no suffix.
   */
  aestheticScore?: number | string | null;
  /** `python`: Open-Sora's inference script; `app`: the iPhone app (no cleaning, no lower-casing). */
  style: 'python' | 'app';
}

/**
 * Prepares a prompt for tokenisation. `app` appends the score verbatim and nothing else. `python` appends the
 * score formatted `.1f`, then applies a SUBSET of Open-Sora's `text_preprocessing` / `clean_caption`: lower-case,
 * whitespace runs collapsed to one space, ends trimmed. NOT reproduced: ftfy text fixing, URL unquoting and
 * removal, BeautifulSoup HTML stripping, @nickname / CJK / IP / file-name / hashtag removal, quote and dash
 * unification and the punctuation clean-ups — prompts relying on those can tokenise differently from Python.
 */
export function preparePrompt(prompt: string, opts: PreparePromptOptions): string {
  if (opts.style === 'app') {
    const s = opts.aestheticScore;
    return s === undefined || s === null ? prompt : `${prompt} aesthetic score: ${String(s)}.`;
  }
  const raw = opts.aestheticScore === undefined ? 6.5 : opts.aestheticScore;
  let text = prompt;
  if (raw !== null) {
    const score = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isFinite(score))
      throw new Error(`preparePrompt: aesthetic score ${JSON.stringify(raw)} is not a number`);
    text = `${text} aesthetic score: ${formatFixed1(score)}.`;
  }
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Python's `f"{x:.1f}"`: the exact binary value rounded to one decimal, exact ties to even. */
function formatFixed1(x: number): string {
  // toFixed also rounds the exact binary value but breaks exact ties away from zero. The only exact ties at one
  // decimal are odd multiples of 1/4 (0.25, 0.75, ...), where x·10 is exact.
  const quarters = x * 4;
  if (Number.isInteger(quarters) && Math.abs(quarters % 2) === 1 && Math.abs(quarters) < 2 ** 50) {
    const down = Math.floor(x * 10);
    const even = down % 2 === 0 ? down : down + 1;
    return (even / 10).toFixed(1);
  }
  return x.toFixed(1);
}

/** A WordLevel model's words in id order, without the special tokens (`added_tokens` marked special). */
function wordLevelVocabulary(json: object, model: Record<string, unknown>): string[] | null {
  const vocab = model['vocab'];
  if (model['type'] !== 'WordLevel' || typeof vocab !== 'object' || vocab === null) return null;
  const added = (json as { added_tokens?: unknown }).added_tokens;
  const special = new Set(
    Array.isArray(added)
      ? added
          .filter((t): t is { content: string; special: true } => t?.special === true)
          .map((t) => t.content)
      : [],
  );
  return Object.entries(vocab as Record<string, unknown>)
    .filter(([word, id]) => typeof id === 'number' && !special.has(word))
    .sort(([, a], [, b]) => (a as number) - (b as number))
    .map(([word]) => word);
}
