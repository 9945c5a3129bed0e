// Runs sandboxed before the page: exposes `window.odsora`, one `call(command, args)` that goes to main's one
// dispatcher and answers with its reply envelope, and the pushed events; never ipcRenderer itself, never a
// channel chosen by the page (main checks the command name and its args, as the web bridge does). Nothing here
// names a command, so a new command needs no edit here. Only types come from the contract, so this bundle stays
// tiny and needs no module that a sandboxed preload cannot require.
import { contextBridge, ipcRenderer } from 'electron';
import type {
  STUDIO_CALL_CHANNEL,
  STUDIO_EVENT_CHANNEL,
  StudioBridge,
  StudioEvent,
  StudioReply,
} from '../../shared/protocol/studio-contract';

// The contract's channel names, spelled out (the sandboxed preload imports only types); their types keep them equal.
const CALL_CHANNEL: typeof STUDIO_CALL_CHANNEL = 'studio:call';
const EVENT_CHANNEL: typeof STUDIO_EVENT_CHANNEL = 'studio:event';

const api: StudioBridge = {
  call: async (command, args) => {
    try {
      return (await ipcRenderer.invoke(CALL_CHANNEL, command, args)) as StudioReply;
    } catch (err) {
      // Main had no handler (still starting, or failed to) or broke the IPC: the call did not run.
      const message = err instanceof Error ? err.message : String(err);
      return {
        ok: false,
        error: { code: 'unavailable', message: `${command}: ${message}`, retryable: true },
      };
    }
  },
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
