/**
 * Incremental RFC 6455 frame parser for the server side: feed it the bytes a socket delivers, in any chunking; it
 * returns whole messages (reassembled from fragments, unmasked, text checked as UTF-8) and control frames. A frame
 * that breaks the protocol throws {@link WsProtocolError} with the close code to fail the connection with: 1002
 * (protocol error), 1007 (invalid UTF-8), 1009 (a message over `maxMessageBytes`, refused from its header alone,
 * before any of it is buffered).
 */
import { utf8Decode } from '../../../shared/engine/safetensors/utf8';
import { OPCODE, WS_CLOSE, isValidReceivedCloseCode, unmask } from './frames';

/** What the parser hands back. */
export type WsEvent =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'ping'; payload: Uint8Array }
  | { kind: 'pong'; payload: Uint8Array }
  /** `code` null: the close frame carried no status (1005). */
  | { kind: 'close'; code: number | null; reason: string };

/** A protocol violation: fail the connection with `closeCode`. */
export class WsProtocolError extends Error {
  override readonly name = 'WsProtocolError';
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Options of {@link FrameParser}. */
export interface FrameParserOptions {
  /** Largest message (all fragments together), bytes. */
  maxMessageBytes: number;
  /** Frames must be masked (true for a server reading a client). */
  requireMask?: boolean;
}

interface FrameHeader {
  fin: boolean;
  opcode: number;
  mask: Uint8Array | null;
  payload: Uint8Array;
  filled: number;
}

/** The parser. Not reusable after it threw. */
export class FrameParser {
  /** Largest message from now on (a server raises it once the client is authenticated). */
  maxMessageBytes: number;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private frame: FrameHeader | null = null;
  private fragments: Uint8Array[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode: number | null = null;
  private readonly requireMask: boolean;

  constructor(options: FrameParserOptions) {
    this.requireMask = options.requireMask ?? true;
    this.maxMessageBytes = options.maxMessageBytes;
  }

  /** Feeds bytes; returns the events they complete, in order. */
  push(chunk: Uint8Array): WsEvent[] {
    const out: WsEvent[] = [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.frame === null && !this.readHeader()) break;
      const f = this.frame!;
      this.fill(f);
      if (f.filled < f.payload.length) break;
      this.frame = null;
      if (f.mask) unmask(f.payload, f.mask);
      const ev = this.complete(f);
      if (ev) out.push(ev);
    }
    return out;
  }

  /** Copies `n` buffered bytes from the front (n ≤ buffered) without consuming them. */
  private peek(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let got = 0;
    for (const c of this.chunks) {
      const take = Math.min(c.length, n - got);
      out.set(c.subarray(0, take), got);
      got += take;
      if (got === n) break;
    }
    return out;
  }

  private consume(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        this.chunks.shift();
        n -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }

