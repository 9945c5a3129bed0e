// The per-pixel difference of two frames as a heatmap on a canvas (black = equal, through red to yellow = far).
import { useEffect, useRef } from 'react';

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('frame could not be decoded'));
    img.src = url;
  });
}

function pixels(img: HTMLImageElement, w: number, h: number): Uint8ClampedArray | null {
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const ctx = c.getContext('2d');
  if (ctx === null) return null;
  ctx.drawImage(img, 0, 0, w, h);
  return ctx.getImageData(0, 0, w, h).data;
}

/** Heat colour of a difference in [0, 1]. */
function heat(d: number): [number, number, number] {
  const v = Math.max(0, Math.min(1, d));
  return [Math.round(255 * Math.min(1, v * 2)), Math.round(255 * Math.max(0, v * 2 - 1)), 0];
}

/** Mean absolute difference per pixel of two RGBA buffers, scaled by `gain`, as an RGBA heatmap. */
function diffHeatmap(a: Uint8ClampedArray, b: Uint8ClampedArray, gain = 4): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(a.length);
  for (let i = 0; i + 3 < a.length; i += 4) {
    const d =
      (Math.abs((a[i] ?? 0) - (b[i] ?? 0)) +
        Math.abs((a[i + 1] ?? 0) - (b[i + 1] ?? 0)) +
        Math.abs((a[i + 2] ?? 0) - (b[i + 2] ?? 0))) /
      (3 * 255);
    const [r, g, bl] = heat(d * gain);
    out[i] = r;
    out[i + 1] = g;
    out[i + 2] = bl;
    out[i + 3] = 255;
  }
  return out;
}

/** The diff heatmap of frame A against frame B. */
export function DiffHeatmap({
  urlA,
  urlB,
  width,
  height,
}: {
  urlA: string;
  urlB: string;
  width: number;
  height: number;
}) {
  const ref = useRef<HTMLCanvasElement | null>(null);
  useEffect(() => {
    let live = true;
    const canvas = ref.current;
    if (canvas === null) return;
    void Promise.all([loadImage(urlA), loadImage(urlB)])
      .then(([a, b]) => {
        if (!live) return;
        const pa = pixels(a, width, height);
        const pb = pixels(b, width, height);
        const ctx = canvas.getContext('2d');
        if (pa === null || pb === null || ctx === null) return;
        canvas.width = width;
        canvas.height = height;
        ctx.putImageData(new ImageData(diffHeatmap(pa, pb), width, height), 0, 0);
        canvas.setAttribute('data-drawn', 'true');
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [urlA, urlB, width, height]);
  return (
    <figure className="frame-cell">
      <canvas
        ref={ref}
        className="pixelated frame-img"
        data-testid="diff-heatmap"
        width={width}
        height={height}
        role="img"
        aria-label="Difference heatmap of the two frames"
      />
      <figcaption>|A − B| (×4)</figcaption>
    </figure>
  );
}
