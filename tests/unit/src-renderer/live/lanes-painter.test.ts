// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../../shared/protocol/run';
import { LanesPainter } from '../../../../src-renderer/live/lanes-painter';
import { emptyRunView, foldEvent } from '../../../../shared/report/run-fold';

/** A 2D context that only counts calls (happy-dom has no canvas backend). */
function countingContext() {
  const counts = { calls: 0, clears: 0 };
  const ctx = new Proxy(
    {},
    {
      get: (_t, prop) => {
        if (prop === 'counts') return counts;
        return (..._args: unknown[]) => {
          counts.calls++;
          if (prop === 'clearRect') counts.clears++;
        };
      },
      set: () => true,
    },
  ) as unknown as CanvasRenderingContext2D & { counts: typeof counts };
  return ctx;
}

function canvas(): HTMLCanvasElement {
  const c = document.createElement('canvas');
  Object.defineProperty(c, 'clientWidth', { value: 900 });
  Object.defineProperty(c, 'clientHeight', { value: 300 });
  return c;
}

function* blockRun(steps: number, blocks: number): Generator<RunEvent> {
  let at = 0;
  for (let step = 0; step < steps; step++) {
    for (let b = 0; b < blocks; b++) {
      const r = { block: `denoiser/b${b}`, bytes: 100, budgetBytes: 1000 };
      yield { type: 'block.load.start', atMs: (at += 1), ...r, residentBytes: 100 };
      yield { type: 'block.load.end', atMs: (at += 1), ...r, residentBytes: 100 };
      yield { type: 'block.compute.start', atMs: (at += 1), block: r.block, step, variant: 'plain' };
      yield { type: 'block.compute.end', atMs: (at += 1), block: r.block, step, variant: 'plain' };
      yield { type: 'block.release', atMs: (at += 1), ...r, residentBytes: 0, reason: 'not-retained' };
    }
  }
}

describe('LanesPainter on a 10,000-event stream', () => {
  it('draws what changed each frame: shapes per frame stay bounded and full repaints are rare', () => {
    const events = [...blockRun(100, 20)]; // 10,000 block events
    const view = emptyRunView();
    const painter = new LanesPainter();
    const c = canvas();
    const ctx = countingContext();
    const perFrame: number[] = [];
    const batch = 5; // 200 events/s at 40 frames/s
    for (let i = 0; i < events.length; i += batch) {
      events.slice(i, i + batch).forEach((e, j) => foldEvent(view, i + j + 1, e));
      const before = painter.shapes;
      painter.paint(c, ctx, view);
      perFrame.push(painter.shapes - before);
    }
    expect(c.getAttribute('data-lanes')).toBe('20');
    expect(c.getAttribute('data-events-drawn')).toBe('10000');
    // Full repaints: one per lane as blocks first appear (the rows get thinner), then one each time the run
    // outgrows its time axis (it doubles): about 20 + log2(10,000 ms / 1,000 ms), not one per frame (2,000 frames).
    expect(painter.fullPaints).toBeLessThanOrEqual(20 + 6);
    // Between repaints a frame draws the new stretches, the open ones and the new memory pieces only.
    const late = perFrame.slice(-200).sort((a, b) => a - b);
    const median = late[Math.floor(late.length / 2)] ?? 0;
    expect(median).toBeLessThanOrEqual(20 + 2 * batch + 4);
  });
});

describe('LanesPainter placement markers', () => {
  it('marks each lane with where its block ran, once per change, and counts the lanes per placement', () => {
    const texts: string[] = [];
    const ctx = new Proxy(
      {},
      {
        get:
          (_t, prop) =>
          (...args: unknown[]) => {
            if (prop === 'fillText') texts.push(String(args[0]));
          },
        set: () => true,
      },
    ) as unknown as CanvasRenderingContext2D;
    const view = emptyRunView();
    const c = canvas();
    const painter = new LanesPainter();
    const events: RunEvent[] = [...blockRun(1, 3)].map((e) =>
      e.type === 'block.compute.end'
        ? { ...e, placement: e.block === 'denoiser/b1' ? ('cpu' as const) : ('coreml' as const) }
        : e,
    );
    events.forEach((e, i) => foldEvent(view, i + 1, e));
    painter.paint(c, ctx, view);
    expect(c.getAttribute('data-placements')).toBe('cpu:1 coreml:2');
    expect(texts.filter((t) => t === 'Core ML')).toHaveLength(2);
    expect(texts.filter((t) => t === 'CPU')).toHaveLength(1);
    // Nothing changed: no marker is drawn again.
    const before = texts.length;
    painter.paint(c, ctx, view);
    expect(texts.slice(before).filter((t) => t === 'Core ML' || t === 'CPU')).toEqual([]);
    // A later compute of b1 on Core ML makes its lane mixed: only that marker is redrawn.
    foldEvent(view, events.length + 1, {
      type: 'block.compute.end',
      atMs: 99,
      block: 'denoiser/b1',
      step: 1,
      variant: 'tdtm',
      placement: 'coreml',
    });
    const mark = texts.length;
    painter.paint(c, ctx, view);
    expect(texts.slice(mark).filter((t) => ['Core ML', 'CPU', 'mixed'].includes(t))).toEqual(['mixed']);
    expect(c.getAttribute('data-placements')).toBe('coreml:2 mixed:1');
  });

  it('says nothing about placement for a log whose blocks do not say', () => {
    const view = emptyRunView();
    [...blockRun(1, 2)].forEach((e, i) => foldEvent(view, i + 1, e));
    const c = canvas();
    new LanesPainter().paint(c, countingContext(), view);
    expect(c.getAttribute('data-placements')).toBe('');
  });
});
