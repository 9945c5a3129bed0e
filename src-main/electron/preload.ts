// Runs sandboxed before the page: exposes `window.odsora`, one method per contract command and nothing generic
// (never ipcRenderer itself, never a channel name chosen by the page). Only types come from the contract, so
// this bundle stays tiny and needs no module that a sandboxed preload cannot require.
import { contextBridge, ipcRenderer } from 'electron';
import type {
  StudioBridge,
  StudioChannel,
  StudioEvent,
  StudioReply,
} from '../../shared/protocol/studio-contract';

/** STUDIO_EVENT_CHANNEL, spelled out: the sandboxed preload imports only types from the contract. */
const EVENT_CHANNEL = 'studio:event';

/** Calls one fixed channel and unwraps main's typed reply into a value or an Error carrying the code. */
async function call(channel: StudioChannel, args: unknown): Promise<never> {
  const reply = (await ipcRenderer.invoke(channel, args)) as StudioReply;
  if (reply.ok) return reply.result as never;
  throw new Error(`${reply.error.code}: ${reply.error.message}`);
}

const api: StudioBridge = {
  appInfo: (args = {}) => call('studio:app.info', args),
  listDevices: (args = {}) => call('studio:devices.list', args),
  addManualDevice: (args) => call('studio:devices.addManual', args),
  pairDevice: (args) => call('studio:devices.pair', args),
  requestPairingCode: (args) => call('studio:devices.requestPairingCode', args),
  forgetDevice: (args) => call('studio:devices.forget', args),
  setBaselineDevice: (args) => call('studio:devices.setBaseline', args),
  listRuns: (args = {}) => call('studio:runs.list', args),
  startRun: (args) => call('studio:runs.start', args),
  cancelRun: (args) => call('studio:runs.cancel', args),
  getRun: (args) => call('studio:runs.get', args),
  getRunEvents: (args) => call('studio:runs.events', args),
  getRunFrames: (args) => call('studio:runs.frames', args),
  deleteRun: (args) => call('studio:runs.delete', args),
  startBaseline: (args) => call('studio:runs.startBaseline', args),
  compareRuns: (args) => call('studio:runs.compare', args),
  preflightRun: (args) => call('studio:devices.preflight', args),
  exportReport: (args) => call('studio:reports.export', args),
  putReportVideo: (args) => call('studio:reports.putVideo', args),
  onEvent: (listener) => {
    // Hand the page the event only, never the IpcRendererEvent (it would expose `sender`).
    const forward = (_event: unknown, payload: StudioEvent): void => listener(payload);
    ipcRenderer.on(EVENT_CHANNEL, forward);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, forward);
    };
  },
};

contextBridge.exposeInMainWorld('odsora', api);
