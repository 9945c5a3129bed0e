/**
 * Presets of `odsora synth-checkpoint`: the configs of the released Open-Sora v1.2 stack, exactly as their
 * Hugging Face repos ship them, and depth-cut variants that keep every width (so blocks have their real sizes) but
 * fewer layers, for tests and quick benchmarks.
 *
 * | preset                 | STDiT3 depth | T5 layers | VAE                                  | parameters |
 * | ---------------------- | ------------ | --------- | ------------------------------------ | ---------- |
 * | `opensora-v1.2`        | 28           | 24        | released (config.json by type name)  | 6.36 B     |
 * | `opensora-v1.2-depth2` | 2            | 2         | 1 resnet / res block per level       | 0.86 B     |
 * | `opensora-v1.2-depth1` | 1            | 1         | 1 resnet / res block per level       | 0.59 B     |
 */
import { RELEASED_VAE_CONFIG_JSON } from '../../shared/engine/vae/config';

/** The preset names. */
export const SYNTH_PRESETS = ['opensora-v1.2', 'opensora-v1.2-depth2', 'opensora-v1.2-depth1'] as const;
/** A preset name. */
export type SynthPreset = (typeof SYNTH_PRESETS)[number];

/** hpcai-tech/OpenSora-STDiT-v3's config.json. */
const RELEASED_STDIT_CONFIG = {
  architectures: ['STDiT3'],
  caption_channels: 4096,
  class_dropout_prob: 0.1,
  depth: 28,
  drop_path: 0.0,
  enable_flash_attn: false,
  enable_layernorm_kernel: false,
  enable_sequence_parallelism: false,
  freeze_y_embedder: true,
  hidden_size: 1152,
  in_channels: 4,
  input_size: [null, null, null],
  input_sq_size: 512,
  mlp_ratio: 4.0,
  model_max_length: 300,
  model_type: 'STDiT3',
  num_heads: 16,
  only_train_temporal: false,
  patch_size: [1, 2, 2],
  pred_sigma: true,
  qk_norm: true,
  skip_y_embedder: false,
  torch_dtype: 'float32',
  transformers_version: '4.36.2',
} as const;

/** DeepFloyd/t5-v1_1-xxl's config.json (the T5 v1.1 XXL encoder Open-Sora loads). */
const RELEASED_T5_CONFIG = {
  architectures: ['T5EncoderModel'],
  d_ff: 10240,
  d_kv: 64,
  d_model: 4096,
  decoder_start_token_id: 0,
  dense_act_fn: 'gelu_new',
  dropout_rate: 0.1,
  eos_token_id: 1,
  feed_forward_proj: 'gated-gelu',
  initializer_factor: 1.0,
  is_encoder_decoder: true,
  is_gated_act: true,
  layer_norm_epsilon: 1e-6,
  model_type: 't5',
  num_decoder_layers: 24,
  num_heads: 64,
  num_layers: 24,
  output_past: true,
  pad_token_id: 0,
  relative_attention_max_distance: 128,
  relative_attention_num_buckets: 32,
  tie_word_embeddings: false,
  torch_dtype: 'float32',
  transformers_version: '4.21.0.dev0',
  use_cache: true,
  vocab_size: 32128,
} as const;

/** hpcai-tech/OpenSora-VAE-v1.2's config.json: its parts by registry type (structure: vae/released-config.ts). */
const RELEASED_VAE_CONFIG = {
  architectures: ['VideoAutoencoderPipeline'],
  cal_loss: false,
  freeze_vae_2d: false,
  from_pretrained: null,
  micro_frame_size: 17,
  model_type: 'VideoAutoencoderPipeline',
  scale: [3.85, 2.32, 2.33, 3.06],
  shift: [-0.1, 0.34, 0.27, 0.98],
  torch_dtype: 'float32',
  transformers_version: '4.36.2',
  vae_2d: {
    from_pretrained: 'PixArt-alpha/pixart_sigma_sdxlvae_T5_diffusers',
    local_files_only: true,
    micro_batch_size: 4,
    subfolder: 'vae',
    type: 'VideoAutoencoderKL',
  },
  vae_temporal: { from_pretrained: null, type: 'VAE_Temporal_SD' },
} as const;

/** The three config.json files of a preset, and the size of its tokenizer's vocabulary. */
export interface PresetConfigs {
  readonly stdit: Record<string, unknown>;
  readonly t5: Record<string, unknown>;
  readonly vae: Record<string, unknown>;
  /** Pieces of the synthetic spiece.model (T5's has 32000; ids up to 32127 are embedding rows). */
  readonly spieceVocab: number;
}

/** The configs of a preset (see the module comment). */
export function presetConfigs(preset: SynthPreset): PresetConfigs {
  if (preset === 'opensora-v1.2')
    return {
      stdit: { ...RELEASED_STDIT_CONFIG },
      t5: { ...RELEASED_T5_CONFIG },
      vae: { ...RELEASED_VAE_CONFIG },
      spieceVocab: 32000,
    };
  const depth = preset === 'opensora-v1.2-depth2' ? 2 : 1;
  // The VAE has no depth knob in its released config.json: the cut variant spells the structure out (vae/config.ts).
  const vae = {
    spatial_vae: { ...RELEASED_VAE_CONFIG_JSON.spatial_vae, layers_per_block: 1 },
    temporal_vae: { ...RELEASED_VAE_CONFIG_JSON.temporal_vae, num_res_blocks: 1 },
    pipeline: { ...RELEASED_VAE_CONFIG_JSON.pipeline },
  };
  return {
    stdit: { ...RELEASED_STDIT_CONFIG, depth },
    t5: { ...RELEASED_T5_CONFIG, num_layers: depth, num_decoder_layers: depth },
    vae,
    spieceVocab: 32000,
  };
}
