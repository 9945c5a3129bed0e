import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../../../shared/protocol/studio-contract';
import { testRunSummary } from '../../../helpers/studio-fixtures';
import {
  NO_FILTER,
  allTags,
  filterRuns,
  parseTags,
  sortRuns,
  type HistoryFilter,
} from '../../../../src-renderer/history/history-filter';

const run = (runId: string, over: Partial<RunSummary> = {}): RunSummary =>
  testRunSummary(runId, {
    deviceName: 'Built-in',
    params: { prompt: 'a red circle moving right on a black background', seed: 1, steps: 6 },
    ...over,
  });

const metrics = (wallMs: number | null) => ({
  wallMs,
  denoiseMs: null,
  medianStepMs: null,
  peakResidentBytes: null,
  frames: 16,
});

const runs = [
  run('r-lpl', {
    label: 'Leap early',
    tags: ['LPL', 'sweep:s-1'],
    params: {
      prompt: 'a blue square growing on a white background',
      seed: 2,
      lpl: { mode: 'fixed', leapStep: 3 },
    },
    metrics: metrics(300),
  }),
  run('r-tdtm', {
    notes: 'merges look fine',
    deviceId: 'phone',
    deviceName: 'Phone',
    params: { prompt: 'a red circle moving right on a black background', seed: 2, tdtm: { mergeSteps: 2 } },
    metrics: metrics(null),
    state: 'failed',
  }),
  run('r-base', { tags: ['baseline'], metrics: metrics(900), speedupVsBaseline: 2 }),
];
const ids = (list: RunSummary[]): string[] => list.map((r) => r.runId);
const only = (patch: Partial<HistoryFilter>): string[] => ids(filterRuns(runs, { ...NO_FILTER, ...patch }));

describe('history search and filters', () => {
  it('searches every word (ignoring case) over name, id, prompt, tags and notes', () => {
    expect(only({ text: '' })).toEqual(['r-lpl', 'r-tdtm', 'r-base']);
    expect(only({ text: 'leap' })).toEqual(['r-lpl']); // name
    expect(only({ text: 'BLUE square' })).toEqual(['r-lpl']); // prompt
    expect(only({ text: 'sweep:s-1' })).toEqual(['r-lpl']); // tag
    expect(only({ text: 'merges' })).toEqual(['r-tdtm']); // notes
    expect(only({ text: 'r-base' })).toEqual(['r-base']); // id
    expect(only({ text: 'red merges' })).toEqual(['r-tdtm']);
    expect(only({ text: 'red blue' })).toEqual([]);
  });

  it('filters by device, state, LPL and TDTM on or off, and tag', () => {
    expect(only({ deviceId: 'phone' })).toEqual(['r-tdtm']);
    expect(only({ state: 'finished' })).toEqual(['r-lpl', 'r-base']);
    expect(only({ lpl: 'on' })).toEqual(['r-lpl']);
    expect(only({ lpl: 'off' })).toEqual(['r-tdtm', 'r-base']);
    expect(only({ tdtm: 'on' })).toEqual(['r-tdtm']);
    expect(only({ tdtm: 'off', lpl: 'off' })).toEqual(['r-base']);
    expect(only({ tag: 'lpl' })).toEqual(['r-lpl']);
    expect(only({ tag: 'sweep:s-1', text: 'blue' })).toEqual(['r-lpl']);
    expect(allTags(runs)).toEqual(['baseline', 'LPL', 'sweep:s-1']);
  });

  it('sorts by a metric column either way, runs without the metric last', () => {
    expect(ids(sortRuns(runs, { key: 'wallMs', descending: false }))).toEqual(['r-lpl', 'r-base', 'r-tdtm']);
    expect(ids(sortRuns(runs, { key: 'wallMs', descending: true }))).toEqual(['r-base', 'r-lpl', 'r-tdtm']);
    expect(ids(sortRuns(runs, { key: 'speedup', descending: true }))).toEqual(['r-base', 'r-lpl', 'r-tdtm']);
    expect(ids(sortRuns(runs, { key: 'name', descending: false }))).toEqual(['r-lpl', 'r-base', 'r-tdtm']);
  });

  it('parses typed tags and names the bad one', () => {
    expect(parseTags(' lpl, sweep:s-1  tdtm ')).toEqual({ ok: true, tags: ['lpl', 'sweep:s-1', 'tdtm'] });
    expect(parseTags('')).toEqual({ ok: true, tags: [] });
    const bad = parseTags('ok, b@d');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/^tags: “b@d”: must be 1-64 of/);
    const twice = parseTags('a A');
    if (!twice.ok) expect(twice.error).toMatch(/must not repeat a tag/);
    expect(twice.ok).toBe(false);
  });
});
