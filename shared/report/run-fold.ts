/**
 * THE fold of a run's events: the one place a run's event log becomes numbers. The studio's live views
 * (src-renderer/live), the report's measures (`measureRun` in measures.ts, hence runs.get, runs.compare and every
 * export) and the phone's run screen (ios-companion/src/host/run-view.ts) all read the state this builds, so they
 * agree by construction. Every event costs O(1) (a map lookup, a push, a counter): nothing here walks the whole
 * log, so a 10,000-event run stays as cheap per event as a 100-event one. The state is mutated in place and
 * `version` bumps on each change; the live views redraw from it at most once per animation frame (run-store.ts).
 */
import type { BlockPlacement } from '../engine/execution-provider';
import type { Stage } from '../engine/telemetry';
import { thermalOf, type RunEvent, type RunState } from '../protocol/run';
import type { ThermalState } from '../protocol/thermal';

/** The four pipeline stages in the order the phase breakdown lists them. */
export const PHASES: readonly Stage[] = ['load', 'text', 'denoise', 'decode'];

/**
 * One phase of a run: `startMs` once it started, `durationMs` once it ended. `stoppedBy` names the terminal state
 * that ended the run while the phase was open (cancelled, failed, interrupted): the phase did not finish, and its
 * `durationMs` is the engine time it ran until the run's last engine event.
 */
export interface PhaseSpan {
  startMs: number | null;
  durationMs: number | null;
  stoppedBy: Exclude<RunState, 'queued' | 'running' | 'finished'> | null;
}

/** One denoising step as the timeline draws it. */
export interface StepPoint {
  step: number;
  /** Flow time of the step (1000 → 0). */
  t: number;
  startMs: number;
  latencyMs: number | null;
  /** Engine time of its `step.end` (null while it runs). */
  endMs: number | null;
  /** Cosine similarity of consecutive velocities (null for the first step). */
  cosine: number | null;
  merged: boolean;
  leapt: boolean;
}

/** What a block is doing during one stretch of a lane. */
export type LaneKind = 'loading' | 'computing' | 'resident';

/** A stretch of one lane; `endMs` null while it lasts. */
export interface LaneSegment {
  kind: LaneKind;
  startMs: number;
  endMs: number | null;
}

/** One block's lane: its stretches in time order and where it stands now. */
export interface BlockLane {
  block: string;
  /** The block's size: the largest `bytes` its load and release events carried. */
  bytes: number;
  segments: LaneSegment[];
  state: LaneKind | 'released';
  /** Times the block was released (drawn as ticks). */
  releases: number[];
  /** Completed loads and their total time (each from the block's latest `block.load.start`). */
  loads: number;
  loadMs: number;
  /** Completed computes and their total time (each from the block's latest `block.compute.start`). */
  computes: number;
  computeMs: number;
  /** Engine time of the latest load start and compute start (null: none yet). */
  loadStartMs: number | null;
  computeStartMs: number | null;
  /**
   * Where the block's computes ran (`block.compute.end`'s `placement`): `mixed` once two of them said different
   * placements (e.g. Core ML took the plain graph and refused the TDTM one); null while none said.
   */
  placement: BlockPlacement | null;
}

/** Resident bytes after an event that changed them (the memory curve under the lanes). */
export interface MemoryPoint {
  atMs: number;
  residentBytes: number;
  /** The stage's budget at that time (null: unlimited). */
  budgetBytes: number | null;
}

/** A stage's `stage.end` as the engine reported it. */
export interface StageEnd {
  stage: Stage;
  durationMs: number;
}

/** A `preview.ready` event: its frames are fetched with `runs.frames` (which `preview`). */
export interface PreviewMark {
  seq: number;
  step: number;
  frames: number;
  width: number;
  height: number;
}

/** The timings `run.finished` reports. */
export interface FinishedInfo {
  frames: number;
  width: number;
  height: number;
  fps: number;
  stepsRun: number;
  totalMs: number;
}

