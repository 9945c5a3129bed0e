/**
 * The streaming-conversion core shared by the stage converters (`convertStdit3`, `convertT5`, `convertVae`):
 * checkpoint validation, block file naming, assembling one block's tensors into one aligned safetensors buffer
 * (each tensor decoded to float32, then stored in the stage's precision: precision.ts), hashing and writing it, and
 * writing (or merging) the stage into manifest.json through a temp directory renamed into place. The converters
 * keep only what is model-specific: which keys go in which block, config parsing, FLOP estimates and special keys.
 */
import type { BlockBufferPool } from './buffer-pool';
import { encodeHalf, quantizeInt8Rows, scaleKey, storageOf, type Precision } from './precision';
import type { FileSystemPort, Sha256 } from '../ports';
import { isFloatDtype } from '../safetensors/dtype';
import { CheckpointError } from '../checkpoint/errors';
import { CheckpointSet } from '../checkpoint/sharded';
import { SafetensorsError } from '../safetensors/error';
import { planSafetensors, type SafetensorsLayout, type WriteEntry } from '../safetensors/writer';
import { ENGINE_VERSION } from '../version';
import { BlockSetError } from './errors';
import type { BlockSetManifest } from './manifest';
import { BLOCKSET_FORMAT, BLOCKSET_VERSION, MANIFEST_FILE, parseManifest } from './manifest';

/** One block: its id and the checkpoint keys (full name, shape) it holds, in file order. */
export interface WeightGroup {
  readonly id: string;
  readonly keys: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

/** Progress of a streaming conversion, for a command line or UI. */
export type StreamConvertProgress =
  | { readonly type: 'validated'; readonly tensors: number; readonly blocks: number }
  | { readonly type: 'block.start'; readonly block: string; readonly index: number; readonly total: number }
  | {
      readonly type: 'block.done';
      readonly block: string;
      readonly index: number;
      readonly total: number;
      readonly bytes: number;
      readonly sha256: string;
    };

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;
const MAX_LISTED_PROBLEMS = 8;

/** Wraps a config parser's error as a `BlockSetError` on `config`. */
export function parseStageConfig<C>(parse: (json: unknown) => C, json: unknown): C {
  try {
    return parse(json);
  } catch (e) {
    throw new BlockSetError('config', (e as Error).message);
  }
}

/**
 * Where a stage's checkpoint is: explicit files (any mix of safetensors and PyTorch `.bin`, told by content; a key
 * in two files is an error), or a Hugging Face checkpoint directory (`model.safetensors[.index.json]`,
 * `pytorch_model.bin[.index.json]`: checkpoint/sharded.ts).
 */
export type CheckpointSource = { readonly files: readonly string[] } | { readonly dir: string };

/** An opened stage checkpoint: the tensors and, for validation, every wanted tensor's header. */
export interface StageCheckpoint {
  readonly set: CheckpointSet;
  /** Names the checkpoint in errors: the file, `N checkpoint files`, or the index / directory. */
  readonly label: string;
  readonly headers: ReadonlyMap<string, CheckpointTensor>;
}

/**
 * Opens a stage's checkpoint and reads the headers of its wanted keys (`wanted` filters keys nobody reads, e.g. a
 * full T5's decoder: with an index, shards holding only those are never opened).
 */
export async function openStageCheckpoint(
  fs: FileSystemPort,
  source: CheckpointSource,
  wanted: (key: string) => boolean,
): Promise<StageCheckpoint> {
  let set: CheckpointSet;
  try {
    set =
      'dir' in source
        ? await CheckpointSet.openDirectory(fs, source.dir, { wanted })
        : await CheckpointSet.openFiles(fs, source.files, { wanted });
  } catch (e) {
    throw asBlockSetError(e);
  }
  try {
    const headers = new Map<string, CheckpointTensor>();
    // Each problem names the file it is in (a sharded checkpoint has many).
    for (const key of set.keys()) {
      const at = await set.lookup(key);
      if (at) headers.set(key, { dtype: at.info.dtype, shape: at.info.shape, file: at.file });
    }
    const label =
      'dir' in source
        ? set.name
        : source.files.length === 1
          ? (source.files[0] as string)
          : `${source.files.length} checkpoint files`;
    return { set, label, headers };
  } catch (e) {
    await set.close();
    throw asBlockSetError(e);
  }
}

/** A checkpoint reader's error (it names the file) as the BlockSetError every converter throws; others as is. */
function asBlockSetError(e: unknown): unknown {
  if (!(e instanceof CheckpointError || e instanceof SafetensorsError)) return e;
  const prefix = `${e.file}: `;
  return new BlockSetError(e.file, e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message);
}

/** A checkpoint tensor's header as validation sees it. */
export interface CheckpointTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The file it is in, prefixed to its problems (`<file>: tensor ...`); absent: no prefix. */
  readonly file?: string;
}