  private readHeader(): boolean {
    if (this.buffered < 2) return false;
    const [b0 = 0, b1 = 0] = this.peek(2);
    const len7 = b1 & 0x7f;
    const masked = (b1 & 0x80) !== 0;
    const headerBytes = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
    if (this.buffered < headerBytes) return false;
    const h = this.peek(headerBytes);
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0)
      throw new WsProtocolError(WS_CLOSE.protocolError, 'RSV bits set, but no extension was negotiated');
    if (
      ![OPCODE.continuation, OPCODE.text, OPCODE.binary, OPCODE.close, OPCODE.ping, OPCODE.pong].includes(
        opcode as 0,
      )
    )
      throw new WsProtocolError(WS_CLOSE.protocolError, `unknown opcode 0x${opcode.toString(16)}`);
    if (this.requireMask && !masked)
      throw new WsProtocolError(WS_CLOSE.protocolError, 'client frames must be masked');
    let length = len7;
    let at = 2;
    if (len7 === 126) {
      length = (h[2]! << 8) | h[3]!;
      at = 4;
    } else if (len7 === 127) {
      const hi = ((h[2]! << 24) | (h[3]! << 16) | (h[4]! << 8) | h[5]!) >>> 0;
      const lo = ((h[6]! << 24) | (h[7]! << 16) | (h[8]! << 8) | h[9]!) >>> 0;
      if (hi >= 0x80000000)
        throw new WsProtocolError(WS_CLOSE.protocolError, 'payload length has its top bit set');
      if (hi >= 0x200000) throw new WsProtocolError(WS_CLOSE.tooBig, 'payload length past 2^53 bytes');
      length = hi * 0x100000000 + lo;
      at = 10;
    }
    if (opcode >= OPCODE.close) {
      if (!fin) throw new WsProtocolError(WS_CLOSE.protocolError, 'fragmented control frame');
      if (length > 125)
        throw new WsProtocolError(WS_CLOSE.protocolError, `control frame of ${length} bytes (at most 125)`);
    } else {
      if (opcode === OPCODE.continuation && this.fragmentOpcode === null)
        throw new WsProtocolError(WS_CLOSE.protocolError, 'continuation frame with no message to continue');
      if (opcode !== OPCODE.continuation && this.fragmentOpcode !== null)
        throw new WsProtocolError(
          WS_CLOSE.protocolError,
          'new data frame before the fragmented message ended',
        );
      if (this.fragmentBytes + length > this.maxMessageBytes)
        throw new WsProtocolError(
          WS_CLOSE.tooBig,
          `message of ${this.fragmentBytes + length} bytes is over the limit of ${this.maxMessageBytes}`,
        );
    }
    this.consume(headerBytes);
    this.frame = {
      fin,
      opcode,
      mask: masked ? h.subarray(at, at + 4) : null,
      payload: new Uint8Array(length),
      filled: 0,
    };
    return true;
  }

  /** Moves buffered bytes into the frame's payload. */
  private fill(f: FrameHeader): void {
    while (f.filled < f.payload.length && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const take = Math.min(c.length, f.payload.length - f.filled);
      f.payload.set(take === c.length ? c : c.subarray(0, take), f.filled);
      f.filled += take;
      this.consume(take);
    }
  }

  private complete(f: FrameHeader): WsEvent | null {
    switch (f.opcode) {
      case OPCODE.ping:
        return { kind: 'ping', payload: f.payload };
      case OPCODE.pong:
        return { kind: 'pong', payload: f.payload };
      case OPCODE.close:
        return closeEvent(f.payload);
      default:
        break;
    }
    if (f.opcode !== OPCODE.continuation) this.fragmentOpcode = f.opcode;
    if (!f.fin || this.fragments.length > 0) {
      this.fragments.push(f.payload);
      this.fragmentBytes += f.payload.length;
      if (!f.fin) return null;
    }
    const opcode = this.fragmentOpcode!;
    const data = this.fragments.length > 0 ? concat(this.fragments, this.fragmentBytes) : f.payload;
    this.fragments = [];
    this.fragmentBytes = 0;
    this.fragmentOpcode = null;
    if (opcode === OPCODE.binary) return { kind: 'binary', data };
    const text = utf8Decode(data);
    if (text === null) throw new WsProtocolError(WS_CLOSE.invalidData, 'text message is not valid UTF-8');
    return { kind: 'text', text };
  }
}

function closeEvent(p: Uint8Array): WsEvent {
  if (p.length === 0) return { kind: 'close', code: null, reason: '' };
  if (p.length === 1) throw new WsProtocolError(WS_CLOSE.protocolError, 'close frame with a 1-byte payload');
  const code = (p[0]! << 8) | p[1]!;
  if (!isValidReceivedCloseCode(code))
    throw new WsProtocolError(WS_CLOSE.protocolError, `invalid close code ${code}`);
  const reason = utf8Decode(p.subarray(2));
  if (reason === null) throw new WsProtocolError(WS_CLOSE.invalidData, 'close reason is not valid UTF-8');
  return { kind: 'close', code, reason };
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
