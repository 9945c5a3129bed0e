/**
 * The slice of a TCP stack the WebSocket server needs. Node's `net` and react-native-tcp-socket (whose API
 * mirrors it) both satisfy these interfaces as they are, so the same server code runs in the app and in tests.
 */

/** One accepted TCP connection. */
export interface TcpSocketLike {
  /** `callback` runs once the bytes left user memory (handed to the OS), or with the error that lost them. */
  write(data: Uint8Array, encoding?: undefined, callback?: (error?: Error | null) => void): boolean;
  /** The peer's address (per-address connection caps). */
  readonly remoteAddress?: string | undefined;
  end(): unknown;
  destroy(): unknown;
  on(event: 'data', listener: (data: Uint8Array | string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/** A listening TCP server. */
export interface TcpServerLike {
  listen(options: { port: number; host: string }, callback: () => void): unknown;
  address(): { port: number } | string | null;
  close(callback?: (error?: Error) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The module: `net` on Node, `react-native-tcp-socket` in the app. */
export interface TcpModuleLike {
  createServer(connectionListener: (socket: TcpSocketLike) => void): TcpServerLike;
}
