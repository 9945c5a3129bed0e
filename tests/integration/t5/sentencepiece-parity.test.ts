// Our TypeScript SentencePiece against the real library: sentencepiece_parity.py trains small unigram models
// (nmt_nfkc with a real precompiled charsmap, identity, nmt_nfkc_cf with whitespace as suffix, user-defined
// symbols without whitespace clean-up, byte fallback, UNUSED pieces without escaping) and encodes a few hundred
// prompts and invalid UTF-8 byte strings; models written by our own writer go through the library too (the
// synthetic T5 model, a hand-compiled charsmap, and hand-made vocabularies that pin ties, float32 rounding and
// user-defined scores; see sentencepiece-cases.ts). Needs Debian's python3-sentencepiece under /usr/bin/python3
// (CI installs it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileCharsMap,
  decodeModelProto,
  encodeModelProto,
  SentencePieceProcessor,
  syntheticT5SentencePiece,
} from '../../../shared/engine/t5/sentencepiece';
import { HAND_MADE, handMadeModel, makeBytePrompts, makePrompts } from './sentencepiece-cases';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./sentencepiece_parity.py', import.meta.url));
const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', OMP_NUM_THREADS: '1' };

const probe = spawnSync(PYTHON, ['-c', 'import sentencepiece'], { env, encoding: 'utf8', timeout: 60_000 });
const available = probe.status === 0;
const skipReason = available
  ? ''
  : `${PYTHON} cannot import sentencepiece (apt-get install python3-sentencepiece): ${(probe.stderr ?? String(probe.error ?? '')).trim().split('\n').pop() ?? ''}`;

interface ModelResult {
  ids: number[][];
  pieces: string[][];
  decoded: string[];
  byte_ids: number[][];
  specials: number[];
}
interface Result {
  version: string;
  models: Record<string, ModelResult>;
}

const hexToBytes = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));

describe('SentencePiece parity with the real library', () => {
  if (!available) console.warn(`skipping SentencePiece parity test: ${skipReason}`);

  let dir = '';
  let result: Result | undefined;
  const texts = makePrompts(400);
  const bytePrompts = makeBytePrompts(60);

  beforeAll(() => {
    if (!available) return;
    dir = mkdtempSync(join(tmpdir(), 'spm-parity-'));
    writeFileSync(join(dir, 'prompts.json'), JSON.stringify({ texts, bytes: bytePrompts }));
    // Models from our writer, to show the library reads them: the synthetic T5 model and a hand-made charsmap.
    writeFileSync(join(dir, 'ts-synthetic.model'), syntheticT5SentencePiece({ vocabSize: 2000 }));
    const synth = decodeModelProto(syntheticT5SentencePiece({ vocabSize: 500 }), 'synthetic');
    synth.normalizerSpec = {
      ...synth.normalizerSpec,
      name: 'hand-made',
      precompiledCharsmap: compileCharsMap([
        ['A', 'a'],
        ['B', 'b'],
        ['Ｃ', 'c'],
        ['ﬁ', 'fi'],
        ['ab', 'x y'],
        ['abc', ''],
        ['\t', ' '],
        ['\n', ' '],
        ['😀', 'smile'],
      ]),
    };
    writeFileSync(join(dir, 'ts-charsmap.model'), encodeModelProto(synth));
    for (const [name, entries] of Object.entries(HAND_MADE))
      writeFileSync(join(dir, `${name}.model`), handMadeModel(entries));
    const run = spawnSync(PYTHON, [SCRIPT, dir], { env, encoding: 'utf8', timeout: 120_000 });
    if (run.status !== 0) throw new Error(`sentencepiece_parity.py failed (${run.status}): ${run.stderr}`);
    result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result;
  });

  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!available)('trains and reads back every model kind', () => {
    expect(Object.keys(result?.models ?? {}).sort()).toEqual([
      'byte-fallback',
      'identity',
      'nfkc-cf-suffix',
      'nfkc-t5',
      'ts-charsmap',
      'ts-synthetic',
      'ts-ties',
      'ts-user-defined',
      'ts-user-defined-bytes',
      'unused-noescape',
      'user-defined-raw',
    ]);
    expect(readdirSync(dir)).toContain('nfkc-t5.model');
  });

  it.skipIf(!available)(
    'gives the library’s ids, pieces, decoded text and special ids for every prompt',
    () => {
      const failures: string[] = [];
      let checked = 0;
      for (const [name, ref] of Object.entries(result?.models ?? {})) {
        const sp = SentencePieceProcessor.fromBytes(
          readFileSync(join(dir, `${name}.model`)),
          `${name}.model`,
        );
        expect([sp.unkId, sp.bosId, sp.eosId, sp.padId, sp.vocabSize], name).toEqual(ref.specials);
        texts.forEach((text, i) => {
          const ours = sp.encode(text);
          const ids = ours.map((p) => p.id);
          const pieces = ours.map((p) => p.piece);
          checked++;
          if (JSON.stringify(ids) !== JSON.stringify(ref.ids[i]))
            failures.push(
              `${name} ids of ${JSON.stringify(text)}:\n  ours ${JSON.stringify(ids)}\n  spm  ${JSON.stringify(ref.ids[i])}`,
            );
          else if (JSON.stringify(pieces) !== JSON.stringify(ref.pieces[i]))
            failures.push(
              `${name} pieces of ${JSON.stringify(text)}:\n  ours ${JSON.stringify(pieces)}\n  spm  ${JSON.stringify(ref.pieces[i])}`,
            );
          else if (sp.decodeIds(ids) !== ref.decoded[i])
            failures.push(
              `${name} decode of ${JSON.stringify(text)}: ours ${JSON.stringify(sp.decodeIds(ids))}, spm ${JSON.stringify(ref.decoded[i])}`,
            );
        });
        bytePrompts.forEach((hex, i) => {
          const ids = sp.encodeIds(hexToBytes(hex));
          checked++;
          if (JSON.stringify(ids) !== JSON.stringify(ref.byte_ids[i]))
            failures.push(
              `${name} ids of bytes ${hex}:\n  ours ${JSON.stringify(ids)}\n  spm  ${JSON.stringify(ref.byte_ids[i])}`,
            );
        });
      }
      expect(checked).toBe(11 * (texts.length + bytePrompts.length));
      expect(failures.length, failures.slice(0, 10).join('\n')).toBe(0);
    },
  );
});
