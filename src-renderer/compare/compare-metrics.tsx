// The comparison's numbers: clip PSNR, SSIM and flicker, speedup and peak-memory ratio, and per-frame curves.
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import type { CompareResult } from '../../shared/protocol/studio-contract';
import { formatBytes } from '../../shared/format';
import { formatMs, formatNumber } from '../studio/format';

/** Clip metrics, timing and memory side by side; `frameIndex` adds that frame's values. */
export function CompareMetrics({ result, frameIndex }: { result: CompareResult; frameIndex: number }) {
  const frame = result.perFrame.find((f) => f.index === frameIndex);
  return (
    <div className="metrics">
      <div className="metric" data-testid="metric-psnr" data-value={result.clip.psnr}>
        <span className="metric-label">PSNR (clip)</span>
        <strong>{formatNumber(result.clip.psnr, 2)} dB</strong>
        {frame !== undefined && <small>frame: {formatNumber(frame.psnr, 2)} dB</small>}
      </div>
      <div className="metric" data-testid="metric-ssim" data-value={result.clip.ssim}>
        <span className="metric-label">SSIM (clip)</span>
        <strong>{formatNumber(result.clip.ssim, 4)}</strong>
        {frame !== undefined && <small>frame: {formatNumber(frame.ssim, 4)}</small>}
      </div>
      <div className="metric" data-testid="metric-flicker" data-value={result.clip.flickerA}>
        <span className="metric-label">Temporal flicker (1 = steady)</span>
        <strong className="metric-pair">
          A {formatNumber(result.clip.flickerA, 4)} · B {formatNumber(result.clip.flickerB, 4)}
        </strong>
        {frame !== undefined && frame.flickerA !== null && (
          <small>
            frame: A {formatNumber(frame.flickerA, 4)} · B {formatNumber(frame.flickerB, 4)}
          </small>
        )}
      </div>
      <div className="metric" data-testid="metric-speedup" data-value={result.timing.speedup ?? ''}>
        <span className="metric-label">Speedup (B time / A time)</span>
        <strong>{result.timing.speedup === null ? '—' : `${formatNumber(result.timing.speedup, 2)}×`}</strong>
        <small>
          A {formatMs(result.timing.wallMsA)} · B {formatMs(result.timing.wallMsB)}
        </small>
      </div>
      <div className="metric" data-testid="metric-memory" data-value={result.memory.ratio ?? ''}>
        <span className="metric-label">Peak memory (A / B)</span>
        <strong>
          {result.memory.ratio === null ? '—' : `${formatNumber(result.memory.ratio * 100, 0)} %`}
        </strong>
        <small>
          A {formatBytes(result.memory.peakA)} · B {formatBytes(result.memory.peakB)}
        </small>
      </div>
    </div>
  );
}

/** PSNR and SSIM per frame. */
export function PerFrameChart({ result }: { result: CompareResult }) {
  return (
    <figure className="viz">
      <figcaption>Per frame</figcaption>
      <LineChart width={560} height={180} data={result.perFrame} margin={{ left: 4, right: 16, top: 8 }}>
        <CartesianGrid stroke="#334155" strokeDasharray="3 3" />
        <XAxis dataKey="index" stroke="#94a3b8" fontSize={10} />
        <YAxis yAxisId="psnr" stroke="#5b8def" fontSize={10} unit=" dB" />
        <YAxis yAxisId="ssim" orientation="right" domain={[0, 1]} stroke="#3ddc97" fontSize={10} />
        <Tooltip />
        <Legend />
        <Line
          yAxisId="psnr"
          dataKey="psnr"
          name="PSNR"
          stroke="#5b8def"
          dot={false}
          isAnimationActive={false}
        />
        <Line
          yAxisId="ssim"
          dataKey="ssim"
          name="SSIM"
          stroke="#3ddc97"
          dot={false}
          isAnimationActive={false}
        />
      </LineChart>
    </figure>
  );
}
