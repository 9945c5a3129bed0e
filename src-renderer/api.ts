// The renderer's only way to main: a `StudioApi` built by iterating the typed contract, plus the pushed
// StudioEvents. Every call goes through one `StudioCall` that answers with main's reply envelope: in Electron the
// preload's `window.odsora.call`; in a plain browser the web studio's WebSocket bridge (`/bridge`:
// `{ id, command, args }` → `{ id, ok, result | error }`, pushed `{ event }`), reconnecting on its own. Args are
// validated before sending, envelopes, results and events on arrival, so a host bug surfaces as a typed error
// here rather than as a broken screen.
import {
  STUDIO_BRIDGE_PATH,
  describeIssues,
  isReadOnlyCommand,
  parseStudioArgs,
  parseStudioResult,
  studioCommands,
  studioContract,
  studioError,
  studioEventFrameSchema,
  studioEventSchema,
  studioReplySchema,
  studioResponseSchema,
  type StudioApi,
  type StudioBridge,
  type StudioBridgeRole,
  type StudioCall,
  type StudioCommand,
  type StudioError,
  type StudioEvent,
  type StudioReply,
  type StudioResult,
} from '../shared/protocol/studio-contract';

declare global {
  interface Window {
    /** Exposed by the Electron preload; absent in a plain browser. */
    odsora?: StudioBridge;
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

/**
 * Builds the typed API on a transport by iterating the contract: one method per command (named by its `method`),
 * args validated before sending, the reply envelope checked on arrival, the result validated against the
 * command's schema. A failure rejects with {@link StudioCallError} carrying main's `{ code, message, retryable }`.
 */
export function createStudioClient(transport: StudioCall): StudioApi {
  async function call<C extends StudioCommand>(command: C, rawArgs: unknown): Promise<StudioResult<C>> {
    const args = parseStudioArgs(command, rawArgs);
    if (!args.ok) throw new StudioCallError(args.error);
    const reply = studioReplySchema.safeParse(await transport(command, args.args));
    if (!reply.success) {
      throw new StudioCallError(studioError('internal', `${command} reply: ${describeIssues(reply.error)}`));
    }
    if (!reply.data.ok) throw new StudioCallError(reply.data.error);
    const result = parseStudioResult(command, reply.data.result);
    if (!result.ok) throw new StudioCallError(result.error);
    return result.result;
  }
  const api: Record<string, (args?: unknown) => Promise<unknown>> = {};
  for (const command of studioCommands) {
    api[studioContract[command].method] = (args = {}) => call(command, args);
  }
  // The loop above fills exactly the mapped type's keys; TypeScript cannot follow a loop over a mapped type.
  return api as StudioApi;
}

/** The part of a WebSocket the bridge client uses (the browser's, or `ws` in tests). */
export interface BridgeSocket {
  /** 1 while open, as `WebSocket.OPEN`. */
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** What a {@link BridgeSocketFactory} reports back about the socket it opened. */
export interface BridgeSocketHandlers {
  open(): void;
  message(data: unknown): void;
  close(code: number): void;
}

/** Opens a socket to `url` and wires its events to `handlers`. */
export type BridgeSocketFactory = (url: string, handlers: BridgeSocketHandlers) => BridgeSocket;

/** Where the bridge connection stands: `open`, or `connecting` (first try and every reconnect), or `closed`. */
export type BridgeStatus = 'connecting' | 'open' | 'closed';

export interface BridgeClientOptions {
  /** `ws://host:port/bridge?token=…` (or `?mirror=…`); {@link bridgeUrl} builds it from the page's location. */
  url: string;
  /** Only read-only commands are sent for a mirror; the others fail here with `forbidden`. */
  role?: StudioBridgeRole;
  /** Default: the browser's WebSocket. */
  createSocket?: BridgeSocketFactory;
  /** A call not answered in this time fails with a retryable `unavailable` (default 60 s). */
  requestTimeoutMs?: number;
  /** Reconnect backoff: doubles from `min` up to `max` (default 250 ms … 10 s), with jitter. */
  reconnectDelayMs?: { min: number; max: number };
}

/** The web studio over its WebSocket bridge: calls, pushed events, connection status. */
export interface BridgeClient {
  readonly transport: StudioCall;
  /** Calls `listener` with each validated pushed event; returns the unsubscribe function. */
  onEvent(listener: (event: StudioEvent) => void): () => void;
  /**
   * Calls `listener` on each status change. After a reconnect (`open` again) pushed events may have been missed:
   * re-read the lists.
   */
  onStatus(listener: (status: BridgeStatus) => void): () => void;
  readonly status: BridgeStatus;
  /** Closes the socket for good; pending calls fail. */
  close(): void;
}

const SOCKET_OPEN = 1;

/** The reply envelope of a call that failed on this side of the bridge. */
function failed(error: StudioError): StudioReply {
  return { ok: false, error };
}

function browserSocket(url: string, handlers: BridgeSocketHandlers): BridgeSocket {
  const ws = new WebSocket(url);
  ws.onopen = () => handlers.open();
  ws.onmessage = (ev) => handlers.message(ev.data);
  ws.onclose = (ev) => handlers.close(ev.code);
  ws.onerror = () => undefined; // always followed by close
  return ws;
}

/** Connects to the bridge and keeps reconnecting until {@link BridgeClient.close}. */
export function createBridgeClient(options: BridgeClientOptions): BridgeClient {
  const createSocket = options.createSocket ?? browserSocket;
  const timeoutMs = options.requestTimeoutMs ?? 60_000;
  const backoff = options.reconnectDelayMs ?? { min: 250, max: 10_000 };
  const role = options.role ?? 'control';

  interface Pending {
    frame: string;
    sent: boolean;
    /** Settles the call with its reply envelope (main's, or a local failure: timeout, lost connection). */
    answer: (reply: StudioReply) => void;
    timer: ReturnType<typeof setTimeout>;
  }
  const pending = new Map<number, Pending>();
  const eventListeners = new Set<(event: StudioEvent) => void>();
  const statusListeners = new Set<(status: BridgeStatus) => void>();
  let nextId = 1;
  let status: BridgeStatus = 'connecting';
  let socket: BridgeSocket | null = null;
  let delay = backoff.min;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;

  const setStatus = (next: BridgeStatus): void => {
    if (next === status) return;
    status = next;
    for (const l of statusListeners) l(next);
  };

  const settle = (id: number): Pending | undefined => {
    const p = pending.get(id);
    if (p === undefined) return undefined;
    pending.delete(id);
    clearTimeout(p.timer);
    return p;
  };

  const onMessage = (data: unknown): void => {
    if (typeof data !== 'string') return;
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof raw === 'object' && raw !== null && 'event' in raw) {
      const frame = studioEventFrameSchema.safeParse(raw);
      if (!frame.success) return;
      for (const l of eventListeners) {
        try {
          l(frame.data.event);
        } catch {
          // one broken view must not stop the others from updating
        }
      }
      return;
    }
    const response = studioResponseSchema.safeParse(raw);
    if (!response.success || response.data.id === null) return;
    const p = settle(response.data.id);
    if (p === undefined) return;
    p.answer(
      response.data.ok
        ? { ok: true, result: response.data.result }
        : { ok: false, error: response.data.error },
    );
  };

  const connect = (): void => {
    retryTimer = null;
    setStatus('connecting');
    const s = createSocket(options.url, {
      open: () => {
        if (socket !== s) return;
        delay = backoff.min;
        setStatus('open');
        for (const p of pending.values()) {
          if (!p.sent) {
            p.sent = true;
            s.send(p.frame);
          }
        }
      },
      message: (data) => {
        if (socket === s) onMessage(data);
      },
      close: () => {
        if (socket !== s) return;
        socket = null;
        // A sent call may or may not have run (runs.start): fail it rather than send it twice.
        for (const [id, p] of pending) {
          if (!p.sent) continue;
          settle(id);
          p.answer(failed(studioError('unavailable', 'Lost the connection to the studio', true)));
        }
        if (status === 'closed') return;
        setStatus('connecting');
        const wait = delay * (0.75 + Math.random() * 0.5);
        delay = Math.min(backoff.max, delay * 2);
        retryTimer = setTimeout(connect, wait);
      },
    });
    socket = s;
  };

  const transport: StudioCall = (command, args) =>
    new Promise((answer) => {
      if (status === 'closed') {
        answer(failed(studioError('unavailable', 'The studio connection is closed')));
        return;
      }
      if (role === 'mirror' && !isReadOnlyCommand(command)) {
        answer(failed(studioError('forbidden', `${command}: this is a read-only mirror`)));
        return;
      }
      const id = nextId++;
      const p: Pending = {
        frame: JSON.stringify({ id, command, args }),
        sent: false,
        answer,
        timer: setTimeout(() => {
          if (settle(id) !== undefined) {
            answer(failed(studioError('unavailable', `${command}: no answer in time`, true)));
          }
        }, timeoutMs),
      };
      pending.set(id, p);
      if (socket !== null && socket.readyState === SOCKET_OPEN) {
        p.sent = true;
        socket.send(p.frame);
      }
    });

  connect();

  return {
    transport,
    onEvent(listener) {
      eventListeners.add(listener);
      return () => {
        eventListeners.delete(listener);
      };
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => {
        statusListeners.delete(listener);
      };
    },
    get status() {
      return status;
    },
    close() {
      setStatus('closed');
      if (retryTimer !== null) clearTimeout(retryTimer);
      const s = socket;
      socket = null;
      s?.close(1000, 'page closed');
      for (const [id, p] of pending) {
        settle(id);
        p.answer(failed(studioError('unavailable', 'The studio connection is closed')));
      }
    },
  };
}

/** The bridge URL for this page: same host, `ws:` or `wss:` like the page, the credential as a query parameter. */
export function bridgeUrl(credential: WebCredential, location: Pick<Location, 'protocol' | 'host'>): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const param = credential.role === 'mirror' ? 'mirror' : 'token';
  return `${scheme}//${location.host}${STUDIO_BRIDGE_PATH}?${param}=${encodeURIComponent(credential.token)}`;
}

/** The page's credential: the launch token (full control) or the mirror token (read-only). */
export interface WebCredential {
  role: StudioBridgeRole;
  token: string;
}

const CREDENTIAL_KEY = 'odsora.studio.credential';

/**
 * The page's credential: taken from `?token=` or `?mirror=` once (a mirror link wins: least privilege), kept in
 * sessionStorage (survives reloads, not the tab), and removed from the address bar so it is not bookmarked,
 * shared in a screenshot or left in history.
 */
export function takeWebCredential(): WebCredential | null {
  const url = new URL(window.location.href);
  const mirror = url.searchParams.get('mirror');
  const token = url.searchParams.get('token');
  const credential: WebCredential | null = mirror
    ? { role: 'mirror', token: mirror }
    : token
      ? { role: 'control', token }
      : null;
  if (credential !== null) {
    window.sessionStorage.setItem(CREDENTIAL_KEY, JSON.stringify(credential));
    url.searchParams.delete('mirror');
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    return credential;
  }
  try {
    const stored: unknown = JSON.parse(window.sessionStorage.getItem(CREDENTIAL_KEY) ?? 'null');
    if (
      typeof stored === 'object' &&
      stored !== null &&
      'role' in stored &&
      'token' in stored &&
      (stored.role === 'control' || stored.role === 'mirror') &&
      typeof stored.token === 'string' &&
      stored.token !== ''
    ) {
      return { role: stored.role, token: stored.token };
    }
  } catch {
    // a corrupt entry is the same as none
  }
  return null;
}

/** Subscribes to pushed events; returns the unsubscribe function. */
export type StudioEventSource = (listener: (event: StudioEvent) => void) => () => void;

/** How this page reaches main. */
export type StudioConnection =
  | { mode: 'electron'; role: 'control'; api: StudioApi; onEvent: StudioEventSource }
  | {
      mode: 'web';
      role: StudioBridgeRole;
      api: StudioApi;
      onEvent: StudioEventSource;
      onStatus: BridgeClient['onStatus'];
    }
  | { mode: 'web-without-token'; api: null };

/** Electron: the preload's event channel, each event validated like every reply. */
function electronEvents(bridge: StudioBridge): StudioEventSource {
  return (listener) =>
    bridge.onEvent((raw) => {
      const event = studioEventSchema.safeParse(raw);
      if (event.success) listener(event.data);
    });
}

/** Picks the preload bridge in Electron, the WebSocket bridge in a browser, or reports a missing token. */
export function connectStudio(): StudioConnection {
  if (window.odsora) {
    return {
      mode: 'electron',
      role: 'control',
      // The preload's call already answers with main's reply envelope: no error text to parse.
      api: createStudioClient(window.odsora.call),
      onEvent: electronEvents(window.odsora),
    };
  }
  const credential = takeWebCredential();
  if (credential === null) return { mode: 'web-without-token', api: null };
  const client = createBridgeClient({ url: bridgeUrl(credential, window.location), role: credential.role });
  return {
    mode: 'web',
    role: credential.role,
    api: createStudioClient(client.transport),
    onEvent: (listener) => client.onEvent(listener),
    onStatus: (listener) => client.onStatus(listener),
  };
}
