/**
 * One server-side WebSocket over a TCP socket: the opening handshake, then frames in both directions. It presents
 * the companion's `Connection` port (shared/companion/server-ports.ts). Pings are answered with pongs, a peer's
 * close is echoed, a protocol violation closes with its code (1002/1007/1009) and a close this side starts waits
 * `closeTimeoutMs` for the peer's answer before the socket is destroyed.
 */
import type { Connection } from '../../../shared/companion/server-ports';
import { utf8Encode } from '../../../shared/engine/safetensors/utf8';
import { OPCODE, WS_CLOSE, closePayload, encodeFrame, frameHeader } from './frames';
import { readHandshake } from './handshake';
import { FrameParser, WsProtocolError, type WsEvent } from './parser';
import type { TcpSocketLike } from './socket-types';

/** Options of {@link WebSocketConnection}. */
export interface WebSocketConnectionOptions {
  /** Largest message accepted (larger: close 1009). */
  maxMessageBytes: number;
  /** How long a close this side started waits for the peer's close frame (default 2000 ms). */
  closeTimeoutMs?: number;
  /** Called once the handshake succeeded. */
  onOpen?: (conn: WebSocketConnection) => void;
  /** Diagnostics (handshake refusals, protocol errors). */
  log?: (line: string) => void;
}

type State = 'handshake' | 'open' | 'closing' | 'closed';

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? utf8Encode(data) : data;
}

/** A WebSocket connection (server side). */
export class WebSocketConnection implements Connection {
  private state: State = 'handshake';
  private head: Uint8Array = new Uint8Array(0);
  private readonly parser: FrameParser;
  private readonly messageHandlers: ((data: string | Uint8Array) => void)[] = [];
  private readonly closeHandlers: (() => void)[] = [];
  private closeTimer: ReturnType<typeof setTimeout> | null = null;
  /** The close code and reason the peer sent (null until then; code null: no status). */
  peerClose: { code: number | null; reason: string } | null = null;

  constructor(
    private readonly socket: TcpSocketLike,
    private readonly options: WebSocketConnectionOptions,
  ) {
    this.parser = new FrameParser({ maxMessageBytes: options.maxMessageBytes, requireMask: true });
    socket.on('data', (d) => this.onData(toBytes(d)));
    socket.on('error', (e) => this.log(`socket error: ${e.message}`));
    socket.on('close', () => this.finish());
  }

  /** True between the handshake and the start of the close handshake. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  sendText(text: string): void {
    if (this.state === 'open') this.writeFrame(OPCODE.text, utf8Encode(text));
  }

  sendBinary(data: Uint8Array): void {
    if (this.state === 'open') this.writeFrame(OPCODE.binary, data);
  }

  /** Sends a ping (the peer answers with a pong carrying the same payload). */
  ping(payload: Uint8Array = new Uint8Array(0)): void {
    if (this.state === 'open') this.writeFrame(OPCODE.ping, payload.subarray(0, 125));
  }

  close(code: number, reason: string): void {
    if (this.state === 'handshake') {
      this.state = 'closed';
      this.socket.destroy();
      return;
    }
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.socket.write(encodeFrame(OPCODE.close, closePayload(code, reason)));
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.options.closeTimeoutMs ?? 2000);
  }

  onMessage(handler: (data: string | Uint8Array) => void): void {
    this.messageHandlers.push(handler);
  }

  onClose(handler: () => void): void {
    this.closeHandlers.push(handler);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private writeFrame(opcode: number, payload: Uint8Array): void {
    if (payload.length < 64 * 1024) {
      this.socket.write(encodeFrame(opcode, payload));
      return;
    }
    // Large payloads go out as they are: no copy into a header+payload buffer.
    this.socket.write(frameHeader(opcode, payload.length));
    this.socket.write(payload);
  }

  private onData(chunk: Uint8Array): void {
    if (this.state === 'closed') return;
    if (this.state === 'handshake') {
      const joined = new Uint8Array(this.head.length + chunk.length);
      joined.set(this.head, 0);
      joined.set(chunk, this.head.length);
      const r = readHandshake(joined);
      if (r.kind === 'incomplete') {
        this.head = joined;
        return;
      }
      this.head = new Uint8Array(0);
      if (r.kind === 'reject') {
        this.log(`handshake refused (${r.status}): ${r.reason}`);
        this.state = 'closed';
        this.socket.write(r.response);
        this.socket.end();
        return;
      }
      this.socket.write(r.response);
      this.state = 'open';
      this.options.onOpen?.(this);
      chunk = r.rest;
      if (chunk.length === 0) return;
    }
    let events: WsEvent[];
    try {
      events = this.parser.push(chunk);
    } catch (e) {
      if (!(e instanceof WsProtocolError)) throw e;
      this.log(`closing with ${e.closeCode}: ${e.message}`);
      this.failConnection(e.closeCode, e.message);
      return;
    }
    for (const ev of events) this.dispatch(ev);
  }

  private dispatch(ev: WsEvent): void {
    if (this.state === 'closed') return;
    switch (ev.kind) {
      case 'text':
      case 'binary':
        if (this.state !== 'open') return; // data after our close frame is discarded
        for (const h of this.messageHandlers) h(ev.kind === 'text' ? ev.text : ev.data);
        return;
      case 'ping':
        if (this.state === 'open') this.socket.write(encodeFrame(OPCODE.pong, ev.payload));
        return;
      case 'pong':
        return;
      case 'close':
        this.peerClose = { code: ev.code, reason: ev.reason };
        if (this.state === 'open')
          this.socket.write(encodeFrame(OPCODE.close, closePayload(ev.code ?? WS_CLOSE.normal, '')));
        this.state = 'closed';
        this.socket.end();
        this.finish();
        return;
    }
  }

  /** Closes after a protocol violation: the close frame, then the socket (no wait for an answer). */
  private failConnection(code: number, reason: string): void {
    if (this.state === 'open') this.socket.write(encodeFrame(OPCODE.close, closePayload(code, reason)));
    this.state = 'closed';
    this.socket.end();
    this.finish();
  }

  private finished = false;

  private finish(): void {
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.state = 'closed';
    if (this.finished) return;
    this.finished = true;
    for (const h of this.closeHandlers) h();
  }
}
