// Edits a run's name, tags and notes (`runs.annotate`, kept in the run's run.json). Tags are typed separated by
// commas or spaces and checked before they are sent; the contract's own error shows when the studio refuses them.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import {
  RUN_NAME_MAX_CHARS,
  RUN_NOTES_MAX_CHARS,
  type RunSummary,
} from '../../shared/protocol/studio-contract';
import { errorText } from '../studio/format';
import { studioKeys } from '../studio/queries';
import { useStudio } from '../studio/studio-context';
import { parseTags } from './history-filter';

/** The form; `onDone` closes it (after a save, or on Cancel). */
export function RunNotesEditor({ run, onDone }: { run: RunSummary; onDone: () => void }) {
  const { api } = useStudio();
  const client = useQueryClient();
  const [name, setName] = useState(run.label ?? '');
  const [tagText, setTagText] = useState(run.tags.join(', '));
  const [notes, setNotes] = useState(run.notes);
  const tags = parseTags(tagText);
  const save = useMutation({
    mutationFn: (next: string[]) =>
      api.annotateRun({
        runId: run.runId,
        label: name.trim() === '' ? null : name.trim(),
        tags: next,
        notes,
      }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: studioKeys.runs });
      onDone();
    },
  });
  return (
    <form
      className="run-notes-editor"
      data-testid="run-notes-editor"
      onSubmit={(e) => {
        e.preventDefault();
        if (tags.ok) save.mutate(tags.tags);
      }}
    >
      <label>
        Name{' '}
        <input
          data-testid="run-name-input"
          value={name}
          maxLength={RUN_NAME_MAX_CHARS}
          placeholder={run.runId}
          onChange={(e) => setName(e.target.value)}
        />
      </label>
      <label>
        Tags{' '}
        <input
          data-testid="run-tags-input"
          value={tagText}
          placeholder="lpl, sweep:…"
          aria-invalid={!tags.ok}
          onChange={(e) => setTagText(e.target.value)}
        />
      </label>
      {!tags.ok && (
        <span className="error" data-testid="run-tags-error">
          {tags.error}
        </span>
      )}
      <label>
        Notes{' '}
        <textarea
          data-testid="run-notes-input"
          value={notes}
          maxLength={RUN_NOTES_MAX_CHARS}
          rows={3}
          onChange={(e) => setNotes(e.target.value)}
        />
      </label>
      <div className="row-actions">
        <button
          type="submit"
          className="primary"
          data-testid="run-notes-save"
          disabled={!tags.ok || save.isPending}
        >
          Save
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
      {save.isError && (
        <p className="error" role="alert">
          {errorText(save.error)}
        </p>
      )}
    </form>
  );
}

/** A run's name, tags and notes on one line with an Edit button that opens the editor (Live run's header). */
export function RunNotesInline({ run }: { run: RunSummary }) {
  const { readOnly } = useStudio();
  const [editing, setEditing] = useState(false);
  if (editing) return <RunNotesEditor run={run} onDone={() => setEditing(false)} />;
  const empty = run.label === null && run.tags.length === 0 && run.notes === '';
  if (empty && readOnly) return null;
  return (
    <p className="run-notebook" data-testid="live-run-notebook">
      {run.label !== null && <strong data-testid="live-run-name">{run.label}</strong>}
      {run.tags.length > 0 && (
        <span className="tags">
          {run.tags.map((t) => (
            <span key={t} className="tag">
              {t}
            </span>
          ))}
        </span>
      )}
      {run.notes !== '' && <span className="muted"> · {run.notes}</span>}{' '}
      {!readOnly && (
        <button type="button" className="link" data-testid="live-edit-notes" onClick={() => setEditing(true)}>
          {empty ? 'Name, tag, note…' : 'Edit'}
        </button>
      )}
    </p>
  );
}
