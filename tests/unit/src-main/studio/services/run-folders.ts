// Writes run folders as the run service leaves them (run.json v3, events.jsonl, frames/*.png), for the history
// and report tests (not a test file itself).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRgbPng } from '../../../../../shared/media/png';
import { writeFinalFrame } from '../../../../../src-main/studio/services/run-frames';
import type { RunFile } from '../../../../../src-main/studio/services/run-folder';
import type { SeqRunEvent } from '../../../../../shared/report/measures';
import { sampleLog } from '../../../shared/report/fixtures';

/** A frame of one flat colour. */
export function flat(width: number, height: number, value: number): Uint8Array {
  return new Uint8Array(width * height * 3).fill(value);
}

/** Writes `<dataDir>/runs/<runId>/` with the given final frames (RGB, `size` = [width, height]) and log. */
export async function writeRunFolder(
  dataDir: string,
  runId: string,
  frames: Uint8Array[],
  size: [number, number],
  log: SeqRunEvent[] = sampleLog(),
  over: Partial<RunFile> = {},
): Promise<void> {
  const dir = join(dataDir, 'runs', runId);
  mkdirSync(dir, { recursive: true });
  const file: RunFile = {
    format: 'odsora-studio-run',
    version: 3,
    tags: [],
    notes: '',
    metrics: null,
    runId,
    deviceRunId: `d-${runId}`,
    device: {
      id: 'builtin',
      deviceId: 'dev-1',
      name: 'Phone',
      model: 'iphone-15-pro',
      role: 'target',
      simulated: true,
      engineVersion: '0.3.0',
    },
    params: { prompt: 'a ball', seed: 5, steps: 4 },
    preview: null,
    label: null,
    createdAtEpochMs: 1,
    state: 'finished',
    lastSeq: log.length,
    endedAtEpochMs: 2,
    interruption: null,
    baselineOf: null,
    baselineRunId: null,
    deviceDetails: {
      platform: 'node',
      backends: ['cpu'],
      memoryLimitBytes: 1000,
      blockSets: [{ name: 'nano', model: 'nano', bytes: 500, manifestSha256: 'cd'.repeat(32) }],
    },
    ...over,
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(file));
  writeFileSync(join(dir, 'events.jsonl'), log.map((e) => JSON.stringify(e)).join('\n') + '\n');
  for (const [i, f] of frames.entries()) await writeFinalFrame(dir, i, encodeRgbPng(f, size[0], size[1]));
}
