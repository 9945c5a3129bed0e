/**
 * Model sync, device side (docs/protocol.md section 7): receives a block set pushed by the studio over
 * `blockset.offer` / `blockset.chunk`, resumable after a disconnect and hash-checked, then installs it.
 *
 * - A transfer is staged under a key `(name, manifestSha256)`, so a reconnecting client that offers the same set
 *   again (any transferId) resumes from what the device already holds: the ack's `receivedBytes` per file.
 * - A chunk must start exactly at the file's received length (else `blockset-offset-mismatch`, with the expected
 *   offset), its bytes must match the chunk's SHA-256 (else `blockset-hash-mismatch`, nothing written), and a file
 *   whose last chunk lands is hashed whole: a mismatch resets that file to 0 (`blockset-hash-mismatch`).
 * - Once every file is verified, `manifest.json` must parse (`parseManifest`) and name only offered files with the
 *   offered sizes and hashes; then the store commits the set atomically into its installed block sets.
 * - An offer naming `odsora-sync.json` (the device's own record of an installed set) is refused at once. The
 *   staging of a push no write touched for `abandonedPushMs` is removed: at start, at each offer, on a host sweep.
 *
 * Storage is a port (`ModelStore`); the Node host keeps it on disk, tests and simulated devices in memory
 * (`MemoryModelStore`). All store operations of one receiver run one at a time, in arrival order, so a stale
 * connection that still delivers a chunk cannot interleave with a reconnected one.
 */
import { BlockSetError } from '../engine/blockset/errors';
import { MANIFEST_FILE, manifestBlocks, parseManifest } from '../engine/blockset/manifest';
import type { Sha256 } from '../engine/ports';
import { utf8Decode } from '../engine/safetensors/utf8';
import type { InstalledBlockSet } from '../protocol/device';
import type { ErrorCode } from '../protocol/errors';
import type { ClientMessageOf, DeviceMessageOf } from '../protocol/messages';

import {
  isSafeBlockSetPath,
  keyId,
  SYNC_RECORD_FILE,
  type BlockSetFileRecord,
  type InstalledBlockSetRecord,
  type ModelStore,
  type StagingKey,
} from './model-store';

export {
  isSafeBlockSetPath,
  MemoryModelStore,
  SYNC_RECORD_FILE,
  type BlockSetFileRecord,
  type InstalledBlockSetRecord,
  type ModelStore,
  type StagingKey,
} from './model-store';

/** Size limits of {@link ModelSyncReceiver}. */
export interface ModelSyncLimits {
  /** Largest file (default 8 GiB). */
  maxFileBytes: number;
  /** Largest set, all files together (default 32 GiB). */
  maxSetBytes: number;
  /** Largest `manifest.json` (default 16 MiB). */
  maxManifestBytes: number;
  /**
   * A push whose staging no write touched for this long is abandoned: its staging area is removed (at start, at
   * each offer, and when the host sweeps). Default 24 h, so a push can still resume the next day.
   */
  abandonedPushMs: number;
}

/** Default size limits. */
export const DEFAULT_MODEL_SYNC_LIMITS: ModelSyncLimits = {
  maxFileBytes: 8 * 1024 ** 3,
  maxSetBytes: 32 * 1024 ** 3,
  maxManifestBytes: 16 * 1024 ** 2,
  abandonedPushMs: 24 * 3_600_000,
};

/** How often a long-running host calls `sweepAbandoned` (an idle device gets no offers that would sweep). */
export const SWEEP_ABANDONED_PUSHES_EVERY_MS = 3_600_000;

/** A refused offer or chunk, with its wire code. `expectedOffset`: where the device wants the next chunk. */
export class ModelSyncError extends Error {
  override readonly name = 'ModelSyncError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { path?: string; file?: string; expectedOffset?: number } = {},
  ) {
    super(message);
  }

  /** The byte offset the device expects next for `file` (offset and hash errors). */
  get expectedOffset(): number | undefined {
    return this.extra.expectedOffset;
  }
}

/** The `blockset.ack` body (without `type` and `ref`). */
export type BlockSetAckBody = Omit<DeviceMessageOf<'blockset.ack'>, 'type' | 'ref'>;

