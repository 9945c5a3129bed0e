/**
 * The bundled model and model directories: a model directory (`stdit/`, `text_encoder/`, `vae/`, as
 * tools/nano/export.py writes it) is converted into a block set once and cached under
 * `<cache root>/blocksets/<sha256 of the model files>/` (float32; a set stored at a lower precision adds it to the
 * key, `<sha256>-text-int8-denoiser-f32-decode-f32`, so sets of one model at different precisions never collide),
 * where the cache root is `$ODSORA_CACHE` or `~/.cache/odsora`. Later calls find the cache by the same key and only
 * check that its manifest opens; a cache that does not open is converted again.
 *
 * The bundled model is Open-Sora Nano at `models/opensora-nano/` in the repository (found by walking up from this
 * file to the repository's package.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { openBlockSet, type BlockSet } from '../../shared/engine/blockset/load';
import { BLOCKSET_FORMAT, MANIFEST_FILE, stagePrecision } from '../../shared/engine/blockset/manifest';
import type { Precision } from '../../shared/engine/blockset/precision';
import type { FileSystemPort, Sha256 } from '../../shared/engine/ports';
import { convertModelDir, type StageName } from '../convert/model-dir';

/** The bundled model's directory name under `models/`. */
export const BUNDLED_MODEL_NAME = 'opensora-nano';
/** The sub-directories of a model directory that take part in the conversion (and in its hash). */
const MODEL_DIR_PARTS = ['stdit', 'text_encoder', 'vae'] as const;

/** The ports the cache needs (a NodeEngineHost has them). */
export interface ModelHost {
  readonly fs: FileSystemPort;
  readonly sha256: Sha256;
}

/** Options shared by the functions below. */
export interface ModelCacheOptions {
  /** Cache root (default `$ODSORA_CACHE`, else `~/.cache/odsora`). */
  cacheRoot?: string;
  /** Progress lines (conversion). */
  log?: (line: string) => void;
  /** Storage precision per stage of a model directory's conversion (default f32 everywhere). */
  precision?: Partial<Record<StageName, Precision>>;
}

/** An opened block set and where it came from. */
export interface ModelBlockSet {
  readonly blockSet: BlockSet;
  /** The model directory it was converted from (null when `--model` named a block set). */
  readonly modelDir: string | null;
  /** sha256 over the model directory's files (null for a block set given directly). */
  readonly sourceSha256: string | null;
  /** True when this call converted it (first use), false when the cache (or a given block set) was used. */
  readonly converted: boolean;
}

/** The cache root: `$ODSORA_CACHE`, else `~/.cache/odsora`. */
export function defaultCacheRoot(): string {
  const env = process.env['ODSORA_CACHE'];
  return env && env.trim() !== '' ? resolve(env) : join(homedir(), '.cache', 'odsora');
}

/** The repository root (the directory with odsora-studio's package.json above `start`), or null. */
export function findRepoRoot(start: string = __dirname): string | null {
  let dir = resolve(start);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'odsora-studio') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Where the bundled model should be: `<repo>/models/opensora-nano`. */
