// Runs sandboxed before the page: exposes `window.odsora`, one method per contract command and nothing generic
// (never ipcRenderer itself, never a channel name chosen by the page). Only types come from the contract, so
// this bundle stays tiny and needs no module that a sandboxed preload cannot require.
import { contextBridge, ipcRenderer } from 'electron';
import type { StudioApi, StudioChannel, StudioReply } from '../../shared/protocol/studio-contract';

/** Calls one fixed channel and unwraps main's typed reply into a value or an Error carrying the code. */
async function call(channel: StudioChannel, args: unknown): Promise<never> {
  const reply = (await ipcRenderer.invoke(channel, args)) as StudioReply;
  if (reply.ok) return reply.result as never;
  throw new Error(`${reply.error.code}: ${reply.error.message}`);
}

const api: StudioApi = {
  appInfo: (args = {}) => call('studio:app.info', args),
};

contextBridge.exposeInMainWorld('odsora', api);
