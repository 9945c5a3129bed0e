"""Open-Sora Nano models with the exact Open-Sora v1.2 key names (spec sections 2, 3, 7, 8).

- T5Encoder: Hugging Face T5EncoderModel layout (T5 v1.1: gated-GELU tanh, RMSNorm eps 1e-6, relative position
  buckets from block 0 shared by all blocks, no 1/sqrt(d_kv) attention scaling, no biases).
- NanoVAE: OpenSoraVAE_V1_2 top level (`scale`, `shift` [1,4,1,1,1]) around `spatial_vae.module` = a diffusers 0.27.2
  AutoencoderKL (Encoder/Decoder/quant_conv/post_quant_conv names and math, GroupNorm eps 1e-6, SiLU, nearest x2 +
  conv). No temporal VAE (config temporal: false, latent frames = pixel frames). Decoding follows spec 7.3 minus the
  temporal stage: z*scale + shift, then /0.18215, post_quant_conv, decoder per frame.
- The denoiser is tools/reference/stdit3.py's STDiT3 (imported, not copied) plus Open-Sora-style initialisation.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "reference"))

import stdit3 as ref  # noqa: E402  (tools/reference/stdit3.py)

STDiT3 = ref.STDiT3
STDiT3Config = ref.STDiT3Config

SD_LATENT_DIVISOR = 0.18215  # hard-coded in Open-Sora's VideoAutoencoderKL (spec 7.1)

# ---------------------------------------------------------------------------------------------------------------
# T5 v1.1 encoder (HF T5EncoderModel key names)

DEFAULT_T5 = dict(vocab_size=32, d_model=64, d_kv=16, num_heads=4, d_ff=128, num_layers=2,
                  relative_attention_num_buckets=32, relative_attention_max_distance=128, layer_norm_epsilon=1e-6)


class T5LayerNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps)).to(x.dtype)


class T5Attention(nn.Module):
    def __init__(self, cfg: dict, has_bias: bool):
        super().__init__()
        inner = cfg["num_heads"] * cfg["d_kv"]
        self.h, self.dkv = cfg["num_heads"], cfg["d_kv"]
        self.q = nn.Linear(cfg["d_model"], inner, bias=False)
        self.k = nn.Linear(cfg["d_model"], inner, bias=False)
        self.v = nn.Linear(cfg["d_model"], inner, bias=False)
        self.o = nn.Linear(inner, cfg["d_model"], bias=False)
        if has_bias:
            self.relative_attention_bias = nn.Embedding(cfg["relative_attention_num_buckets"], cfg["num_heads"])

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        B, L, _ = x.shape
        q = self.q(x).view(B, L, self.h, self.dkv).transpose(1, 2)
        k = self.k(x).view(B, L, self.h, self.dkv).transpose(1, 2)
        v = self.v(x).view(B, L, self.h, self.dkv).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) + bias  # no 1/sqrt(d_kv) scaling (spec 8)
        attn = scores.float().softmax(-1).to(x.dtype)
        return self.o((attn @ v).transpose(1, 2).reshape(B, L, self.h * self.dkv))


class T5LayerSelfAttention(nn.Module):
    def __init__(self, cfg: dict, has_bias: bool):
        super().__init__()
        self.SelfAttention = T5Attention(cfg, has_bias)
        self.layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"])


class T5DenseGatedActDense(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.wi_0 = nn.Linear(cfg["d_model"], cfg["d_ff"], bias=False)
        self.wi_1 = nn.Linear(cfg["d_model"], cfg["d_ff"], bias=False)
        self.wo = nn.Linear(cfg["d_ff"], cfg["d_model"], bias=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.wo(F.gelu(self.wi_0(h), approximate="tanh") * self.wi_1(h))


class T5LayerFF(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.DenseReluDense = T5DenseGatedActDense(cfg)
        self.layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"])


class T5Block(nn.Module):
    def __init__(self, cfg: dict, has_bias: bool):
        super().__init__()
        self.layer = nn.ModuleList([T5LayerSelfAttention(cfg, has_bias), T5LayerFF(cfg)])

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        sa, ff = self.layer[0], self.layer[1]
        x = x + sa.SelfAttention(sa.layer_norm(x), bias)
        return x + ff.DenseReluDense(ff.layer_norm(x))


class T5Stack(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.block = nn.ModuleList([T5Block(cfg, i == 0) for i in range(cfg["num_layers"])])
        self.final_layer_norm = T5LayerNorm(cfg["d_model"], cfg["layer_norm_epsilon"])


def relative_position_bucket(L: int, num_buckets: int = 32, max_distance: int = 128) -> torch.Tensor:
    """[L, L] bidirectional buckets for n = j - i (HF _relative_position_bucket, spec 8 step 2)."""
    ctx = torch.arange(L)[:, None]
    mem = torch.arange(L)[None, :]
    n = mem - ctx
    nb = num_buckets // 2
    out = (n > 0).long() * nb
    n = n.abs()
    max_exact = nb // 2
    is_small = n < max_exact
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (nb - max_exact)).long()
    large = torch.minimum(large, torch.full_like(large, nb - 1))
    return out + torch.where(is_small, n, large)


class T5Encoder(nn.Module):
    def __init__(self, cfg: Optional[dict] = None):
        super().__init__()
        self.cfg = dict(DEFAULT_T5, **(cfg or {}))
        self.shared = nn.Embedding(self.cfg["vocab_size"], self.cfg["d_model"])
        self.encoder = T5Stack(self.cfg)

    def init_weights_(self, seed: int) -> None:
        """HF T5PreTrainedModel._init_weights (initializer_factor 1.0), seeded."""
        g = torch.Generator().manual_seed(seed)
        c = self.cfg
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("layer_norm.weight"):
                    p.fill_(1.0)
                    continue
                if name == "shared.weight":
                    std = 1.0
                elif name.endswith(".q.weight"):
                    std = (c["d_model"] * c["d_kv"]) ** -0.5
                elif name.endswith((".k.weight", ".v.weight", "wi_0.weight", "wi_1.weight",
                                    "relative_attention_bias.weight")):
                    std = c["d_model"] ** -0.5
                elif name.endswith(".o.weight"):
                    std = (c["num_heads"] * c["d_kv"]) ** -0.5
                elif name.endswith("wo.weight"):
                    std = c["d_ff"] ** -0.5
                else:
                    raise KeyError(name)
                p.copy_(torch.randn(p.shape, generator=g) * std)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """-> last_hidden_state [B, L, d_model] (after final RMSNorm)."""
        B, L = input_ids.shape
        x = self.shared(input_ids)
        blk0 = self.encoder.block[0].layer[0].SelfAttention
        buckets = relative_position_bucket(L, self.cfg["relative_attention_num_buckets"],
                                           self.cfg["relative_attention_max_distance"]).to(input_ids.device)
        pos = blk0.relative_attention_bias(buckets).permute(2, 0, 1)[None]  # [1, H, L, L]
        ext = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        bias = pos + ext
        for blk in self.encoder.block:
            x = blk(x, bias)
        return self.encoder.final_layer_norm(x)

    def hf_config(self) -> dict:
        """config.json in the shape of the t5-tiny fixture's (transformers T5Config, T5EncoderModel)."""
        c = self.cfg
        return {
            "architectures": ["T5EncoderModel"], "classifier_dropout": 0.0, "d_ff": c["d_ff"], "d_kv": c["d_kv"],
            "d_model": c["d_model"], "decoder_start_token_id": 0, "dense_act_fn": "gelu_new", "dropout_rate": 0.0,
            "eos_token_id": 1, "feed_forward_proj": "gated-gelu", "initializer_factor": 1.0,
            "is_encoder_decoder": False, "is_gated_act": True, "layer_norm_epsilon": c["layer_norm_epsilon"],
            "model_type": "t5", "num_decoder_layers": c["num_layers"], "num_heads": c["num_heads"],
            "num_layers": c["num_layers"], "pad_token_id": 0,
            "relative_attention_max_distance": c["relative_attention_max_distance"],
            "relative_attention_num_buckets": c["relative_attention_num_buckets"], "tie_word_embeddings": False,
            "torch_dtype": "float32", "use_cache": False, "vocab_size": c["vocab_size"],
        }