export function bundledModelDir(): string {
  const root = findRepoRoot() ?? process.cwd();
  return join(root, 'models', BUNDLED_MODEL_NAME);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * sha256 of a model directory's contents: the hash of the lines `<relative path>\t<sha256 of the file>` of every
 * file under stdit/, text_encoder/ and vae/, sorted by path.
 */
async function modelDirSha256(host: ModelHost, modelDir: string): Promise<string> {
  const lines: string[] = [];
  for (const part of MODEL_DIR_PARTS) {
    const sub = join(modelDir, part);
    if (!existsSync(sub)) continue;
    for (const f of await filesUnder(sub)) {
      const rel = relative(modelDir, f).split(sep).join('/');
      lines.push(`${rel}\t${await host.sha256(await host.fs.readFile(f))}`);
    }
  }
  return host.sha256(new TextEncoder().encode(lines.sort().join('\n')));
}

/** The stages of a block set, in cache-key order. */
const STAGES: readonly StageName[] = ['text', 'denoiser', 'decode'];

/**
 * The cache directory name of a model directory's block set: the model's hash alone for float32 (as before
 * precisions existed, so existing caches stay valid), else the hash and every stage's precision.
 */
function blockSetCacheKey(sha: string, precision: Partial<Record<StageName, Precision>> = {}): string {
  const parts = STAGES.map((s) => [s, precision[s] ?? 'f32'] as const);
  return parts.every(([, p]) => p === 'f32') ? sha : [sha, ...parts.flat()].join('-');
}

/** A block set's storage precision per stage, from its manifest (f32 for a stage it lacks or predating precisions). */
export function blockSetPrecision(blockSet: BlockSet): Record<StageName, Precision> {
  const { stages } = blockSet.manifest;
  const of = (s: StageName): Precision => stagePrecision(stages[s] ?? {});
  return { text: of('text'), denoiser: of('denoiser'), decode: of('decode') };
}

/** Whether `dir` is a model directory (has stdit/config.json). */
export function isModelDir(dir: string): boolean {
  return existsSync(join(dir, 'stdit', 'config.json'));
}

/** Whether `dir` is a converted block set (its manifest.json has the block-set format tag). */
export function isBlockSetDir(dir: string): boolean {
  const p = join(dir, MANIFEST_FILE);
  if (!existsSync(p)) return false;
  try {
    return (JSON.parse(readFileSync(p, 'utf8')) as { format?: unknown }).format === BLOCKSET_FORMAT;
  } catch {
    return false;
  }
}

/** Converts a model directory into the cache on first use, and opens the cached block set afterwards. */
export async function ensureModelBlockSet(
  host: ModelHost,
  modelDir: string,
  opts: ModelCacheOptions = {},
): Promise<ModelBlockSet> {
  const dir = resolve(modelDir);
  if (!isModelDir(dir))
    throw new Error(`${dir}: not a model directory (needs stdit/config.json + model.safetensors)`);
  const log = opts.log ?? ((): void => undefined);
  const sha = await modelDirSha256(host, dir);
  const outDir = join(
    opts.cacheRoot ?? defaultCacheRoot(),
    'blocksets',
    blockSetCacheKey(sha, opts.precision),
  );
  if (existsSync(outDir)) {
    try {
      return {
        blockSet: await openBlockSet(host.fs, host.sha256, outDir),
        modelDir: dir,
        sourceSha256: sha,
        converted: false,
      };
    } catch (e) {
      log(`cached block set ${outDir} does not open (${(e as Error).message}); converting again`);
      await rm(outDir, { recursive: true, force: true });
    }
  }
  log(`converting ${dir} into ${outDir} (first use)`);
  await host.fs.mkdirp(dirname(outDir));
  try {
    await convertModelDir({
      fs: host.fs,
      sha256: host.sha256,
      modelDir: dir,
      outDir,
      precision: opts.precision,
      log,
    });
  } catch (e) {
    // Another process may have converted the same model meanwhile: use its result if it opens.
    if (!existsSync(outDir)) throw e;
  }
  return {
    blockSet: await openBlockSet(host.fs, host.sha256, outDir),
    modelDir: dir,
    sourceSha256: sha,
    converted: true,
  };
}

/** The bundled Open-Sora Nano as a block set (converted into the cache on first use). */
export async function ensureBundledBlockSet(
  host: ModelHost,
  opts: ModelCacheOptions & { modelDir?: string } = {},
): Promise<ModelBlockSet> {
  const dir = opts.modelDir ?? bundledModelDir();
  if (!existsSync(dir))
    throw new Error(
      `the bundled model is missing: ${dir} does not exist. Export it with ` +
        `\`/usr/bin/python3 tools/nano/export.py --run runs/nano --out models/${BUNDLED_MODEL_NAME}\`, ` +
        'or pass --model DIR (a model directory or a converted block set)',
    );
  if (!isModelDir(dir))
    throw new Error(
      `the bundled model at ${dir} is incomplete: stdit/config.json is missing (expected stdit/, text_encoder/, vae/ as tools/nano/export.py writes them)`,
    );
  return ensureModelBlockSet(host, dir, opts);
}

/**
 * Opens `--model DIR`: a converted block set as is, a model directory through the cache (at `opts.precision`). A
 * block set's precision is fixed when it is converted, so asking it for another one is an error.
 */
export async function openModel(
  host: ModelHost,
  dir: string,
  opts: ModelCacheOptions = {},
): Promise<ModelBlockSet> {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new Error(`--model ${dir}: no such directory`);
  if (isModelDir(abs)) return ensureModelBlockSet(host, abs, opts);
  if (isBlockSetDir(abs)) {
    const blockSet = await openBlockSet(host.fs, host.sha256, abs);
    const stored = blockSetPrecision(blockSet);
    const wrong = STAGES.filter((s) => opts.precision?.[s] !== undefined && opts.precision[s] !== stored[s]);
    if (wrong.length > 0)
      throw new Error(
        `--model ${dir} is a converted block set stored as ${STAGES.map((s) => `${s}=${stored[s]}`).join(',')}; ` +
          `the precision asked for ${wrong.map((s) => `${s}=${opts.precision?.[s]}`).join(',')} needs a model directory ` +
          '(or a block set converted with `odsora convert --precision`)',
      );
    return { blockSet, modelDir: null, sourceSha256: null, converted: false };
  }
  throw new Error(
    `--model ${dir}: neither a model directory (stdit/config.json) nor a converted block set (manifest.json with format "${BLOCKSET_FORMAT}")`,
  );
}
