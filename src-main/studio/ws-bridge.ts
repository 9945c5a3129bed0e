// The web studio's WebSocket bridge: the studio contract over one socket per page. Requests are `{ id, command,
// args }` and answers `{ id, ok, result | error }` (studio-contract.ts); every StudioEvent the services emit is
// pushed as `{ event }`. The web server authenticates the upgrade (token, Host, Origin) and hands the socket here
// with its role; this module enforces the role, the frame size, the rate and the in-flight limits, and turns
// anything malformed into a typed error envelope instead of an exception. Control and mirror connections count
// against separate quotas, so whoever holds the mirror link can never take the owner's slots: a connection over
// its role's quota takes the place of that role's longest-idle connection (closed with 1013), so a control page
// always gets in.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  describeIssues,
  isReadOnlyCommand,
  isStudioCommand,
  studioError,
  studioRequestSchema,
  type StudioBridgeRole,
  type StudioError,
  type StudioEvent,
  type StudioResponse,
} from '../../shared/protocol/studio-contract';
import type { StudioDispatch } from './studio-handlers';
import { FollowedRuns } from './followed-runs';

/** The bridge's limits; every field has a default. */
export interface WsBridgeLimits {
  /** Largest accepted frame; a larger one closes the socket with 1009 (default 256 KiB). */
  maxPayloadBytes: number;
  /** Sustained requests per second per connection (token bucket refill rate, default 100). */
  ratePerSecond: number;
  /** Requests a connection may send at once before the rate applies (bucket size, default 200). */
  rateBurst: number;
  /** Calls of one connection being handled at the same time (default 64). */
  maxInFlight: number;
  /** Unsent bytes a connection may queue before it is dropped as too slow for the event stream (default 16 MiB). */
  maxBufferedBytes: number;
  /**
   * Open control connections (the studio token) at once (default 16). One more takes the place of the control
   * connection idle the longest: the owner always gets in.
   */
  maxControlConnections: number;
  /**
   * Open mirror connections (the read-only link) at once, counted apart from control (default 16). One more takes
   * the place of the mirror connection idle the longest.
   */
  maxMirrorConnections: number;
  /** Interval of keep-alive pings; a connection that missed the previous pong is dropped (default 30 s, 0 = off). */
  pingIntervalMs: number;
}

const DEFAULT_WS_BRIDGE_LIMITS: Readonly<WsBridgeLimits> = {
  maxPayloadBytes: 256 * 1024,
  ratePerSecond: 100,
  rateBurst: 200,
  maxInFlight: 64,
  maxBufferedBytes: 16 * 1024 * 1024,
  maxControlConnections: 16,
  maxMirrorConnections: 16,
  pingIntervalMs: 30_000,
};

/** WebSocket close codes the bridge uses. */
const BRIDGE_CLOSE = {
  goingAway: 1001,
  policyViolation: 1008,
  tryAgainLater: 1013,
} as const;

export interface WsBridgeOptions {
  /** Answers contract calls (the same dispatcher as Electron IPC and the HTTP API). */
  dispatch: StudioDispatch;
  /** The services' pushed updates (`StudioServices.onEvent`); without it the bridge pushes nothing. */
  onEvent?: (listener: (event: StudioEvent) => void) => () => void;
  limits?: Partial<WsBridgeLimits>;
}

export interface WsBridge {
  /** Completes an upgrade the caller has already authenticated; `role` decides which commands it may call. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, role: StudioBridgeRole): void;
  /** Open connections. */
  readonly size: number;
  /** Closes every connection (1001) and stops listening to events. */
  close(): Promise<void>;
}

interface Peer {
  ws: WebSocket;
  role: StudioBridgeRole;
  tokens: number;
  refilledAt: number;
  /** Frames refused by the rate limit since the last accepted one. */
  refusedInARow: number;
  inFlight: number;
  alive: boolean;
  /** When the connection opened or last sent a frame (performance.now()): the longest idle gives way. */
  activeAt: number;
  /** The runs whose events it wants (`events.follow`). */
  followed: FollowedRuns;
}

