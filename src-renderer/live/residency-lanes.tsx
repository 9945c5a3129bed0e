// Block residency lanes on a canvas: one lane per CI-DL block, coloured by what the block is doing over time
// (loading / computing / resident; gaps are released), with release ticks, and below them resident bytes against
// the budget. Where blocks say where they ran, each lane's label has a marker (Core ML, CPU, CUDA, mixed) and the
// legend counts the blocks per placement.
import { useState, useSyncExternalStore, type CSSProperties } from 'react';
import { formatBytes } from '../../shared/format';
import {
  PLACEMENT_COLOURS,
  PLACEMENT_LABELS,
  placementCounts,
  placementSummary,
} from '../../shared/report/placement';
import { useCanvasView } from './canvas-view';
import { LanesPainter } from './lanes-painter';
import type { RunStore } from './run-store';

const noSubscription = (): (() => void) => () => undefined;

/**
 * The residency lanes of a run; `sharedPeakBytes`, when runs are shown side by side, is the highest resident bytes of
 * all of them (one byte axis for all).
 */
export function ResidencyLanes({
  store,
  sharedPeakBytes = 0,
}: {
  store: RunStore | null;
  sharedPeakBytes?: number;
}) {
  // One painter per canvas and run: it remembers what it already drew.
  const [painter] = useState(() => new Map<RunStore, LanesPainter>());
  const ref = useCanvasView(
    store,
    (canvas, ctx, view) => {
      if (store === null) return;
      let p = painter.get(store);
      if (p === undefined) {
        painter.clear();
        p = new LanesPainter();
        painter.set(store, p);
      }
      p.paint(canvas, ctx, view, sharedPeakBytes);
    },
    sharedPeakBytes,
  );
  const view = store?.view;
  // The placement legend follows the run outside React's renders (a busy run re-renders nothing): this re-renders
  // only when the blocks per placement change.
  useSyncExternalStore(store?.subscribe ?? noSubscription, () => placementSummary(view?.lanes ?? []));
  const placements = placementCounts(view?.lanes ?? []);
  return (
    <figure className="viz">
      <figcaption>
        Block residency <span className="legend legend-loading">loading</span>
        <span className="legend legend-computing">computing</span>
        <span className="legend legend-resident">resident</span>
        <span className="legend legend-released">released</span>
        {placements.map((c) => (
          <span
            key={c.placement}
            className="legend legend-placement"
            data-placement={c.placement}
            title={
              c.placement === 'mixed'
                ? 'blocks whose computes ran on different placements (e.g. Core ML for plain steps, CPU for TDTM ones)'
                : `blocks that ran on ${PLACEMENT_LABELS[c.placement]}`
            }
            style={{ '--legend-colour': PLACEMENT_COLOURS[c.placement] } as CSSProperties}
          >
            {PLACEMENT_LABELS[c.placement]} · {c.blocks} block{c.blocks === 1 ? '' : 's'}
          </span>
        ))}
      </figcaption>
      <canvas ref={ref} className="viz-canvas viz-lanes" data-testid="residency-lanes" role="img" />
      {view !== undefined && (
        <p className="viz-summary">
          {view.lanes.length} blocks · resident {formatBytes(view.residentBytes)} · peak{' '}
          {formatBytes(view.peakResidentBytes)}
          {view.budgetBytes !== null ? ` · budget ${formatBytes(view.budgetBytes)}` : ' · no budget'}
        </p>
      )}
    </figure>
  );
}
