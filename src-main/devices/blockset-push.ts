/**
 * Model sync (docs/protocol.md section 7): a block set folder pushed to the device in hash-checked chunks that
 * resumes from the device's offsets after a reconnect.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open as openFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { bytesToHex } from '../../shared/protocol/auth';
import { encodeBinaryFrame } from '../../shared/protocol/binary-frame';
import { MAX_BLOCKSET_CHUNK_BYTES } from '../../shared/protocol/limits';
import type { ClientMessage, DeviceMessage, DeviceMessageOf } from '../../shared/protocol/messages';
import { CompanionError, DeviceError } from './client-errors';

/** Progress of {@link CompanionClient.pushBlockSet}. */
export interface PushProgress {
  /** Bytes the device holds, all files together. */
  deviceBytes: number;
  totalBytes: number;
  /** Bytes this push sent (resumed bytes are not sent again). */
  sentBytes: number;
  /** The file of the last acked chunk (null for an offer's ack). */
  file: string | null;
  /** Offers made so far (1 + resumes after a disconnect or a refused chunk). */
  offers: number;
}

/** Options of {@link CompanionClient.pushBlockSet}. */
export interface PushBlockSetOptions {
  /** Set name on the device (default: the folder's name). */
  name?: string;
  /** Chunk payload size (default 1 MiB, at most 4 MiB). */
  chunkBytes?: number;
  /** Transfer id (default a fresh one; a resume may use any id). */
  transferId?: string;
  onProgress?: (p: PushProgress) => void;
  /** Offers after a refused chunk before giving up (default 5; disconnects do not count). */
  maxRetries?: number;
}

/** What {@link CompanionClient.pushBlockSet} did. */
export interface PushBlockSetResult {
  name: string;
  manifestSha256: string;
  files: { path: string; bytes: number; sha256: string }[];
  totalBytes: number;
  sentBytes: number;
  /** Bytes the device already held when an offer was answered (summed over offers after the first). */
  resumedBytes: number;
  offers: number;
}

