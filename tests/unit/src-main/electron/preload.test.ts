// The Electron path of a studio call: the preload's `window.odsora.call` goes over one IPC channel to main's
// dispatcher and hands the page main's reply envelope, so an error thrown in main arrives in the renderer's
// client as a StudioCallError with its code, message and retryable (no "code: message" text to parse back).
// Electron itself is replaced by a stand-in whose IPC structured-clones what crosses it, as Electron does.
import { describe, expect, it, vi } from 'vitest';
import {
  STUDIO_CALL_CHANNEL,
  type StudioBridge,
  type StudioEvent,
} from '../../../../shared/protocol/studio-contract';
import { StudioServiceError } from '../../../../src-main/studio/services/errors';
import { createStudioDispatch, createStudioHandlers } from '../../../../src-main/studio/studio-handlers';
import { StudioCallError, createStudioClient } from '../../../../src-renderer/api';

const electron = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  /** What main's `ipcMain.handle` answers per channel (main.ts registers STUDIO_CALL_CHANNEL only). */
  handlers: new Map<string, (...args: unknown[]) => Promise<unknown>>(),
  listeners: new Map<string, Set<(...args: unknown[]) => void>>(),
}));

vi.mock('electron', () => ({
  contextBridge: {
    exposeInMainWorld: (key: string, api: unknown) => electron.exposed.set(key, api),
  },
  ipcRenderer: {
    invoke: async (channel: string, ...args: unknown[]) => {
      const handler = electron.handlers.get(channel);
      if (handler === undefined) throw new Error(`No handler registered for '${channel}'`);
      return structuredClone(await handler(...structuredClone(args)));
    },
    on: (channel: string, listener: (...args: unknown[]) => void) => {
      const set = electron.listeners.get(channel) ?? new Set();
      set.add(listener);
      electron.listeners.set(channel, set);
    },
    removeListener: (channel: string, listener: (...args: unknown[]) => void) => {
      electron.listeners.get(channel)?.delete(listener);
    },
  },
}));

await import('../../../../src-main/electron/preload');
const bridge = electron.exposed.get('odsora') as StudioBridge;

/** Main's side: the real handlers and dispatcher, some handlers failing the way services do. */
const dispatch = createStudioDispatch({
  ...createStudioHandlers({ appVersion: '1.2.3', platform: 'electron' }),
  'runs.get': async ({ runId }) => {
    throw new StudioServiceError('not-found', `no run ${runId}`);
  },
  'runs.cancel': async () => {
    throw new StudioServiceError('unavailable', 'the device is reconnecting', true);
  },
});
electron.handlers.set(STUDIO_CALL_CHANNEL, async (command, args) => dispatch(command, args));

describe('Electron preload', () => {
  it('answers with main’s reply envelope, a failure included', async () => {
    expect(await bridge.call('app.info', {})).toMatchObject({ ok: true, result: { appVersion: '1.2.3' } });
    expect(await bridge.call('runs.get', { runId: 'r-9' })).toEqual({
      ok: false,
      error: { code: 'not-found', message: 'runs.get: no run r-9', retryable: false },
    });
  });

  it('gets an error thrown in main to the renderer as a StudioCallError with its code', async () => {
    const api = createStudioClient(bridge.call);
    const notFound = await api.getRun({ runId: 'r-9' }).catch((err: unknown) => err);
    expect(notFound).toBeInstanceOf(StudioCallError);
    expect((notFound as StudioCallError).error).toEqual({
      code: 'not-found',
      message: 'runs.get: no run r-9',
      retryable: false,
    });
    await expect(api.cancelRun({ runId: 'r-1' })).rejects.toMatchObject({
      error: { code: 'unavailable', message: 'runs.cancel: the device is reconnecting', retryable: true },
    });
    // Bad args are caught in the renderer; an unknown command or bad args from the page are caught by main.
    await expect(api.getRun({ runId: '../x' })).rejects.toMatchObject({ error: { code: 'bad-args' } });
    expect(await bridge.call('runs.nope' as never, {})).toMatchObject({
      ok: false,
      error: { code: 'unknown-command' },
    });
  });

  it('answers a call main cannot take (no IPC handler yet) with a retryable unavailable', async () => {
    electron.handlers.delete(STUDIO_CALL_CHANNEL);
    try {
      await expect(createStudioClient(bridge.call).appInfo()).rejects.toMatchObject({
        error: { code: 'unavailable', retryable: true },
      });
    } finally {
      electron.handlers.set(STUDIO_CALL_CHANNEL, async (command, args) => dispatch(command, args));
    }
  });

  it('hands the page pushed events without the IPC event object', () => {
    const seen: StudioEvent[] = [];
    const off = bridge.onEvent((e) => seen.push(e));
    const event: StudioEvent = { type: 'devices.changed', devices: [] };
    for (const l of electron.listeners.get('studio:event') ?? []) l({ sender: 'secret' }, event);
    off();
    for (const l of electron.listeners.get('studio:event') ?? []) l({ sender: 'secret' }, event);
    expect(seen).toEqual([event]);
  });
});
