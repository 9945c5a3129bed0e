// The renderer's only way to main: a `StudioApi` built on the typed contract. In Electron it wraps the preload's
// `window.odsora`; in a plain browser it calls the web studio's HTTP endpoint. Both validate args before sending
// and results on arrival, so a host bug surfaces as a typed error here rather than as a broken screen.
import {
  parseStudioArgs,
  parseStudioResult,
  studioError,
  studioMethodNames,
  studioErrorSchema,
  studioReplySchema,
  type StudioApi,
  type StudioCommand,
  type StudioError,
  type StudioResult,
} from '../shared/protocol/studio-contract';

declare global {
  interface Window {
    /** Exposed by the Electron preload; absent in a plain browser. */
    odsora?: StudioApi;
  }
}

/** A failed contract call, carrying the typed error (code, message, retryable). */
export class StudioCallError extends Error {
  readonly error: StudioError;
  constructor(error: StudioError) {
    super(error.message);
    this.name = 'StudioCallError';
    this.error = error;
  }
}

/** Delivers one validated call and returns the raw, not yet validated, result. */
export type StudioTransport = (command: StudioCommand, args: unknown) => Promise<unknown>;

/** Builds the typed API on a transport: one method per contract command, validated at both ends. */
export function createStudioClient(transport: StudioTransport): StudioApi {
  async function call<C extends StudioCommand>(command: C, rawArgs: unknown): Promise<StudioResult<C>> {
    const args = parseStudioArgs(command, rawArgs);
    if (!args.ok) throw new StudioCallError(args.error);
    const result = parseStudioResult(command, await transport(command, args.args));
    if (!result.ok) throw new StudioCallError(result.error);
    return result.result;
  }
  return {
    appInfo: (args = {}) => call('app.info', args),
    listDevices: (args = {}) => call('devices.list', args),
    addManualDevice: (args) => call('devices.addManual', args),
    pairDevice: (args) => call('devices.pair', args),
    requestPairingCode: (args) => call('devices.requestPairingCode', args),
    forgetDevice: (args) => call('devices.forget', args),
    setBaselineDevice: (args) => call('devices.setBaseline', args),
    listRuns: (args = {}) => call('runs.list', args),
    startRun: (args) => call('runs.start', args),
    cancelRun: (args) => call('runs.cancel', args),
  };
}

/** Electron: forwards to the preload's fixed methods (main validates again; the preload never exposes IPC). */
export function electronTransport(bridge: StudioApi): StudioTransport {
  return async (command, args) => {
    const method = bridge[studioMethodNames[command]] as (a: unknown) => Promise<unknown>;
    try {
      return await method.call(bridge, args);
    } catch (err) {
      // Errors lose their class crossing the context bridge; the preload puts `code: message` in the text.
      const text = err instanceof Error ? err.message : String(err);
      const [, rawCode = '', message = text] = /^([a-z-]+): (.*)$/s.exec(text) ?? [];
      const code = studioErrorSchema.shape.code.safeParse(rawCode);
      throw new StudioCallError(studioError(code.success ? code.data : 'internal', message));
    }
  };
}

/** Web mode: POST /api/<command> with the launch token as a Bearer header. */
export function httpTransport(token: string, fetchImpl: typeof fetch = fetch): StudioTransport {
  return async (command, args) => {
    let response: Response;
    try {
      response = await fetchImpl(`/api/${encodeURIComponent(command)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(args),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new StudioCallError(
        studioError('internal', `The studio server is unreachable: ${message}`, true),
      );
    }
    const reply = studioReplySchema.safeParse(await response.json().catch(() => null));
    if (!reply.success) {
      throw new StudioCallError(
        studioError('internal', `Unexpected reply from the studio (HTTP ${response.status})`),
      );
    }
    if (!reply.data.ok) throw new StudioCallError(reply.data.error);
    return reply.data.result;
  };
}

const TOKEN_KEY = 'odsora.studio.token';

/**
 * The launch token: taken from `?token=` once, kept in sessionStorage (survives reloads, not the tab), and removed
 * from the address bar so it is not bookmarked, shared in a screenshot or left in history.
 */
export function takeWebToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    window.sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return window.sessionStorage.getItem(TOKEN_KEY);
}

/** How this page reaches main. */
export type StudioConnection =
  | { mode: 'electron'; api: StudioApi }
  | { mode: 'web'; api: StudioApi }
  | { mode: 'web-without-token'; api: null };

/** Picks the preload bridge in Electron, the HTTP client in a browser, or reports a missing token. */
export function connectStudio(): StudioConnection {
  if (window.odsora) return { mode: 'electron', api: createStudioClient(electronTransport(window.odsora)) };
  const token = takeWebToken();
  if (token === null) return { mode: 'web-without-token', api: null };
  return { mode: 'web', api: createStudioClient(httpTransport(token)) };
}