/** Everything the live views draw, kept current event by event. */
export interface RunView {
  state: RunState | null;
  lastSeq: number;
  eventCount: number;
  /** Engine `atMs` of the first event folded (the report's time origin). */
  originMs: number | null;
  /** The stage started last (null before the first `stage.start`). */
  stage: Stage | null;
  /** Steps by step index (a leap ends the list early). */
  steps: StepPoint[];
  /** Steps ended so far and the latency of the latest one. */
  stepsDone: number;
  lastStepLatencyMs: number | null;
  leapStep: number | null;
  mergedSteps: number[];
  /**
   * Duration of each phase (ms) once it ended; `startMs` while it runs. Once the run finished, the durations are
   * `run.finished`'s timings (the device's own account of its phases).
   */
  phases: Record<Stage, PhaseSpan>;
  /** Each `stage.end` in log order, with the duration the engine measured for that stage (what the report shows). */
  stageEnds: StageEnd[];
  lanes: BlockLane[];
  laneIndex: Map<string, number>;
  /** Block events folded into the lanes (what `data-events-drawn` reports once drawn). */
  blockEvents: number;
  /** Resident bytes after the latest load end or release, and the most of those. */
  residentBytes: number;
  peakResidentBytes: number;
  /** The latest stage budget (each stage has its own; the memory points carry theirs). */
  budgetBytes: number | null;
  /** The highest budget of any `plan` or block event (null: none had one). */
  highestBudgetBytes: number | null;
  /** Resident bytes after each load end and release: the live memory curve. */
  memory: MemoryPoint[];
  /**
   * Resident bytes at every block event that carries them: load starts too (the scheduler reserves a block's
   * bytes when its load starts). The report's residency chart and peak.
   */
  residency: MemoryPoint[];
  previews: PreviewMark[];
  finished: FinishedInfo | null;
  failure: string | null;
  /**
   * The device's thermal state at the run's start (`run.started`) and end (its terminal event): null when the device
   * said it cannot tell or did not say (a device older than protocol 3), or before that event.
   */
  thermal: { start: ThermalState | null; end: ThermalState | null };
  /** First and last engine `atMs` (the time axis of the canvases). */
  firstAtMs: number | null;
  lastAtMs: number | null;
  /** Bumped on each change; versions per part let views skip work when their part did not change. */
  version: number;
  stepsVersion: number;
  lanesVersion: number;
  phasesVersion: number;
  previewsVersion: number;
  /** Elementary operations done by the fold (a test bounds it per event; timing would be flaky). */
  work: number;
}

/** An empty view for a run whose events have not arrived yet. */
export function emptyRunView(): RunView {
  return {
    state: null,
    lastSeq: 0,
    eventCount: 0,
    originMs: null,
    stage: null,
    steps: [],
    stepsDone: 0,
    lastStepLatencyMs: null,
    leapStep: null,
    mergedSteps: [],
    phases: {
      load: { startMs: null, durationMs: null, stoppedBy: null },
      text: { startMs: null, durationMs: null, stoppedBy: null },
      denoise: { startMs: null, durationMs: null, stoppedBy: null },
      decode: { startMs: null, durationMs: null, stoppedBy: null },
    },
    stageEnds: [],
    lanes: [],
    laneIndex: new Map(),
    blockEvents: 0,
    residentBytes: 0,
    peakResidentBytes: 0,
    budgetBytes: null,
    highestBudgetBytes: null,
    memory: [],
    residency: [],
    previews: [],
    finished: null,
    failure: null,
    thermal: { start: null, end: null },
    firstAtMs: null,
    lastAtMs: null,
    version: 0,
    stepsVersion: 0,
    lanesVersion: 0,
    phasesVersion: 0,
    previewsVersion: 0,
    work: 0,
  };
}

function lane(view: RunView, block: string, bytes: number): BlockLane {
  view.work++;
  const i = view.laneIndex.get(block);
  if (i !== undefined) {
    const l = view.lanes[i] as BlockLane;
    if (bytes > l.bytes) l.bytes = bytes;
    return l;
  }
  const created: BlockLane = {
    block,
    bytes,
    segments: [],
    state: 'released',
    releases: [],
    loads: 0,
    loadMs: 0,
    computes: 0,
    computeMs: 0,
    loadStartMs: null,
    computeStartMs: null,
    placement: null,
  };
  view.laneIndex.set(block, view.lanes.length);
  view.lanes.push(created);
  return created;
}

