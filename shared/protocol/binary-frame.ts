/**
 * Binary WebSocket frames: images, tensors and block-set chunks behind a small fixed header (never base64 in
 * JSON). Layout, all integers little-endian (docs/protocol.md, "Binary frames"):
 *
 * | offset      | bytes | field                                                                  |
 * | ----------- | ----- | ---------------------------------------------------------------------- |
 * | 0           | 4     | magic `OSF1` (0x4f 0x53 0x46 0x31)                                       |
 * | 4           | 2     | headerLength: bytes before the payload (a multiple of 8)                |
 * | 6           | 1     | kind: 1 image-rgb8, 2 image-rgba8, 3 png, 4 tensor-f32, 5 bytes         |
 * | 7           | 1     | purpose: 1 preview, 2 frame, 3 tensor, 4 blockset-chunk                 |
 * | 8           | 4     | seq: run event seq (preview), 0 (frame), chunkSeq (blockset-chunk)      |
 * | 12          | 4     | index: frame index (preview, frame) or 0                                |
 * | 16          | 4     | payloadLength                                                           |
 * | 20          | 1     | rank (0..8)                                                             |
 * | 21          | 1     | streamIdLength (1..64)                                                  |
 * | 22          | 2     | reserved, 0                                                             |
 * | 24          | 4·rank| dims, u32 each                                                          |
 * | 24 + 4·rank | n     | streamId, ASCII `[A-Za-z0-9._-]`: the runId, or the transferId          |
 * | ...         | 0-7   | zero padding up to headerLength                                         |
 * | headerLength| ...   | payload (exactly payloadLength bytes; nothing after it)                 |
 *
 * The padding keeps tensor payloads 8-byte aligned within the frame.
 */
import { protocolError, type ErrorMessage } from './errors';
import { MAX_BINARY_FRAME_BYTES } from './limits';

/** The four magic bytes, 'OSF1'. */
const BINARY_FRAME_MAGIC = Uint8Array.of(0x4f, 0x53, 0x46, 0x31);
/** Bytes of the fixed part of the header. */
const BINARY_FRAME_FIXED_HEADER_BYTES = 24;
/** Highest tensor rank a frame may carry. */
const BINARY_FRAME_MAX_RANK = 8;
/** Longest stream id. */
const BINARY_FRAME_MAX_STREAM_ID = 64;

/** Payload encodings, with their wire codes. */
export const BINARY_FRAME_KINDS = {
  'image-rgb8': 1,
  'image-rgba8': 2,
  png: 3,
  'tensor-f32': 4,
  bytes: 5,
} as const;
/** Payload encoding. */
export type BinaryFrameKind = keyof typeof BINARY_FRAME_KINDS;
/** What a frame is for, with their wire codes. */
export const BINARY_FRAME_PURPOSES = { preview: 1, frame: 2, tensor: 3, 'blockset-chunk': 4 } as const;
/** What a frame is for. */
export type BinaryFramePurpose = keyof typeof BINARY_FRAME_PURPOSES;

/** Kinds each purpose allows. */
const KINDS_FOR_PURPOSE: Readonly<Record<BinaryFramePurpose, readonly BinaryFrameKind[]>> = {
  preview: ['image-rgb8', 'image-rgba8', 'png'],
  frame: ['image-rgb8', 'image-rgba8', 'png'],
  tensor: ['tensor-f32'],
  'blockset-chunk': ['bytes'],
};

/**
 * A decoded frame. `dims`: images `[height, width, channels]` (png: `[height, width]`), tensors their shape,
 * bytes `[]`. `payload` is a view into the received buffer (copy it to keep it past the buffer's life).
 */
export interface BinaryFrame {
  kind: BinaryFrameKind;
  purpose: BinaryFramePurpose;
  streamId: string;
  seq: number;
  index: number;
  dims: readonly number[];
  payload: Uint8Array;
}

/** Why a buffer is not a valid frame. */
export type BinaryFrameErrorCode =
  | 'truncated'
  | 'bad-magic'
  | 'bad-header'
  | 'unknown-kind'
  | 'unknown-purpose'
  | 'bad-dims'
  | 'bad-stream-id'
  | 'length-mismatch'
  | 'too-large';