# ---------------------------------------------------------------------------------------------------------------
# diffusers 0.27.2 AutoencoderKL pieces (names and math), tiny widths

DEFAULT_VAE = dict(block_out_channels=[16, 32, 64], layers_per_block=1, norm_num_groups=8, latent_channels=4,
                   in_channels=3, out_channels=3)


class ResnetBlock2D(nn.Module):
    def __init__(self, cin: int, cout: int, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class AttnBlock(nn.Module):
    """diffusers Attention in the VAE mid block: one head of width C, group_norm, residual (spec 7.5)."""

    def __init__(self, c: int, groups: int):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q = nn.Linear(c, c)
        self.to_k = nn.Linear(c, c)
        self.to_v = nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c), nn.Dropout(0.0)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        h = self.group_norm(x).view(B, C, H * W).transpose(1, 2)
        q, k, v = self.to_q(h), self.to_k(h), self.to_v(h)
        a = (q @ k.transpose(1, 2) / math.sqrt(C)).float().softmax(-1).to(x.dtype)
        o = self.to_out[0](a @ v).transpose(1, 2).reshape(B, C, H, W)
        return o + x


class MidBlock(nn.Module):
    def __init__(self, c: int, groups: int):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, groups), ResnetBlock2D(c, c, groups)])
        self.attentions = nn.ModuleList([AttnBlock(c, groups)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Downsample2D(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample2D(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownBlock(nn.Module):
    def __init__(self, cin: int, cout: int, n: int, groups: int, down: bool):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, groups) for i in range(n)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if down else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for r in self.resnets:
            x = r(x)
        return self.downsamplers[0](x) if self.downsamplers is not None else x


class UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int, n: int, groups: int, up: bool):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, groups) for i in range(n)])
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if up else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for r in self.resnets:
            x = r(x)
        return self.upsamplers[0](x) if self.upsamplers is not None else x


