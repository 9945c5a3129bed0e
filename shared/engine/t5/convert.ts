/**
 * T5 encoder checkpoint (Hugging Face safetensors, one file or shards) → the block set's text stage: one float32
 * safetensors file per CI-DL block under `text/` and the `stages.text` manifest entry. Tensors are read one at a
 * time straight into the block being assembled; each block is hashed and written before the next is started, so
 * memory stays bounded by the largest block (the 526 MB embedding table for XXL) however large the checkpoint is.
 */
import {
  BLOCKSET_FORMAT,
  BLOCKSET_VERSION,
  MANIFEST_FILE,
  parseManifest,
  type BlockSetManifest,
} from '../blockset/manifest';
import { BlockSetError } from '../blockset/errors';
import type { FileSystemPort, Sha256 } from '../ports';
import { isFloatDtype } from '../safetensors/dtype';
import { SafetensorsFile } from '../safetensors/reader';
import { planSafetensors } from '../safetensors/writer';
import { ENGINE_VERSION } from '../version';
import { t5ConfigFromJson, t5WeightNames, T5_EMBED_ALIAS, T5_EMBED_KEY, type T5Config } from './config';
import { T5_MAX_LENGTH, T5Tokenizer } from './tokenizer';
import {
  estimateT5Flops,
  parseTextStage,
  textFlopReference,
  TEXT_TOKENIZER_FILE,
  type TextBlockEntry,
  type TextStage,
} from './text-manifest';

/** Progress of a T5 conversion. */
export type T5ConvertProgress =
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

/** What `convertT5` needs. */
export interface ConvertT5Options {
  readonly fs: FileSystemPort;
  readonly sha256: Sha256;
  /** The checkpoint's safetensors files (one, or the shards of a sharded checkpoint, in any order). */
  readonly checkpointPaths: readonly string[];
  /** The Hugging Face T5Config JSON, stored verbatim in the manifest. */
  readonly config: unknown;
  /** A `tokenizer.json` to copy into the block set as `text/tokenizer.json` (validated by building it). */
  readonly tokenizerPath?: string;
  /**
   * The block-set directory: an existing block set (its manifest gains `stages.text`, other stages are kept;
   * it must not have a text stage yet) or a path that does not exist (a new block set with only the text stage).
   */
  readonly outDir: string;
  /** `model.name` of a new block set's manifest (default `t5-encoder`). */
  readonly modelName?: string;
  /** Checkpoint keys to skip; `decoder.*` and `lm_head.weight` are always skipped (T5EncoderModel ignores them). */
  readonly ignoreKeys?: readonly string[];
  /** Token count the manifest's FLOP estimates refer to (default 300). */
  readonly flopLength?: number;
  /** `createdBy` of a new manifest (default `odsora <engine version>`). */
  readonly createdBy?: string;
  readonly onProgress?: (p: T5ConvertProgress) => void;
}

/** What `convertT5` produced. */
export interface ConvertT5Result {
  readonly outDir: string;
  /** The `stages.text` entry (already written into `outDir/manifest.json`). */
  readonly stage: TextStage;
  /** The whole manifest as written. */
  readonly manifest: BlockSetManifest;
  /** Sum of the text block files' sizes. */
  readonly bytes: number;
}

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;
const MAX_LISTED_PROBLEMS = 8;
const alwaysIgnored = (name: string): boolean => name.startsWith('decoder.') || name === 'lm_head.weight';

/** Where each checkpoint key lives; throws on a key present in two shards. */
function indexShards(
  files: readonly { path: string; st: SafetensorsFile }[],
): Map<string, { path: string; st: SafetensorsFile }> {
  const where = new Map<string, { path: string; st: SafetensorsFile }>();
  for (const f of files)
    for (const name of f.st.names()) {
      const prev = where.get(name);
      if (prev)
        throw new BlockSetError(f.path, `tensor "${name}" is also in ${prev.path}; shards must not overlap`);
      where.set(name, f);
    }
  return where;
}

/** The checkpoint key the embedding is read from: `shared.weight`, else `encoder.embed_tokens.weight`. */
function embedSource(where: ReadonlyMap<string, unknown>): string | null {
  if (where.has(T5_EMBED_KEY)) return T5_EMBED_KEY;
  if (where.has(T5_EMBED_ALIAS)) return T5_EMBED_ALIAS;
  return null;
}

