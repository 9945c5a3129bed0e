// The web-mode path of a studio call: the renderer's client on the WebSocket bridge of the real web studio
// (HTTP server, token, bridge, main's dispatcher) gets an error thrown in main as a StudioCallError carrying its
// code, message and retryable, the same envelope `POST /api/<command>` answers with.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { StudioServiceError } from '../../../src-main/studio/services/errors';
import { createStudioDispatch, createStudioHandlers } from '../../../src-main/studio/studio-handlers';
import { startWebStudio, type WebStudio } from '../../../src-main/studio/web-server';
import {
  StudioCallError,
  createBridgeClient,
  createStudioClient,
  type BridgeClient,
  type BridgeSocket,
} from '../../../src-renderer/api';

let dir: string;
let studio: WebStudio;
let client: BridgeClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'odsora-api-errors-'));
  studio = await startWebStudio({
    port: 0,
    host: '127.0.0.1',
    staticDir: dir,
    dispatch: createStudioDispatch({
      ...createStudioHandlers({ appVersion: '1.2.3', platform: 'web' }),
      'runs.get': async ({ runId }) => {
        throw new StudioServiceError('not-found', `no run ${runId}`);
      },
      'runs.delete': async ({ runId }) => {
        throw new StudioServiceError('conflict', `run ${runId} is still running`, true);
      },
      'runs.compare': async () => {
        throw new Error('frame counts differ');
      },
    }),
  });
  client = createBridgeClient({
    url: `ws://127.0.0.1:${studio.port}/bridge?token=${studio.token}`,
    createSocket: (url, h): BridgeSocket => {
      const ws = new WebSocket(url, { origin: studio.origin });
      ws.on('open', () => h.open());
      ws.on('message', (data) => h.message(String(data)));
      ws.on('close', (code) => h.close(code));
      ws.on('error', () => undefined);
      return ws;
    },
  });
});

afterAll(async () => {
  client?.close();
  await studio?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('studio client in web mode', () => {
  it('gets an error thrown in main as a StudioCallError with its code, message and retryable', async () => {
    const api = createStudioClient(client.transport);
    expect(await api.appInfo()).toMatchObject({ appVersion: '1.2.3', platform: 'web' });
    const notFound = await api.getRun({ runId: 'r-9' }).catch((err: unknown) => err);
    expect(notFound).toBeInstanceOf(StudioCallError);
    expect((notFound as StudioCallError).error).toEqual({
      code: 'not-found',
      message: 'runs.get: no run r-9',
      retryable: false,
    });
    await expect(api.deleteRun({ runId: 'r-1' })).rejects.toMatchObject({
      error: { code: 'conflict', message: 'runs.delete: run r-1 is still running', retryable: true },
    });
    await expect(api.compareRuns({ runA: 'a', runB: 'b' })).rejects.toMatchObject({
      error: { code: 'internal', message: 'runs.compare failed: frame counts differ', retryable: true },
    });
    // A studio without device services says so with its own code.
    await expect(api.listDevices()).rejects.toMatchObject({ error: { code: 'unavailable' } });
  });

  it('answers the same error over POST /api/<command>', async () => {
    const res = await fetch(`${studio.origin}/api/runs.get`, {
      method: 'POST',
      headers: { authorization: `Bearer ${studio.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ runId: 'r-9' }),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      ok: false,
      error: { code: 'not-found', message: 'runs.get: no run r-9', retryable: false },
    });
  });
});
