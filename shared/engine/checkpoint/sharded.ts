/**
 * Hugging Face checkpoint directories as one set of tensors: `model.safetensors(.index.json)` or
 * `pytorch_model.bin(.index.json)`, sharded or not. With an index, shards are opened lazily, only when one of
 * their wanted keys is read or inspected, so a T5 encoder never opens a shard that holds only `decoder.*`. Each
 * file's format is told by its content (zip magic → torch.save, else safetensors), not its extension.
 */
import type { FileSystemPort } from '../ports';
import type { ReadOptions } from '../safetensors/reader';
import { SafetensorsError, SafetensorsFile } from '../safetensors/reader';
import { CheckpointError } from './errors';
import type { CheckpointFile, CheckpointTensorInfo } from './source';
import { TorchCheckpointFile } from './torch-file';

/** What the set knows about one tensor: the file holding it, its dtype and shape. */
export interface CheckpointLookup {
  readonly file: string;
  readonly info: CheckpointTensorInfo;
}

/** Options of every way to open a set. */
export interface CheckpointSetOptions {
  /** Keys the caller will read; others are invisible, and shards holding none of them are never opened. */
  readonly wanted?: (key: string) => boolean;
}

/** What a Hugging Face directory is searched for, in this order. */
const CHECKPOINT_FILE_NAMES = [
  'model.safetensors.index.json',
  'model.safetensors',
  'pytorch_model.bin.index.json',
  'pytorch_model.bin',
] as const;

/** Opens one checkpoint file, telling its format by content: zip magic → torch.save, else safetensors. */
export async function openCheckpointFile(fs: FileSystemPort, path: string): Promise<CheckpointFile> {
  const reader = await fs.open(path);
  try {
    const size = await reader.size();
    const magic = size >= 4 ? await reader.read(0, 4) : new Uint8Array(0);
    const zip = magic[0] === 0x50 && magic[1] === 0x4b && (magic[2] === 3 || magic[2] === 5);
    return await (zip ? TorchCheckpointFile.open(reader) : SafetensorsFile.open(reader));
  } catch (e) {
    await reader.close().catch(() => undefined);
    if (e instanceof CheckpointError || e instanceof SafetensorsError) throw e;
    throw new CheckpointError(path, `could not be read (${(e as Error).message})`);
  }
}

/** A shard name from an index must stay inside the checkpoint directory. */
function shardPathProblem(file: string): string | null {
  if (file === '') return 'is empty';
  if (file.startsWith('/') || file.includes('\\') || /^[A-Za-z]:/.test(file)) return 'is not a relative path';
  if (file.split('/').some((s) => s === '..' || s === '')) return 'escapes the checkpoint directory';
  return null;
}

