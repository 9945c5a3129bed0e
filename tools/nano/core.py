"""Open-Sora Nano training pieces shared by train.py and export.py: devices, run-folder checkpoints, text encoding,
the RFLOW sampler used for evals, EMA and the learning-rate schedule. Import after common.setup_threads()."""

from __future__ import annotations

import math
import os
import sys

import torch

import common as C
import data as D
import models as M


def cond_tensors(B: int, device=None):
    """fps / height / width exactly as the real model gets them (spec 3): fps 24, pixel height/width. Height and
    width stay on the CPU: STDiT3 reads them as Python floats (a GPU tensor would force a sync every call)."""
    return (torch.tensor([float(D.FPS)], device=device), torch.tensor([float(D.HEIGHT)]),
            torch.tensor([float(D.WIDTH)]))


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            sys.exit("--device cuda: torch sees no CUDA device")
        torch.backends.cuda.matmul.allow_tf32 = True  # tiny matrices: TF32 is plenty, weights stay float32
        torch.backends.cudnn.allow_tf32 = True
    return torch.device(name)


def load_vae(run: str, required: bool = True):
    ck = C.load(os.path.join(run, "vae.pt"))
    if ck is None:
        if required:
            sys.exit(f"no {run}/vae.pt: train the autoencoder first (train.py vae --run {run})")
        return None, None
    vae = M.NanoVAE(ck["cfg"])
    vae.load_state_dict(ck["model"])
    vae.eval()
    for p in vae.parameters():
        p.requires_grad_(False)
    return vae, ck


@torch.no_grad()
def latent_stats_(vae: M.NanoVAE, seed: int = 999, clips: int = 48) -> dict:
    """Set scale/shift so the normalised latent (z_sd - shift)/scale has zero mean, unit variance per channel."""
    video, _, _ = D.ClipStream(seed).batch(clips)
    z = vae.encode_frames(vae._to_frames(video))  # SD scale (after *0.18215)
    mean = z.mean((0, 2, 3))
    std = z.std((0, 2, 3)).clamp_min(1e-4)
    vae.shift.copy_(mean.view(1, -1, 1, 1, 1))
    vae.scale.copy_(std.view(1, -1, 1, 1, 1))
    return {"shift": [round(float(v), 5) for v in mean], "scale": [round(float(v), 5) for v in std]}


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.clamp(-1, 1) - b) ** 2).mean()) / 4.0  # [-1, 1] -> [0, 1] range
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def build_text_and_dit(t5_cfg: dict, dit_cfg: dict):
    t5 = M.T5Encoder(t5_cfg)
    dit = M.make_stdit(dit_cfg, caption_channels=t5.cfg["d_model"], max_len=D.MAX_TOKENS)
    return t5, dit


def encode_text(t5: M.T5Encoder, prompts):
    ids, mask = D.tokenize(prompts)
    dev = t5.shared.weight.device
    ids, mask = ids.to(dev), mask.to(dev)
    return t5(ids, mask), mask  # [B, L, D], [B, L]


