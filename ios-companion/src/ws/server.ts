/**
 * A WebSocket server on a TCP listener: `net` on Node, react-native-tcp-socket in the app. Each accepted socket
 * becomes a {@link WebSocketConnection}; the companion gets it once its handshake succeeds. By default the server
 * enforces the protocol's connection limits (docs/protocol.md, "Connection limits"): a total and per-address cap
 * checked when the TCP connection is accepted (over it, the oldest unauthenticated connection of that pool gives
 * way, else the newcomer gets HTTP 503), and each connection's deadlines and stage-dependent limits.
 */
import { ConnectionGate, type GateSlot } from '../../../shared/companion/connection-guard';
import type { Connection } from '../../../shared/companion/server-ports';
import {
  DEFAULT_CONNECTION_LIMITS,
  MAX_BINARY_FRAME_BYTES,
  type ConnectionLimits,
} from '../../../shared/protocol/limits';
import { WebSocketConnection } from './connection';
import { httpError } from './handshake';
import type { TcpModuleLike, TcpSocketLike } from './socket-types';

/** Options of {@link listenWebSocket}. */
export interface ListenWebSocketOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /**
   * The connection limits (default the protocol's; a partial object overrides some). `null`: a plain WebSocket
   * server with no caps or deadlines, taking messages up to `maxMessageBytes` (tests of the codec itself).
   */
  limits?: Partial<ConnectionLimits> | null;
  /** Largest message without limits (default the protocol's binary frame limit, 64 MiB; larger: close 1009). */
  maxMessageBytes?: number;
  closeTimeoutMs?: number;
  log?: (line: string) => void;
}

/** A listening WebSocket server. */
export interface WebSocketListener {
  readonly port: number;
  readonly host: string;
  /** Open connections (after their handshake). */
  readonly connections: ReadonlySet<WebSocketConnection>;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/** Listens on host:port and hands each WebSocket to `accept`. */
export async function listenWebSocket(
  tcp: TcpModuleLike,
  options: ListenWebSocketOptions,
  accept: (conn: Connection) => void,
): Promise<WebSocketListener> {
  const limits: ConnectionLimits | null =
    options.limits === null ? null : { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const gate = limits === null ? null : new ConnectionGate(limits);
  const log = (line: string): void => options.log?.(line);
  const sockets = new Set<TcpSocketLike>();
  const connections = new Set<WebSocketConnection>();
  const server = tcp.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let conn: WebSocketConnection | null = null;
    let slot: GateSlot | null = null;
    if (gate !== null) {
      const from = socket.remoteAddress ?? '?';
      const admission = gate.admit(socket.remoteAddress, () => {
        log(`displacing an unauthenticated connection from ${from}: the device is full`);
        if (conn) conn.displace('replaced by a newer connection: too many connections');
        else socket.destroy();
      });
      if (!admission.ok) {
        log(`refusing a connection from ${from}: ${admission.reason}`);
        socket.on('error', () => undefined);
        socket.write(
          httpError(
            503,
            'Service Unavailable',
            `too many connections: ${admission.reason}`,
            'Retry-After: 5\r\n',
          ),
        );
        socket.end();
        const linger = setTimeout(() => socket.destroy(), options.closeTimeoutMs ?? 2000);
        socket.on('close', () => clearTimeout(linger));
        return;
      }
      slot = admission.slot;
    }
    conn = new WebSocketConnection(socket, {
      maxMessageBytes: options.maxMessageBytes ?? MAX_BINARY_FRAME_BYTES,
      limits,
      slot,
      ...(options.closeTimeoutMs !== undefined ? { closeTimeoutMs: options.closeTimeoutMs } : {}),
      ...(options.log ? { log: options.log } : {}),
      onOpen: (c) => {
        connections.add(c);
        c.onClose(() => connections.delete(c));
        accept(c);
      },
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.on('error', reject);
    server.listen({ port: options.port, host: options.host }, () => resolve());
  });
  server.on('error', (e) => options.log?.(`server error: ${e.message}`));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    port,
    host: options.host,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