/** What `validateCheckpoint` checks, and how it words the problems. */
export interface CheckpointCheck {
  /** The file (or shard set) the error names. */
  readonly label: string;
  /** The model in `checkpoint does not match the <model> config`. */
  readonly model: string;
  readonly groups: readonly WeightGroup[];
  /** A checkpoint tensor's header, or undefined when the checkpoint lacks it. */
  readonly lookup: (name: string) => CheckpointTensor | undefined;
  /** Every key in the checkpoint, in file order. */
  readonly names: Iterable<string>;
  /** The checkpoint keys an expected key is read from, all checked when present (default: the key itself). */
  readonly sourcesOf?: (name: string) => readonly string[];
  /** The problem an absent key is (default `missing tensor "<key>"`); null: its absence is fine. */
  readonly missing?: (name: string, block: string) => string | null;
  /** Unexpected keys to skip silently. */
  readonly skip: (name: string) => boolean;
  /** Why an unexpected key is rejected: `unexpected tensor "<key>" (<unexpected>)`. */
  readonly unexpected: string;
}

/**
 * Checks a checkpoint against the expected keys (present, float dtype, shape) and for keys nobody expects; throws
 * one `BlockSetError` on `label` that counts the problems and lists the first 8 (`; and N more`).
 */
export function validateCheckpoint(c: CheckpointCheck): void {
  const problems: string[] = [];
  const expected = new Set<string>();
  const at = (t: CheckpointTensor): string => (t.file === undefined ? '' : `${t.file}: `);
  for (const g of c.groups)
    for (const k of g.keys) {
      const sources = c.sourcesOf?.(k.name) ?? [k.name];
      for (const s of sources) expected.add(s);
      let found = false;
      for (const source of sources) {
        const t = c.lookup(source);
        if (!t) continue;
        found = true;
        if (!isFloatDtype(t.dtype))
          problems.push(`${at(t)}tensor "${source}" has dtype ${t.dtype}, expected F32, F16 or BF16`);
        if (t.shape.length !== k.shape.length || t.shape.some((d, i) => d !== k.shape[i]))
          problems.push(
            `${at(t)}tensor "${source}" has shape ${fmtShape(t.shape)}, expected ${fmtShape(k.shape)}${k.name === source ? '' : ` (as ${k.name})`}`,
          );
      }
      if (found) continue;
      const missing = c.missing ? c.missing(k.name, g.id) : `missing tensor "${k.name}"`;
      if (missing !== null) problems.push(missing);
    }
  for (const name of c.names)
    if (!expected.has(name) && !c.skip(name)) {
      const t = c.lookup(name);
      problems.push(`${t ? at(t) : ''}unexpected tensor "${name}" (${c.unexpected})`);
    }
  if (problems.length === 0) return;
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
  const more =
    problems.length > MAX_LISTED_PROBLEMS ? `; and ${problems.length - MAX_LISTED_PROBLEMS} more` : '';
  throw new BlockSetError(
    c.label,
    `checkpoint does not match the ${c.model} config (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${listed}${more}`,
  );
}

/**
 * File name of a block inside its stage directory: `<id>.safetensors`, except that with `indexed` an id
 * `<prefix>.<i>` becomes `<prefix>-<i>.safetensors`, `i` zero-padded to the width of `count - 1` (at least 2).
 */
