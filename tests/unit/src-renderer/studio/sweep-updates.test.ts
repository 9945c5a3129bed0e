// `sweep.updated` into React Query's cache: the list's entry takes the summary without a `sweeps.list`; a loaded
// detail is patched without a `sweeps.get`, re-read on a gap; events that arrive while the detail is being read
// are applied to its answer (older ones skipped), so a slow read never leaves it behind.
import type { QueryClient } from '@tanstack/react-query';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SweepDetail, SweepSummary, SweepUpdate } from '../../../../shared/protocol/studio-contract';
import type { SweepJournal } from '../../../../shared/sweep/journal';
import { SweepJournalDiff } from '../../../../shared/sweep/delta';
import { createStudioQueryClient, studioKeys } from '../../../../src-renderer/studio/queries';
import { followSweeps } from '../../../../src-renderer/studio/sweep-updates';
import { tinySweepJournal, tinySweepSummary } from '../../../helpers/sweep-journal';

const EPOCH = 'abcdef0123456789';
let dispose = (): void => undefined;
afterEach(() => dispose());

/** The studio's side of one sweep: its journal, revision and pushes. */
function studioSweep() {
  const j = tinySweepJournal();
  const diff = new SweepJournalDiff(j);
  let revision = 0;
  const copy = (): SweepJournal => JSON.parse(JSON.stringify(j)) as SweepJournal;
  return {
    j,
    detail: (): SweepDetail => ({ sweep: tinySweepSummary(j), journal: copy(), epoch: EPOCH, revision }),
    /** Finishes run `i` and pushes. */
    finish(i: number): SweepUpdate {
      j.runs[i]!.status = 'finished';
      j.updatedAtEpochMs += 1;
      revision += 1;
      return {
        sweep: tinySweepSummary(j),
        epoch: EPOCH,
        revision,
        ...(diff.take(j) ?? { journal: {}, runs: [] }),
      };
    },
  };
}

function setup(): { client: QueryClient; update: (e: SweepUpdate) => void } {
  const client = createStudioQueryClient();
  const follow = followSweeps(client);
  dispose = follow.dispose;
  return { client, update: follow.update };
}

describe('followSweeps', () => {
  it('patches the list entry and the loaded detail without reading either again', async () => {
    const { client, update } = setup();
    const sweep = studioSweep();
    const get = vi.fn(() => Promise.resolve(sweep.detail()));
    const list = vi.fn(() => Promise.resolve({ sweeps: [tinySweepSummary(sweep.j)] }));
    await client.fetchQuery({ queryKey: studioKeys.sweeps, queryFn: list });
    await client.fetchQuery({ queryKey: studioKeys.sweep('s1'), queryFn: get });
    update(sweep.finish(0));
    update(sweep.finish(1));
    expect(client.getQueryData<SweepDetail>(studioKeys.sweep('s1'))).toStrictEqual(sweep.detail());
    expect(client.getQueryData<{ sweeps: SweepSummary[] }>(studioKeys.sweeps)!.sweeps[0]!.finished).toBe(2);
    expect(get).toHaveBeenCalledTimes(1);
    expect(list).toHaveBeenCalledTimes(1);
  });

  it('marks the detail for a new read after a missed event', async () => {
    const { client, update } = setup();
    const sweep = studioSweep();
    await client.fetchQuery({
      queryKey: studioKeys.sweep('s1'),
      queryFn: () => Promise.resolve(sweep.detail()),
    });
    sweep.finish(0); // never delivered
    update(sweep.finish(1));
    expect(client.getQueryState(studioKeys.sweep('s1'))!.isInvalidated).toBe(true);
    expect(client.getQueryData<SweepDetail>(studioKeys.sweep('s1'))!.revision).toBe(0);
  });

  it('applies the events that came during a read to its answer, skipping those it already holds', async () => {
    const { client, update } = setup();
    const sweep = studioSweep();
    const e1 = sweep.finish(0);
    const answer = sweep.detail(); // the studio answered at revision 1 …
    let reply = (_: SweepDetail): void => undefined;
    const read = client.fetchQuery({
      queryKey: studioKeys.sweep('s1'),
      queryFn: () => new Promise<SweepDetail>((resolve) => (reply = resolve)),
    });
    update(e1); // … but the events reach the page before the answer
    const e2 = sweep.finish(1);
    update(e2);
    expect(client.getQueryData(studioKeys.sweep('s1'))).toBeUndefined();
    reply(answer);
    await read;
    await vi.waitFor(() =>
      expect(client.getQueryData<SweepDetail>(studioKeys.sweep('s1'))).toStrictEqual(sweep.detail()),
    );
    expect(client.getQueryState(studioKeys.sweep('s1'))!.isInvalidated).toBe(false);
  });
});