/** A typed frame error (decode returns it; encode throws it). */
export class BinaryFrameError extends Error {
  override readonly name = 'BinaryFrameError';
  constructor(
    readonly code: BinaryFrameErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The result of decoding a buffer. */
export type DecodeBinaryFrameResult =
  { ok: true; frame: BinaryFrame } | { ok: false; error: { code: BinaryFrameErrorCode; message: string } };

const STREAM_ID_BYTE = (b: number): boolean =>
  (b >= 0x30 && b <= 0x39) ||
  (b >= 0x41 && b <= 0x5a) ||
  (b >= 0x61 && b <= 0x7a) ||
  b === 0x2e ||
  b === 0x5f ||
  b === 0x2d;

const KIND_BY_CODE = new Map<number, BinaryFrameKind>(
  Object.entries(BINARY_FRAME_KINDS).map(([k, v]) => [v, k as BinaryFrameKind]),
);
const PURPOSE_BY_CODE = new Map<number, BinaryFramePurpose>(
  Object.entries(BINARY_FRAME_PURPOSES).map(([k, v]) => [v, k as BinaryFramePurpose]),
);

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Header bytes for a rank and stream id length (padded to a multiple of 8). */
function binaryFrameHeaderLength(rank: number, streamIdLength: number): number {
  const raw = BINARY_FRAME_FIXED_HEADER_BYTES + 4 * rank + streamIdLength;
  return Math.ceil(raw / 8) * 8;
}

/** Checks dims and payload length against the kind; returns an error message or null. */
function checkShape(
  kind: BinaryFrameKind,
  dims: readonly number[],
  payloadLength: number,
  payload?: Uint8Array,
): { code: BinaryFrameErrorCode; message: string } | null {
  const dimsError = (message: string) => ({ code: 'bad-dims' as const, message: `${kind}: ${message}` });
  const lengthError = (want: number) => ({
    code: 'length-mismatch' as const,
    message: `${kind} [${dims.join(', ')}] needs ${want} payload bytes, the header says ${payloadLength}`,
  });
  switch (kind) {
    case 'image-rgb8':
    case 'image-rgba8': {
      const channels = kind === 'image-rgb8' ? 3 : 4;
      if (dims.length !== 3 || dims[2] !== channels)
        return dimsError(`dims must be [height, width, ${channels}]`);
      const [h = 0, w = 0] = dims;
      if (h < 1 || w < 1) return dimsError('height and width must be at least 1');
      const want = h * w * channels;
      return want === payloadLength ? null : lengthError(want);
    }
    case 'png': {
      if (dims.length !== 2 || (dims[0] ?? 0) < 1 || (dims[1] ?? 0) < 1)
        return dimsError('dims must be [height, width], each at least 1');
      if (payloadLength < PNG_SIGNATURE.length)
        return { code: 'length-mismatch', message: 'png: the payload is shorter than a PNG signature' };
      if (payload && PNG_SIGNATURE.some((b, i) => payload[i] !== b))
        return { code: 'bad-header', message: 'png: the payload does not start with the PNG signature' };
      return null;
    }
    case 'tensor-f32': {
      let elements = 1;
      for (const d of dims) {
        elements *= d;
        if (elements * 4 > MAX_BINARY_FRAME_BYTES)
          return { code: 'too-large', message: 'tensor-f32: too many elements' };
      }
      return elements * 4 === payloadLength ? null : lengthError(elements * 4);
    }
    case 'bytes':
      return dims.length === 0 ? null : dimsError('dims must be empty');
  }
}

/** Decodes a binary WebSocket message. Never throws: any buffer gives a frame or a typed error. */
export function decodeBinaryFrame(buffer: Uint8Array): DecodeBinaryFrameResult {
  const fail = (code: BinaryFrameErrorCode, message: string): DecodeBinaryFrameResult => ({
    ok: false,
    error: { code, message },
  });
  if (!(buffer instanceof Uint8Array)) return fail('bad-header', 'a binary frame must be a Uint8Array');
  if (buffer.length > MAX_BINARY_FRAME_BYTES)
    return fail(
      'too-large',
      `a binary frame may have at most ${MAX_BINARY_FRAME_BYTES} bytes, got ${buffer.length}`,
    );
  if (buffer.length < 4) return fail('truncated', `${buffer.length} bytes is shorter than the magic`);
  for (let i = 0; i < 4; i++)
    if (buffer[i] !== BINARY_FRAME_MAGIC[i]) return fail('bad-magic', 'the frame does not start with OSF1');
  if (buffer.length < BINARY_FRAME_FIXED_HEADER_BYTES)
    return fail(
      'truncated',
      `${buffer.length} bytes is shorter than the ${BINARY_FRAME_FIXED_HEADER_BYTES}-byte header`,
    );
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLength = view.getUint16(4, true);
  const kind = KIND_BY_CODE.get(view.getUint8(6));
  if (kind === undefined) return fail('unknown-kind', `unknown kind ${view.getUint8(6)}`);
  const purpose = PURPOSE_BY_CODE.get(view.getUint8(7));
  if (purpose === undefined) return fail('unknown-purpose', `unknown purpose ${view.getUint8(7)}`);
  const seq = view.getUint32(8, true);
  const index = view.getUint32(12, true);
  const payloadLength = view.getUint32(16, true);
  const rank = view.getUint8(20);
  const idLength = view.getUint8(21);
  if (view.getUint16(22, true) !== 0) return fail('bad-header', 'the reserved bytes must be 0');
  if (rank > BINARY_FRAME_MAX_RANK) return fail('bad-dims', `rank ${rank} exceeds ${BINARY_FRAME_MAX_RANK}`);
  if (idLength < 1 || idLength > BINARY_FRAME_MAX_STREAM_ID)
    return fail(
      'bad-stream-id',
      `the stream id length must be 1..${BINARY_FRAME_MAX_STREAM_ID}, got ${idLength}`,
    );
  const wantHeader = binaryFrameHeaderLength(rank, idLength);
  if (headerLength !== wantHeader)
    return fail(
      'bad-header',
      `headerLength is ${headerLength}, rank ${rank} and a ${idLength}-byte id need ${wantHeader}`,
    );
  if (buffer.length < headerLength)
    return fail('truncated', `${buffer.length} bytes is shorter than the ${headerLength}-byte header`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(BINARY_FRAME_FIXED_HEADER_BYTES + 4 * i, true));
  const idStart = BINARY_FRAME_FIXED_HEADER_BYTES + 4 * rank;
  let streamId = '';
  for (let i = 0; i < idLength; i++) {
    const b = buffer[idStart + i] ?? 0;
    if (!STREAM_ID_BYTE(b)) return fail('bad-stream-id', 'the stream id must be ASCII [A-Za-z0-9._-]');
    streamId += String.fromCharCode(b);
  }
  if (
    !STREAM_ID_BYTE(streamId.charCodeAt(0)) ||
    streamId[0] === '.' ||
    streamId[0] === '_' ||
    streamId[0] === '-'
  )
    return fail('bad-stream-id', 'the stream id must start with a letter or digit');
  for (let i = idStart + idLength; i < headerLength; i++)
    if (buffer[i] !== 0) return fail('bad-header', 'the header padding must be 0');
  if (buffer.length < headerLength + payloadLength)
    return fail('truncated', `the payload has ${buffer.length - headerLength} of ${payloadLength} bytes`);
  if (buffer.length > headerLength + payloadLength)
    return fail(
      'length-mismatch',
      `${buffer.length - headerLength - payloadLength} bytes follow the payload`,
    );
  if (!KINDS_FOR_PURPOSE[purpose].includes(kind))
    return fail('bad-header', `purpose ${purpose} cannot carry kind ${kind}`);
  const payload = buffer.subarray(headerLength, headerLength + payloadLength);
  const shapeError = checkShape(kind, dims, payloadLength, payload);
  if (shapeError) return { ok: false, error: shapeError };
  return { ok: true, frame: { kind, purpose, streamId, seq, index, dims, payload } };
}

/** Encodes a frame; throws a {@link BinaryFrameError} when the frame breaks a rule a decoder would reject. */
export function encodeBinaryFrame(frame: BinaryFrame): Uint8Array {
  const kindCode = BINARY_FRAME_KINDS[frame.kind];
  const purposeCode = BINARY_FRAME_PURPOSES[frame.purpose];
  if (kindCode === undefined)
    throw new BinaryFrameError('unknown-kind', `unknown kind ${String(frame.kind)}`);
  if (purposeCode === undefined)
    throw new BinaryFrameError('unknown-purpose', `unknown purpose ${String(frame.purpose)}`);
  if (!KINDS_FOR_PURPOSE[frame.purpose].includes(frame.kind))
    throw new BinaryFrameError('bad-header', `purpose ${frame.purpose} cannot carry kind ${frame.kind}`);
  const id = frame.streamId;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id))
    throw new BinaryFrameError(
      'bad-stream-id',
      `stream id ${JSON.stringify(id)} must be 1-64 of [A-Za-z0-9._-]`,
    );
  const u32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
  if (!u32(frame.seq) || !u32(frame.index))
    throw new BinaryFrameError('bad-header', 'seq and index must be u32');
  if (frame.dims.length > BINARY_FRAME_MAX_RANK || !frame.dims.every(u32))
    throw new BinaryFrameError('bad-dims', `dims must be at most ${BINARY_FRAME_MAX_RANK} u32 values`);
  const shapeError = checkShape(frame.kind, frame.dims, frame.payload.length, frame.payload);
  if (shapeError) throw new BinaryFrameError(shapeError.code, shapeError.message);
  const headerLength = binaryFrameHeaderLength(frame.dims.length, id.length);
  const total = headerLength + frame.payload.length;
  if (total > MAX_BINARY_FRAME_BYTES)
    throw new BinaryFrameError(
      'too-large',
      `the frame would have ${total} bytes (limit ${MAX_BINARY_FRAME_BYTES})`,
    );
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(BINARY_FRAME_MAGIC, 0);
  view.setUint16(4, headerLength, true);
  view.setUint8(6, kindCode);
  view.setUint8(7, purposeCode);
  view.setUint32(8, frame.seq, true);
  view.setUint32(12, frame.index, true);
  view.setUint32(16, frame.payload.length, true);
  view.setUint8(20, frame.dims.length);
  view.setUint8(21, id.length);
  frame.dims.forEach((d, i) => view.setUint32(BINARY_FRAME_FIXED_HEADER_BYTES + 4 * i, d, true));
  const idStart = BINARY_FRAME_FIXED_HEADER_BYTES + 4 * frame.dims.length;
  for (let i = 0; i < id.length; i++) out[idStart + i] = id.charCodeAt(i);
  out.set(frame.payload, headerLength);
  return out;
}

/** The `error` message to send for a rejected binary frame. */
export function binaryFrameProtocolError(error: {
  code: BinaryFrameErrorCode;
  message: string;
}): ErrorMessage {
  return protocolError('bad-binary-frame', `binary frame ${error.code}: ${error.message}`);
}
