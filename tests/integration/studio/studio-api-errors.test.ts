// The studio's HTTP API (`odsora studio --web`, a real child process with its built-in device) answers a run the
// device refuses for its parameters as the caller's mistake: HTTP 400 `bad-request`, not retryable, naming the
// field, and not as a studio failure (500 `internal`, retryable).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStudioProcess, type StudioProcess } from '../../helpers/studio-process';
import { until } from '../companion/run-helpers';

let studio: StudioProcess;

beforeAll(async () => {
  studio = await startStudioProcess();
  let status = '';
  await until(
    () => {
      void studio.api('devices.list').then((r) => {
        const devices = (r.body as { result?: { devices?: { id: string; status: string }[] } }).result
          ?.devices;
        status = devices?.find((d) => d.id === 'builtin')?.status ?? '';
      });
      return status === 'paired';
    },
    120_000,
    'the built-in device paired',
  );
}, 240_000);

afterAll(async () => {
  await studio?.stop();
});

describe('studio API errors', () => {
  it('answers a run the device refuses for its parameters with 400 bad-request, not retryable', async () => {
    // 61 px is no multiple of the model's VAE factor: only the device knows its model.
    const params = { prompt: 'a red ball', seed: 1, steps: 2, heightPx: 61 };
    const reply = await studio.api('runs.start', { deviceId: 'builtin', params });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ ok: false, error: { code: 'bad-request', retryable: false } });
    expect((reply.body as { error: { message: string } }).error.message).toMatch(
      /^runs\.start: the device refused: .*heightPx/,
    );
  });

  it('answers a job the device cannot fit in memory (job-too-large) with 400 bad-request, not retryable', async () => {
    // The built-in phone's per-app limit is far below 1024 frames at 2048×2048 on any model.
    const params = {
      prompt: 'a red ball',
      seed: 1,
      steps: 2,
      numFrames: 1024,
      heightPx: 2048,
      widthPx: 2048,
    };
    const reply = await studio.api('runs.start', { deviceId: 'builtin', params });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ ok: false, error: { code: 'bad-request', retryable: false } });
    expect((reply.body as { error: { message: string } }).error.message).toMatch(
      /^runs\.start: the device refused: .*needs at least .* per-app limit .*\[job-too-large\]$/,
    );
  });
});
