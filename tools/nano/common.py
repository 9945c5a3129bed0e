"""Shared helpers: thread setup (call before importing torch), checkpoints, JSON logs, GIF/PNG output."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Dict, Optional

HERE = os.path.dirname(os.path.abspath(__file__))


def setup_threads(argv) -> int:
    """Read --threads N from argv (default 1) and set the BLAS/OpenMP env vars before torch is imported."""
    n = 1
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            n = int(argv[i + 1])
        elif a.startswith("--threads="):
            n = int(a.split("=", 1)[1])
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = str(n)
    sys.path.insert(0, HERE)
    return n


def save_atomic(obj: Any, path: str) -> None:
    import torch

    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load(path: str) -> Optional[dict]:
    import torch

    if not os.path.exists(path):
        return None
    try:  # our own checkpoints hold config dicts and RNG states: torch >= 2.6 defaults to weights_only=True
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # torch without the keyword
        return torch.load(path, map_location="cpu")


class JsonLog:
    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)

    def write(self, **rec: Any) -> None:
        rec.setdefault("time", round(time.time(), 3))
        line = json.dumps(rec, separators=(",", ":"))
        with open(self.path, "a") as f:
            f.write(line + "\n")
        print(line, flush=True)


def to_uint8(video) -> "Any":
    """[3, T, H, W] in [-1, 1] -> uint8 numpy [T, H, W, 3] (Open-Sora save_sample rounding)."""
    import torch

    x = ((video.detach().float().clamp(-1, 1) + 1) / 2 * 255 + 0.5).clamp(0, 255).to(torch.uint8)
    return x.permute(1, 2, 3, 0).numpy()


def write_gif(path: str, video, scale: int = 4, fps: int = 8) -> bool:
    try:
        from PIL import Image
    except Exception:
        return False
    frames = to_uint8(video)
    imgs = [Image.fromarray(f).resize((f.shape[1] * scale, f.shape[0] * scale), Image.NEAREST) for f in frames]
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=int(1000 / fps), loop=0)
    return True


def write_sheet(path: str, videos, scale: int = 2) -> bool:
    """Contact sheet PNG: one row per clip, one column per frame."""
    try:
        import numpy as np
        from PIL import Image
    except Exception:
        return False
    rows = [np.concatenate(list(to_uint8(v)), axis=1) for v in videos]
    sheet = np.concatenate(rows, axis=0)
    im = Image.fromarray(sheet)
    im.resize((im.width * scale, im.height * scale), Image.NEAREST).save(path)
    return True
