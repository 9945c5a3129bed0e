/**
 * Opening a block set and loading its blocks. `openBlockSet` checks the manifest and that every block file is there
 * with the right size (cheap: no hashing); `loadBlock` reads one block file, optionally verifies its SHA-256, and
 * returns its weights as views of the file's bytes (float32, half or int8 + scales, as stored: precision.ts) —
 * exactly the `bytes` CI-DL accounts for.
 */
import type { FileSystemPort, Sha256 } from '../ports';
import { SafetensorsError, parseSafetensors, type SafetensorsBuffer } from '../safetensors/reader';
import { HOST_LITTLE_ENDIAN } from '../safetensors/dtype';
import type { BlockBufferPool } from './buffer-pool';
import type { BlockEntry } from './block-entry';
import type { BlockSetManifest } from './manifest';
import { CONVERTING_MARKER, MANIFEST_FILE, manifestBlocks, parseManifest } from './manifest';
import { BlockSetError } from './errors';
import { scaleKey, type WeightTensor } from './precision';

/** A block's weights in memory. */
export interface LoadedBlock {
  /** Manifest block id (`part1`, `pair.{i}`, `part2`). */
  readonly id: string;
  /** Size of the block file, i.e. the memory its weights hold. */
  readonly bytes: number;
  /** Tensors by full Open-Sora key name, as stored (see precision.ts). */
  readonly weights: Map<string, WeightTensor>;
  /** Gives the block's buffer back to the pool it came from (a no-op without one); the weights are dead after. */
  readonly release: () => void;
}

/**
 * When a block file's SHA-256 is checked against the manifest: on its first load through this BlockSet (the default:
 * once per process that opened the block set, so repeated runs and CI-DL reloads are not re-hashed), on every load,
 * or never.
 */
export type VerifyPolicy = 'first-load' | 'every-load' | 'off';

/** Options of `loadBlock`. */
export interface LoadBlockOptions {
  /** Hash the file and compare with the manifest (costs a pass over the bytes, off-thread on Node). */
  readonly verify: boolean | VerifyPolicy;
  /** Read into a pooled buffer (when the file system can read into one); `release()` gives it back. */
  readonly memory?: BlockBufferPool;
}

/** An opened, checked block set. */
export class BlockSet {
  /** The block-set directory. */
  readonly dir: string;
  /** The validated manifest. */
  readonly manifest: BlockSetManifest;
  private readonly fs: FileSystemPort;
  private readonly sha256: Sha256;
  /** Block files whose hash this BlockSet has already checked. */
  private readonly verified = new Set<string>();

  /** Use `openBlockSet`. */
  constructor(fs: FileSystemPort, sha256: Sha256, dir: string, manifest: BlockSetManifest) {
    this.fs = fs;
    this.sha256 = sha256;
    this.dir = dir;
    this.manifest = manifest;
  }

  /** The denoiser's blocks in run order (part1, pair.0 … pair.{depth−1}, part2). */
  denoiserBlocks(): readonly BlockEntry[] {
    return this.manifest.stages.denoiser?.blocks ?? [];
  }

  /** One denoiser block by id; throws naming the manifest when absent. */
  block(id: string): BlockEntry {
    const b = this.denoiserBlocks().find((x) => x.id === id);
    if (!b) throw new BlockSetError(this.path(MANIFEST_FILE), `has no block "${id}"`, id);
    return b;
  }

  /** Whether this BlockSet has already checked a block file's hash (`first-load` will not hash it again). */
  isVerified(block: Pick<BlockEntry, 'file'>): boolean {
    return this.verified.has(this.path(block.file));
  }

  /** Absolute path of a file of this block set. */
  path(rel: string): string {
    return this.fs.join(this.dir, ...rel.split('/'));
  }

  /** Whether a file of this block set (relative, '/'-separated, e.g. `text/tokenizer.json`) exists. */
  hasFile(rel: string): Promise<boolean> {
    return this.fs.exists(this.path(rel));
  }

  /** Reads a non-block file of this block set as bytes (e.g. `text/spiece.model`). */
  readBytes(rel: string): Promise<Uint8Array> {
    return this.fs.readFile(this.path(rel));
  }

  /** Reads a non-block file of this block set as text (e.g. `text/tokenizer.json`). */
  readText(rel: string): Promise<string> {
    return this.fs.readText(this.path(rel));
  }

  /** Reads one block file, verifies it when asked, and returns its weights. */
  async loadBlock(
    block: Pick<BlockEntry, 'id' | 'file' | 'bytes' | 'sha256' | 'tensors'>,
    opts: LoadBlockOptions,
  ): Promise<LoadedBlock> {
    const file = this.path(block.file);
    const pool = opts.memory !== undefined && this.fs.readFileInto !== undefined ? opts.memory : undefined;
    let bytes: Uint8Array;
    if (pool) {
      bytes = pool.acquire(block.bytes);
      try {
        await this.fs.readFileInto?.(file, bytes);
      } catch (e) {
        pool.release(bytes);
        throw new BlockSetError(file, `block "${block.id}": ${(e as Error).message}`, block.id);
      }
    } else bytes = await this.fs.readFile(file);
    const release = pool ? (): void => pool.release(bytes) : (): void => undefined;
    try {
      if (bytes.byteLength !== block.bytes)
        throw new BlockSetError(
          file,
          `block "${block.id}" file has ${bytes.byteLength} bytes, the manifest says ${block.bytes}`,
          block.id,
        );
      await this.verify(block, file, bytes, opts.verify);
      return {
        id: block.id,
        bytes: bytes.byteLength,
        weights: readBlockWeights(block, file, bytes),
        release,
      };
    } catch (e) {
      release();
      throw e;
    }
  }

