// Paints the residency lanes incrementally: between rescales only what changed since the last frame is drawn (new
// stretches, the growing open ones, new release ticks, new memory points), so a frame late in a 10,000-event run
// costs about what a frame early in it does. The time axis keeps headroom and doubles when the run
// outgrows it (one full repaint each time: amortised O(1) per event); a finished run is repainted once to fit.
import type { BlockPlacement } from '../../shared/engine/execution-provider';
import { PLACEMENT_COLOURS, PLACEMENT_LABELS, placementCounts } from '../../shared/report/placement';
import type { LaneKind, RunView } from '../../shared/report/run-fold';
import { budgetOnScale, memoryAxisTop } from '../../shared/report/axes';
import { formatBytes } from '../../shared/format';

const KIND_COLORS: Record<LaneKind, string> = {
  loading: '#ffb703',
  computing: '#3ddc97',
  resident: '#5b8def',
};
const RELEASE_COLOR = '#ef4444';
const RESIDENT_LINE = '#5b8def';
const BUDGET_LINE = '#ef4444';
/** The share of the canvas height given to the memory curve. */
const MEMORY_SHARE = 0.28;
const LABEL_W = 168;
/** The placement marker at the right of each lane's label (Core ML, CPU…), this wide. */
const PLACEMENT_W = 42;
/** Headroom of the time and byte axes while a run streams (each outgrowing doubles the axis). */
const HEADROOM = 2;
/** The smallest time axis while a run streams. */
const MIN_SPAN_MS = 1000;

interface Layout {
  w: number;
  h: number;
  t0: number;
  spanMs: number;
  lanes: number;
  maxBytes: number;
  exact: boolean;
}

/** The incremental painter of one lanes canvas. */
export class LanesPainter {
  private layout: Layout | null = null;
  private segCursor: number[] = [];
  private relCursor: number[] = [];
  /** The placement marker drawn per lane (null: none yet). */
  private placementDrawn: (BlockPlacement | null)[] = [];
  private memCursor = 0;
  private prevResident = 0;
  private prevBudget: number | null = null;
  private tailX = 0;
  /** Full repaints so far (a test bounds them). */
  fullPaints = 0;
  /** Rectangles and line pieces drawn so far (a test bounds them per event). */
  shapes = 0;

  /**
   * Brings the canvas up to date with `view`. `sharedPeakBytes`: when runs are shown side by side, the highest
   * resident bytes of all of them (one byte axis for all). The byte axis fits the curve, not the budget: a budget far
   * above it (see `memoryAxisTop`) is not drawn as a line but named as off scale.
   */
  paint(
    canvas: HTMLCanvasElement,
    ctx: CanvasRenderingContext2D | null,
    view: RunView,
    sharedPeakBytes = 0,
  ): void {
    canvas.setAttribute('data-lanes', String(view.lanes.length));
    canvas.setAttribute('data-events-drawn', String(view.blockEvents));
    // e.g. `coreml:26 cpu:2`: the lanes per placement marker (empty when no block said where it ran).
    canvas.setAttribute(
      'data-placements',
      placementCounts(view.lanes)
        .map((c) => `${c.placement}:${c.blocks}`)
        .join(' '),
    );
    canvas.setAttribute(
      'aria-label',
      `Residency lanes: ${view.lanes.length} blocks, ${formatBytes(view.residentBytes)} resident` +
        (view.budgetBytes !== null ? ` of a ${formatBytes(view.budgetBytes)} budget` : ''),
    );
    const maxBytes = memoryAxisTop([view.peakResidentBytes, sharedPeakBytes], [view.budgetBytes]);
    canvas.setAttribute('data-bytes-top', String(maxBytes));
    canvas.setAttribute(
      'data-budget',
      view.budgetBytes === null
        ? 'none'
        : budgetOnScale(view.budgetBytes, maxBytes)
          ? 'on-scale'
          : 'off-scale',
    );
    if (ctx === null || view.firstAtMs === null || view.lastAtMs === null) return;
    const w = canvas.clientWidth || 600;
    const h = canvas.clientHeight || 300;
    const ended = view.state !== null && view.state !== 'queued' && view.state !== 'running';
    const used = Math.max(1, view.lastAtMs - view.firstAtMs);
    const l = this.layout;
    const stale =
      l === null ||
      l.w !== w ||
      l.h !== h ||
      l.t0 !== view.firstAtMs ||
      l.lanes !== view.lanes.length ||
      used > l.spanMs ||
      maxBytes > l.maxBytes ||
      (ended && !l.exact);
    if (stale) {
      this.layout = {
        w,
        h,
        t0: view.firstAtMs,
        spanMs: ended ? used : Math.max(MIN_SPAN_MS, used * HEADROOM),
        lanes: view.lanes.length,
        maxBytes: Math.max(1, ended ? maxBytes : maxBytes * HEADROOM),
        exact: ended,
      };
      this.repaintAll(canvas, ctx, view);
    } else {
      this.paintNew(ctx, view);
    }
  }

