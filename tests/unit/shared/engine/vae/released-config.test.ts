import { describe, expect, it } from 'vitest';
import {
  RELEASED_VAE_CONFIG_JSON,
  vaeConfigFromJson,
  vaeWeightNames,
} from '../../../../../shared/engine/vae/config';
import { decoderConfigJson, vaeEncoderWeightNames } from '../../../../../shared/engine/vae/released-config';

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** hpcai-tech/OpenSora-VAE-v1.2's config.json as released (registry types, not structure). */
const HF_CONFIG = {
  architectures: ['VideoAutoencoderPipeline'],
  cal_loss: false,
  freeze_vae_2d: false,
  from_pretrained: null,
  micro_frame_size: 17,
  model_type: 'VideoAutoencoderPipeline',
  scale: [3.85, 2.32, 2.33, 3.06],
  shift: [-0.1, 0.34, 0.27, 0.98],
  vae_2d: {
    from_pretrained: 'PixArt-alpha/pixart_sigma_sdxlvae_T5_diffusers',
    local_files_only: true,
    micro_batch_size: 4,
    subfolder: 'vae',
    type: 'VideoAutoencoderKL',
  },
  vae_temporal: { from_pretrained: null, type: 'VAE_Temporal_SD' },
};

describe('the released VAE checkpoint layout', () => {
  it('maps the released config.json to the decoder structure of spec 7', () => {
    expect(decoderConfigJson(HF_CONFIG)).toEqual(RELEASED_VAE_CONFIG_JSON);
    expect(decoderConfigJson({ ...HF_CONFIG, micro_frame_size: 34 })).toMatchObject({
      pipeline: { micro_frame_size: 34 },
    });
    expect(() => decoderConfigJson({ ...HF_CONFIG, vae_temporal: { type: 'VAE_Temporal' } })).toThrow(
      /vae_temporal.type/,
    );
  });

  it('has 517 state-dict entries holding 393,341,015 numbers, as the released file', () => {
    const cfg = vaeConfigFromJson(RELEASED_VAE_CONFIG_JSON);
    const decoder = vaeWeightNames(cfg).flatMap((g) => g.keys);
    const encoder = vaeEncoderWeightNames(cfg);
    const spatialEnc = encoder.filter((k) => k.name.startsWith('spatial_vae.'));
    const temporalEnc = encoder.filter((k) => k.name.startsWith('temporal_vae.'));
    expect(spatialEnc.length).toBe(108);
    expect(spatialEnc.reduce((s, k) => s + numel(k.shape), 0)).toBe(34_163_664);
    expect(temporalEnc.length).toBe(133);
    expect(temporalEnc.reduce((s, k) => s + numel(k.shape), 0)).toBe(144_421_200);
    const all = [...decoder, ...encoder];
    expect(new Set(all.map((k) => k.name)).size).toBe(all.length);
    expect(all.length).toBe(517);
    expect(all.reduce((s, k) => s + numel(k.shape), 0)).toBe(393_341_015);
  });
});