function budget(view: RunView, budgetBytes: number | null): void {
  if (budgetBytes !== null && (view.highestBudgetBytes === null || budgetBytes > view.highestBudgetBytes))
    view.highestBudgetBytes = budgetBytes;
}

/** A block event's resident bytes, for the report (every block event that carries them). */
function residency(view: RunView, atMs: number, residentBytes: number, budgetBytes: number | null): void {
  budget(view, budgetBytes);
  view.residency.push({ atMs, residentBytes, budgetBytes });
}

/** Closes the lane's open stretch (if any) and opens `kind` at `atMs` (null: leaves it closed). */
function enter(view: RunView, l: BlockLane, kind: LaneKind | null, atMs: number): void {
  view.work++;
  const open = l.segments[l.segments.length - 1];
  if (open !== undefined && open.endMs === null) open.endMs = atMs;
  if (kind !== null) l.segments.push({ kind, startMs: atMs, endMs: null });
  l.state = kind ?? 'released';
  view.lanesVersion++;
}

function memory(view: RunView, atMs: number, residentBytes: number, budgetBytes: number | null): void {
  view.work++;
  view.residentBytes = residentBytes;
  if (residentBytes > view.peakResidentBytes) view.peakResidentBytes = residentBytes;
  if (budgetBytes !== null) view.budgetBytes = budgetBytes;
  view.memory.push({ atMs, residentBytes, budgetBytes });
}

/**
 * Closes the phases still open when the run ended without finishing: no `stage.end` will come for them, so each
 * keeps the engine time it ran and says what stopped it (otherwise it would read "running" forever). Four phases:
 * O(1).
 */
function stopOpenPhases(view: RunView, by: NonNullable<PhaseSpan['stoppedBy']>): void {
  for (const phase of PHASES) {
    view.work++;
    const p = view.phases[phase];
    if (p.startMs === null || p.durationMs !== null) continue;
    p.durationMs = Math.max(0, (view.lastAtMs ?? p.startMs) - p.startMs);
    p.stoppedBy = by;
    view.phasesVersion++;
  }
}

const RUN_LEVEL = new Set(['run.queued', 'run.started', 'run.finished', 'run.failed', 'run.cancelled']);

/**
 * Folds one event (with its seq) into `view`; returns false and changes nothing for a seq already folded, so a
 * catch-up page overlapping the pushed events is harmless. O(1) per event.
 */
