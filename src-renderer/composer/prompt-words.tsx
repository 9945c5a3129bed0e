// Under the composer's prompt: the words the chosen device's model does not know (from `devices.preflight`), marked
// in the prompt, with the words it does know offered in their place. Shown before the run: an unknown word becomes
// the model's unknown token and steers nothing, which the video alone would never tell.
import { useQuery } from '@tanstack/react-query';
import type { RunParams } from '../../shared/protocol/run';
import { preflightQuery } from '../studio/queries';
import { useStudio } from '../studio/studio-context';

/** The prompt cut into words and the gaps between them (the nano tokenizer's split: `\w+` or one other run). */
function promptParts(prompt: string): { text: string; word: string | null }[] {
  return [...prompt.matchAll(/(\w+|[^\w\s]+)|(\s+)/gu)].map((m) => ({
    text: m[0],
    word: m[1] !== undefined ? m[1].toLowerCase() : null,
  }));
}

/** `prompt` with its first `unknown` word replaced by `known` (whole word, any case). */
export function replaceFirstUnknown(prompt: string, unknown: string, known: string): string {
  const parts = promptParts(prompt);
  const i = parts.findIndex((p) => p.word === unknown);
  if (i < 0) return prompt;
  return parts.map((p, j) => (j === i ? known : p.text)).join('');
}

/** The warning, or nothing when every word is known (or the studio cannot check this device's model). */
export function PromptWords({
  deviceId,
  params,
  onReplace,
}: {
  deviceId: string;
  params: RunParams;
  /** Puts a known word in place of the first unknown one. */
  onReplace: (unknown: string, known: string) => void;
}) {
  const { api } = useStudio();
  const query = useQuery(preflightQuery(api, deviceId, params));
  const check = query.data?.prompt;
  if (check === undefined || check.unknownWords.length === 0) return null;
  const unknown = new Set(check.unknownWords);
  const first = check.unknownWords[0]!;
  return (
    <div className="prompt-words" role="status" data-testid="prompt-warning">
      <p>
        The model does not know{' '}
        {check.unknownWords.map((w, i) => (
          <span key={w}>
            {i > 0 && ', '}
            <strong>{w}</strong>
          </span>
        ))}
        : each becomes its unknown token and steers nothing.
      </p>
      <p className="prompt-marked" data-testid="prompt-marked">
        {promptParts(params.prompt).map((p, i) =>
          p.word !== null && unknown.has(p.word) ? (
            <mark key={i} data-testid="unknown-word">
              {p.text}
            </mark>
          ) : (
            <span key={i}>{p.text}</span>
          ),
        )}
      </p>
      {check.vocabulary !== null && (
        <div className="prompt-vocabulary" data-testid="prompt-vocabulary">
          <span className="muted">Words it knows (click one to put it in place of “{first}”):</span>
          {check.vocabulary.map((w) => (
            <button key={w} type="button" className="vocabulary-word" onClick={() => onReplace(first, w)}>
              {w}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