/** Parses and validates an index file's `weight_map`, keeping the wanted keys in index order. */
function parseIndex(indexFile: string, text: string, wanted: (key: string) => boolean): Map<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(indexFile, `is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new CheckpointError(indexFile, 'is not a JSON object');
  const { weight_map: map, metadata } = raw as Record<string, unknown>;
  if (
    metadata !== undefined &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
  )
    throw new CheckpointError(indexFile, '"metadata" is not an object');
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new CheckpointError(indexFile, 'has no "weight_map" object');
  const keys = new Map<string, string>();
  for (const [key, file] of Object.entries(map)) {
    if (typeof file !== 'string')
      throw new CheckpointError(
        indexFile,
        `weight_map["${key}"] is ${JSON.stringify(file)}, not a file name`,
      );
    const problem = shardPathProblem(file);
    if (problem)
      throw new CheckpointError(indexFile, `weight_map["${key}"] names "${file}", which ${problem}`);
    if (wanted(key)) keys.set(key, file);
  }
  return keys;
}

/** Tensors spread over one or more checkpoint files, read by name. */
export class CheckpointSet {
  /** The index file, single file or directory the set came from (used in error messages). */
  readonly name: string;
  private readonly fs: FileSystemPort;
  /** Wanted key → path of the file holding it. */
  private readonly homes: ReadonlyMap<string, string>;
  /** The index the homes came from; shards are checked against it when opened. */
  private readonly indexFile: string | undefined;
  private readonly shards = new Map<string, Promise<CheckpointFile>>();

  private constructor(fs: FileSystemPort, name: string, homes: Map<string, string>, indexFile?: string) {
    this.fs = fs;
    this.name = name;
    this.homes = homes;
    this.indexFile = indexFile;
  }

  /** Finds the checkpoint in a directory (CHECKPOINT_FILE_NAMES, in order) and opens it. */
  static async openDirectory(
    fs: FileSystemPort,
    dir: string,
    opts: CheckpointSetOptions = {},
  ): Promise<CheckpointSet> {
    for (const name of CHECKPOINT_FILE_NAMES) {
      const path = fs.join(dir, name);
      if (!(await fs.exists(path))) continue;
      return name.endsWith('.json')
        ? CheckpointSet.openIndex(fs, path, dir, opts)
        : CheckpointSet.openFiles(fs, [path], opts);
    }
    throw new CheckpointError(dir, `holds none of ${CHECKPOINT_FILE_NAMES.join(', ')}`);
  }

  /** Reads an index (`{"metadata": …, "weight_map": {key: file}}`) whose files lie in `dir`; opens no shard. */
  static async openIndex(
    fs: FileSystemPort,
    indexFile: string,
    dir: string,
    opts: CheckpointSetOptions = {},
  ): Promise<CheckpointSet> {
    const byFile = parseIndex(indexFile, await fs.readText(indexFile), opts.wanted ?? (() => true));
    const homes = new Map<string, string>();
    const checked = new Set<string>();
    for (const [key, file] of byFile) {
      const path = fs.join(dir, file);
      // Only shards holding a wanted key must exist: a partial download of the needed shards is enough.
      if (!checked.has(path) && !(await fs.exists(path)))
        throw new CheckpointError(indexFile, `weight_map["${key}"] names "${file}", which does not exist`);
      checked.add(path);
      homes.set(key, path);
    }
    return new CheckpointSet(fs, indexFile, homes, indexFile);
  }

  /** Opens explicit files now (their keys are needed); a key in two files is an error naming both. */
  static async openFiles(
    fs: FileSystemPort,
    paths: readonly string[],
    opts: CheckpointSetOptions = {},
  ): Promise<CheckpointSet> {
    const wanted = opts.wanted ?? (() => true);
    const homes = new Map<string, string>();
    const set = new CheckpointSet(fs, paths.length === 1 ? paths[0]! : paths.join(', '), homes);
    try {
      for (const path of paths) {
        const file = await openCheckpointFile(fs, path);
        const keys = file.names().filter(wanted);
        for (const key of keys) {
          const other = homes.get(key);
          if (other !== undefined) {
            await file.close();
            throw new CheckpointError(path, `holds tensor "${key}", which ${other} holds too`);
          }
          homes.set(key, path);
        }
        if (keys.length > 0) set.shards.set(path, Promise.resolve(file));
        else await file.close();
      }
    } catch (e) {
      await set.close();
      throw e;
    }
    return set;
  }

  /** The wanted keys, in index (or file) order. */
  keys(): string[] {
    return [...this.homes.keys()];
  }

  /** Whether the set holds wanted key `name` (opens nothing). */
  has(name: string): boolean {
    return this.homes.has(name);
  }

  /** The file holding `name` and its dtype and shape (opening that file if needed); undefined when absent. */
  async lookup(name: string): Promise<CheckpointLookup | undefined> {
    const path = this.homes.get(name);
    if (path === undefined) return undefined;
    const file = await this.shard(path);
    return { file: path, info: file.info(name) };
  }

  /** Decodes one F32/F16/BF16 tensor into `out`, opening its shard on first use. */
  async readFloat32Into(name: string, out: Float32Array, opts?: ReadOptions): Promise<void> {
    const path = this.homes.get(name);
    if (path === undefined)
      throw new CheckpointError(this.name, `has no tensor "${name}" (or it is not wanted)`);
    await (await this.shard(path)).readFloat32Into(name, out, opts);
  }

  /** Paths of the files opened (or tried) so far, in order. */
  openedFiles(): string[] {
    return [...this.shards.keys()];
  }

  /** Closes every opened file. */
  async close(): Promise<void> {
    const opened = [...this.shards.values()];
    this.shards.clear();
    for (const r of await Promise.allSettled(opened)) if (r.status === 'fulfilled') await r.value.close();
  }

  private shard(path: string): Promise<CheckpointFile> {
    let file = this.shards.get(path);
    if (!file) {
      file = this.openShard(path);
      this.shards.set(path, file);
    }
    return file;
  }

  /** Opens one indexed shard and checks it against the index: every key mapped to it is there, none elsewhere. */
  private async openShard(path: string): Promise<CheckpointFile> {
    const file = await openCheckpointFile(this.fs, path);
    const index = this.indexFile ?? this.name;
    for (const [key, home] of this.homes) {
      let problem: string | null = null;
      if (home === path && !file.has(key))
        problem = `maps tensor "${key}" to ${path}, which does not hold it`;
      else if (home !== path && file.has(key))
        problem = `maps tensor "${key}" to ${home}, but ${path} holds it too (a key in two shards)`;
      if (problem) {
        await file.close();
        throw new CheckpointError(index, problem);
      }
    }
    return file;
  }
}