  private repaintAll(canvas: HTMLCanvasElement, ctx: CanvasRenderingContext2D, view: RunView): void {
    const l = this.layout as Layout;
    const ratio = window.devicePixelRatio || 1;
    const bw = Math.round(l.w * ratio);
    const bh = Math.round(l.h * ratio);
    if (canvas.width !== bw || canvas.height !== bh) {
      canvas.width = bw;
      canvas.height = bh;
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, l.w, l.h);
    this.fullPaints++;
    this.segCursor = view.lanes.map(() => 0);
    this.relCursor = view.lanes.map(() => 0);
    this.placementDrawn = view.lanes.map(() => null);
    this.memCursor = 0;
    this.prevResident = 0;
    this.prevBudget = null;
    this.tailX = LABEL_W;
    const rowH = this.rowH();
    if (rowH >= 9) {
      ctx.fillStyle = '#94a3b8';
      ctx.font = `${Math.min(11, Math.max(8, rowH - 2))}px system-ui, sans-serif`;
      view.lanes.forEach((lane, i) => {
        const name = lane.block.length > 21 ? `…${lane.block.slice(-20)}` : lane.block;
        ctx.fillText(name, 2, i * rowH + rowH - 2, LABEL_W - PLACEMENT_W - 8);
      });
    }
    this.paintNew(ctx, view);
  }

  private rowH(): number {
    const l = this.layout as Layout;
    return (l.h * (1 - MEMORY_SHARE)) / Math.max(1, l.lanes);
  }

  private x(t: number): number {
    const l = this.layout as Layout;
    return LABEL_W + ((t - l.t0) / l.spanMs) * (l.w - LABEL_W - 6);
  }

  private paintNew(ctx: CanvasRenderingContext2D, view: RunView): void {
    const l = this.layout as Layout;
    const now = view.lastAtMs ?? l.t0;
    const rowH = this.rowH();
    for (let i = 0; i < view.lanes.length; i++) {
      const lane = view.lanes[i];
      if (lane === undefined) continue;
      const y = i * rowH;
      let k = this.segCursor[i] ?? 0;
      for (let j = k; j < lane.segments.length; j++) {
        const seg = lane.segments[j];
        if (seg === undefined) continue;
        const x0 = this.x(seg.startMs);
        const x1 = this.x(seg.endMs ?? now);
        ctx.fillStyle = KIND_COLORS[seg.kind];
        ctx.fillRect(x0, y + 1, Math.max(1, x1 - x0), Math.max(1, rowH - 2));
        this.shapes++;
        if (seg.endMs !== null && j === k) k++; // closed and drawn in full: never again
      }
      this.segCursor[i] = k;
      ctx.fillStyle = RELEASE_COLOR;
      for (let j = this.relCursor[i] ?? 0; j < lane.releases.length; j++) {
        ctx.fillRect(this.x(lane.releases[j] ?? now), y, 1, rowH);
        this.shapes++;
      }
      this.relCursor[i] = lane.releases.length;
      if (lane.placement !== null && lane.placement !== this.placementDrawn[i]) {
        this.paintPlacement(ctx, lane.placement, y, rowH);
        this.placementDrawn[i] = lane.placement;
      }
    }
    this.paintMemory(ctx, view, now);
  }