/** A chunk announced by `blockset.chunk`, waiting for its binary frame. */
export interface PendingChunk {
  transferId: string;
  path: string;
  offset: number;
  bytes: number;
  sha256: string;
  chunkSeq: number;
}

interface FileState extends BlockSetFileRecord {
  received: number;
  complete: boolean;
}

interface Transfer {
  transferId: string;
  /** Which connection owns it (a later offer of the same set by anyone takes it over). */
  owner: object;
  key: StagingKey;
  files: Map<string, FileState>;
  installed: boolean;
}

/** Options of {@link ModelSyncReceiver}. */
export interface ModelSyncReceiverOptions {
  store: ModelStore;
  /** Hashes chunk payloads and manifests. */
  sha256: Sha256;
  limits?: Partial<ModelSyncLimits>;
  /** Called after a set was installed (e.g. to refresh device info). */
  onInstalled?: (record: InstalledBlockSetRecord) => void;
  log?: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// The receiver

/** The device side of model sync, shared by every connection of one device. */
export class ModelSyncReceiver {
  private readonly limits: ModelSyncLimits;
  private readonly transfers = new Map<string, Transfer>();
  private installed: InstalledBlockSetRecord[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: ModelSyncReceiverOptions) {
    this.limits = { ...DEFAULT_MODEL_SYNC_LIMITS, ...options.limits };
  }

  /** Loads the installed sets and removes the staging of abandoned pushes. */
  static async create(options: ModelSyncReceiverOptions): Promise<ModelSyncReceiver> {
    const r = new ModelSyncReceiver(options);
    r.installed = await options.store.listInstalled();
    await r.sweepAbandoned();
    return r;
  }

  /**
   * Removes the staging areas of pushes no write touched for `abandonedPushMs` (never one a connection has open);
   * returns how many. Runs at start and at each offer; hosts call it now and then for a device left idle.
   */
  sweepAbandoned(): Promise<number> {
    return this.serial(() => this.sweepLocked([]));
  }

  private async sweepLocked(keep: readonly StagingKey[]): Promise<number> {
    const sweep = this.options.store.sweepStaging?.bind(this.options.store);
    if (sweep === undefined) return 0;
    const open = [...this.transfers.values()].filter((t) => !t.installed).map((t) => t.key);
    let removed: StagingKey[];
    try {
      removed = await sweep(this.limits.abandonedPushMs, [...open, ...keep]);
    } catch (e) {
      this.options.log?.(
        `model sync: cannot remove abandoned pushes: ${e instanceof Error ? e.message : String(e)}`,
      );
      return 0;
    }
    for (const k of removed)
      this.options.log?.(
        `model sync: removed the staging of an abandoned push of ${k.name} (manifest ${k.manifestSha256.slice(0, 12)}…): no write for ${Math.round(this.limits.abandonedPushMs / 60_000)} min`,
      );
    return removed.length;
  }

  /** Installed sets and sets being received (`complete: false`), for device info. */
  blockSets(): InstalledBlockSet[] {
    const out: InstalledBlockSet[] = this.installed.map((r) => ({
      name: r.name,
      model: r.model,
      bytes: r.bytes,
      manifestSha256: r.manifestSha256,
      complete: true,
    }));
    for (const t of this.transfers.values()) {
      if (t.installed) continue;
      let bytes = 0;
      for (const f of t.files.values()) bytes += f.received;
      out.push({
        name: t.key.name,
        model: t.key.name,
        bytes,
        manifestSha256: t.key.manifestSha256,
        complete: false,
      });
    }
    return out;
  }

  /** Installed sets with their files. */
  installedSets(): readonly InstalledBlockSetRecord[] {
    return this.installed;
  }

  /** Deletes an installed set through the store (which must support `remove`); false when none was installed. */
  removeInstalled(name: string): Promise<boolean> {
    return this.serial(async () => {
      const remove = this.options.store.remove?.bind(this.options.store);
      if (remove === undefined) throw new Error('this model store cannot delete block sets');
      const removed = await remove(name);
      this.installed = await this.options.store.listInstalled();
      return removed;
    });
  }