class Encoder(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        boc, g, n = c["block_out_channels"], c["norm_num_groups"], c["layers_per_block"]
        self.conv_in = nn.Conv2d(c["in_channels"], boc[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            [DownBlock(boc[max(i - 1, 0)], boc[i], n, g, i < len(boc) - 1) for i in range(len(boc))])
        self.mid_block = MidBlock(boc[-1], g)
        self.conv_norm_out = nn.GroupNorm(g, boc[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(boc[-1], 2 * c["latent_channels"], 3, padding=1)  # double_z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(x)
        for b in self.down_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(x))))


class Decoder(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        rev, g, n = list(reversed(c["block_out_channels"])), c["norm_num_groups"], c["layers_per_block"] + 1
        self.conv_in = nn.Conv2d(c["latent_channels"], rev[0], 3, padding=1)
        self.mid_block = MidBlock(rev[0], g)
        self.up_blocks = nn.ModuleList(
            [UpBlock(rev[max(i - 1, 0)], rev[i], n, g, i < len(rev) - 1) for i in range(len(rev))])
        self.conv_norm_out = nn.GroupNorm(g, rev[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(rev[-1], c["out_channels"], 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.mid_block(self.conv_in(z))
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        L = c["latent_channels"]
        self.encoder = Encoder(c)
        self.decoder = Decoder(c)
        self.quant_conv = nn.Conv2d(2 * L, 2 * L, 1)
        self.post_quant_conv = nn.Conv2d(L, L, 1)


class _Wrap(nn.Module):  # Open-Sora's VideoAutoencoderKL holds the diffusers model as `.module`
    def __init__(self, m: nn.Module):
        super().__init__()
        self.module = m


class NanoVAE(nn.Module):
    """OpenSoraVAE_V1_2-shaped state dict: spatial_vae.module.*, scale, shift (no temporal_vae)."""

    def __init__(self, cfg: Optional[dict] = None):
        super().__init__()
        self.cfg = dict(DEFAULT_VAE, **(cfg or {}))
        self.spatial_vae = _Wrap(AutoencoderKL(self.cfg))
        L = self.cfg["latent_channels"]
        self.register_buffer("scale", torch.ones(1, L, 1, 1, 1))
        self.register_buffer("shift", torch.zeros(1, L, 1, 1, 1))

    @property
    def factor(self) -> int:
        return 2 ** (len(self.cfg["block_out_channels"]) - 1)

    # per-frame SD-VAE halves (latents in the SD scale, i.e. after *0.18215)
    def encode_frames(self, x: torch.Tensor) -> torch.Tensor:
        m = self.spatial_vae.module
        moments = m.quant_conv(m.encoder(x))
        return moments[:, : self.cfg["latent_channels"]] * SD_LATENT_DIVISOR  # plain AE: the mean, no sampling

    def decode_frames(self, z_sd: torch.Tensor) -> torch.Tensor:
        m = self.spatial_vae.module
        return m.decoder(m.post_quant_conv(z_sd / SD_LATENT_DIVISOR))

    @staticmethod
    def _to_frames(v: torch.Tensor) -> torch.Tensor:  # [B, C, T, H, W] -> [(B T), C, H, W]
        B, C, T, H, W = v.shape
        return v.permute(0, 2, 1, 3, 4).reshape(B * T, C, H, W)

    @staticmethod
    def _from_frames(f: torch.Tensor, B: int) -> torch.Tensor:
        BT, C, H, W = f.shape
        return f.reshape(B, BT // B, C, H, W).permute(0, 2, 1, 3, 4)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, T, H, W] in [-1, 1] -> normalised latent [B, 4, T, H/f, W/f] ((z - shift) / scale)."""
        z = self._from_frames(self.encode_frames(self._to_frames(x)), x.shape[0])
        return (z - self.shift) / self.scale

    def decode(self, z: torch.Tensor, micro_batch: int = 0) -> torch.Tensor:
        """Spec 7.3 without the temporal stage: z*scale + shift, then the SD decoder per frame."""
        zs = self._to_frames(z * self.scale + self.shift)
        if micro_batch and zs.shape[0] > micro_batch:
            x = torch.cat([self.decode_frames(c) for c in zs.split(micro_batch)], 0)
        else:
            x = self.decode_frames(zs)
        return self._from_frames(x, z.shape[0])

    def export_config(self, frames: int, height: int, width: int, micro_batch: int = 4) -> dict:
        c = self.cfg
        n = len(c["block_out_channels"])
        return {
            "_class_name": "OpenSoraNanoVAE",
            "format": "OpenSoraVAE_V1_2 state dict without temporal_vae (spec 7)",
            "temporal": False,
            "temporal_note": "no temporal VAE: latent frames = pixel frames; decode = z*scale+shift, then the SD-VAE "
                             "decoder on every frame of x/0.18215 (spec 7.3 steps 1 and 5)",
            "spatial_vae": {
                "_class_name": "AutoencoderKL", "_diffusers_version": "0.27.2", "act_fn": "silu",
                "block_out_channels": list(c["block_out_channels"]),
                "down_block_types": ["DownEncoderBlock2D"] * n, "up_block_types": ["UpDecoderBlock2D"] * n,
                "force_upcast": True, "in_channels": c["in_channels"], "latent_channels": c["latent_channels"],
                "layers_per_block": c["layers_per_block"], "norm_num_groups": c["norm_num_groups"],
                "norm_eps": 1e-6, "out_channels": c["out_channels"], "sample_size": height, "scaling_factor": 0.13025,
            },
            "temporal_vae": None,
            "pipeline": {
                "micro_batch_size": micro_batch,
                "scale": [float(v) for v in self.scale.flatten()], "shift": [float(v) for v in self.shift.flatten()],
                "sd_latent_divisor": SD_LATENT_DIVISOR,
            },
            "derived": {"spatial_upsample_factor": self.factor, "time_downsample_factor": 1,
                        "latent_channels": c["latent_channels"]},
            "clip": {"frames": frames, "height": height, "width": width,
                     "latent": [c["latent_channels"], frames, height // self.factor, width // self.factor]},
        }


# ---------------------------------------------------------------------------------------------------------------
# STDiT3 (reference implementation) + Open-Sora initialisation

DEFAULT_DIT = dict(depth=4, hidden_size=128, num_heads=4, mlp_ratio=4.0, patch_size=[1, 2, 2], in_channels=4,
                   pred_sigma=True, qk_norm=True, input_sq_size=512)


def make_stdit(dit_cfg: dict, caption_channels: int, max_len: int) -> STDiT3:
    d = dict(DEFAULT_DIT, **dit_cfg)
    d.update(caption_channels=caption_channels, model_max_length=max_len)
    return STDiT3(STDiT3Config.from_dict(d))


def init_stdit_(m: STDiT3, seed: int) -> None:
    """Open-Sora STDiT3.initialize_weights (+ PixArt core init), seeded; y_embedding ~ N(0,1) (fixed null caption)."""
    g = torch.Generator().manual_seed(seed)
    C = m.cfg.hidden_size

    def xavier_(w: torch.Tensor) -> None:
        fan_out, fan_in = w.shape[0], w[0].numel()
        a = math.sqrt(6.0 / (fan_in + fan_out))
        w.copy_((torch.rand(w.shape, generator=g) * 2 - 1) * a)

    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.Linear):
                xavier_(mod.weight)
                nn.init.zeros_(mod.bias)
        xavier_(m.x_embedder.proj.weight)
        nn.init.zeros_(m.x_embedder.proj.bias)
        for lin in (m.t_embedder.mlp[0], m.t_embedder.mlp[2], m.t_block[1], m.y_embedder.y_proj.fc1,
                    m.y_embedder.y_proj.fc2, m.fps_embedder.mlp[0]):
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * 0.02)
        nn.init.zeros_(m.fps_embedder.mlp[2].weight)
        for blk in list(m.spatial_blocks) + list(m.temporal_blocks):
            blk.scale_shift_table.copy_(torch.randn(blk.scale_shift_table.shape, generator=g) / math.sqrt(C))
            nn.init.zeros_(blk.cross_attn.proj.weight)
        for blk in m.temporal_blocks:
            nn.init.zeros_(blk.attn.proj.weight)
            nn.init.zeros_(blk.mlp.fc2.weight)
        m.final_layer.scale_shift_table.copy_(torch.randn(2, C, generator=g) / math.sqrt(C))
        nn.init.zeros_(m.final_layer.linear.weight)
        nn.init.zeros_(m.final_layer.linear.bias)
        m.y_embedder.y_embedding.copy_(torch.randn(m.y_embedder.y_embedding.shape, generator=g))


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def state_numbers(m: nn.Module) -> int:
    return sum(v.numel() for v in m.state_dict().values())