/** Builds the bridge; attach it to an http server's `upgrade` event through {@link WsBridge.accept}. */
export function createWsBridge(options: WsBridgeOptions): WsBridge {
  const limits: WsBridgeLimits = { ...DEFAULT_WS_BRIDGE_LIMITS, ...options.limits };
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: limits.maxPayloadBytes,
  });
  const peers = new Set<Peer>();
  let closed = false;

  const send = (peer: Peer, frame: StudioResponse): void => {
    if (peer.ws.readyState === peer.ws.OPEN) peer.ws.send(JSON.stringify(frame));
  };
  const fail = (peer: Peer, id: number | null, error: StudioError): void =>
    send(peer, { id, ok: false, error });

  const unsubscribe = options.onEvent?.((event) => {
    if (peers.size === 0) return;
    let text: string | null = null;
    for (const peer of peers) {
      if (peer.ws.readyState !== peer.ws.OPEN || !peer.followed.wants(event)) continue;
      // A page that cannot keep up would make the server buffer without bound: drop it; it reconnects and
      // re-reads the lists.
      if (peer.ws.bufferedAmount > limits.maxBufferedBytes) {
        peer.ws.close(BRIDGE_CLOSE.tryAgainLater, 'too slow for the event stream');
        continue;
      }
      text ??= JSON.stringify({ event });
      peer.ws.send(text);
    }
  });

  const takeToken = (peer: Peer): boolean => {
    const now = performance.now();
    peer.tokens = Math.min(
      limits.rateBurst,
      peer.tokens + ((now - peer.refilledAt) / 1000) * limits.ratePerSecond,
    );
    peer.refilledAt = now;
    if (peer.tokens < 1) return false;
    peer.tokens -= 1;
    return true;
  };

  const onMessage = (peer: Peer, data: RawData, isBinary: boolean): void => {
    peer.activeAt = performance.now();
    const allowed = takeToken(peer);
    if (allowed) peer.refusedInARow = 0;
    else if (++peer.refusedInARow > limits.rateBurst) {
      // Still flooding after a full bucket's worth of refusals: stop reading this client at all.
      peer.ws.close(BRIDGE_CLOSE.policyViolation, 'rate limit exceeded');
      return;
    }
    if (isBinary) {
      return fail(peer, null, studioError('bad-request', 'The bridge accepts JSON text frames only'));
    }
    let raw: unknown;
    try {
      raw = JSON.parse(rawText(data));
    } catch {
      return fail(peer, null, studioError('bad-request', 'Frame is not valid JSON'));
    }
    const request = studioRequestSchema.safeParse(raw);
    if (!request.success) {
      return fail(
        peer,
        idOf(raw),
        studioError('bad-request', `Expected { id, command, args }: ${describeIssues(request.error)}`),
      );
    }
    const { id, command, args } = request.data;
    if (!allowed) {
      return fail(peer, id, studioError('unavailable', 'Too many requests; slow down', true));
    }
    if (peer.role === 'mirror' && !isReadOnlyCommand(command)) {
      return fail(
        peer,
        id,
        isStudioCommand(command)
          ? studioError('forbidden', `${command}: the read-only mirror may not change the studio`)
          : studioError('unknown-command', `Unknown command: ${command.slice(0, 64)}`),
      );
    }
    if (peer.inFlight >= limits.maxInFlight) {
      return fail(peer, id, studioError('unavailable', 'Too many calls in flight; wait for answers', true));
    }
    peer.inFlight += 1;
    options
      .dispatch(command, args, peer.followed)
      .then(
        (reply) => send(peer, { id, ...reply }),
        (err: unknown) => {
          // The dispatcher never throws by contract; a bug there must still answer, not leave the call hanging.
          const message = err instanceof Error ? err.message : String(err);
          fail(peer, id, studioError('internal', `${command} failed: ${message}`, true));
        },
      )
      .finally(() => {
        peer.inFlight -= 1;
      });
  };

  const pinger =
    limits.pingIntervalMs > 0
      ? setInterval(() => {
          for (const peer of peers) {
            if (!peer.alive) {
              peer.ws.terminate();
              continue;
            }
            peer.alive = false;
            peer.ws.ping();
          }
        }, limits.pingIntervalMs)
      : null;
  pinger?.unref();

  /** Closes the longest-idle connection of `role` while that role's quota is full (it no longer counts). */
  const makeRoomFor = (role: StudioBridgeRole): void => {
    const quota = role === 'control' ? limits.maxControlConnections : limits.maxMirrorConnections;
    for (;;) {
      const same = [...peers].filter((p) => p.role === role);
      if (same.length < quota) return;
      const idlest = same.reduce((a, b) => (b.activeAt < a.activeAt ? b : a));
      peers.delete(idlest);
      displace(idlest.ws, `replaced by a newer ${role} connection (at most ${quota})`);
    }
  };

  return {
    accept(req, socket, head, role) {
      if (closed) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        makeRoomFor(role);
        const peer: Peer = {
          ws,
          role,
          tokens: limits.rateBurst,
          refilledAt: performance.now(),
          refusedInARow: 0,
          inFlight: 0,
          alive: true,
          activeAt: performance.now(),
          followed: new FollowedRuns(),
        };
        peers.add(peer);
        // Protocol violations (oversized frame: 1009, bad opcode: 1002): ws closes the socket itself.
        ws.on('error', () => undefined);
        ws.on('pong', () => {
          peer.alive = true;
        });
        ws.on('message', (data, isBinary) => {
          try {
            onMessage(peer, data, isBinary);
          } catch {
            // Nothing above should throw; if it does, lose this frame, not the server.
            fail(peer, null, studioError('internal', 'The bridge could not handle this frame', true));
          }
        });
        ws.on('close', () => peers.delete(peer));
      });
    },
    get size() {
      return peers.size;
    },
    async close() {
      closed = true;
      unsubscribe?.();
      if (pinger) clearInterval(pinger);
      await Promise.all(
        [...peers].map(
          (peer) =>
            new Promise<void>((done) => {
              if (peer.ws.readyState === peer.ws.CLOSED) return done();
              const force = setTimeout(() => peer.ws.terminate(), 1000);
              peer.ws.once('close', () => {
                clearTimeout(force);
                done();
              });
              peer.ws.close(BRIDGE_CLOSE.goingAway, 'studio stopping');
            }),
        ),
      );
      peers.clear();
      wss.close();
    },
  };
}

/** Closes a displaced connection (1013), dropping its socket if the page does not answer the close promptly. */
function displace(ws: WebSocket, reason: string): void {
  const force = setTimeout(() => ws.terminate(), 1000);
  force.unref();
  ws.once('close', () => clearTimeout(force));
  ws.close(BRIDGE_CLOSE.tryAgainLater, reason);
}

/** Refuses an upgrade with a plain HTTP answer carrying the typed error, then drops the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, error: StudioError): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ ok: false, error });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      '\r\n' +
      body,
  );
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** The request id of a frame that failed validation, when it has a usable one (so the caller's call fails fast). */
function idOf(raw: unknown): number | null {
  if (typeof raw !== 'object' || raw === null || !('id' in raw)) return null;
  const id = (raw as { id: unknown }).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
}