  /**
   * Opens (or resumes) a transfer for `owner` (a connection); answers with what the device holds. Replaces
   * `owner`'s earlier transfer, and takes the set over from another owner.
   */
  offer(owner: object, m: ClientMessageOf<'blockset.offer'>): Promise<BlockSetAckBody> {
    return this.serial(() => this.doOffer(owner, m));
  }

  /**
   * Validates a `blockset.chunk` before its binary frame arrives (throws {@link ModelSyncError}); returns the
   * chunk to hand to {@link receiveChunk} with the payload.
   */
  checkChunk(owner: object, m: ClientMessageOf<'blockset.chunk'>): Promise<PendingChunk> {
    return this.serial(async () => {
      const { file } = this.fileOf(owner, m.transferId, m.path);
      if (file.complete)
        throw new ModelSyncError('blockset-offset-mismatch', `${m.path} is already complete`, {
          path: 'offset',
          file: m.path,
          expectedOffset: file.bytes,
        });
      if (m.offset !== file.received)
        throw new ModelSyncError(
          'blockset-offset-mismatch',
          `${m.path}: the device holds ${file.received} bytes; send the chunk at offset ${file.received}, not ${m.offset}`,
          { path: 'offset', file: m.path, expectedOffset: file.received },
        );
      if (m.offset + m.bytes > file.bytes)
        throw new ModelSyncError(
          'bad-message',
          `${m.path}: a ${m.bytes}-byte chunk at ${m.offset} runs past the file's ${file.bytes} bytes`,
          { path: 'bytes', file: m.path },
        );
      return {
        transferId: m.transferId,
        path: m.path,
        offset: m.offset,
        bytes: m.bytes,
        sha256: m.sha256,
        chunkSeq: m.chunkSeq,
      };
    });
  }

  /** Writes a checked chunk's payload; verifies the file once it is whole and installs the set once all are. */
  receiveChunk(owner: object, chunk: PendingChunk, payload: Uint8Array): Promise<BlockSetAckBody> {
    return this.serial(async () => {
      const { transfer, file } = this.fileOf(owner, chunk.transferId, chunk.path);
      if (chunk.offset !== file.received || file.complete)
        throw new ModelSyncError(
          'blockset-offset-mismatch',
          `${chunk.path}: the device holds ${file.received} bytes; send the chunk at offset ${file.received}`,
          { file: chunk.path, expectedOffset: file.received },
        );
      if (payload.length !== chunk.bytes)
        throw new ModelSyncError(
          'bad-binary-frame',
          `chunk ${chunk.chunkSeq} of ${chunk.path}: the frame has ${payload.length} bytes, the chunk announced ${chunk.bytes}`,
          { file: chunk.path, expectedOffset: file.received },
        );
      if ((await this.options.sha256(payload)) !== chunk.sha256)
        throw new ModelSyncError(
          'blockset-hash-mismatch',
          `chunk ${chunk.chunkSeq} of ${chunk.path} at ${chunk.offset} does not match its sha256; nothing was written`,
          { file: chunk.path, expectedOffset: file.received },
        );
      await this.options.store.write(transfer.key, file.path, chunk.offset, payload);
      file.received += payload.length;
      if (file.received === file.bytes) await this.verifyFile(transfer, file);
      const ack = this.ackOf(transfer, [file]);
      if (this.allComplete(transfer)) {
        await this.install(transfer);
        ack.installed = true;
      }
      return ack;
    });
  }

  /** Forgets `owner`'s transfers (the connection closed); staged bytes stay for a resume. */
  release(owner: object): void {
    for (const [id, t] of this.transfers) if (t.owner === owner) this.transfers.delete(id);
  }

  // -------------------------------------------------------------------------------------------------------------