export function foldEvent(view: RunView, seq: number, event: RunEvent): boolean {
  if (seq <= view.lastSeq) return false;
  view.work++;
  view.lastSeq = seq;
  view.eventCount++;
  view.version++;
  const atMs = event.atMs;
  if (view.originMs === null) view.originMs = atMs;
  // Run-level events carry the companion's clock; the canvases' time axis is the engine's.
  if (!RUN_LEVEL.has(event.type) && event.type !== 'preview.ready' && event.type !== 'run.interrupted') {
    if (view.firstAtMs === null) view.firstAtMs = atMs;
    if (view.lastAtMs === null || atMs > view.lastAtMs) view.lastAtMs = atMs;
  }
  const thermal = thermalOf(event);
  if (thermal !== undefined) view.thermal[event.type === 'run.started' ? 'start' : 'end'] = thermal;
  switch (event.type) {
    case 'run.queued':
      view.state = 'queued';
      break;
    case 'run.started':
      view.state = 'running';
      break;
    case 'run.finished':
      view.state = 'finished';
      view.finished = {
        frames: event.frames,
        width: event.width,
        height: event.height,
        fps: event.fps,
        stepsRun: event.stepsRun,
        totalMs: event.timings.totalMs,
      };
      // The device's own phase timings are authoritative for the breakdown.
      view.phases.load.durationMs = event.timings.loadMs;
      view.phases.text.durationMs = event.timings.textMs;
      view.phases.denoise.durationMs = event.timings.denoiseMs;
      view.phases.decode.durationMs = event.timings.decodeMs;
      view.phasesVersion++;
      break;
    case 'run.failed':
      view.state = 'failed';
      view.failure = `${event.code}: ${event.message}`;
      stopOpenPhases(view, 'failed');
      break;
    case 'run.cancelled':
      view.state = 'cancelled';
      stopOpenPhases(view, 'cancelled');
      break;
    case 'run.interrupted':
      view.state = 'interrupted';
      view.failure = `interrupted: ${event.reason}`;
      stopOpenPhases(view, 'interrupted');
      break;
    case 'stage.start':
      view.stage = event.stage;
      view.phases[event.stage].startMs = atMs;
      view.phasesVersion++;
      break;
    case 'stage.end':
      view.phases[event.stage].durationMs = event.durationMs;
      view.stageEnds.push({ stage: event.stage, durationMs: event.durationMs });
      view.phasesVersion++;
      break;
    case 'plan':
      if (event.budgetBytes !== null) view.budgetBytes = event.budgetBytes;
      budget(view, event.budgetBytes);
      break;
    case 'step.start':
      view.steps[event.step] = {
        step: event.step,
        t: event.t,
        startMs: atMs,
        latencyMs: null,
        endMs: null,
        cosine: null,
        merged: event.merged,
        leapt: false,
      };
      view.stepsVersion++;
      break;
    case 'step.end': {
      const point = view.steps[event.step];
      const p: StepPoint = point ?? {
        step: event.step,
        t: event.t,
        startMs: atMs - event.latencyMs,
        latencyMs: null,
        endMs: null,
        cosine: null,
        merged: event.merged,
        leapt: false,
      };
      p.t = event.t;
      p.latencyMs = event.latencyMs;
      p.endMs = atMs;
      p.cosine = event.cosine;
      p.merged = event.merged;
      p.leapt = event.leapt;
      view.steps[event.step] = p;
      view.stepsDone++;
      view.lastStepLatencyMs = event.latencyMs;
      if (event.leapt && view.leapStep === null) view.leapStep = event.step;
      if (event.merged) view.mergedSteps.push(event.step);
      view.stepsVersion++;
      break;
    }
    case 'block.load.start': {
      view.blockEvents++;
      const l = lane(view, event.block, event.bytes);
      enter(view, l, 'loading', atMs);
      l.loadStartMs = atMs;
      residency(view, atMs, event.residentBytes, event.budgetBytes);
      break;
    }
    case 'block.load.end': {
      view.blockEvents++;
      const l = lane(view, event.block, event.bytes);
      enter(view, l, 'resident', atMs);
      l.loads++;
      l.loadMs += atMs - (l.loadStartMs ?? atMs);
      memory(view, atMs, event.residentBytes, event.budgetBytes);
      residency(view, atMs, event.residentBytes, event.budgetBytes);
      break;
    }
    case 'block.compute.start': {
      view.blockEvents++;
      const l = lane(view, event.block, 0);
      enter(view, l, 'computing', atMs);
      l.computeStartMs = atMs;
      break;
    }
    case 'block.compute.end': {
      view.blockEvents++;
      const l = lane(view, event.block, 0);
      enter(view, l, 'resident', atMs);
      l.computes++;
      l.computeMs += atMs - (l.computeStartMs ?? atMs);
      const p = event.placement;
      if (p !== undefined && p !== l.placement) l.placement = l.placement === null ? p : 'mixed';
      break;
    }
    case 'block.release': {
      view.blockEvents++;
      const l = lane(view, event.block, event.bytes);
      enter(view, l, null, atMs);
      l.releases.push(atMs);
      memory(view, atMs, event.residentBytes, event.budgetBytes);
      residency(view, atMs, event.residentBytes, event.budgetBytes);
      break;
    }
    case 'preview.ready':
      view.previews.push({
        seq,
        step: event.step,
        frames: event.frames,
        width: event.width,
        height: event.height,
      });
      view.previewsVersion++;
      break;
  }
  return true;
}
