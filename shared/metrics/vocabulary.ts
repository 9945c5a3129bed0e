/**
 * The Open-Sora Nano prompt vocabulary and grammar (source of truth: `tools/nano/data.py` and
 * `tools/nano/VOCABULARY.md`): `a <colour> <shape> <motion> on a <background> background`.
 */

/** Object colours (RGB 0..255), as `data.COLOURS`. */
export const NANO_COLOURS = {
  red: [230, 30, 30],
  green: [30, 200, 40],
  blue: [40, 80, 255],
  yellow: [250, 225, 20],
  purple: [160, 40, 220],
  white: [245, 245, 245],
} as const satisfies Record<string, readonly [number, number, number]>;

/** Backgrounds (RGB 0..255), as `data.BACKGROUNDS`. */
export const NANO_BACKGROUNDS = {
  black: [0, 0, 0],
  white: [255, 255, 255],
  gray: [128, 128, 128],
  brown: [100, 60, 25],
} as const satisfies Record<string, readonly [number, number, number]>;

/** Shapes, as `data.SHAPES`. */
export const NANO_SHAPES = ['circle', 'square', 'triangle'] as const;

/** Motion phrases as they appear in a caption, as `data.MOTIONS`. */
export const NANO_MOTIONS = [
  'moving left',
  'moving right',
  'moving up',
  'moving down',
  'growing',
  'shrinking',
] as const;

/** A colour word of the vocabulary. */
export type NanoColour = keyof typeof NANO_COLOURS;
/** A background word of the vocabulary. */
export type NanoBackground = keyof typeof NANO_BACKGROUNDS;
/** A shape word of the vocabulary. */
export type NanoShape = (typeof NANO_SHAPES)[number];
/** A motion phrase of the vocabulary. */
export type NanoMotion = (typeof NANO_MOTIONS)[number];

/** The four attributes of a Nano caption. */
export interface NanoPrompt {
  readonly colour: NanoColour;
  readonly shape: NanoShape;
  readonly motion: NanoMotion;
  readonly background: NanoBackground;
}

/** The colour list in vocabulary order. */
export const NANO_COLOUR_NAMES = Object.keys(NANO_COLOURS) as NanoColour[];
/** The background list in vocabulary order. */
export const NANO_BACKGROUND_NAMES = Object.keys(NANO_BACKGROUNDS) as NanoBackground[];

/** (colour, background) pairs the training data never contains (no contrast): white on white. */
function isExcludedCombo(colour: NanoColour, background: NanoBackground): boolean {
  return colour === 'white' && background === 'white';
}

/** The caption of a prompt: `a <colour> <shape> <motion> on a <background> background`. */
export function formatPrompt(p: NanoPrompt): string {
  return `a ${p.colour} ${p.shape} ${p.motion} on a ${p.background} background`;
}

/** Every caption of the vocabulary (414: 6 colours × 3 shapes × 6 motions × 4 backgrounds minus white on white). */
export function allNanoPrompts(): NanoPrompt[] {
  const out: NanoPrompt[] = [];
  for (const colour of NANO_COLOUR_NAMES)
    for (const shape of NANO_SHAPES)
      for (const motion of NANO_MOTIONS)
        for (const background of NANO_BACKGROUND_NAMES)
          if (!isExcludedCombo(colour, background)) out.push({ colour, shape, motion, background });
  return out;
}

/** Thrown by {@link parsePrompt}; the message names the offending word, its position and what was expected. */
export class PromptParseError extends Error {
  override readonly name = 'PromptParseError';
  constructor(
    message: string,
    /** The offending word ('' when the prompt ended early). */
    readonly word: string,
    /** 1-based word position in the prompt. */
    readonly position: number,
  ) {
    super(message);
  }
}

const has = <T extends string>(list: readonly T[], w: string): w is T =>
  (list as readonly string[]).includes(w);

function describeWord(w: string): string {
  if (has(NANO_COLOUR_NAMES, w) && has(NANO_BACKGROUND_NAMES, w)) return ' (a colour / background)';
  if (has(NANO_COLOUR_NAMES, w)) return ' (a colour)';
  if (has(NANO_BACKGROUND_NAMES, w)) return ' (a background)';
  if (has(NANO_SHAPES, w)) return ' (a shape)';
  if (['moving', 'left', 'right', 'up', 'down', 'growing', 'shrinking'].includes(w))
    return ' (a motion word)';
  if (['a', 'on', 'background'].includes(w)) return ' (a grammar word)';
  return ' (not in the vocabulary)';
}

/**
 * Parses a Nano caption: `a <colour> <shape> <motion> on a <background> background`, case-insensitive, any
 * whitespace between words. Throws {@link PromptParseError} naming the first unknown or misplaced word (e.g.
 * `unknown colour 'orange' at word 2; expected one of red, green, …`), a prompt that ends early, trailing words, and
 * the excluded `white … on a white background` (no contrast; `allowExcluded` accepts it).
 */
export function parsePrompt(prompt: string, options: { allowExcluded?: boolean } = {}): NanoPrompt {
  const words = prompt
    .trim()
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  let i = 0;
  const fail = (expected: string, kind?: string): never => {
    const w = words[i];
    if (w === undefined)
      throw new PromptParseError(
        `prompt ends after word ${i}; expected ${expected} (grammar: a <colour> <shape> <motion> on a <background> background)`,
        '',
        i + 1,
      );
    const unknown = kind !== undefined && describeWord(w) === ' (not in the vocabulary)';
    throw new PromptParseError(
      unknown
        ? `unknown ${kind} '${w}' at word ${i + 1}; expected ${expected}`
        : `unexpected word '${w}'${describeWord(w)} at word ${i + 1}; expected ${expected}`,
      w,
      i + 1,
    );
  };
  const literal = (lit: string): void => {
    if (words[i] !== lit) fail(`'${lit}'`);
    i++;
  };
  const oneOf = <T extends string>(list: readonly T[], kind: string): T => {
    const w = words[i];
    if (w === undefined || !has(list, w)) return fail(`a ${kind}: one of ${list.join(', ')}`, kind);
    i++;
    return w;
  };
  literal('a');
  const colour = oneOf(NANO_COLOUR_NAMES, 'colour');
  const shape = oneOf(NANO_SHAPES, 'shape');
  let motion: NanoMotion;
  if (words[i] === 'moving') {
    i++;
    const dir = oneOf(['left', 'right', 'up', 'down'] as const, 'direction');
    motion = `moving ${dir}`;
  } else {
    const m = oneOf(['growing', 'shrinking', 'moving'] as const, 'motion');
    motion = m as NanoMotion; // 'moving' was handled above, so m is growing | shrinking
  }
  literal('on');
  literal('a');
  const background = oneOf(NANO_BACKGROUND_NAMES, 'background');
  literal('background');
  if (i < words.length) fail('the end of the prompt');
  if (!options.allowExcluded && isExcludedCombo(colour, background))
    throw new PromptParseError(
      `'white … on a white background' is not in the vocabulary (no contrast between object and background)`,
      'white',
      2,
    );
  return { colour, shape, motion, background };
}
