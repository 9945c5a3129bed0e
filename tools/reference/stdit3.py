"""Independent PyTorch reference of Open-Sora v1.2 STDiT3 (+ On-device Sora TDTM) and the RFLOW sampler.

Written from the Open-Sora v1.2 spec (sections 2-6; see Sources in docs/architecture.md), not from the authors' code. Parameter and buffer
names match the released state dict exactly, so `load_state_dict(sd, strict=True)` works on Open-Sora checkpoints.

Plain torch ops only (softmax attention, no flash/xformers); float32 by default; runs on torch 1.13 (Debian) and later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class STDiT3Config:
    depth: int = 28
    hidden_size: int = 1152
    num_heads: int = 16
    mlp_ratio: float = 4.0
    patch_size: Tuple[int, int, int] = (1, 2, 2)
    in_channels: int = 4
    pred_sigma: bool = True
    caption_channels: int = 4096
    model_max_length: int = 300
    qk_norm: bool = True
    input_sq_size: int = 512

    @property
    def out_channels(self) -> int:
        return self.in_channels * 2 if self.pred_sigma else self.in_channels

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @staticmethod
    def from_dict(d: dict) -> "STDiT3Config":
        known = {f for f in STDiT3Config.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in known}
        if "patch_size" in kw:
            kw["patch_size"] = tuple(kw["patch_size"])
        return STDiT3Config(**kw)

    def to_dict(self) -> dict:
        return {f: (list(v) if isinstance(v, tuple) else v) for f, v in self.__dict__.items()}


def layer_norm(x: torch.Tensor) -> torch.Tensor:
    """Non-affine LayerNorm over the last axis, eps 1e-6 (spec 3.7)."""
    return F.layer_norm(x, (x.shape[-1],), eps=1e-6)


def t2i_modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


def default_t_freq_table(dim: int = 256, max_period: float = 10000.0) -> torch.Tensor:
    """f_k = exp(-ln(10000)·k/half), k = 0..half-1, built in float32 (spec 3.5)."""
    half = dim // 2
    return torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)


def sinusoid(v: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """concat(cos(v·f), sin(v·f)) -- cos FIRST (spec 3.5). Always float32."""
    args = v.float()[:, None] * table.float()[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


# ----------------------------------------------------------------------------------------------------------------
# Embedders


class PatchEmbed3D(nn.Module):
    def __init__(self, cfg: STDiT3Config):
        super().__init__()
        self.patch_size = cfg.patch_size
        self.proj = nn.Conv3d(cfg.in_channels, cfg.hidden_size, kernel_size=cfg.patch_size, stride=cfg.patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x is already padded to multiples of the patch size. -> [B, N, C], n = (t·Hp + h)·Wp + w
        return self.proj(x).flatten(2).transpose(1, 2)


class TimestepEmbedder(nn.Module):
    """Sinusoid(256) -> Linear -> SiLU -> Linear. Used for both t_embedder and fps_embedder."""

    def __init__(self, hidden: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, v: torch.Tensor, table: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return self.mlp(sinusoid(v, table).to(dtype))


class Mlp(nn.Module):
    """fc1 -> GELU(tanh) -> fc2 (timm Mlp names)."""

    def __init__(self, cin: int, hidden: int, cout: int):
        super().__init__()
        self.fc1 = nn.Linear(cin, hidden)
        self.fc2 = nn.Linear(hidden, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class CaptionEmbedder(nn.Module):
    def __init__(self, cfg: STDiT3Config):
        super().__init__()
        self.y_proj = Mlp(cfg.caption_channels, cfg.hidden_size, cfg.hidden_size)
        # Learned null caption for CFG; a persistent buffer (it is in the state dict).
        self.register_buffer("y_embedding", torch.zeros(cfg.model_max_length, cfg.caption_channels))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.y_proj(y)


class RotaryEmbedding(nn.Module):
    """Holds only `freqs` (key `rope.freqs`), inverse frequencies 10000^(-2j/hd)."""

    def __init__(self, head_dim: int):
        super().__init__()
        freqs = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.float32)[: head_dim // 2] / head_dim))
        self.freqs = nn.Parameter(freqs, requires_grad=False)


def apply_rope(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Interleaved-pair RoPE (rotary_embedding_torch 0.5.3 layout, spec 4) along axis -2 (positions 0..L-1).

    out[2j] = x[2j]·cos - x[2j+1]·sin ; out[2j+1] = x[2j+1]·cos + x[2j]·sin, angle = p·freqs[j].
    """
    L = x.shape[-2]
    pos = torch.arange(L, dtype=torch.float32, device=x.device)
    ang = pos[:, None] * freqs.float()[None, :]  # [L, hd/2]
    ang = ang.repeat_interleave(2, dim=-1)  # [L, hd]: (a0, a0, a1, a1, ...)
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    pairs = x.reshape(*x.shape[:-1], -1, 2)
    rot = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).reshape(x.shape)
    return x * cos + rot * sin


