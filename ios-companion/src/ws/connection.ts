/**
 * One server-side WebSocket over a TCP socket: the opening handshake, then frames in both directions. It presents
 * the companion's `Connection` port (shared/companion/server-ports.ts). Pings are answered with pongs, a peer's
 * close is echoed, a protocol violation closes with its code (1002/1007/1009) and a close this side starts waits
 * `closeTimeoutMs` for the peer's answer before the socket is destroyed.
 *
 * With connection limits (the companion's, docs/protocol.md "Connection limits"), a {@link ConnectionGuard} times
 * the upgrade request, `hello` and authentication, keeps messages small until the session is authenticated, and
 * the bytes written but not yet handed to the OS are counted: past the guard's bound (a client that does not read)
 * the socket is dropped.
 */
import { ConnectionGuard, type GateSlot, type StartTimer } from '../../../shared/companion/connection-guard';
import type { Connection, SessionProgress } from '../../../shared/companion/server-ports';
import { utf8Encode } from '../../../shared/engine/safetensors/utf8';
import type { ConnectionLimits } from '../../../shared/protocol/limits';
import { OPCODE, WS_CLOSE, closePayload, encodeFrame, frameHeader } from './frames';
import { httpError, MAX_HANDSHAKE_BYTES, readHandshake } from './handshake';
import { FrameParser, WsProtocolError, type WsEvent } from './parser';
import type { TcpSocketLike } from './socket-types';

/** Options of {@link WebSocketConnection}. */
export interface WebSocketConnectionOptions {
  /** Largest message accepted (larger: close 1009); with `limits`, the guard sets it by stage instead. */
  maxMessageBytes: number;
  /** The companion's connection limits (null: a plain WebSocket with no deadlines, as in codec tests). */
  limits?: ConnectionLimits | null;
  /** This connection's place in the device's connection gate (freed when it ends). */
  slot?: GateSlot | null;
  /** How long a close this side started waits for the peer's close frame (default 2000 ms). */
  closeTimeoutMs?: number;
  /** Called once the handshake succeeded. */
  onOpen?: (conn: WebSocketConnection) => void;
  /** Diagnostics (handshake refusals, protocol errors). */
  log?: (line: string) => void;
}

type State = 'handshake' | 'open' | 'closing' | 'closed';