  /** Checks the block's SHA-256 as the policy asks (at most once per file with `first-load`). */
  private async verify(
    block: Pick<BlockEntry, 'id' | 'sha256'>,
    file: string,
    bytes: Uint8Array,
    verify: boolean | VerifyPolicy,
  ): Promise<void> {
    const policy = verify === true ? 'every-load' : verify === false ? 'off' : verify;
    if (policy === 'off' || (policy === 'first-load' && this.verified.has(file))) return;
    const actual = await this.sha256(bytes);
    if (actual !== block.sha256)
      throw new BlockSetError(
        file,
        `block "${block.id}" is corrupt: sha256 ${actual}, the manifest expects ${block.sha256}`,
        block.id,
      );
    this.verified.add(file);
  }
}

/**
 * The weights of a block file: each manifest tensor as stored (F32, F16, or I8 with its `::scale` F32 beside it),
 * as views of `bytes` where aligned. The file must hold exactly the manifest's tensors (plus their scales).
 */
function readBlockWeights(
  block: Pick<BlockEntry, 'id' | 'tensors'>,
  file: string,
  bytes: Uint8Array,
): Map<string, WeightTensor> {
  let st: SafetensorsBuffer;
  try {
    st = parseSafetensors(bytes, file);
  } catch (e) {
    if (e instanceof SafetensorsError)
      throw new BlockSetError(file, `block "${block.id}": ${e.message}`, block.id);
    throw e;
  }
  const want = new Set<string>();
  for (const n of block.tensors) {
    want.add(n);
    if (st.has(n) && st.info(n).dtype === 'I8') want.add(scaleKey(n));
  }
  const names = st.names();
  const missing = [...want].filter((n) => !st.has(n));
  const extra = names.filter((n) => !want.has(n));
  if (missing.length > 0 || extra.length > 0)
    throw new BlockSetError(
      file,
      `block "${block.id}" tensors differ from the manifest: missing ${JSON.stringify(missing.slice(0, 5))}, unexpected ${JSON.stringify(extra.slice(0, 5))}`,
      block.id,
    );
  const weights = new Map<string, WeightTensor>();
  try {
    for (const n of block.tensors) weights.set(n, storedTensor(st, n));
  } catch (e) {
    if (e instanceof SafetensorsError)
      throw new BlockSetError(file, `block "${block.id}": ${e.message}`, block.id);
    throw e;
  }
  return weights;
}

/** One stored tensor of a block file (see `readBlockWeights`). */
function storedTensor(st: SafetensorsBuffer, name: string): WeightTensor {
  const info = st.info(name);
  const dims = [...info.shape];
  if (info.dtype === 'F32') return st.readFloat32(name);
  const raw = st.readBytes(name);
  if (info.dtype === 'F16') {
    const aligned = HOST_LITTLE_ENDIAN && raw.byteOffset % 2 === 0;
    const data = aligned
      ? new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2)
      : new Uint16Array(raw.slice().buffer);
    return { type: 'float16', dims, data };
  }
  if (info.dtype === 'I8') {
    const scale = st.readFloat32(scaleKey(name), { expectShape: [dims[0] ?? 1] });
    return {
      type: 'int8',
      dims,
      data: new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength),
      scale: scale.data,
    };
  }
  throw new SafetensorsError(st.file, `has dtype ${info.dtype}; block files hold F32, F16 or I8`, name);
}

/** Reads and validates `dir/manifest.json` and checks every block file exists with the manifest's size. */
export async function openBlockSet(fs: FileSystemPort, sha256: Sha256, dir: string): Promise<BlockSet> {
  const manifestPath = fs.join(dir, MANIFEST_FILE);
  if (await fs.exists(fs.join(dir, CONVERTING_MARKER)))
    throw new BlockSetError(
      dir,
      'is a conversion that did not finish (it was interrupted); delete it and run `odsora convert` again',
    );
  if (!(await fs.exists(manifestPath)))
    throw new BlockSetError(
      manifestPath,
      'not found: this directory is not a block set (run `odsora convert` first)',
    );
  let json: unknown;
  try {
    json = JSON.parse(await fs.readText(manifestPath));
  } catch (e) {
    throw new BlockSetError(manifestPath, `manifest is not valid JSON (${(e as Error).message})`);
  }
  const set = new BlockSet(fs, sha256, dir, parseManifest(json, manifestPath));
  for (const b of allStageBlocks(set.manifest)) {
    const file = set.path(b.file);
    if (!(await fs.exists(file))) throw new BlockSetError(file, `block "${b.id}" file is missing`, b.id);
    const r = await fs.open(file);
    let size: number;
    try {
      size = await r.size();
    } finally {
      await r.close();
    }
    if (size !== b.bytes)
      throw new BlockSetError(
        file,
        `block "${b.id}" file has ${size} bytes, the manifest says ${b.bytes}`,
        b.id,
      );
  }
  return set;
}

/** Every block of every stage, denoiser ids bare and the other stages' as `<stage>/<id>` (for error messages). */
function allStageBlocks(manifest: BlockSetManifest): Pick<BlockEntry, 'id' | 'file' | 'bytes'>[] {
  return [...manifestBlocks(manifest)].map(({ stage, block: b }) => ({
    id: stage === 'denoiser' ? b.id : `${stage}/${b.id}`,
    file: b.file,
    bytes: b.bytes,
  }));
}
