/**
 * Every graph kind the engine builds, at small shapes, for the nano model's configs and the depth-cut full-size
 * preset's (`opensora-v1.2-depth1`): T5 block (f32 / f16 / int8) and final norm, STDiT3 part1, single blocks, the
 * pair (plain, TDTM, with and without x_mid), part2, and every VAE block (with and without probes). Built straight
 * from the configs: no weights needed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBlockGraph, buildPairGraph } from '../../shared/engine/stdit3/block-graph';
import { stdit3ConfigFromJson, type Stdit3Config } from '../../shared/engine/stdit3/config';
import { buildPart1Graph } from '../../shared/engine/stdit3/part1-graph';
import { buildPart2Graph } from '../../shared/engine/stdit3/part2-graph';
import { t5ConfigFromJson, type T5Config } from '../../shared/engine/t5/config';
import { buildT5BlockGraph, buildT5FinalGraph } from '../../shared/engine/t5/graphs';
import { vaeConfigFromJson, vaeWeightNames, type VaeConfig } from '../../shared/engine/vae/config';
import { buildVaeBlockGraph } from '../../shared/engine/vae/graphs';
import type { GraphTarget } from '../../shared/engine/onnx/graph-target';
import { decoderConfigJson } from '../../shared/engine/vae/released-config';
import { presetConfigs } from '../../src-main/synth/presets';

/** The parsed configs of one model. */
export interface ModelConfigs {
  readonly t5: T5Config;
  readonly stdit3: Stdit3Config;
  readonly vae: VaeConfig;
}

const REPO = join(__dirname, '..', '..');
const json = (p: string): unknown => JSON.parse(readFileSync(join(REPO, p), 'utf8'));

/** The bundled nano model's configs. */
export function nanoConfigs(): ModelConfigs {
  return {
    t5: t5ConfigFromJson(json('models/opensora-nano/text_encoder/config.json')),
    stdit3: stdit3ConfigFromJson(json('models/opensora-nano/stdit/config.json')),
    vae: vaeConfigFromJson(decoderConfigJson(json('models/opensora-nano/vae/config.json'))),
  };
}

/** The `opensora-v1.2-depth1` preset's configs (full widths, one layer). */
export function depth1Configs(): ModelConfigs {
  const c = presetConfigs('opensora-v1.2-depth1');
  return {
    t5: t5ConfigFromJson(c.t5),
    stdit3: stdit3ConfigFromJson(c.stdit),
    vae: vaeConfigFromJson(decoderConfigJson(c.vae)),
  };
}

/** One built graph and a name saying what it is. */
export interface NamedGraph {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/**
 * Every graph kind for `m` at a small static shape (latent T×H×W, caption L), built for `target` (the `coreml`
 * target takes no int8 weights, so its list has no int8 graphs).
 */
export function everyGraphKind(
  m: ModelConfigs,
  s: { frames: number; height: number; width: number; captionLength: number },
  target: GraphTarget = 'cpu',
): NamedGraph[] {
  const out: NamedGraph[] = [];
  const add = (name: string, bytes: Uint8Array): void => void out.push({ name, bytes });
  const int8 = target === 'cpu';
  const t5Shape = { batch: 1, length: s.captionLength };
  for (const p of ['f32', 'f16', ...(int8 ? ['int8' as const] : [])] as const)
    add(`t5.block.${p}`, buildT5BlockGraph(m.t5, t5Shape, p, target));
  add('t5.final', buildT5FinalGraph(m.t5, t5Shape, target));
  const shape = { batch: 2, ...s };
  add('stdit3.part1', buildPart1Graph(m.stdit3, shape, 'f32', target));
  if (int8) add('stdit3.part1.int8', buildPart1Graph(m.stdit3, shape, 'int8'));
  for (const kind of ['spatial', 'temporal'] as const)
    for (const tdtm of [false, true])
      add(
        `stdit3.${kind}${tdtm ? '.tdtm' : ''}`,
        buildBlockGraph(m.stdit3, shape, kind, tdtm, 'f32', target),
      );
  add('stdit3.pair', buildPairGraph(m.stdit3, shape, false, { target }));
  add('stdit3.pair.mid', buildPairGraph(m.stdit3, shape, false, { withMid: true, target }));
  add('stdit3.pair.tdtm.mid', buildPairGraph(m.stdit3, shape, true, { withMid: true, target }));
  add('stdit3.pair.f16', buildPairGraph(m.stdit3, shape, false, { withMid: true, precision: 'f16', target }));
  if (int8)
    add('stdit3.pair.tdtm.int8', buildPairGraph(m.stdit3, shape, true, { withMid: true, precision: 'int8' }));
  add('stdit3.part2', buildPart2Graph(m.stdit3, shape, 'f32', target));
  for (const group of vaeWeightNames(m.vae)) {
    const vs = { batch: 1, frames: 2, height: s.height, width: s.width };
    add(`vae.${group.id}`, buildVaeBlockGraph(m.vae, group.id, vs, { target }).bytes);
    add(`vae.${group.id}.probes`, buildVaeBlockGraph(m.vae, group.id, vs, { probes: true, target }).bytes);
    if (int8)
      add(`vae.${group.id}.int8`, buildVaeBlockGraph(m.vae, group.id, vs, { precision: 'int8' }).bytes);
  }
  return out;
}
