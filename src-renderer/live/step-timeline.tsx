// The step timeline on a canvas: one bar per denoising step (height = latency), merged (TDTM) steps in their own
// colour, the LPL leap marked with a line, and the cosine similarity of consecutive velocities as a curve.
import { useState } from 'react';
import type { RunStore } from './run-store';
import type { RunView } from '../../shared/report/run-fold';
import { latencyAxisTop } from '../../shared/report/axes';
import { fitCanvas, useCanvasView } from './canvas-view';
import { lplStepOfLeapStep } from '../../shared/engine/techniques/knobs';
import { describeLeap } from '../../shared/engine/techniques/summary';

const COLORS = {
  plain: '#5b8def',
  merged: '#c77dff',
  leap: '#ffb703',
  cosine: '#3ddc97',
  axis: '#6b7280',
  text: '#cbd5e1',
};

/** Steps with a measured latency (what the timeline has drawn as bars). */
export function drawnSteps(view: RunView): number {
  let n = 0;
  for (const s of view.steps) if (s !== undefined && s.latencyMs !== null) n++;
  return n;
}

/** The slowest measured step of a run (0 before any): what its latency axis must reach. */
export function maxStepLatency(view: RunView): number {
  let max = 0;
  for (const s of view.steps) if (s?.latencyMs != null && s.latencyMs > max) max = s.latencyMs;
  return max;
}

/** A sentence for screen readers and tests: what the timeline shows. */
function timelineSummary(view: RunView, totalSteps: number | null): string {
  const done = drawnSteps(view);
  const parts = [`${done}${totalSteps !== null ? ` of ${totalSteps}` : ''} steps run`];
  parts.push(describeLeap(view.leapStep));
  const merged = view.mergedSteps;
  parts.push(
    merged.length > 0
      ? `${merged.length} TDTM-merged steps (${merged[0]}–${merged[merged.length - 1]})`
      : 'no merged steps',
  );
  return parts.join(' · ');
}

function draw(
  canvas: HTMLCanvasElement,
  ctx: CanvasRenderingContext2D | null,
  view: RunView,
  total: number | null,
  latencyTopMs: number | null,
) {
  const drawn = drawnSteps(view);
  canvas.setAttribute('data-steps-drawn', String(drawn));
  canvas.setAttribute('data-leap-step', view.leapStep === null ? '' : String(view.leapStep));
  canvas.setAttribute('data-merged-steps', String(view.mergedSteps.length));
  canvas.setAttribute('aria-label', `Step timeline: ${timelineSummary(view, total)}`);
  const maxLatency = latencyAxisTop([[maxStepLatency(view), latencyTopMs ?? 0]]);
  canvas.setAttribute('data-latency-top-ms', String(maxLatency));
  const { w, h } = fitCanvas(canvas, ctx);
  if (ctx === null) return;
  const slots = Math.max(total ?? 0, view.steps.length, 1);
  const pad = { l: 36, r: 8, t: 14, b: 18 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const slot = pw / slots;
  const barW = Math.max(1, slot * 0.75);
  for (const s of view.steps) {
    if (s === undefined) continue;
    const x = pad.l + s.step * slot;
    const latency = s.latencyMs ?? 0;
    const bh = (latency / maxLatency) * ph;
    ctx.fillStyle = s.leapt ? COLORS.leap : s.merged ? COLORS.merged : COLORS.plain;
    ctx.globalAlpha = s.latencyMs === null ? 0.35 : 1;
    ctx.fillRect(x, pad.t + ph - (s.latencyMs === null ? 3 : bh), barW, s.latencyMs === null ? 3 : bh);
  }
  ctx.globalAlpha = 1;
  // Cosine curve, on its own 0..1 scale.
  ctx.strokeStyle = COLORS.cosine;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let started = false;
  for (const s of view.steps) {
    if (s?.cosine == null) continue;
    const x = pad.l + s.step * slot + barW / 2;
    const y = pad.t + ph - Math.max(0, Math.min(1, s.cosine)) * ph;
    if (started) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
    started = true;
  }
  ctx.stroke();
  if (view.leapStep !== null) {
    const x = pad.l + view.leapStep * slot + barW / 2;
    ctx.strokeStyle = COLORS.leap;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(x, pad.t);
    ctx.lineTo(x, pad.t + ph);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = COLORS.leap;
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillText(`leap @ ${lplStepOfLeapStep(view.leapStep)}`, Math.min(x + 4, w - 70), pad.t + 10);
  }
  ctx.fillStyle = COLORS.text;
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillText(`${Math.round(maxLatency)} ms`, 2, pad.t + 8);
  ctx.fillText('0', pad.l - 10, pad.t + ph);
  ctx.fillText(`step 0`, pad.l, h - 4);
  ctx.fillText(`${slots - 1}`, w - pad.r - 14, h - 4);
}

/**
 * The step timeline of a run; `totalSteps` (from the run's parameters) sizes the x axis before steps arrive;
 * `latencyTopMs`, when runs are shown side by side, is the slowest step of all of them (one latency axis for all).
 */
export function StepTimeline({
  store,
  totalSteps,
  latencyTopMs = null,
}: {
  store: RunStore | null;
  totalSteps: number | null;
  latencyTopMs?: number | null;
}) {
  // Block events do not change the timeline: redraw only when a step, the shared axis or the size changed.
  const [drawn] = useState(() => ({ key: '', store: null as RunStore | null }));
  const ref = useCanvasView(
    store,
    (canvas, ctx, view) => {
      const key =
        `${view.stepsVersion}:${totalSteps}:${latencyTopMs}:` +
        `${canvas.clientWidth}x${canvas.clientHeight}`;
      if (key === drawn.key && store === drawn.store) return;
      drawn.key = key;
      drawn.store = store;
      draw(canvas, ctx, view, totalSteps, latencyTopMs);
    },
    latencyTopMs ?? '',
  );
  return (
    <figure className="viz">
      <figcaption>
        Step timeline <span className="legend legend-plain">latency</span>
        <span className="legend legend-merged">TDTM merged</span>
        <span className="legend legend-leap">LPL leap</span>
        <span className="legend legend-cosine">cosine similarity</span>
      </figcaption>
      <canvas ref={ref} className="viz-canvas" data-testid="step-timeline" role="img" />
      {store !== null && <p className="viz-summary">{timelineSummary(store.view, totalSteps)}</p>}
    </figure>
  );
}