function validate(
  label: string,
  cfg: T5Config,
  where: ReadonlyMap<string, { path: string; st: SafetensorsFile }>,
  ignore: ReadonlySet<string>,
): void {
  const problems: string[] = [];
  const expected = new Set<string>([T5_EMBED_ALIAS]);
  const check = (name: string, source: string, shape: readonly number[]): void => {
    const at = where.get(source);
    if (!at) return;
    const info = at.st.info(source);
    if (!isFloatDtype(info.dtype))
      problems.push(`${at.path}: tensor "${source}" has dtype ${info.dtype}, expected F32, F16 or BF16`);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))
      problems.push(
        `${at.path}: tensor "${source}" has shape ${fmtShape(info.shape)}, expected ${fmtShape(shape)}${name === source ? '' : ` (as ${name})`}`,
      );
  };
  for (const g of t5WeightNames(cfg))
    for (const k of g.keys) {
      expected.add(k.name);
      if (k.name === T5_EMBED_KEY) {
        const src = embedSource(where);
        if (src === null)
          problems.push(`missing tensor "${T5_EMBED_KEY}" (or its alias "${T5_EMBED_ALIAS}")`);
        else {
          check(k.name, T5_EMBED_KEY, k.shape);
          check(k.name, T5_EMBED_ALIAS, k.shape);
        }
      } else if (!where.has(k.name)) problems.push(`missing tensor "${k.name}"`);
      else check(k.name, k.name, k.shape);
    }
  for (const [name, at] of where)
    if (!expected.has(name) && !ignore.has(name) && !alwaysIgnored(name))
      problems.push(
        `${at.path}: unexpected tensor "${name}" (not a T5 encoder key for this config; pass it as ignorable to skip it)`,
      );
  if (problems.length === 0) return;
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
  const more =
    problems.length > MAX_LISTED_PROBLEMS ? `; and ${problems.length - MAX_LISTED_PROBLEMS} more` : '';
  throw new BlockSetError(
    label,
    `checkpoint does not match the T5 config (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${listed}${more}`,
  );
}

/** File name of a text block: embed, block-00.., final. */
function blockFileName(id: string, layers: number): string {
  const m = /^block\.(\d+)$/.exec(id);
  if (!m) return `${id}.safetensors`;
  return `block-${(m[1] as string).padStart(Math.max(2, String(layers - 1).length), '0')}.safetensors`;
}

