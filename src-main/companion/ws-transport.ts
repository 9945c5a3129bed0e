/**
 * WebSocket transport of the Node companion (ws over its own http server): one `Connection` per socket, under the
 * connection limits every device enforces (docs/protocol.md, "Connection limits"; shared/companion/connection-guard.ts):
 * a total and per-address cap checked at the TCP accept (over it: the oldest unauthenticated connection of that pool
 * gives way, else HTTP 503), a deadline on the upgrade request, on `hello` and on authentication (close 1008), a
 * 16 KiB message limit until the session is authenticated and the binary frame limit after (larger: close 1009,
 * from the frame header alone), and a bound on the bytes held for a client that does not read (the connection is
 * dropped). Per-message deflate is off; text over 1 MiB is answered `message-too-large` by the server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  ConnectionGate,
  ConnectionGuard,
  GUARD_CLOSE_CODES,
  type StartTimer,
} from '../../shared/companion/connection-guard';
import type { Connection } from '../../shared/companion/server';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../../shared/protocol/limits';

/** A listening transport. */
export interface WsTransport {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/** Options of {@link listenWs}. */
export interface ListenWsOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** Overrides of the protocol's connection limits (tests). */
  limits?: Partial<ConnectionLimits>;
  /** Diagnostics (refused, displaced and dropped connections). */
  log?: (line: string) => void;
}

/** How long a close this side started waits for the peer's close frame before the socket is dropped. */
const CLOSE_WAIT_MS = 2000;

const startTimer: StartTimer = (ms, fire) => {
  const t = setTimeout(fire, ms);
  t.unref();
  return () => clearTimeout(t);
};

/**
 * ws takes its message limit once, per server; the receiver reads it again for every frame header. Raising it
 * after authentication is the one use of ws internals here: without them (another ws version) the limit simply
 * stays at the unauthenticated one, which fails closed (large frames are refused), never open.
 */
function setWsMaxPayload(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (receiver !== undefined && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytes;
}

/** Adapts a ws socket to the server's Connection port, under `guard`. */
export function wsConnection(ws: WebSocket, guard: ConnectionGuard, log: (line: string) => void): Connection {
  /** True when `ws` may take more; otherwise the connection is dropped (the client does not read its replies). */
  const roomToSend = (): boolean => {
    if (ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount <= guard.maxUnsentBytes) return true;
    log(
      `dropping a connection: ${ws.bufferedAmount} bytes unsent (limit ${guard.maxUnsentBytes}), the client is not reading`,
    );
    ws.terminate();
    return false;
  };
  return {
    sendText: (text) => {
      if (roomToSend()) ws.send(text);
    },
    sendBinary: (data) => {
      if (roomToSend()) ws.send(data, { binary: true });
    },
    close: (code, reason) => closeWs(ws, code, reason),
    onMessage: (handler) =>
      ws.on('message', (data, isBinary) => {
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        if (isBinary) handler(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
        else handler(buf.toString('utf8'));
      }),
    onClose: (handler) => ws.on('close', () => handler()),
    sessionProgress: (step) => guard.progress(step),
  };
}

/** A close frame, then the socket dropped if the peer has not answered it in {@link CLOSE_WAIT_MS}. */
function closeWs(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSED) return;
  ws.close(code, reason.slice(0, 120));
  dropIfUnanswered(ws);
}

/** After this side's close frame: ws waits 30 s for the peer's; a connection slot is worth more than that. */
function dropIfUnanswered(ws: WebSocket): void {
  const force = setTimeout(() => ws.terminate(), CLOSE_WAIT_MS);
  force.unref();
  ws.once('close', () => clearTimeout(force));
}

/** A plain HTTP answer on a socket that is no WebSocket (yet), then the socket closed. */
function refuse(socket: Duplex, status: number, text: string, body: string, extra = ''): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const payload = `${body}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n${extra}` +
      `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
  );
}

/** Listens on host:port (0 = any free port) and hands each connection to `accept`. */
export async function listenWs(
  options: ListenWsOptions,
  accept: (conn: Connection) => void,
): Promise<WsTransport> {
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const log = options.log ?? ((): void => undefined);
  const gate = new ConnectionGate(limits);
  /** Each accepted socket's guard, and its WebSocket once upgraded. */
  const held = new WeakMap<Duplex, { guard: ConnectionGuard; ws: WebSocket | null }>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: limits.maxUnauthenticatedMessageBytes,
  });
  const http = createServer({ maxHeaderSize: limits.maxUpgradeRequestBytes });

  http.on('connection', (socket: Socket) => {
    const from = socket.remoteAddress ?? '?';
    const admission = gate.admit(socket.remoteAddress, () => {
      log(`displacing an unauthenticated connection from ${from}: the device is full`);
      const ws = held.get(socket)?.ws;
      if (ws)
        closeWs(ws, GUARD_CLOSE_CODES.displaced, 'replaced by a newer connection: too many connections');
      else socket.destroy();
    });
    if (!admission.ok) {
      log(`refusing a connection from ${from}: ${admission.reason}`);
      refuse(
        socket,
        503,
        'Service Unavailable',
        `too many connections: ${admission.reason}`,
        'Retry-After: 5\r\n',
      );
      return;
    }
    const guard = new ConnectionGuard(
      limits,
      {
        setMaxMessageBytes: (bytes) => {
          const ws = held.get(socket)?.ws;
          if (ws) setWsMaxPayload(ws, bytes);
        },
        close: (code, reason) => {
          log(`closing a connection from ${from}: ${reason}`);
          const ws = held.get(socket)?.ws;
          if (ws) closeWs(ws, code, reason);
          else refuse(socket, 408, 'Request Timeout', reason);
        },
      },
      startTimer,
      admission.slot,
    );
    held.set(socket, { guard, ws: null });
    socket.once('close', () => guard.closed());
  });

  // A plain HTTP request: this port speaks WebSocket only.
  http.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(426, {
      'Content-Type': 'text/plain; charset=utf-8',
      Upgrade: 'websocket',
      Connection: 'close',
    });
    res.end('this port speaks WebSocket only (docs/protocol.md)\n');
  });
  // Over-long or malformed request heads: Node's parser answers nothing by itself.
  http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'HPE_HEADER_OVERFLOW')
      refuse(
        socket,
        431,
        'Request Header Fields Too Large',
        `request head over ${limits.maxUpgradeRequestBytes} bytes`,
      );
    else refuse(socket, 400, 'Bad Request', `malformed request: ${err.code ?? err.message}`);
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const entry = held.get(socket);
    if (entry === undefined || entry.guard.stage !== 'upgrading') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // A protocol violation (e.g. 1009): ws sends its close frame; drop the socket if the peer does not answer.
      ws.on('error', () => dropIfUnanswered(ws));
      entry.ws = ws;
      entry.guard.opened();
      accept(wsConnection(ws, entry.guard, log));
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('listening', resolve);
    http.once('error', reject);
    http.listen(options.port, options.host);
  });
  http.on('error', (e) => log(`server error: ${e.message}`));
  const address = http.address() as AddressInfo;
  return {
    port: address.port,
    host: options.host,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
