// History's search, filters and sort over the run summaries `runs.list` returns (pure: no React, no API), and the
// tag text box's parser. Search matches every word of the query, ignoring case, in a run's name, id, prompt, tags
// or notes; filters narrow by device, state, technique (LPL and TDTM on or off) and tag; a sort puts runs without
// the metric last in either direction.
import type { RunParams, RunState } from '../../shared/protocol/run';
import { runTagsSchema, type RunSummary } from '../../shared/protocol/studio-contract';

/** A technique filter: either way, only runs with it, only runs without it. */
export type TechniqueFilter = 'any' | 'on' | 'off';

/** What History shows. */
export interface HistoryFilter {
  /** Words that must all appear (ignoring case) in the name, id, prompt, tags or notes. */
  text: string;
  /** A device entry id, or null for every device. */
  deviceId: string | null;
  state: RunState | null;
  lpl: TechniqueFilter;
  tdtm: TechniqueFilter;
  /** A tag the run must carry (ignoring case), or null. */
  tag: string | null;
}

/** Shows every run. */
export const NO_FILTER: HistoryFilter = {
  text: '',
  deviceId: null,
  state: null,
  lpl: 'any',
  tdtm: 'any',
  tag: null,
};

/** The columns History sorts by. */
export type SortKey =
  'created' | 'name' | 'wallMs' | 'denoiseMs' | 'medianStepMs' | 'peakResidentBytes' | 'speedup';

/** A sort: a column and its direction. */
export interface SortOrder {
  key: SortKey;
  descending: boolean;
}

/** Newest first, as History opens. */
export const NEWEST_FIRST: SortOrder = { key: 'created', descending: true };

/** Whether the run leaps (LPL fixed or dynamic). */
export function lplOn(params: RunParams): boolean {
  return params.lpl !== undefined && params.lpl.mode !== 'off';
}

/** Whether the run merges tokens for at least one step. */
export function tdtmOn(params: RunParams): boolean {
  return (params.tdtm?.mergeSteps ?? 0) > 0;
}

function techniqueMatches(filter: TechniqueFilter, on: boolean): boolean {
  return filter === 'any' || (filter === 'on') === on;
}

/** Whether one run passes the filter. */
export function matchesRun(run: RunSummary, filter: HistoryFilter): boolean {
  if (filter.deviceId !== null && run.deviceId !== filter.deviceId) return false;
  if (filter.state !== null && run.state !== filter.state) return false;
  if (!techniqueMatches(filter.lpl, lplOn(run.params))) return false;
  if (!techniqueMatches(filter.tdtm, tdtmOn(run.params))) return false;
  if (filter.tag !== null) {
    const tag = filter.tag.toLowerCase();
    if (!run.tags.some((t) => t.toLowerCase() === tag)) return false;
  }
  const words = filter.text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = [run.label ?? '', run.runId, run.params.prompt, ...run.tags, run.notes]
    .join('\n')
    .toLowerCase();
  return words.every((w) => haystack.includes(w));
}

/** The runs that pass the filter, in their order. */
export function filterRuns(runs: readonly RunSummary[], filter: HistoryFilter): RunSummary[] {
  return runs.filter((r) => matchesRun(r, filter));
}

/** A run's value in a sort column (null: the run has none). */
export function sortValue(run: RunSummary, key: SortKey): number | string | null {
  switch (key) {
    case 'created':
      return run.createdAtEpochMs;
    case 'name':
      return (run.label ?? run.runId).toLowerCase();
    case 'speedup':
      return run.speedupVsBaseline;
    default:
      return run.metrics?.[key] ?? null;
  }
}

/** The runs sorted by a column; runs without a value come last either way, ties keep their order. */
export function sortRuns(runs: readonly RunSummary[], order: SortOrder): RunSummary[] {
  const sign = order.descending ? -1 : 1;
  return runs
    .map((run, i) => ({ run, i, v: sortValue(run, order.key) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
      const c = a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
      return c !== 0 ? sign * c : a.i - b.i;
    })
    .map((x) => x.run);
}

/** Every tag used by the runs, sorted, once each (ignoring case: the first spelling seen). */
export function allTags(runs: readonly RunSummary[]): string[] {
  const seen = new Map<string, string>();
  for (const r of runs) for (const t of r.tags) if (!seen.has(t.toLowerCase())) seen.set(t.toLowerCase(), t);
  return [...seen.values()].sort((a, b) => a.localeCompare(b));
}

/** Tags typed as text (separated by commas or spaces), checked against the contract; the error names the bad one. */
export function parseTags(text: string): { ok: true; tags: string[] } | { ok: false; error: string } {
  const tags = text.split(/[\s,]+/).filter(Boolean);
  const parsed = runTagsSchema.safeParse(tags);
  if (parsed.success) return { ok: true, tags: parsed.data };
  const issue = parsed.error.issues[0];
  const at = typeof issue?.path[0] === 'number' ? `“${tags[issue.path[0]]}”: ` : '';
  return { ok: false, error: `tags: ${at}${issue?.message ?? 'invalid'}` };
}