const startTimer: StartTimer = (ms, fire) => {
  const t = setTimeout(fire, ms);
  return () => clearTimeout(t);
};

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
  private readonly guard: ConnectionGuard | null;
  /** Bytes written to the socket that it has not handed to the OS yet. */
  private unsentBytes = 0;
  /** The close code and reason the peer sent (null until then; code null: no status). */
  peerClose: { code: number | null; reason: string } | null = null;

  constructor(
    private readonly socket: TcpSocketLike,
    private readonly options: WebSocketConnectionOptions,
  ) {
    this.parser = new FrameParser({ maxMessageBytes: options.maxMessageBytes, requireMask: true });
    const limits = options.limits ?? null;
    this.guard =
      limits === null
        ? null
        : new ConnectionGuard(
            limits,
            {
              setMaxMessageBytes: (bytes) => {
                this.parser.maxMessageBytes = bytes;
              },
              close: (code, reason) => {
                this.log(`closing: ${reason}`);
                if (this.state === 'handshake') this.refuse(httpError(408, 'Request Timeout', reason));
                else this.close(code, reason);
              },
            },
            startTimer,
            options.slot ?? null,
          );
    socket.on('data', (d) => this.onData(toBytes(d)));
    socket.on('error', (e) => this.log(`socket error: ${e.message}`));
    socket.on('close', () => {
      if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
      this.guard?.closed();
      this.finish();
    });
  }

  /** Drops the socket `closeTimeoutMs` after this side ended it, if the peer has not closed its side by then. */
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;

  private endSocket(): void {
    this.socket.end();
    if (this.lingerTimer === null)
      this.lingerTimer = setTimeout(() => this.socket.destroy(), this.options.closeTimeoutMs ?? 2000);
  }

  /** True between the handshake and the start of the close handshake. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  sendText(text: string): void {
    if (this.roomToSend()) this.writeFrame(OPCODE.text, utf8Encode(text));
  }

  sendBinary(data: Uint8Array): void {
    if (this.roomToSend()) this.writeFrame(OPCODE.binary, data);
  }

  sessionProgress(step: SessionProgress): void {
    this.guard?.progress(step);
  }

  /** Called by the connection gate: a newer connection takes this one's place. */
  displace(reason: string): void {
    if (this.state === 'handshake') this.refuse(httpError(503, 'Service Unavailable', reason));
    else this.close(WS_CLOSE.tryAgainLater, reason);
  }

  /** True when the socket may take more; otherwise (a client that does not read) the socket is dropped. */
  private roomToSend(): boolean {
    if (this.state !== 'open') return false;
    const limit = this.guard?.maxUnsentBytes ?? Infinity;
    if (this.unsentBytes <= limit) return true;
    this.log(
      `dropping the connection: ${this.unsentBytes} bytes unsent (limit ${limit}), the client is not reading`,
    );
    this.state = 'closed';
    this.socket.destroy();
    this.finish();
    return false;
  }

  /** A plain HTTP answer before the WebSocket opened, then the socket closed. */
  private refuse(response: Uint8Array): void {
    if (this.state !== 'handshake') return;
    this.state = 'closed';
    this.write(response);
    this.endSocket();
  }

  /** Writes to the socket, counting the bytes until the socket has handed them on. */
  private write(bytes: Uint8Array): void {
    const n = bytes.length;
    this.unsentBytes += n;
    try {
      this.socket.write(bytes, undefined, () => {
        this.unsentBytes -= n;
      });
    } catch (e) {
      // react-native-tcp-socket throws on a closed socket; its close event follows.
      this.unsentBytes -= n;
      this.log(`write failed: ${(e as Error).message}`);
    }
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
    this.write(encodeFrame(OPCODE.close, closePayload(code, reason)));
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
      this.write(encodeFrame(opcode, payload));
      return;
    }
    // Large payloads go out as they are: no copy into a header+payload buffer.
    this.write(frameHeader(opcode, payload.length));
    this.write(payload);
  }

  private onData(chunk: Uint8Array): void {
    if (this.state === 'closed') return;
    if (this.state === 'handshake') {
      const joined = new Uint8Array(this.head.length + chunk.length);
      joined.set(this.head, 0);
      joined.set(chunk, this.head.length);
      const r = readHandshake(joined, this.options.limits?.maxUpgradeRequestBytes ?? MAX_HANDSHAKE_BYTES);
      if (r.kind === 'incomplete') {
        this.head = joined;
        return;
      }
      this.head = new Uint8Array(0);
      if (r.kind === 'reject') {
        this.log(`handshake refused (${r.status}): ${r.reason}`);
        this.state = 'closed';
        this.write(r.response);
        this.endSocket();
        return;
      }
      this.write(r.response);
      this.state = 'open';
      this.guard?.opened();
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
        if (this.roomToSend()) this.write(encodeFrame(OPCODE.pong, ev.payload));
        return;
      case 'pong':
        return;
      case 'close':
        this.peerClose = { code: ev.code, reason: ev.reason };
        if (this.state === 'open')
          this.write(encodeFrame(OPCODE.close, closePayload(ev.code ?? WS_CLOSE.normal, '')));
        this.state = 'closed';
        this.endSocket();
        this.finish();
        return;
    }
  }

  /** Closes after a protocol violation: the close frame, then the socket (no wait for an answer). */
  private failConnection(code: number, reason: string): void {
    if (this.state === 'open') this.write(encodeFrame(OPCODE.close, closePayload(code, reason)));
    this.state = 'closed';
    this.endSocket();
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
