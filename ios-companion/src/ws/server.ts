/**
 * A WebSocket server on a TCP listener: `net` on Node, react-native-tcp-socket in the app. Each accepted socket
 * becomes a {@link WebSocketConnection}; the companion gets it once its handshake succeeds.
 */
import type { Connection } from '../../../shared/companion/server-ports';
import { MAX_BINARY_FRAME_BYTES } from '../../../shared/protocol/limits';
import { WebSocketConnection } from './connection';
import type { TcpModuleLike, TcpSocketLike } from './socket-types';

/** Options of {@link listenWebSocket}. */
export interface ListenWebSocketOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** Largest message (default the protocol's binary frame limit, 64 MiB; larger: close 1009). */
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
  const sockets = new Set<TcpSocketLike>();
  const connections = new Set<WebSocketConnection>();
  const server = tcp.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const conn = new WebSocketConnection(socket, {
      maxMessageBytes: options.maxMessageBytes ?? MAX_BINARY_FRAME_BYTES,
      ...(options.closeTimeoutMs !== undefined ? { closeTimeoutMs: options.closeTimeoutMs } : {}),
      ...(options.log ? { log: options.log } : {}),
      onOpen: (c) => {
        connections.add(c);
        c.onClose(() => connections.delete(c));
        accept(c);
      },
    });
    void conn;
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