def tokens_per_clip(dit_cfg: dict, frames: int, latent_hw=None) -> int:
    """STDiT3 tokens of one clip: each axis padded up to a multiple of its patch size (spec 3.1)."""
    latent_hw = latent_hw or (D.HEIGHT // 4, D.WIDTH // 4)
    pT, pH, pW = dit_cfg.get("patch_size", [1, 2, 2])
    return -(-frames // pT) * -(-latent_hw[0] // pH) * -(-latent_hw[1] // pW)


def clip_frames(dit) -> int:
    """Pixel (= latent) frames of the clips this denoiser was trained on (16 unless the run chose --frames)."""
    return int(getattr(dit, "clip_frames", D.FRAMES))


@torch.no_grad()
def sample_latents(dit, t5, prompts, steps: int = 30, cfg_scale: float = 7.0, seed: int = 0,
                   lpl_step: int = -1) -> torch.Tensor:
    """RFLOW Euler sampler with CFG (spec 6.1/6.2) WITHOUT the timestep transform (see README: for 16 pixel frames
    the transform's nf = (16 // 17) * 5 = 0 would make every timestep 0). Optional fixed LPL leap at lpl_step."""
    B = len(prompts)
    y, mask = encode_text(t5, prompts)
    y_null = dit.y_embedder.y_embedding[None].expand(B, -1, -1)
    dev = y.device
    fps, h, w = cond_tensors(B, dev)
    lat = [4, clip_frames(dit), D.HEIGHT // 4, D.WIDTH // 4]
    g = torch.Generator().manual_seed(seed)
    z = torch.randn([B] + lat, generator=g).to(dev)  # CPU noise: the same start on every device
    ts = [float(int(round((1.0 - i / steps) * 1000))) for i in range(steps)]
    y_in = torch.cat([y, y_null], 0)[:, None]
    m_in = torch.cat([mask, mask], 0)
    for i in range(steps):
        t_in = torch.full((2 * B,), ts[i], device=dev)
        out = dit(torch.cat([z, z], 0), t_in, y_in, m_in, fps, h, w)[:, :4]
        v = out[B:] + cfg_scale * (out[:B] - out[B:])
        if i == lpl_step:
            return z + v * (ts[i] / 1000)
        dt = ts[i] - ts[i + 1] if i < steps - 1 else ts[i]
        z = z + v * (dt / 1000)
    return z


def ema_update_(ema: dict, model_sd: dict, decay: float) -> None:
    """ema = decay * ema + (1 - decay) * model, as two multi-tensor kernels (same arithmetic as a per-tensor loop)."""
    with torch.no_grad():
        fe = [ema[k] for k, v in model_sd.items() if v.dtype.is_floating_point]
        fm = [v.detach() for v in model_sd.values() if v.dtype.is_floating_point]
        torch._foreach_mul_(fe, decay)
        torch._foreach_add_(fe, fm, alpha=1 - decay)
        for k, v in model_sd.items():
            if not v.dtype.is_floating_point:
                ema[k].copy_(v)


def lr_at(step: int, base: float, warmup: int, warm_from: int = 0, total: int = 0, final: float = 0.0,
          sched_from: int = 0) -> float:
    """Linear warm-up over `warmup` steps from step `warm_from`; with `total` > 0 also capped by a cosine from `base`
    down to `final` over the `total` steps that follow `sched_from` (the chunk's first step)."""
    lr = base * min(1.0, (step - warm_from + 1) / max(1, warmup))
    if total > 0:
        frac = min(1.0, max(0.0, (step - sched_from) / total))
        lr = min(lr, final + (base - final) * 0.5 * (1 + math.cos(math.pi * frac)))
    return lr


def dit_paths(run: str) -> dict:
    """dit.pt: weights, config, data/RNG state; dit_ema.pt: the EMA; dit_opt.pt: AdamW moments (three files so each
    stays small: the 16 MB transfer limit of a lent GPU, and the committed checkpoint leaves the optimizer out)."""
    return {k: os.path.join(run, f) for k, f in (("main", "dit.pt"), ("ema", "dit_ema.pt"), ("opt", "dit_opt.pt"))}


def checkpoint_ema(ck: dict, paths: dict) -> dict:
    """The EMA of a dit checkpoint: in dit.pt itself (nano-v0/v1) or beside it in dit_ema.pt."""
    return ck["ema"] if "ema" in ck else C.load(paths["ema"])


def load_text_dit(run: str, which: str = "best"):
    """which: best (dit_best.pt, EMA at the best eval), ema (latest EMA), raw (latest raw weights)."""
    bp = os.path.join(run, "dit_best.pt")
    if which == "best" and os.path.exists(bp):
        ck = C.load(bp)
        sd_dit, sd_t5, step = ck["dit"], ck["t5"], ck["step"]
    else:
        paths = dit_paths(run)
        ck = C.load(paths["main"])
        if ck is None:
            sys.exit(f"no {run}/dit.pt: train the denoiser first (train.py dit --run {run})")
        if which == "raw":
            sd_dit, sd_t5 = ck["dit"], ck["t5"]
        else:
            ema = checkpoint_ema(ck, paths)
            sd_dit, sd_t5 = ema["dit"], ema["t5"]
        step = ck["step"]
    t5, dit = build_text_and_dit(ck["t5_cfg"], ck["dit_cfg"])
    t5.load_state_dict(sd_t5)
    dit.load_state_dict(sd_dit)
    t5.eval()
    dit.eval()
    dit.clip_frames = int(ck.get("frames", D.FRAMES))
    D.set_size(int(ck.get("size", D.DEFAULT_SIZE)))  # the run's frame size
    return t5, dit, step
