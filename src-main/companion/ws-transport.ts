/**
 * WebSocket transport of the Node companion (ws): one `Connection` per socket. Per-message deflate is off; the
 * largest accepted message is the binary frame limit (a larger one closes the socket with 1009, as
 * docs/protocol.md says); text over 1 MiB is answered `message-too-large` by the server.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Connection } from '../../shared/companion/server';
import { MAX_BINARY_FRAME_BYTES } from '../../shared/protocol/limits';

/** A listening transport. */
export interface WsTransport {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/** Adapts a ws socket to the server's Connection port. */
function wsConnection(ws: WebSocket): Connection {
  return {
    sendText: (text) => {
      if (ws.readyState === ws.OPEN) ws.send(text);
    },
    sendBinary: (data) => {
      if (ws.readyState === ws.OPEN) ws.send(data, { binary: true });
    },
    close: (code, reason) => ws.close(code, reason.slice(0, 120)),
    onMessage: (handler) =>
      ws.on('message', (data, isBinary) => {
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        if (isBinary) handler(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
        else handler(buf.toString('utf8'));
      }),
    onClose: (handler) => ws.on('close', () => handler()),
  };
}

/** Listens on host:port (0 = any free port) and hands each connection to `accept`. */
export async function listenWs(
  options: { host: string; port: number },
  accept: (conn: Connection) => void,
): Promise<WsTransport> {
  const wss = new WebSocketServer({
    host: options.host,
    port: options.port,
    perMessageDeflate: false,
    maxPayload: MAX_BINARY_FRAME_BYTES,
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined); // protocol violations (e.g. 1009): ws closes the socket itself
    accept(wsConnection(ws));
  });
  const address = wss.address() as AddressInfo;
  return {
    port: address.port,
    host: options.host,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