  /** The lane's placement marker: a swatch in its colour, and its name where the row is tall enough to read. */
  private paintPlacement(
    ctx: CanvasRenderingContext2D,
    placement: BlockPlacement,
    y: number,
    rowH: number,
  ): void {
    const x = LABEL_W - PLACEMENT_W - 4;
    ctx.clearRect(x, y, PLACEMENT_W, rowH);
    ctx.fillStyle = PLACEMENT_COLOURS[placement];
    if (rowH >= 9) {
      ctx.fillRect(x, y + 2, 3, Math.max(1, rowH - 4));
      ctx.font = `${Math.min(10, Math.max(8, rowH - 3))}px system-ui, sans-serif`;
      ctx.fillText(PLACEMENT_LABELS[placement], x + 5, y + rowH - 2, PLACEMENT_W - 6);
    } else {
      ctx.fillRect(x, y, PLACEMENT_W - 2, Math.max(1, rowH - 0.5));
    }
    this.shapes++;
  }

  private paintMemory(ctx: CanvasRenderingContext2D, view: RunView, now: number): void {
    const l = this.layout as Layout;
    const top = l.h * (1 - MEMORY_SHARE) + 4;
    const mh = l.h - top - 2;
    const y = (bytes: number): number => top + mh - (Math.min(bytes, l.maxBytes) / l.maxBytes) * mh;
    ctx.lineWidth = 1.2;
    for (; this.memCursor < view.memory.length; this.memCursor++) {
      const p = view.memory[this.memCursor];
      if (p === undefined) continue;
      const px = this.x(p.atMs);
      this.segment(ctx, RESIDENT_LINE, [], this.tailX, y(this.prevResident), px, y(p.residentBytes));
      if (this.budgetDrawn(this.prevBudget) || this.budgetDrawn(p.budgetBytes)) {
        const from = y(this.prevBudget ?? p.budgetBytes ?? 0);
        this.segment(ctx, BUDGET_LINE, [5, 4], this.tailX, from, px, y(p.budgetBytes ?? 0));
      }
      this.prevResident = p.residentBytes;
      this.prevBudget = p.budgetBytes;
      this.tailX = px;
    }
    const nx = this.x(now);
    if (nx > this.tailX) {
      this.segment(ctx, RESIDENT_LINE, [], this.tailX, y(this.prevResident), nx, null);
      if (this.prevBudget !== null && this.budgetDrawn(this.prevBudget)) {
        this.segment(ctx, BUDGET_LINE, [5, 4], this.tailX, y(this.prevBudget), nx, null);
      }
      this.tailX = nx;
    }
    ctx.clearRect(0, top, LABEL_W - 4, 28);
    ctx.fillStyle = '#cbd5e1';
    ctx.font = '10px system-ui, sans-serif';
    ctx.fillText(`resident ${formatBytes(view.residentBytes)}`, 2, top + 10);
    if (view.budgetBytes !== null)
      ctx.fillText(
        `budget ${formatBytes(view.budgetBytes)}${this.budgetDrawn(view.budgetBytes) ? '' : ' ↑ off scale'}`,
        2,
        top + 22,
      );
  }

  /** Whether a budget is on the byte axis (drawn as a line); a budget far above the curve is off scale. */
  private budgetDrawn(budgetBytes: number | null): boolean {
    return budgetBytes !== null && budgetOnScale(budgetBytes, (this.layout as Layout).maxBytes);
  }

  /** A horizontal piece from (x0, y0) to (x1, y0), then up or down to `y1` (null: none). */
  private segment(
    ctx: CanvasRenderingContext2D,
    color: string,
    dash: number[],
    x0: number,
    y0: number,
    x1: number,
    y1: number | null,
  ): void {
    ctx.strokeStyle = color;
    ctx.setLineDash(dash);
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y0);
    if (y1 !== null) ctx.lineTo(x1, y1);
    ctx.stroke();
    ctx.setLineDash([]);
    this.shapes++;
  }
}
