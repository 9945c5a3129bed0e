import { describe, expect, it } from 'vitest';
import { stdit3ConfigFromJson } from '../../../../../shared/engine/stdit3/config';
import { estimateStdit3Flops } from '../../../../../shared/engine/stdit3/denoise-manifest';

const reference = { frames: 4, height: 8, width: 8, captionLength: 8 };

describe('STDiT3 FLOP estimate', () => {
  const cfg = stdit3ConfigFromJson({
    depth: 1,
    hidden_size: 8,
    num_heads: 2,
    patch_size: [1, 2, 2],
    in_channels: 4,
    caption_channels: 16,
    model_max_length: 8,
    qk_norm: true,
    pred_sigma: true,
    mlp_ratio: 4,
    input_sq_size: 512,
  });

  it('follows the documented formula for a pair, part1 and part2', () => {
    // T = 4, S = 4·4 = 16, N = 64, C = 8, F = 32, L = 8.
    const [T, S, N, C, F, L] = [4, 16, 64, 8, 32, 8];
    const mixing = (n: number, selfAttn: number) =>
      2 * n * C * 3 * C + selfAttn + 3 * 2 * n * C * C + 2 * L * C * 2 * C + 4 * n * L * C;
    const plain = estimateStdit3Flops(cfg, reference, 'plain');
    expect(plain.pair).toBe(mixing(N, 4 * T * S * S * C) + mixing(N, 4 * S * T * T * C) + 2 * 4 * N * C * F);
    expect(plain.part1).toBe(
      2 * N * C * 16 + 4 * (256 * C + C * C) + 2 * C * 6 * C + 2 * L * (16 * C + C * C),
    );
    expect(plain.part2).toBe(2 * N * C * 32);
    const tdtm = estimateStdit3Flops(cfg, reference, 'tdtm');
    const Nm = 2 * S;
    expect(tdtm.pair).toBe(mixing(Nm, 4 * 2 * S * S * C) + mixing(Nm, 4 * S * 2 * 2 * C) + 2 * 4 * N * C * F);
    expect(tdtm.pair).toBeLessThan(plain.pair);
  });
});
