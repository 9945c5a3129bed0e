/**
 * The prompt half of `devices.preflight`: the device model's vocabulary checked against the prompt before the run
 * is sent (shared/engine/t5/prompt-vocabulary.ts), so the composer can show the words the model does not know.
 *
 * The wire protocol's device info names the model a device runs (its block set's source hash), not its vocabulary.
 * When a block set converted from that model is in a local cache (always the case for the built-in device), its
 * tokenizer is read from there, once per model; otherwise there is nothing to check with and the result is null.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openBlockSet, type BlockSet } from '../../../shared/engine/blockset/load';
import { resolveGenerateParams } from '../../../shared/engine/pipeline/generate-params';
import { loadTokenizer } from '../../../shared/engine/pipeline/generate';
import { promptVocabulary, type PromptVocabulary } from '../../../shared/engine/t5/prompt-vocabulary';
import type { T5Tokenizer } from '../../../shared/engine/t5/tokenizer';
import type { DeviceInfo } from '../../../shared/protocol/device';
import type { RunParams } from '../../../shared/protocol/run';
import { NodeFileSystem, nodeSha256 } from '../../adapters/node-fs';

/** A cached model's block set (for its prompt defaults) and tokenizer. */
interface Vocabulary {
  blockSet: BlockSet;
  tokenizer: T5Tokenizer;
}

/** Models whose tokenizer stays loaded (one per device model; the oldest goes first). */
const MAX_LOADED = 8;
const loaded = new Map<string, Promise<Vocabulary | null>>();

async function load(dir: string): Promise<Vocabulary | null> {
  const blockSet = await openBlockSet(new NodeFileSystem(), nodeSha256, dir);
  return { blockSet, tokenizer: await loadTokenizer(blockSet) };
}

/** The vocabulary of the model with `sourceSha256` from the first cache root that holds it, or null. */
async function vocabularyOf(cacheRoots: readonly string[], sourceSha256: string): Promise<Vocabulary | null> {
  if (!/^[0-9a-f]{64}$/.test(sourceSha256)) return null;
  const dir = cacheRoots
    .map((root) => join(root, 'blocksets', sourceSha256))
    .find((d) => existsSync(join(d, 'manifest.json')));
  if (dir === undefined) return null;
  let entry = loaded.get(dir);
  if (entry === undefined) {
    entry = load(dir).catch(() => null);
    loaded.set(dir, entry);
    if (loaded.size > MAX_LOADED) loaded.delete(loaded.keys().next().value as string);
  }
  const vocabulary = await entry;
  if (vocabulary === null) loaded.delete(dir); // unreadable now: try again next time
  return vocabulary;
}

/** The prompt of `params` checked against the vocabulary of the model the device runs, or null when unknown. */
export async function checkPromptOnDevice(
  info: DeviceInfo,
  params: RunParams,
  cacheRoots: readonly string[],
): Promise<PromptVocabulary | null> {
  const set = info.blockSets.find((b) => b.complete) ?? info.blockSets[0];
  if (set === undefined) return null;
  const vocabulary = await vocabularyOf(cacheRoots, set.manifestSha256);
  if (vocabulary === null) return null;
  let prepared: string;
  try {
    // Only what shapes the prompt: the model's prompt style applies as it will on the device.
    prepared = resolveGenerateParams(vocabulary.blockSet, {
      prompt: params.prompt,
      seed: 0,
      ...(params.promptStyle !== undefined ? { promptStyle: params.promptStyle } : {}),
      ...(params.aestheticScore !== undefined ? { aestheticScore: params.aestheticScore } : {}),
    }).preparedPrompt;
  } catch {
    return null;
  }
  return promptVocabulary(vocabulary.tokenizer, prepared);
}
