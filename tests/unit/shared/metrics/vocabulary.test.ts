import { describe, expect, it } from 'vitest';
import { allNanoPrompts, formatPrompt, parsePrompt, PromptParseError } from '../../../../shared/metrics';

describe('parsePrompt', () => {
  it('parses every caption of the vocabulary (414) and round-trips formatPrompt', () => {
    const all = allNanoPrompts();
    expect(all).toHaveLength(414);
    for (const p of all) expect(parsePrompt(formatPrompt(p))).toEqual(p);
  });
  it('is case- and whitespace-insensitive', () => {
    expect(parsePrompt('  A Red  Circle moving RIGHT on a black background ')).toEqual({
      colour: 'red',
      shape: 'circle',
      motion: 'moving right',
      background: 'black',
    });
    expect(parsePrompt('a blue square growing on a white background').motion).toBe('growing');
  });
  const bad: [string, RegExp, string, number][] = [
    [
      'a orange circle moving right on a black background',
      /unknown colour 'orange' at word 2.*red, green/,
      'orange',
      2,
    ],
    ['a red hexagon growing on a black background', /unknown shape 'hexagon' at word 3/, 'hexagon', 3],
    [
      'a red circle moving sideways on a black background',
      /unknown direction 'sideways' at word 5/,
      'sideways',
      5,
    ],
    ['a red circle spinning on a black background', /unknown motion 'spinning' at word 4/, 'spinning', 4],
    ['a red circle growing on a pink background', /unknown background 'pink' at word 7/, 'pink', 7],
    [
      'a circle red growing on a black background',
      /unexpected word 'circle' \(a shape\) at word 2/,
      'circle',
      2,
    ],
    ['the red circle growing on a black background', /unexpected word 'the'.*expected 'a'/, 'the', 1],
    ['a red circle growing on a black', /ends after word 7; expected 'background'/, '', 8],
    ['a red circle growing on a black background now', /unexpected word 'now'.*end of the prompt/, 'now', 9],
    ['a white square growing on a white background', /not in the vocabulary \(no contrast/, 'white', 2],
    ['', /ends after word 0; expected 'a'/, '', 1],
  ];
  it.each(bad)('rejects %j', (prompt, message, word, position) => {
    let err: unknown;
    try {
      parsePrompt(prompt);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PromptParseError);
    expect((err as PromptParseError).message).toMatch(message);
    expect((err as PromptParseError).word).toBe(word);
    expect((err as PromptParseError).position).toBe(position);
  });
  it('accepts white on white when asked', () => {
    expect(parsePrompt('a white square growing on a white background', { allowExcluded: true }).colour).toBe(
      'white',
    );
  });
});