async function filesOf(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...(await filesOf(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A block-set name from a folder name: `[A-Za-z0-9._-]`, first a letter or digit. */
function setNameOf(dir: string): string {
  const n = basename(dir)
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return (n || 'blockset').slice(0, 128);
}

/** What a push needs of its client. */
export interface BlockSetPushHost {
  request(message: ClientMessage, expect: DeviceMessage['type']): Promise<DeviceMessage>;
  /** Sends a binary frame when the connection is open. */
  sendBinary(frame: Uint8Array): void;
  /** The next chunk seq (uint32, wrapping). */
  nextChunkSeq(): number;
  /** Waits until the session is authenticated again (after an automatic reconnect). */
  waitAuthenticated(): Promise<void>;
  /** True when the session is greeted but not paired, and no reconnect is under way. */
  needsPairing(): boolean;
  isClosedByUser(): boolean;
}

/**
 * Pushes a block set folder (manifest.json + block files) to the device (model sync, docs/protocol.md section
 * 7): offers it, then sends every missing byte in hash-checked chunks (a JSON `blockset.chunk` and its binary
 * frame), one at a time, each acked with the device's offset. After a disconnect it waits for the automatic
 * reconnect and offers again: the device's ack says how much of each file it holds, and the push resumes there.
 * Resolves once the device says `installed`.
 */
export async function pushBlockSet(
  host: BlockSetPushHost,
  dir: string,
  opts: PushBlockSetOptions = {},
): Promise<PushBlockSetResult> {
  const chunkBytes = Math.max(1, Math.min(opts.chunkBytes ?? 1024 * 1024, MAX_BLOCKSET_CHUNK_BYTES));
  const paths = await filesOf(dir);
  if (!paths.includes('manifest.json'))
    throw new CompanionError('invalid-device-message', `${dir} has no manifest.json: not a block set`);
  const files: { path: string; bytes: number; sha256: string }[] = [];
  for (const path of paths) {
    const full = join(dir, ...path.split('/'));
    files.push({ path, bytes: (await stat(full)).size, sha256: await sha256File(full) });
  }
  const manifestSha256 = files.find((f) => f.path === 'manifest.json')!.sha256;
  const name = opts.name ?? setNameOf(dir);
  const transferId = opts.transferId ?? `t-${bytesToHex(randomBytes(8))}`;
  const totalBytes = files.reduce((a, f) => a + f.bytes, 0);
  const held = new Map<string, number>();
  const complete = new Set<string>();
  const result: PushBlockSetResult = {
    name,
    manifestSha256,
    files,
    totalBytes,
    sentBytes: 0,
    resumedBytes: 0,
    offers: 0,
  };
  const progress = (file: string | null): void => {
    let deviceBytes = 0;
    for (const v of held.values()) deviceBytes += v;
    opts.onProgress?.({
      deviceBytes,
      totalBytes,
      sentBytes: result.sentBytes,
      file,
      offers: result.offers,
    });
  };
  const applyAck = (ack: DeviceMessageOf<'blockset.ack'>): void => {
    for (const f of ack.files) {
      held.set(f.path, f.receivedBytes);
      if (f.complete) complete.add(f.path);
      else complete.delete(f.path);
    }
  };
  let retries = 0;
  if (host.needsPairing())
    throw new CompanionError('not-paired', 'model sync needs a paired session: pair first');
  for (;;) {
    await host.waitAuthenticated();
    try {
      const ack = (await host.request(
        { type: 'blockset.offer', transferId, name, manifestSha256, files },
        'blockset.ack',
      )) as DeviceMessageOf<'blockset.ack'>;
      result.offers++;
      applyAck(ack);
      if (result.offers > 1) for (const f of ack.files) result.resumedBytes += f.receivedBytes;
      progress(null);
      if (ack.installed) return result;
      for (const f of files) {
        if (complete.has(f.path)) continue;
        const fh = await openFile(join(dir, ...f.path.split('/')), 'r');
        try {
          while (!complete.has(f.path)) {
            const offset = held.get(f.path) ?? 0;
            const length = Math.min(chunkBytes, f.bytes - offset);
            if (length <= 0) break; // complete only after the device verified it; a re-offer tells
            const payload = new Uint8Array(length);
            const { bytesRead } = await fh.read(payload, 0, length, offset);
            if (bytesRead !== length) throw new Error(`${f.path} changed while it was being pushed`);
            const chunkSeq = host.nextChunkSeq();
            const frame = encodeBinaryFrame({
              kind: 'bytes',
              purpose: 'blockset-chunk',
              streamId: transferId,
              seq: chunkSeq,
              index: 0,
              dims: [],
              payload,
            });
            const sha256 = createHash('sha256').update(payload).digest('hex');
            const acked = host.request(
              { type: 'blockset.chunk', transferId, path: f.path, offset, bytes: length, sha256, chunkSeq },
              'blockset.ack',
            );
            // The binary frame must follow its announcement immediately (request sent it synchronously).
            host.sendBinary(frame);
            const a = (await acked) as DeviceMessageOf<'blockset.ack'>;
            result.sentBytes += length;
            applyAck(a);
            progress(f.path);
            if (a.installed) return result;
          }
        } finally {
          await fh.close();
        }
      }
      // Every file sent without `installed`: offer again to find out why (bounded by maxRetries).
      if (++retries > (opts.maxRetries ?? 5))
        throw new CompanionError('timeout', `${name}: every file was sent but the device did not install it`);
    } catch (e) {
      if (e instanceof DeviceError) {
        const code = e.code;
        const resumable =
          code === 'blockset-offset-mismatch' ||
          code === 'blockset-hash-mismatch' ||
          code === 'unknown-transfer';
        if (!resumable || ++retries > (opts.maxRetries ?? 5)) throw e;
        continue; // offer again: the ack gives the device's offsets
      }
      if (e instanceof CompanionError && !host.isClosedByUser()) {
        if (e.code === 'connection-closed' || e.code === 'not-connected') continue;
        if (e.code === 'timeout' && ++retries <= (opts.maxRetries ?? 5)) continue;
      }
      throw e;
    }
  }
}
