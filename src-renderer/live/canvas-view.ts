// Wires a canvas to a run store: draws on mount, after each store notification (at most once per animation
// frame) and on resize. Drawing goes straight to the canvas, outside React, so a busy run re-renders nothing.
import { useEffect, useRef, type RefObject } from 'react';
import type { RunView } from '../../shared/report/run-fold';
import type { RunStore } from './run-store';

/** Draws `view` on `canvas`; `ctx` is null where the page has no 2D context (tests), but attributes still apply. */
export type CanvasDraw = (
  canvas: HTMLCanvasElement,
  ctx: CanvasRenderingContext2D | null,
  view: RunView,
) => void;

/** Sizes the backing store to the element's box times the pixel ratio; returns the CSS size. */
export function fitCanvas(
  canvas: HTMLCanvasElement,
  ctx: CanvasRenderingContext2D | null,
): { w: number; h: number } {
  const w = canvas.clientWidth || canvas.width || 600;
  const h = canvas.clientHeight || canvas.height || 160;
  if (ctx === null) return { w, h };
  const ratio = window.devicePixelRatio || 1;
  const bw = Math.round(w * ratio);
  const bh = Math.round(h * ratio);
  if (canvas.width !== bw || canvas.height !== bh) {
    canvas.width = bw;
    canvas.height = bh;
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { w, h };
}

function context(canvas: HTMLCanvasElement): CanvasRenderingContext2D | null {
  try {
    return canvas.getContext('2d');
  } catch {
    return null;
  }
}

/**
 * A ref for a canvas that `draw` keeps current with `store`; a change of `redrawKey` (something drawn that is not in
 * the store, e.g. an axis shared with another run) draws it again.
 */
export function useCanvasView(
  store: RunStore | null,
  draw: CanvasDraw,
  redrawKey: string | number = '',
): RefObject<HTMLCanvasElement | null> {
  const ref = useRef<HTMLCanvasElement | null>(null);
  const drawRef = useRef(draw);
  drawRef.current = draw;
  useEffect(() => {
    const canvas = ref.current;
    if (canvas === null || store === null) return;
    const ctx = context(canvas);
    const paint = (): void => drawRef.current(canvas, ctx, store.view);
    paint();
    const unsubscribe = store.subscribe(paint);
    let observer: ResizeObserver | null = null;
    if (typeof ResizeObserver !== 'undefined') {
      observer = new ResizeObserver(() => requestAnimationFrame(paint));
      observer.observe(canvas);
    }
    return () => {
      unsubscribe();
      observer?.disconnect();
    };
  }, [store, redrawKey]);
  return ref;
}