  private async doOffer(owner: object, m: ClientMessageOf<'blockset.offer'>): Promise<BlockSetAckBody> {
    const seen = new Set<string>();
    let total = 0;
    for (const [i, f] of m.files.entries()) {
      if (!isSafeBlockSetPath(f.path))
        throw new ModelSyncError(
          'bad-message',
          `files.${i}.path ${JSON.stringify(f.path)} is not a safe relative path`,
          {
            path: `files.${i}.path`,
          },
        );
      if (f.path === SYNC_RECORD_FILE)
        throw new ModelSyncError(
          'bad-message',
          `files.${i}.path ${SYNC_RECORD_FILE} is reserved: the device writes it into each installed set`,
          { path: `files.${i}.path` },
        );
      if (seen.has(f.path))
        throw new ModelSyncError('bad-message', `${f.path} is offered twice`, { path: `files.${i}.path` });
      seen.add(f.path);
      if (f.bytes > this.limits.maxFileBytes)
        throw new ModelSyncError(
          'blockset-too-large',
          `${f.path} has ${f.bytes} bytes; this device takes files of at most ${this.limits.maxFileBytes}`,
          { path: `files.${i}.bytes` },
        );
      total += f.bytes;
    }
    for (const p of seen) {
      const parts = p.split('/');
      for (let k = 1; k < parts.length; k++)
        if (seen.has(parts.slice(0, k).join('/')))
          throw new ModelSyncError(
            'bad-message',
            `${p} is inside ${parts.slice(0, k).join('/')}, which is a file`,
            {
              path: 'files',
            },
          );
    }
    if (total > this.limits.maxSetBytes)
      throw new ModelSyncError(
        'blockset-too-large',
        `the set has ${total} bytes; this device takes sets of at most ${this.limits.maxSetBytes}`,
        { path: 'files' },
      );
    const manifestIndex = m.files.findIndex((f) => f.path === MANIFEST_FILE);
    const manifest = m.files[manifestIndex];
    if (manifest === undefined)
      throw new ModelSyncError('bad-message', `a block set must include ${MANIFEST_FILE}`, { path: 'files' });
    if (manifest.sha256 !== m.manifestSha256)
      throw new ModelSyncError(
        'bad-message',
        `manifestSha256 must be the sha256 of ${MANIFEST_FILE} (files.${manifestIndex}.sha256)`,
        { path: 'manifestSha256' },
      );
    if (manifest.bytes > this.limits.maxManifestBytes)
      throw new ModelSyncError(
        'blockset-too-large',
        `${MANIFEST_FILE} has ${manifest.bytes} bytes (at most ${this.limits.maxManifestBytes})`,
        { path: `files.${manifestIndex}.bytes` },
      );

    const key: StagingKey = { name: m.name, manifestSha256: m.manifestSha256 };
    // One transfer per owner; one owner per staged set.
    for (const [id, t] of this.transfers)
      if (t.owner === owner || keyId(t.key) === keyId(key)) this.transfers.delete(id);
    await this.sweepLocked([key]);

    const already = this.installed.find((r) => r.name === m.name && r.manifestSha256 === m.manifestSha256);
    const transfer: Transfer = {
      transferId: m.transferId,
      owner,
      key,
      files: new Map(),
      installed: already !== undefined,
    };
    if (already !== undefined) {
      const held = new Map(already.files.map((f) => [f.path, f]));
      const same =
        m.files.every((f) => held.get(f.path)?.sha256 === f.sha256) && held.size === m.files.length;
      if (!same)
        throw new ModelSyncError(
          'bad-message',
          `${m.name} is installed with this manifest but other files; offer it under another name`,
          { path: 'files' },
        );
      for (const f of m.files) transfer.files.set(f.path, { ...f, received: f.bytes, complete: true });
      this.transfers.set(m.transferId, transfer);
      return this.ackOf(transfer, [...transfer.files.values()]);
    }

    const store = this.options.store;
    await store.begin(key);
    let missing = 0;
    for (const f of m.files) {
      const file: FileState = { ...f, received: 0, complete: false };
      let held = await store.stagedBytes(key, f.path);
      if (held > f.bytes) {
        await store.truncate(key, f.path, 0);
        held = 0;
      }
      file.received = held;
      if (held === f.bytes) {
        if ((await store.sha256(key, f.path)) === f.sha256) file.complete = true;
        else {
          await store.truncate(key, f.path, 0);
          file.received = 0;
        }
      }
      missing += f.bytes - file.received;
      transfer.files.set(f.path, file);
    }
    const available = (await store.availableBytes?.()) ?? null;
    if (available !== null && missing > available)
      throw new ModelSyncError(
        'blockset-too-large',
        `${missing} more bytes are needed; the device has ${available} free`,
        { path: 'files' },
      );
    this.transfers.set(m.transferId, transfer);
    const ack = this.ackOf(transfer, [...transfer.files.values()]);
    if (this.allComplete(transfer)) {
      await this.install(transfer);
      ack.installed = true;
    }
    return ack;
  }

