/**
 * A random-weight STDiT3 checkpoint with the real key layout (the fixtures' initialisation rule), for benchmarks
 * at sizes no fixture covers. Deterministic: weights come from the portable noise generator.
 */
import { fillGaussian } from '../../shared/engine/noise/gaussian';
import type { FileSystemPort } from '../../shared/engine/ports';
import { writeSafetensors, type NamedTensor } from '../../shared/engine/safetensors/writer';
import { stdit3ConfigFromJson, stdit3WeightNames } from '../../shared/engine/stdit3/config';
import { ropeFreqs } from '../../shared/engine/stdit3/embeddings';
import { floatTensor, numel } from '../../shared/engine/tensor';

/** Writes `path` with random weights for the snake_case `config`; returns the number of parameters. */
export async function writeSyntheticStdit3(
  fs: FileSystemPort,
  path: string,
  config: Record<string, unknown>,
  seed: number,
): Promise<number> {
  const cfg = stdit3ConfigFromJson(config);
  const hd = cfg.hiddenSize / cfg.numHeads;
  const tensors: NamedTensor[] = [];
  let params = 0;
  let k = 0;
  for (const group of stdit3WeightNames(cfg)) {
    for (const spec of group.keys) {
      const n = numel(spec.shape);
      params += n;
      const data = new Float32Array(n);
      if (spec.name === 'rope.freqs') {
        data.set(ropeFreqs(hd));
      } else {
        fillGaussian(seed + k++, data);
        const fanIn = spec.shape.slice(1).reduce((a, b) => a * b, 1);
        let scale = 0.05;
        let shift = 0;
        if (spec.name.endsWith('norm.weight')) {
          scale = 0.1;
          shift = 1;
        } else if (spec.name.endsWith('scale_shift_table')) scale = 2 / Math.sqrt(cfg.hiddenSize);
        else if (spec.name.endsWith('y_embedding')) scale = 1 / Math.sqrt(cfg.captionChannels);
        else if (spec.shape.length > 1) scale = 1 / Math.sqrt(fanIn);
        for (let i = 0; i < n; i++) data[i] = Math.fround((data[i] as number) * scale + shift);
      }
      tensors.push({ name: spec.name, tensor: floatTensor(spec.shape, data) });
    }
  }
  const out = await fs.createWriter(path);
  try {
    await writeSafetensors(out, tensors, { file: path });
  } finally {
    await out.close();
  }
  return params;
}
