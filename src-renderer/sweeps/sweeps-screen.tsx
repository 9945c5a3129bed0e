// Sweeps: the studio's sweeps, newest first, a grid builder for a new one, and the chosen sweep's progress and
// table. Route: `#/sweeps` (the builder, or the newest sweep) and `#/sweeps/<sweepId>`.
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { navigate } from '../routes';
import { errorText, formatWhen } from '../studio/format';
import { studioKeys } from '../studio/queries';
import { useStudio } from '../studio/studio-context';
import { SweepBuilder } from './sweep-builder';
import { SweepView } from './sweep-view';

/** The Sweeps screen; `sweepId` from the route. */
export function SweepsScreen({ sweepId }: { sweepId: string | null }) {
  const { api, readOnly } = useStudio();
  const sweeps = useQuery({ queryKey: studioKeys.sweeps, queryFn: () => api.listSweeps() });
  const [building, setBuilding] = useState(sweepId === null);
  const list = sweeps.data?.sweeps ?? [];
  return (
    <section className="screen" aria-labelledby="screen-sweeps">
      <header className="screen-header">
        <h1 id="screen-sweeps">Sweeps</h1>
        <p className="screen-summary">
          Grids of technique settings × prompts × seeds on the paired devices, with repeats, warm-up runs kept
          out of the statistics and a baseline per prompt × seed. A sweep the studio left unfinished resumes
          when it starts again; a paused one waits for Resume.
        </p>
      </header>
      {sweeps.isError && <p className="error">{errorText(sweeps.error)}</p>}
      {list.length > 0 && (
        <ul className="sweep-list">
          {list.map((s) => (
            <li key={s.sweepId}>
              <button
                type="button"
                data-testid="sweep-list-item"
                data-sweep-id={s.sweepId}
                aria-current={s.sweepId === sweepId && !building ? 'page' : undefined}
                onClick={() => {
                  setBuilding(false);
                  navigate(['sweeps', s.sweepId]);
                }}
              >
                {s.name ?? s.sweepId}
              </button>{' '}
              <small className="muted">
                {s.state}
                {s.activity !== 'idle' ? ` · ${s.activity}` : ''} · {s.finished}/{s.total} ·{' '}
                {formatWhen(s.createdAtEpochMs)}
              </small>
            </li>
          ))}
        </ul>
      )}
      {!readOnly && !building && (
        <button type="button" data-testid="sweep-new" onClick={() => setBuilding(true)}>
          New sweep
        </button>
      )}
      {!readOnly && building && (
        <SweepBuilder
          onStarted={(id) => {
            setBuilding(false);
            navigate(['sweeps', id]);
          }}
        />
      )}
      {!building && sweepId !== null && <SweepView key={sweepId} sweepId={sweepId} />}
    </section>
  );
}