export function blockFileName(
  id: string,
  indexed?: { readonly prefix: string; readonly count: number },
): string {
  const index = indexed && id.startsWith(`${indexed.prefix}.`) ? id.slice(indexed.prefix.length + 1) : '';
  if (!indexed || !/^\d+$/.test(index)) return `${id}.safetensors`;
  return `${indexed.prefix}-${index.padStart(Math.max(2, String(indexed.count - 1).length), '0')}.safetensors`;
}

/** Decodes checkpoint tensor `name` to float32 into `out` (its slot in the block buffer, of shape `shape`). */
export type ReadTensorInto = (
  name: string,
  out: Float32Array,
  shape: readonly number[],
  block: string,
) => Promise<void>;

/** How one block's tensors are laid out: float32 first (with int8 scales), then half, then int8 — all aligned. */
function blockEntries(group: WeightGroup, precision: Precision): WriteEntry[] {
  const f32: WriteEntry[] = [];
  const f16: WriteEntry[] = [];
  const i8: WriteEntry[] = [];
  for (const k of group.keys) {
    const storage = storageOf(precision, k.name, k.shape);
    if (storage === 'f32') f32.push({ name: k.name, dtype: 'F32', shape: k.shape });
    else if (storage === 'f16') f16.push({ name: k.name, dtype: 'F16', shape: k.shape });
    else {
      i8.push({ name: k.name, dtype: 'I8', shape: k.shape });
      f32.push({ name: scaleKey(k.name), dtype: 'F32', shape: [k.shape[0] ?? 1] });
    }
  }
  return [...f32, ...f16, ...i8];
}

/** The safetensors layout of one block file (metadata `odsora.block` = `blockTag`). */
function blockLayout(group: WeightGroup, precision: Precision, blockTag: string): SafetensorsLayout {
  return planSafetensors(blockEntries(group, precision), { 'odsora.block': blockTag }, group.id);
}

/** A float32 buffer reused across tensors (conversion to f16/int8 decodes each tensor here first). */
class ConvertScratch {
  private buf = new Float32Array(0);
  /** A view of `n` floats. */
  take(n: number): Float32Array {
    if (this.buf.length < n) this.buf = new Float32Array(n);
    return this.buf.subarray(0, n);
  }
}

/** Block assembly options beyond the group itself. */
export interface WriteBlockOptions {
  /** The stage's storage precision (default f32). */
  readonly precision?: Precision;
  /** Pooled buffers for the block being assembled (bounded memory over many gigabytes). */
  readonly memory?: BlockBufferPool;
  /** Reused float32 scratch for f16/int8 encoding (one per conversion). */
  readonly scratch?: ConvertScratch;
}

/**
 * Assembles one block as a safetensors file (metadata `odsora.block` = `blockTag`) in one buffer — float32 tensors
 * decoded straight into place by `read`, f16/int8 ones decoded into a scratch buffer then encoded — then hashes it
 * and writes it to `path`.
 */
async function writeBlock(
  fs: FileSystemPort,
  sha256: Sha256,
  path: string,
  blockTag: string,
  group: WeightGroup,
  read: ReadTensorInto,
  opts: WriteBlockOptions = {},
): Promise<{ bytes: number; sha256: string }> {
  const precision = opts.precision ?? 'f32';
  const shapes = new Map(group.keys.map((k) => [k.name, k.shape]));
  const layout = blockLayout(group, precision, blockTag);
  // The one block buffer held at a time: header, then each tensor decoded (and encoded) into place.
  const buf = opts.memory ? opts.memory.acquire(layout.totalBytes) : new Uint8Array(layout.totalBytes);
  try {
    buf.set(layout.header, 0);
    const scratch = opts.scratch ?? new ConvertScratch();
    const at = new Map(layout.entries.map((e) => [e.name, e]));
    for (const e of layout.entries) {
      const shape = shapes.get(e.name);
      if (shape === undefined) continue; // an int8 scale, written with its tensor
      const n = e.byteLength / (e.dtype === 'F32' ? 4 : e.dtype === 'F16' ? 2 : 1);
      if (e.dtype === 'F32') {
        await read(e.name, new Float32Array(buf.buffer, buf.byteOffset + e.fileOffset, n), shape, group.id);
        continue;
      }
      const values = scratch.take(n);
      await read(e.name, values, shape, group.id);
      if (e.dtype === 'F16')
        encodeHalf(values, new Uint16Array(buf.buffer, buf.byteOffset + e.fileOffset, n));
      else {
        const s = at.get(scaleKey(e.name));
        if (!s) throw new Error(`block ${group.id}: no scale entry for ${e.name}`);
        const rows = shape[0] ?? 1;
        quantizeInt8Rows(
          values,
          rows,
          new Int8Array(buf.buffer, buf.byteOffset + e.fileOffset, n),
          new Float32Array(buf.buffer, buf.byteOffset + s.fileOffset, rows),
        );
      }
    }
    const hash = await sha256(buf);
    const writer = await fs.createWriter(path);
    await writer.write(buf);
    await writer.close();
    return { bytes: buf.byteLength, sha256: hash };
  } finally {
    opts.memory?.release(buf);
  }
}

