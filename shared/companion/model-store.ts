/**
 * The model store port of model sync (`ModelStore`: staged and installed block sets), its records, the block-set
 * path rule shared by the receiver and every store, and an in-memory store (`MemoryModelStore`) for tests and
 * simulated devices. Re-exported from `model-sync.ts`.
 */
import type { Sha256 } from '../engine/ports';

// ---------------------------------------------------------------------------------------------------------------
// Ports and records

/** Where a transfer is staged: one staging area per set name and manifest hash. */
export interface StagingKey {
  readonly name: string;
  readonly manifestSha256: string;
}

/** One file of a block set, as offered and as installed. */
export interface BlockSetFileRecord {
  path: string;
  bytes: number;
  sha256: string;
}

/** An installed block set, as the store keeps it. */
export interface InstalledBlockSetRecord {
  name: string;
  /** The manifest's `model.name`. */
  model: string;
  manifestSha256: string;
  bytes: number;
  files: BlockSetFileRecord[];
}

/**
 * Storage of staged and installed block sets. Paths are the offer's relative `/`-separated paths (already
 * checked); a store must still refuse any path that would leave the staging area.
 */
export interface ModelStore {
  /** Opens (or reopens) the staging area of a transfer; idempotent. */
  begin(key: StagingKey): Promise<void>;
  /** Bytes of `path` already staged (0 when absent). */
  stagedBytes(key: StagingKey, path: string): Promise<number>;
  /** Writes `data` at `offset` of the staged file (creating it and its folders). */
  write(key: StagingKey, path: string, offset: number, data: Uint8Array): Promise<void>;
  /** Cuts the staged file to `length` bytes (0: starts it over). */
  truncate(key: StagingKey, path: string, length: number): Promise<void>;
  /** SHA-256 (lowercase hex) of the whole staged file. */
  sha256(key: StagingKey, path: string): Promise<string>;
  /** Reads a staged file (at most `maxBytes`; a larger file is an error). */
  read(key: StagingKey, path: string, maxBytes: number): Promise<Uint8Array>;
  /**
   * Installs the staged set as `record.name`, atomically (a reader sees the old set or the new one, never a mix),
   * replacing an installed set of that name, and drops other staging areas of that name.
   */
  commit(key: StagingKey, record: InstalledBlockSetRecord): Promise<void>;
  /** Every installed set. */
  listInstalled(): Promise<InstalledBlockSetRecord[]>;
  /** Free space for staging (null: unknown). */
  availableBytes?(): Promise<number | null>;
  /** Deletes an installed set (a device's delete button); false when none of that name is installed. */
  remove?(name: string): Promise<boolean>;
  /**
   * Removes the staging areas of abandoned pushes: those no write touched for `idleMs` or more (by the store's own
   * clock, e.g. file times), except `keep` (transfers open now); returns the keys removed. A store without it keeps
   * staging until a commit of the same name supersedes it.
   */
  sweepStaging?(idleMs: number, keep: readonly StagingKey[]): Promise<StagingKey[]>;
}

/**
 * The record a device writes into each installed set (what was pushed, with the hashes); reserved, so an offer that
 * names it is refused.
 */
export const SYNC_RECORD_FILE = 'odsora-sync.json';

const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Whether a relative block-set path is safe: `/`-separated `[A-Za-z0-9._-]` segments, no `.`/`..`/empty. */
export function isSafeBlockSetPath(path: string): boolean {
  if (path.length < 1 || path.length > 256) return false;
  return path.split('/').every((seg) => PATH_SEGMENT.test(seg) && seg !== '.' && seg !== '..');
}

/** The staging area id of a key. */
export const keyId = (key: StagingKey): string => `${key.name}\u0000${key.manifestSha256}`;

// ---------------------------------------------------------------------------------------------------------------
// An in-memory store (tests, simulated devices)

/** A {@link ModelStore} in memory. */
export class MemoryModelStore implements ModelStore {
  readonly staged = new Map<string, Map<string, Uint8Array>>();
  readonly installed = new Map<string, { record: InstalledBlockSetRecord; files: Map<string, Uint8Array> }>();
  /** Free bytes reported (null: unknown). */
  free: number | null = null;
  private readonly touched = new Map<string, { key: StagingKey; atMs: number }>();

  constructor(
    private readonly hash: Sha256,
    /** The clock staging idleness is measured by. */
    private readonly nowMs: () => number = () => Date.now(),
  ) {}

  private area(key: StagingKey): Map<string, Uint8Array> {
    let a = this.staged.get(keyId(key));
    if (a === undefined) this.staged.set(keyId(key), (a = new Map()));
    this.touched.set(keyId(key), {
      key: { name: key.name, manifestSha256: key.manifestSha256 },
      atMs: this.nowMs(),
    });
    return a;
  }

  async sweepStaging(idleMs: number, keep: readonly StagingKey[]): Promise<StagingKey[]> {
    const kept = new Set(keep.map(keyId));
    const removed: StagingKey[] = [];
    for (const [id, t] of this.touched) {
      if (kept.has(id) || this.nowMs() - t.atMs < idleMs || !this.staged.has(id)) continue;
      this.staged.delete(id);
      this.touched.delete(id);
      removed.push(t.key);
    }
    return removed;
  }

  private check(path: string): void {
    if (!isSafeBlockSetPath(path)) throw new Error(`unsafe path ${JSON.stringify(path)}`);
  }

  async begin(key: StagingKey): Promise<void> {
    this.area(key);
  }
  async stagedBytes(key: StagingKey, path: string): Promise<number> {
    this.check(path);
    return this.area(key).get(path)?.length ?? 0;
  }
  async write(key: StagingKey, path: string, offset: number, data: Uint8Array): Promise<void> {
    this.check(path);
    const a = this.area(key);
    const old = a.get(path) ?? new Uint8Array(0);
    const next = new Uint8Array(Math.max(old.length, offset + data.length));
    next.set(old);
    next.set(data, offset);
    a.set(path, next);
  }
  async truncate(key: StagingKey, path: string, length: number): Promise<void> {
    this.check(path);
    const a = this.area(key);
    a.set(path, (a.get(path) ?? new Uint8Array(0)).slice(0, length));
  }
  async sha256(key: StagingKey, path: string): Promise<string> {
    this.check(path);
    return this.hash(this.area(key).get(path) ?? new Uint8Array(0));
  }
  async read(key: StagingKey, path: string, maxBytes: number): Promise<Uint8Array> {
    this.check(path);
    const data = this.area(key).get(path) ?? new Uint8Array(0);
    if (data.length > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`);
    return data.slice();
  }
  async commit(key: StagingKey, record: InstalledBlockSetRecord): Promise<void> {
    const files = this.area(key);
    this.installed.set(record.name, { record: cloneRecord(record), files });
    for (const k of [...this.staged.keys()]) if (k.startsWith(`${key.name}\u0000`)) this.staged.delete(k);
  }
  async listInstalled(): Promise<InstalledBlockSetRecord[]> {
    return [...this.installed.values()].map((i) => cloneRecord(i.record));
  }
  async availableBytes(): Promise<number | null> {
    return this.free;
  }
}

function cloneRecord(r: InstalledBlockSetRecord): InstalledBlockSetRecord {
  return { ...r, files: r.files.map((f) => ({ ...f })) };
}