/** Converts a T5 encoder checkpoint into a block set's text stage (see the module comment). */
export async function convertT5(opts: ConvertT5Options): Promise<ConvertT5Result> {
  const { fs, sha256, outDir } = opts;
  if (opts.checkpointPaths.length === 0) throw new BlockSetError('checkpoint', 'no checkpoint files given');
  let cfg: T5Config;
  try {
    cfg = t5ConfigFromJson(opts.config);
  } catch (e) {
    throw new BlockSetError('config', (e as Error).message);
  }
  const flopLength = opts.flopLength ?? T5_MAX_LENGTH;

  // The target: an existing block set gets a text stage; a new path becomes a text-only block set.
  const manifestPath = fs.join(outDir, MANIFEST_FILE);
  let existing: Record<string, unknown> | null = null;
  if (await fs.exists(outDir)) {
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
    parseManifest(json, manifestPath);
    existing = json as Record<string, unknown>;
    if ((existing['stages'] as Record<string, unknown>)['text'] !== undefined)
      throw new BlockSetError(
        manifestPath,
        'already has a text stage; remove it (and text/) to convert again',
      );
    if (await fs.exists(fs.join(outDir, 'text')))
      throw new BlockSetError(fs.join(outDir, 'text'), 'already exists; remove it to convert again');
  }

  // Tokenizer first: cheap, and a bad file should fail before gigabytes are converted.
  let tokenizerText: string | null = null;
  if (opts.tokenizerPath !== undefined) {
    tokenizerText = await fs.readText(opts.tokenizerPath);
    try {
      T5Tokenizer.fromJson(JSON.parse(tokenizerText));
    } catch (e) {
      throw new BlockSetError(opts.tokenizerPath, (e as Error).message);
    }
  }

  const files: { path: string; st: SafetensorsFile }[] = [];
  const tmpRoot = existing
    ? `${fs.join(outDir, 'text')}.partial-${Math.random().toString(36).slice(2, 10)}`
    : `${outDir}.partial-${Math.random().toString(36).slice(2, 10)}`;
  let done = false;
  try {
    for (const path of opts.checkpointPaths) {
      const reader = await fs.open(path);
      files.push({
        path,
        st: await SafetensorsFile.open(reader).catch(async (e: unknown) => {
          await reader.close();
          throw e;
        }),
      });
    }
    const where = indexShards(files);
    const label =
      opts.checkpointPaths.length === 1
        ? (opts.checkpointPaths[0] as string)
        : `${opts.checkpointPaths.length} checkpoint shards`;
    validate(label, cfg, where, new Set(opts.ignoreKeys ?? []));
    const groups = t5WeightNames(cfg);
    opts.onProgress?.({
      type: 'validated',
      tensors: groups.reduce((n, g) => n + g.keys.length, 0),
      blocks: groups.length,
    });

    // Text files go to <tmp>/ (existing set: becomes outDir/text) or <tmp>/text/ (new set: <tmp> becomes outDir).
    const textDir = existing ? tmpRoot : fs.join(tmpRoot, 'text');
    await fs.mkdirp(textDir);
    const flops = estimateT5Flops(cfg, flopLength);
    const reference = textFlopReference(flopLength);
    const blocks: TextBlockEntry[] = [];
    let total = 0;
    for (const [index, group] of groups.entries()) {
      opts.onProgress?.({ type: 'block.start', block: group.id, index, total: groups.length });
      const layout = planSafetensors(
        group.keys.map((k) => ({ name: k.name, dtype: 'F32', shape: k.shape })),
        { 'odsora.block': `text/${group.id}` },
        group.id,
      );
      // The one block buffer held at a time: header, then each tensor decoded straight into place.
      const buf = new Uint8Array(layout.totalBytes);
      buf.set(layout.header, 0);
      for (const e of layout.entries) {
        const source = e.name === T5_EMBED_KEY ? (embedSource(where) as string) : e.name;
        const at = where.get(source);
        if (!at) throw new BlockSetError(label, `missing tensor "${source}"`);
        const out = new Float32Array(buf.buffer, e.fileOffset, e.byteLength / 4);
        try {
          await at.st.readFloat32Into(source, out, { expectShape: e.shape });
        } catch (err) {
          throw new BlockSetError(at.path, `tensor "${source}": ${(err as Error).message}`, group.id);
        }
      }
      const hash = await sha256(buf);
      const name = blockFileName(group.id, cfg.numLayers);
      const writer = await fs.createWriter(fs.join(textDir, name));
      await writer.write(buf);
      await writer.close();
      total += buf.byteLength;
      const plain = group.id === 'embed' ? flops.embed : group.id === 'final' ? flops.final : flops.block;
      blocks.push({
        id: group.id,
        file: `text/${name}`,
        bytes: buf.byteLength,
        sha256: hash,
        tensors: group.keys.map((k) => k.name),
        variants: ['plain'],
        flops: { reference, plain },
      });
      opts.onProgress?.({
        type: 'block.done',
        block: group.id,
        index,
        total: groups.length,
        bytes: buf.byteLength,
        sha256: hash,
      });
    }
    if (tokenizerText !== null) await fs.writeFile(fs.join(textDir, 'tokenizer.json'), tokenizerText);
    const stageJson: TextStage = {
      arch: 't5-encoder',
      config: { ...(opts.config as Record<string, unknown>) },
      tokenizer: tokenizerText !== null ? TEXT_TOKENIZER_FILE : null,
      blocks,
    };
    const stage = parseTextStage(stageJson, 'stages.text').stage;

    let manifestJson: Record<string, unknown>;
    if (existing) {
      manifestJson = {
        ...existing,
        stages: { ...(existing['stages'] as Record<string, unknown>), text: stage },
      };
      await fs.rename(tmpRoot, fs.join(outDir, 'text'));
      done = true;
      // The stage's files are in place; the manifest is replaced last, atomically where the host can.
      const tmpManifest = `${manifestPath}.partial-${Math.random().toString(36).slice(2, 10)}`;
      try {
        await fs.writeFile(tmpManifest, `${JSON.stringify(manifestJson, null, 2)}\n`);
        await fs.rename(tmpManifest, manifestPath);
      } catch (e) {
        await fs.remove(tmpManifest).catch(() => undefined);
        await fs.remove(fs.join(outDir, 'text')).catch(() => undefined);
        throw e;
      }
    } else {
      manifestJson = {
        format: BLOCKSET_FORMAT,
        version: BLOCKSET_VERSION,
        createdBy: opts.createdBy ?? `odsora ${ENGINE_VERSION}`,
        model: { family: 'opensora-v1.2', name: opts.modelName ?? 't5-encoder' },
        stages: { text: stage },
      };
      await fs.writeFile(fs.join(tmpRoot, MANIFEST_FILE), `${JSON.stringify(manifestJson, null, 2)}\n`);
      await fs.rename(tmpRoot, outDir);
      done = true;
    }
    return { outDir, stage, manifest: parseManifest(manifestJson, manifestPath), bytes: total };
  } finally {
    for (const f of files) await f.st.close().catch(() => undefined);
    if (!done) await fs.remove(tmpRoot).catch(() => undefined);
  }
}