/** A written block file, as its manifest entry starts. */
export interface WrittenBlock {
  readonly id: string;
  /** Path inside the block set (`<stage>/<file name>`). */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly tensors: string[];
}

/** What `streamBlocks` needs. */
export interface StreamBlocksOptions {
  readonly fs: FileSystemPort;
  readonly sha256: Sha256;
  /** The stage's directory name in the block set (`denoiser`, `text`, `decode`), also the block tag prefix. */
  readonly stage: string;
  /** Where the files are written now (the staging copy of `<block set>/<stage>`); created here. */
  readonly dir: string;
  readonly groups: readonly WeightGroup[];
  readonly fileName: (id: string) => string;
  readonly read: ReadTensorInto;
  readonly onProgress?: (p: StreamConvertProgress) => void;
  /** The stage's storage precision (default f32). */
  readonly precision?: Precision;
  /** Pooled block buffers (bounded memory: one block at a time is reused, not re-allocated). */
  readonly memory?: BlockBufferPool;
}

/**
 * Writes every block of a stage one after the other (memory stays bounded by the largest block); reports
 * `validated`, then `block.start`/`block.done` per block. Returns the blocks and the sum of their sizes.
 */
export async function streamBlocks(
  o: StreamBlocksOptions,
): Promise<{ blocks: WrittenBlock[]; bytes: number }> {
  const { fs, groups } = o;
  o.onProgress?.({
    type: 'validated',
    tensors: groups.reduce((n, g) => n + g.keys.length, 0),
    blocks: groups.length,
  });
  await fs.mkdirp(o.dir);
  const blocks: WrittenBlock[] = [];
  let total = 0;
  const scratch = new ConvertScratch();
  // One block buffer at a time: a block of another size replaces the free one instead of joining it.
  o.memory?.setCap(
    Math.max(0, ...groups.map((g) => blockLayout(g, o.precision ?? 'f32', `${o.stage}/${g.id}`).totalBytes)),
  );
  for (const [index, group] of groups.entries()) {
    o.onProgress?.({ type: 'block.start', block: group.id, index, total: groups.length });
    const name = o.fileName(group.id);
    const w = await writeBlock(fs, o.sha256, fs.join(o.dir, name), `${o.stage}/${group.id}`, group, o.read, {
      precision: o.precision,
      memory: o.memory,
      scratch,
    });
    total += w.bytes;
    blocks.push({
      id: group.id,
      file: `${o.stage}/${name}`,
      bytes: w.bytes,
      sha256: w.sha256,
      tensors: group.keys.map((k) => k.name),
    });
    o.onProgress?.({ type: 'block.done', block: group.id, index, total: groups.length, ...w });
  }
  o.memory?.trim();
  return { blocks, bytes: total };
}

/**
 * The block set a stage is added to: null when `outDir` does not exist (a new block set is made), else its
 * manifest as raw JSON and validated. Throws when `outDir` exists without a readable, valid manifest.
 */