  private fileOf(owner: object, transferId: string, path: string): { transfer: Transfer; file: FileState } {
    const transfer = this.transfers.get(transferId);
    if (transfer === undefined || transfer.owner !== owner)
      throw new ModelSyncError(
        'unknown-transfer',
        `no model transfer ${transferId} on this connection: offer it`,
        {
          path: 'transferId',
        },
      );
    const file = transfer.files.get(path);
    if (file === undefined)
      throw new ModelSyncError('bad-message', `${path} is not a file of transfer ${transferId}`, {
        path: 'path',
      });
    return { transfer, file };
  }

  private async verifyFile(transfer: Transfer, file: FileState): Promise<void> {
    const got = await this.options.store.sha256(transfer.key, file.path);
    if (got === file.sha256) {
      file.complete = true;
      return;
    }
    await this.options.store.truncate(transfer.key, file.path, 0);
    file.received = 0;
    throw new ModelSyncError(
      'blockset-hash-mismatch',
      `${file.path}: the whole file's sha256 is ${got}, the offer says ${file.sha256}; the device starts it over at 0`,
      { file: file.path, expectedOffset: 0 },
    );
  }

  private allComplete(t: Transfer): boolean {
    for (const f of t.files.values()) if (!f.complete) return false;
    return true;
  }

  private async install(t: Transfer): Promise<void> {
    if (t.installed) return;
    const store = this.options.store;
    const raw = await store.read(t.key, MANIFEST_FILE, this.limits.maxManifestBytes);
    const reject = async (message: string): Promise<never> => {
      // The files matched the offer, but the set is unusable: start the manifest over so a fixed offer can land.
      await store.truncate(t.key, MANIFEST_FILE, 0);
      const f = t.files.get(MANIFEST_FILE);
      if (f) {
        f.received = 0;
        f.complete = false;
      }
      throw new ModelSyncError('bad-message', `${MANIFEST_FILE}: ${message}`, {
        file: MANIFEST_FILE,
        path: 'files',
      });
    };
    const text = utf8Decode(raw);
    let json: unknown;
    try {
      json = text === null ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (json === undefined) return reject('not UTF-8 JSON');
    let modelName: string;
    try {
      const manifest = parseManifest(json, MANIFEST_FILE);
      modelName = manifest.model.name;
      // The text stage names its tokenizer file besides its blocks: the set does not open without it.
      const tokenizer = manifest.stages.text?.tokenizer;
      if (typeof tokenizer === 'string' && !t.files.has(tokenizer))
        return reject(`stage text names its tokenizer ${tokenizer}, which was not offered`);
      for (const { stage: stageName, block: b } of manifestBlocks(manifest)) {
        const f = t.files.get(b.file);
        if (f === undefined) return reject(`stage ${stageName} names ${b.file}, which was not offered`);
        if (f.bytes !== b.bytes || (b.sha256 !== undefined && f.sha256 !== b.sha256))
          return reject(`stage ${stageName}: ${f.path} differs from the manifest's size or sha256`);
      }
    } catch (e) {
      if (e instanceof ModelSyncError) throw e;
      return reject(e instanceof BlockSetError ? e.message : String(e));
    }
    const files = [...t.files.values()].map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 }));
    const record: InstalledBlockSetRecord = {
      name: t.key.name,
      model: modelName.slice(0, 128) || t.key.name,
      manifestSha256: t.key.manifestSha256,
      bytes: files.reduce((s, f) => s + f.bytes, 0),
      files,
    };
    await store.commit(t.key, record);
    t.installed = true;
    this.installed = [...this.installed.filter((r) => r.name !== record.name), record];
    this.options.log?.(`model sync: installed block set ${record.name} (${record.bytes} bytes)`);
    try {
      this.options.onInstalled?.(record);
    } catch {
      // a host callback must not undo the install
    }
  }

  private ackOf(t: Transfer, files: readonly FileState[]): BlockSetAckBody {
    return {
      transferId: t.transferId,
      files: files.map((f) => ({ path: f.path, receivedBytes: f.received, complete: f.complete })),
      installed: t.installed,
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
