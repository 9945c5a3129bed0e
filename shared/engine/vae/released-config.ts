/**
 * The VAE checkpoint beyond what decoding reads: the released `config.json` of hpcai-tech/OpenSora-VAE-v1.2 mapped
 * to the decoder config (vae/config.ts), and the encoder-side keys of the whole `VideoAutoencoderPipeline` state
 * dict (spec 7: 517 entries, 393,341,015 numbers), which synthetic full-size checkpoints write and the converter
 * skips without reading.
 *
 * The released config.json names its parts by registry type only — `vae_2d: { type: "VideoAutoencoderKL",
 * from_pretrained: "PixArt-alpha/pixart_sigma_sdxlvae_T5_diffusers", subfolder: "vae", micro_batch_size: 4 }`,
 * `vae_temporal: { type: "VAE_Temporal_SD" }`, `micro_frame_size: 17`, `scale`, `shift` — so the structure of
 * those two types (spec 7.4, 7.5) is filled in here, and only their knobs are read from the file.
 */
import {
  RELEASED_VAE_CONFIG_JSON,
  SPATIAL_KEY_PREFIX,
  TEMPORAL_KEY_PREFIX,
  resnet2d,
  temporalResBlock,
  temporalStageWidth,
  type VaeConfig,
  type VaeWeightSpec,
} from './config';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a config JSON is the released pipeline format (`vae_2d` / `vae_temporal` by type name). */
function isReleasedVaeConfig(json: unknown): boolean {
  return isObj(json) && ('vae_2d' in json || json['model_type'] === 'VideoAutoencoderPipeline');
}

/**
 * The decoder config JSON (vae/config.ts layout) of a VAE config.json: the released pipeline format is mapped (its
 * `micro_frame_size` and `vae_2d.micro_batch_size` kept), anything else is returned as is. Throws naming the key
 * when a released config names a part this engine does not implement.
 */
export function decoderConfigJson(json: unknown): unknown {
  if (!isReleasedVaeConfig(json)) return json;
  const o = json as Obj;
  const v2 = o['vae_2d'];
  const vt = o['vae_temporal'];
  if (!isObj(v2) || v2['type'] !== 'VideoAutoencoderKL')
    throw new Error(
      `VAE config: 'vae_2d.type' must be "VideoAutoencoderKL" (the SDXL VAE of Open-Sora v1.2), got ${JSON.stringify(isObj(v2) ? v2['type'] : v2)}`,
    );
  if (!isObj(vt) || vt['type'] !== 'VAE_Temporal_SD')
    throw new Error(
      `VAE config: 'vae_temporal.type' must be "VAE_Temporal_SD", got ${JSON.stringify(isObj(vt) ? vt['type'] : vt)}`,
    );
  const mfs = o['micro_frame_size'] ?? RELEASED_VAE_CONFIG_JSON.pipeline.micro_frame_size;
  const mbs = v2['micro_batch_size'] ?? RELEASED_VAE_CONFIG_JSON.pipeline.micro_batch_size;
  return {
    spatial_vae: { ...RELEASED_VAE_CONFIG_JSON.spatial_vae },
    temporal_vae: { ...RELEASED_VAE_CONFIG_JSON.temporal_vae },
    pipeline: { micro_frame_size: mfs, micro_batch_size: mbs },
  };
}

/**
 * Encoder-side keys of the pipeline state dict for a decoder config: the SD-VAE encoder (diffusers Encoder with
 * DownEncoderBlock2D, double_z) and `quant_conv`, and the temporal VAE's MAGVIT-style encoder (conv_in without
 * bias, ResBlocks, time-strided `conv_blocks` where it downsamples, `res_blocks`, `norm1`, `conv2` to
 * 2·latent_embed_dim) and `quant_conv`. For the released config: 108 + 133 entries, 34,163,664 + 144,421,200
 * numbers (spec 7).
 */
export function vaeEncoderWeightNames(cfg: VaeConfig): VaeWeightSpec[] {
  const keys: VaeWeightSpec[] = [];
  const s = cfg.spatial;
  const S = `${SPATIAL_KEY_PREFIX}encoder.`;
  const widths = s.blockOutChannels;
  const c0 = widths[0] as number;
  const cTop = widths[widths.length - 1] as number;
  const conv2d = (name: string, cout: number, cin: number, k: number): void => {
    keys.push({ name: `${name}.weight`, shape: [cout, cin, k, k] }, { name: `${name}.bias`, shape: [cout] });
  };
  const norm = (name: string, c: number): void => {
    keys.push({ name: `${name}.weight`, shape: [c] }, { name: `${name}.bias`, shape: [c] });
  };
  conv2d(`${S}conv_in`, c0, s.outChannels, 3);
  let prev = c0;
  widths.forEach((w, i) => {
    for (let j = 0; j < s.layersPerBlock; j++) {
      keys.push(...resnet2d(`${S}down_blocks.${i}.resnets.${j}`, j === 0 ? prev : w, w));
    }
    if (i < widths.length - 1) conv2d(`${S}down_blocks.${i}.downsamplers.0.conv`, w, w, 3);
    prev = w;
  });
  keys.push(...resnet2d(`${S}mid_block.resnets.0`, cTop, cTop));
  norm(`${S}mid_block.attentions.0.group_norm`, cTop);
  for (const m of ['to_q', 'to_k', 'to_v', 'to_out.0'])
    keys.push(
      { name: `${S}mid_block.attentions.0.${m}.weight`, shape: [cTop, cTop] },
      { name: `${S}mid_block.attentions.0.${m}.bias`, shape: [cTop] },
    );
  keys.push(...resnet2d(`${S}mid_block.resnets.1`, cTop, cTop));
  norm(`${S}conv_norm_out`, cTop);
  conv2d(`${S}conv_out`, 2 * s.latentChannels, cTop, 3);
  conv2d(`${SPATIAL_KEY_PREFIX}quant_conv`, 2 * s.latentChannels, 2 * s.latentChannels, 1);

  const t = cfg.temporalVae;
  if (!t) return keys;
  const T = `${TEMPORAL_KEY_PREFIX}encoder.`;
  const conv3d = (name: string, cout: number, cin: number, k: number, bias: boolean): void => {
    keys.push({ name: `${name}.conv.weight`, shape: [cout, cin, k, k, k] });
    if (bias) keys.push({ name: `${name}.conv.bias`, shape: [cout] });
  };
  const n = t.channelMultipliers.length;
  conv3d(`${T}conv_in`, t.filters, t.inOutChannels, 3, false);
  let cin = t.filters;
  for (let i = 0; i < n; i++) {
    const w = temporalStageWidth(t, i);
    for (let j = 0; j < t.numResBlocks; j++) {
      keys.push(...temporalResBlock(`${T}block_res_blocks.${i}.${j}`, cin, w));
      cin = w;
    }
    // Stage boundaries without time downsampling are an Identity (no keys).
    if (i < n - 1 && t.temporalDownsample[i]) conv3d(`${T}conv_blocks.${i}`, w, cin, 3, true);
  }
  const top = temporalStageWidth(t, n - 1);
  for (let j = 0; j < t.numResBlocks; j++) keys.push(...temporalResBlock(`${T}res_blocks.${j}`, top, top));
  norm(`${T}norm1`, top);
  conv3d(`${T}conv2`, 2 * t.latentEmbedDim, top, 1, true);
  conv3d(`${TEMPORAL_KEY_PREFIX}quant_conv`, 2 * t.embedDim, 2 * t.latentEmbedDim, 1, true);
  return keys;
}