export async function readTargetBlockSet(
  fs: FileSystemPort,
  outDir: string,
): Promise<{ json: Record<string, unknown>; manifest: BlockSetManifest; manifestPath: string } | null> {
  if (!(await fs.exists(outDir))) return null;
  const manifestPath = fs.join(outDir, MANIFEST_FILE);
  if (!(await fs.exists(manifestPath)))
    throw new BlockSetError(
      outDir,
      'exists but is not a block set (no manifest.json); choose a new directory or a block set',
    );
  let json: unknown;
  try {
    json = JSON.parse(await fs.readText(manifestPath));
  } catch (e) {
    throw new BlockSetError(manifestPath, `manifest is not valid JSON (${(e as Error).message})`);
  }
  const manifest = parseManifest(json, manifestPath);
  return { json: json as Record<string, unknown>, manifest, manifestPath };
}

/** A new block set's manifest holding `stages`. */
export function newManifest(
  stages: BlockSetManifest['stages'],
  modelName: string,
  createdBy: string | undefined,
): BlockSetManifest {
  return {
    format: BLOCKSET_FORMAT,
    version: BLOCKSET_VERSION,
    createdBy: createdBy ?? `odsora ${ENGINE_VERSION}`,
    model: { family: 'opensora-v1.2', name: modelName },
    stages,
  };
}

/** `base` (a manifest, raw or parsed) with `stages[key]` set to `stage`, other stages kept. */
export function mergeStage<M extends object>(base: M, key: string, stage: unknown): M {
  const stages = (base as { stages?: object }).stages;
  return { ...base, stages: { ...stages, [key]: stage } };
}

const partialSuffix = (): string => `.partial-${Math.random().toString(36).slice(2, 10)}`;

/**
 * The temp directory a stage is built in: `<outDir>.partial-*` holding `<stage>/` for a new block set, or
 * `<outDir>/<stage>.partial-*` itself for an existing one. `committed` turns true once it is renamed into place.
 */
export interface Staging {
  readonly outDir: string;
  readonly stage: string;
  readonly intoExisting: boolean;
  /** The temp directory renamed into place on commit. */
  readonly tmp: string;
  /** Where the stage's files are written. */
  readonly stageDir: string;
  committed: boolean;
}

/** Plans the temp directory of a stage (see `Staging`); creates nothing. */
export function planStaging(
  fs: FileSystemPort,
  outDir: string,
  stage: string,
  intoExisting: boolean,
): Staging {
  const tmp = intoExisting ? `${fs.join(outDir, stage)}${partialSuffix()}` : `${outDir}${partialSuffix()}`;
  return {
    outDir,
    stage,
    intoExisting,
    tmp,
    stageDir: intoExisting ? tmp : fs.join(tmp, stage),
    committed: false,
  };
}

/**
 * Moves a finished stage into place with its manifest. New block set: the manifest is written into the temp
 * directory, which is then renamed to `outDir`. Existing one: the stage directory is renamed into place first and
 * manifest.json replaced last (via a temp file, atomically where the host can); if that fails the stage
 * directory is removed again.
 */
export async function commitStage(fs: FileSystemPort, s: Staging, manifest: object): Promise<void> {
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  if (!s.intoExisting) {
    await fs.writeFile(fs.join(s.tmp, MANIFEST_FILE), text);
    await fs.rename(s.tmp, s.outDir);
    s.committed = true;
    return;
  }
  const stageDir = fs.join(s.outDir, s.stage);
  const manifestPath = fs.join(s.outDir, MANIFEST_FILE);
  await fs.rename(s.tmp, stageDir);
  s.committed = true;
  const tmpManifest = `${manifestPath}${partialSuffix()}`;
  try {
    await fs.writeFile(tmpManifest, text);
    await fs.rename(tmpManifest, manifestPath);
  } catch (e) {
    await fs.remove(tmpManifest).catch(() => undefined);
    await fs.remove(stageDir).catch(() => undefined);
    throw e;
  }
}

/** Removes a stage's temp directory unless it was committed (for a `finally`). */
export async function discardStaging(fs: FileSystemPort, s: Staging): Promise<void> {
  if (!s.committed) await fs.remove(s.tmp).catch(() => undefined);
}