# ----------------------------------------------------------------------------------------------------------------
# Attention


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dt = x.dtype
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(dt)


class Attention(nn.Module):
    """Self-attention with qkv (q|k|v, head-major), qk RMSNorm per head, optional RoPE."""

    def __init__(self, cfg: STDiT3Config):
        super().__init__()
        C, self.heads = cfg.hidden_size, cfg.num_heads
        self.hd = C // self.heads
        self.qkv = nn.Linear(C, 3 * C)
        self.q_norm = RMSNorm(self.hd) if cfg.qk_norm else nn.Identity()
        self.k_norm = RMSNorm(self.hd) if cfg.qk_norm else nn.Identity()
        self.proj = nn.Linear(C, C)

    def forward(self, x: torch.Tensor, rope_freqs: Optional[torch.Tensor] = None) -> torch.Tensor:
        G, L, C = x.shape
        qkv = self.qkv(x).reshape(G, L, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # [G, heads, L, hd]
        q, k = self.q_norm(q), self.k_norm(k)
        if rope_freqs is not None:
            q, k = apply_rope(q, rope_freqs), apply_rope(k, rope_freqs)
        attn = (q * self.hd**-0.5) @ k.transpose(-2, -1)
        attn = attn.float().softmax(dim=-1).to(x.dtype)
        o = (attn @ v).transpose(1, 2).reshape(G, L, C)
        return self.proj(o)


class MultiHeadCrossAttention(nn.Module):
    """Cross-attention to padded captions with an additive key mask per batch row (spec 3.6 item 5, 3.9)."""

    def __init__(self, cfg: STDiT3Config):
        super().__init__()
        C, self.heads = cfg.hidden_size, cfg.num_heads
        self.hd = C // self.heads
        self.q_linear = nn.Linear(C, C)
        self.kv_linear = nn.Linear(C, 2 * C)
        self.proj = nn.Linear(C, C)

    def forward(self, x: torch.Tensor, y: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        # x [B, N, C]; y [B, L, C]; key_bias [B, 1, 1, L] (0 valid, -FLT_MAX invalid)
        B, N, C = x.shape
        L = y.shape[1]
        q = self.q_linear(x).reshape(B, N, self.heads, self.hd).transpose(1, 2)
        kv = self.kv_linear(y).reshape(B, L, 2, self.heads, self.hd).permute(2, 0, 3, 1, 4)
        k, v = kv.unbind(0)
        attn = (q * self.hd**-0.5) @ k.transpose(-2, -1) + key_bias
        attn = attn.float().softmax(dim=-1).to(x.dtype)
        o = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(o)


# ----------------------------------------------------------------------------------------------------------------
# TDTM (spec 5)


def tdtm_reference_ok(T: int) -> bool:
    """Whether the authors' Python TDTM reproduces T frames (spec 5.4)."""
    Tm = T // 2
    return T >= 2 and (2 * Tm + (1 if (Tm % 2 == 1 and Tm != 15) else 0)) == T


def tdtm_merge(x: torch.Tensor) -> torch.Tensor:
    """[G, T, ...] -> [G, floor(T/2), ...]: average frame pairs (2k, 2k+1); an odd last frame is dropped."""
    T = x.shape[1]
    if T % 2 == 1:
        x = x[:, : T - 1]
    return (x[:, 0::2] + x[:, 1::2]) / 2


def tdtm_unmerge(x: torch.Tensor, T: int) -> torch.Tensor:
    """[G, Tm, ...] -> [G, T, ...].

    Reference rule: repeat each merged frame twice; if Tm is odd and Tm != 15 append one more copy of the last one.
    Extension (our engine's rule where the reference would not give T frames, e.g. T = 2, 5, 6, 9, 31):
    repeat twice, then pad with copies of the last merged frame up to T. Where the reference works the two agree.
    """
    Tm = x.shape[1]
    out = x.repeat_interleave(2, dim=1)
    if Tm % 2 == 1 and Tm != 15:
        out = torch.cat([out, x[:, -1:]], dim=1)
    if out.shape[1] != T:  # extension
        out = x.repeat_interleave(2, dim=1)
        if T > out.shape[1]:
            out = torch.cat([out] + [x[:, -1:]] * (T - out.shape[1]), dim=1)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Blocks


class STDiT3Block(nn.Module):
    def __init__(self, cfg: STDiT3Config, temporal: bool):
        super().__init__()
        C = cfg.hidden_size
        self.temporal = temporal
        self.attn = Attention(cfg)
        self.cross_attn = MultiHeadCrossAttention(cfg)
        self.mlp = Mlp(C, int(C * cfg.mlp_ratio), C)
        self.scale_shift_table = nn.Parameter(torch.zeros(6, C))

    def _self_attn(self, h, T, S, rope_freqs, tdtm):
        B, N, C = h.shape
        if not tdtm:
            if self.temporal:
                g = h.reshape(B, T, S, C).transpose(1, 2).reshape(B * S, T, C)
                g = self.attn(g, rope_freqs)
                return g.reshape(B, S, T, C).transpose(1, 2).reshape(B, N, C)
            return self.attn(h.reshape(B * T, S, C), None).reshape(B, N, C)
        g = h.reshape(B, T, S, C).transpose(1, 2).reshape(B * S, T, C)
        g = tdtm_merge(g)  # [B·S, Tm, C]
        Tm = g.shape[1]
        if self.temporal:
            g = self.attn(g, rope_freqs)  # RoPE positions 0..Tm-1
        else:
            g = g.reshape(B, S, Tm, C).transpose(1, 2).reshape(B * Tm, S, C)
            g = self.attn(g, None)
            g = g.reshape(B, Tm, S, C).transpose(1, 2).reshape(B * S, Tm, C)
        g = tdtm_unmerge(g, T)
        return g.reshape(B, S, T, C).transpose(1, 2).reshape(B, N, C)

    def _cross_attn(self, x, y, key_bias, T, S, tdtm):
        if not tdtm:
            return self.cross_attn(x, y, key_bias)
        B, N, C = x.shape
        xm = tdtm_merge(x.reshape(B, T, S, C))  # merge frames, per patch position: [B, Tm, S, C]
        Tm = xm.shape[1]
        o = self.cross_attn(xm.reshape(B, Tm * S, C), y, key_bias).reshape(B, Tm, S, C)
        return tdtm_unmerge(o, T).reshape(B, N, C)

    def forward(self, x, y, key_bias, t_mlp, T, S, rope_freqs=None, tdtm=False):
        B, N, C = x.shape
        m = self.scale_shift_table[None] + t_mlp.reshape(B, 6, C)
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = (m[:, i : i + 1] for i in range(6))
        h = t2i_modulate(layer_norm(x), shift_msa, scale_msa)
        h = self._self_attn(h, T, S, rope_freqs if self.temporal else None, tdtm)
        x = x + gate_msa * h
        x = x + self._cross_attn(x, y, key_bias, T, S, tdtm)
        h = t2i_modulate(layer_norm(x), shift_mlp, scale_mlp)
        return x + gate_mlp * self.mlp(h)


class T2IFinalLayer(nn.Module):
    def __init__(self, cfg: STDiT3Config):
        super().__init__()
        C = cfg.hidden_size
        self.scale_shift_table = nn.Parameter(torch.zeros(2, C))
        pT, pH, pW = cfg.patch_size
        self.linear = nn.Linear(C, pT * pH * pW * cfg.out_channels)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        shift = self.scale_shift_table[0][None, None] + t[:, None]
        scale = self.scale_shift_table[1][None, None] + t[:, None]
        return self.linear(t2i_modulate(layer_norm(x), shift, scale))


# ----------------------------------------------------------------------------------------------------------------
# Model


def pos_embed_2d(C: int, Hp: int, Wp: int, scale: float, base_size: int) -> torch.Tensor:
    """[S, C] 2D sin-cos table, column coordinate first, sin before cos, float32 (spec 3.4)."""
    half = C // 2
    omega = 1.0 / (10000 ** (torch.arange(0, half, 2, dtype=torch.float32) / half))  # q = C/4 values
    X = torch.arange(Wp, dtype=torch.float32) / scale * (base_size / Wp)
    Y = torch.arange(Hp, dtype=torch.float32) / scale * (base_size / Hp)
    ex = X[:, None] * omega[None]
    ey = Y[:, None] * omega[None]
    emb_x = torch.cat([ex.sin(), ex.cos()], dim=-1)  # [Wp, C/2]
    emb_y = torch.cat([ey.sin(), ey.cos()], dim=-1)  # [Hp, C/2]
    return torch.cat([emb_x[None, :, :].expand(Hp, Wp, half), emb_y[:, None, :].expand(Hp, Wp, half)], -1).reshape(
        Hp * Wp, C
    )


class STDiT3(nn.Module):
    def __init__(self, cfg: STDiT3Config):
        super().__init__()
        self.cfg = cfg
        C = cfg.hidden_size
        self.rope = RotaryEmbedding(cfg.head_dim)
        self.x_embedder = PatchEmbed3D(cfg)
        self.t_embedder = TimestepEmbedder(C)
        self.fps_embedder = TimestepEmbedder(C)
        self.t_block = nn.Sequential(nn.SiLU(), nn.Linear(C, 6 * C))
        self.y_embedder = CaptionEmbedder(cfg)
        self.spatial_blocks = nn.ModuleList([STDiT3Block(cfg, temporal=False) for _ in range(cfg.depth)])
        self.temporal_blocks = nn.ModuleList([STDiT3Block(cfg, temporal=True) for _ in range(cfg.depth)])
        self.final_layer = T2IFinalLayer(cfg)
        # Optional exact float32 sinusoid frequency table (the fixtures ship the one torch builds).
        self.t_freq_table: Optional[torch.Tensor] = None

    def freq_table(self) -> torch.Tensor:
        return self.t_freq_table if self.t_freq_table is not None else default_t_freq_table(256)

    def forward(
        self,
        x: torch.Tensor,
        timestep: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor,
        fps: torch.Tensor,
        height: torch.Tensor,
        width: torch.Tensor,
        tdtm: bool = False,
        trace: Optional[Dict[str, torch.Tensor]] = None,
    ) -> torch.Tensor:
        cfg = self.cfg
        dtype = self.x_embedder.proj.weight.dtype
        x = x.to(dtype)
        B, _, T0, H0, W0 = x.shape
        pT, pH, pW = cfg.patch_size
        # 3.1 pad at the end of each axis
        Tpad, Hpad, Wpad = (-T0) % pT, (-H0) % pH, (-W0) % pW
        if Tpad or Hpad or Wpad:
            x = F.pad(x, (0, Wpad, 0, Hpad, 0, Tpad))
        T, Hp, Wp = (T0 + Tpad) // pT, (H0 + Hpad) // pH, (W0 + Wpad) // pW
        S = Hp * Wp
        if tdtm and T < 2:
            tdtm = False  # nothing to merge

        # 3.3 / 3.4 position embedding
        base_size = round(math.sqrt(S))
        scale = math.sqrt(float(height.reshape(-1)[0]) * float(width.reshape(-1)[0])) / cfg.input_sq_size
        pos = pos_embed_2d(cfg.hidden_size, Hp, Wp, scale, base_size).to(device=x.device, dtype=dtype)

        # 3.5 timestep / fps
        table = self.freq_table().to(x.device)
        t_emb = self.t_embedder(timestep.reshape(-1), table, dtype)
        fps = fps.reshape(-1).to(torch.float32)
        if fps.shape[0] != B:
            fps = fps.repeat(B // fps.shape[0])
        fps_emb = self.fps_embedder(fps, table, dtype)
        t = t_emb + fps_emb
        t_mlp = self.t_block(t)

        # 3.6 captions (padded per row) + additive key mask
        mask = mask.reshape(-1, mask.shape[-1])
        if mask.shape[0] != B:
            mask = mask.repeat(B // mask.shape[0], 1)
        yp = self.y_embedder(y.to(dtype)).reshape(B, -1, cfg.hidden_size)  # [B, L, C]
        key_bias = torch.zeros(mask.shape, dtype=dtype, device=x.device)
        key_bias = key_bias.masked_fill(mask == 0, torch.finfo(dtype).min)[:, None, None, :]

        # 3.2 patch embedding + pos
        tok = self.x_embedder(x)
        if trace is not None:
            trace.update({"ref.x_embed": tok, "ref.pos_emb": pos[None], "ref.t_emb": t_emb, "ref.fps_emb": fps_emb,
                          "ref.t": t,
                          "ref.t_mlp": t_mlp, "ref.y_proj": yp[:, None]})
        tok = (tok.reshape(B, T, S, -1) + pos[None, None]).reshape(B, T * S, -1)

        freqs = self.rope.freqs
        for i in range(cfg.depth):
            tok = self.spatial_blocks[i](tok, yp, key_bias, t_mlp, T, S, None, tdtm)
            if trace is not None:
                trace[f"block.{i}.spatial"] = tok
            tok = self.temporal_blocks[i](tok, yp, key_bias, t_mlp, T, S, freqs, tdtm)
            if trace is not None:
                trace[f"block.{i}.temporal"] = tok

        out = self.final_layer(tok, t)  # [B, N, pT·pH·pW·Cout]
        if trace is not None:
            trace["final_tokens"] = out
        Co = cfg.out_channels
        out = out.reshape(B, T, Hp, Wp, pT, pH, pW, Co).permute(0, 7, 1, 4, 2, 5, 3, 6)
        out = out.reshape(B, Co, T * pT, Hp * pH, Wp * pW)
        out = out[:, :, :T0, :H0, :W0]
        return out if out.dtype == torch.float64 else out.float()  # float64 stays float64 (fixture f32-vs-f64 runs)


def config_from_state_dict(sd: Dict[str, "object"]) -> STDiT3Config:
    """Infer the STDiT3 config from checkpoint shapes (heads from the qk-norm gain length hd)."""
    pe = sd["x_embedder.proj.weight"].shape  # [C, Cin, pT, pH, pW]
    C, cin, patch = int(pe[0]), int(pe[1]), tuple(int(v) for v in pe[2:])
    depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("spatial_blocks."))
    qn = sd.get("spatial_blocks.0.attn.q_norm.weight")
    hd = int(qn.shape[0]) if qn is not None else int(sd["rope.freqs"].shape[0]) * 2
    yemb = sd["y_embedder.y_embedding"].shape
    out = int(sd["final_layer.linear.weight"].shape[0]) // (patch[0] * patch[1] * patch[2])
    mlp = int(sd["spatial_blocks.0.mlp.fc1.weight"].shape[0]) / C
    return STDiT3Config(depth=depth, hidden_size=C, num_heads=C // hd, mlp_ratio=mlp, patch_size=patch,
                        in_channels=cin, pred_sigma=out == 2 * cin, caption_channels=int(yemb[1]),
                        model_max_length=int(yemb[0]), qk_norm=qn is not None)


def load_state_dict_np(model: STDiT3, sd: Dict[str, "object"], strict: bool = True) -> None:
    """Load a {name: numpy array} state dict; computes rope.freqs if missing (spec 2.1)."""
    tensors = {k: torch.from_numpy(v.copy()).to(torch.float32) for k, v in sd.items()}
    if "rope.freqs" not in tensors:
        tensors["rope.freqs"] = model.rope.freqs.detach().clone()
    model.load_state_dict(tensors, strict=strict)


def random_init_(model: STDiT3, seed: int = 0) -> None:
    """Seeded random weights: Linear/Conv std 1/sqrt(fan_in), biases std 0.05, norms 1+0.1·N, tables 2·N/sqrt(C)."""
    g = torch.Generator().manual_seed(seed)
    C = model.cfg.hidden_size
    with torch.no_grad():
        for name, p in model.state_dict(keep_vars=True).items():
            if name == "rope.freqs":
                continue
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("scale_shift_table"):
                p.copy_(2 * torch.randn(p.shape, generator=g) / math.sqrt(C))
            elif name.endswith("y_embedding"):
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))


# ----------------------------------------------------------------------------------------------------------------
# RFLOW sampler (spec 6)


def rflow_timesteps(n: int, height: float, width: float, num_frames: int, transform: bool = True) -> List[float]:
    """Discrete (round-half-even) timesteps + timestep_transform, float32 (spec 6.1). Returns python floats."""
    taus = [int(round((1.0 - i / n) * 1000)) for i in range(n)]  # python round = half-to-even
    if not transform:
        return [float(t) for t in taus]
    nf = 1.0 if num_frames == 1 else float((num_frames // 17) * 5)
    r = torch.sqrt(torch.tensor([height], dtype=torch.float32) * torch.tensor([width], dtype=torch.float32)
                   / (512 * 512)) * torch.sqrt(torch.tensor([nf], dtype=torch.float32))
    out = []
    for tau in taus:
        u = torch.tensor([tau], dtype=torch.int64) / 1000  # float32
        out.append(float((r * u / (1 + (r - 1) * u) * 1000)[0]))
    return out


class AdaptiveLpl:
    """The authors' adaptive LPL rule (`compute_cosine_simularity`, spec 6.3), constants made parameters.

    Authors' values: minimum_steps=14, patience (tolerance_n = max_tolerance_n)=3, tolerance (cos_tolerance)=1e-3.
    State lives on the object (like the authors' sampler): it is reset only when a leap fires.
    """

    def __init__(self, minimum_steps: int = 14, patience: int = 3, tolerance: float = 1e-3):
        self.minimum_steps, self.max_patience, self.tolerance = minimum_steps, patience, tolerance
        self.prev: Optional[torch.Tensor] = None
        self.best_cos = 0.0
        self.patience = patience

    def step(self, i: int, v: torch.Tensor) -> Tuple[bool, Optional[float], dict]:
        """Feed the CFG velocity of step i; returns (leap now?, cos_mean or None, trace entry)."""
        c: Optional[float] = None
        if self.prev is not None and i >= self.minimum_steps:
            # cosine along W for every row of the H×W map v[0, 0, 0], then the mean over rows
            c = float(F.cosine_similarity(v[0, 0, 0], self.prev[0, 0, 0], dim=1).mean())
            if c > self.best_cos + self.tolerance:
                self.best_cos = c
                self.patience = self.max_patience
            else:
                self.patience -= 1
        shoot = self.patience == 0
        if shoot:
            self.best_cos = 0.0
            self.patience = self.max_patience
        self.prev = v
        entry = {"step": i, "cos_mean": c, "best_cos_after": self.best_cos, "tolerance_n_after": self.patience,
                 "shoot": shoot}
        return shoot, c, entry


@torch.no_grad()
def sample(
    model: STDiT3,
    z: torch.Tensor,
    y: torch.Tensor,
    y_null: torch.Tensor,
    mask: torch.Tensor,
    fps: torch.Tensor,
    height: torch.Tensor,
    width: torch.Tensor,
    num_frames: int,
    steps: int,
    cfg_scale: float = 7.0,
    lpl_step: Optional[int] = None,
    tdtm_steps: int = 0,
    record: Optional[Dict[str, list]] = None,
    lpl_adaptive: Optional[AdaptiveLpl] = None,
) -> torch.Tensor:
    """RFLOW Euler sampler with CFG; fixed-index LPL (app rule), adaptive LPL (authors' cosine rule, spec 6.3) and
    TDTM for steps < tdtm_steps. `record` gets z_steps / model_out per call, and with lpl_adaptive cos_mean (None
    where not measured) / lpl_trace per step and leap_step."""
    ts = rflow_timesteps(steps, float(height.reshape(-1)[0]), float(width.reshape(-1)[0]), num_frames)
    ts_t = [torch.tensor([t], dtype=torch.float32) for t in ts]
    y_in = torch.cat([y, y_null], 0)
    for i in range(steps):
        z_in = torch.cat([z, z], 0)
        t_in = torch.cat([ts_t[i], ts_t[i]], 0)
        out = model(z_in, t_in, y_in, mask, fps, height, width, tdtm=i < tdtm_steps)
        if record is not None:
            record.setdefault("z_steps", []).append(z)
            record.setdefault("model_out", []).append(out)
        pred = out[:, : model.cfg.in_channels]
        v = pred[1:2] + cfg_scale * (pred[0:1] - pred[1:2])
        if lpl_step is not None and i == lpl_step:
            if record is not None:
                record["leap_step"] = [i]
            return z + v * (ts_t[i] / 1000)
        if lpl_adaptive is not None:
            shoot, c, entry = lpl_adaptive.step(i, v)
            if record is not None:
                record.setdefault("cos_mean", []).append(c)
                record.setdefault("lpl_trace", []).append(entry)
            if shoot:
                if record is not None:
                    record["leap_step"] = [i]
                return z + v * (ts_t[i] / 1000)
        dt = ts_t[i] - ts_t[i + 1] if i < steps - 1 else ts_t[i]
        z = z + v * (dt / 1000)
    if record is not None and (lpl_step is not None or lpl_adaptive is not None):
        record["leap_step"] = [-1]
    return z
