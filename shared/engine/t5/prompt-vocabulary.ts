/**
 * What a model's tokenizer makes of a prompt's words, checked before a run: the words its vocabulary lacks (each
 * becomes the unknown token, which steers nothing) and, for a short word-level vocabulary like Open-Sora Nano's,
 * the words it knows. The CLI warns with it before `odsora generate` runs; the studio's composer shows it under
 * the prompt (through `devices.preflight`).
 */
import type { T5Tokenizer } from './tokenizer';

/** The most unknown words reported for one prompt. */
export const MAX_UNKNOWN_WORDS = 64;
/** The longest vocabulary offered as a word list; a bigger one (a full T5's 32,000 pieces) is not listed. */
export const MAX_LISTED_VOCABULARY = 512;
/** The longest word reported or listed (longer ones are cut). */
export const MAX_WORD_CHARS = 64;

/** A prompt checked against a model's vocabulary. */
export interface PromptVocabulary {
  /** Distinct pieces the vocabulary lacks, in prompt order (normalised as the tokenizer does: nano lower-cases). */
  unknownWords: string[];
  /** The words the model knows, when its vocabulary is a short word list; null otherwise. */
  vocabulary: string[] | null;
}

/** Checks the prompt as the model will read it (`preparedPrompt`: after the prompt style's preparation). */
export function promptVocabulary(tokenizer: T5Tokenizer, preparedPrompt: string): PromptVocabulary {
  const { unknown } = tokenizer.encode(preparedPrompt);
  const words = tokenizer.vocabularyWords;
  return {
    unknownWords: [...new Set(unknown.map((w) => w.slice(0, MAX_WORD_CHARS)))].slice(0, MAX_UNKNOWN_WORDS),
    vocabulary:
      words !== null && words.length <= MAX_LISTED_VOCABULARY
        ? words.map((w) => w.slice(0, MAX_WORD_CHARS))
        : null,
  };
}

/** The warning for a checked prompt (null when every word is known): what is unknown, what it means, what is known. */
export function unknownWordsWarning(check: PromptVocabulary): string | null {
  if (check.unknownWords.length === 0) return null;
  const quoted = check.unknownWords.map((w) => `'${w}'`).join(', ');
  const known = check.vocabulary === null ? '' : ` Words it knows: ${check.vocabulary.join(' ')}.`;
  return `the model's vocabulary lacks ${quoted}: encoded as the unknown token, which steers nothing.${known}`;
}
