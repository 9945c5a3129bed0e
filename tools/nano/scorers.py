"""Quick automatic scores for generated Nano clips (no learned model, pure numpy/torch arithmetic).

For a clip [3, T, H, W] in [-1, 1] and its prompt:
- background: median colour of the border pixels over all frames -> nearest background of the palette;
- colour: mean colour of the pixels far from the background -> nearest object colour of the palette;
- coverage: linear unmixing of every pixel between the background and the predicted object colour;
- motion: coverage-weighted centroid and area per frame; a large area change with little travel is growing /
  shrinking, otherwise the dominant axis of the first-quarter -> last-quarter centroid displacement;
- shape: median over frames of fill = area / bounding-box area (circle pi/4, square 1, triangle 1/2).
On the ground-truth renderer every attribute scores 1.0 (checked by `train.py eval`).
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import torch

import data as D

_BG = {k: torch.tensor(v, dtype=torch.float32) / 255 for k, v in D.BACKGROUNDS.items()}
_COL = {k: torch.tensor(v, dtype=torch.float32) / 255 for k, v in D.COLOURS.items()}


def _nearest(c: torch.Tensor, pal: Dict[str, torch.Tensor], exclude: Optional[str] = None) -> str:
    best, bd = "", float("inf")
    for k, v in pal.items():
        if k == exclude:
            continue
        d = float(((c - v) ** 2).sum())
        if d < bd:
            best, bd = k, d
    return best


def analyse(video: torch.Tensor) -> dict:
    """video [3, T, H, W] in [-1, 1] -> predicted attributes + per-frame centroid/area."""
    x = ((video.detach().float().clamp(-1, 1) + 1) / 2).permute(1, 2, 3, 0)  # [T, H, W, 3]
    T, H, W, _ = x.shape
    border = torch.cat([x[:, 0].reshape(-1, 3), x[:, -1].reshape(-1, 3), x[:, :, 0].reshape(-1, 3),
                        x[:, :, -1].reshape(-1, 3)], 0)
    bg_col = border.median(0).values
    bg = _nearest(bg_col, _BG)
    diff = (x - bg_col).norm(dim=-1)  # [T, H, W]
    strong = diff > 0.35
    if int(strong.sum()) < 4:
        return {"background": bg, "colour": None, "shape": None, "motion": None, "present": False}
    col_mean = x[strong].mean(0)
    colour = _nearest(col_mean, _COL, exclude=bg if bg in _COL else None)
    d = _COL[colour] - bg_col
    cov = (((x - bg_col) * d).sum(-1) / max(float((d * d).sum()), 1e-6)).clamp(0, 1)  # [T, H, W]
    cov = torch.where(diff > 0.12, cov, torch.zeros_like(cov))  # ignore faint noise
    area = cov.sum((1, 2))  # [T]
    ys = torch.arange(H, dtype=torch.float32)[None, :, None] + 0.5
    xs = torch.arange(W, dtype=torch.float32)[None, None, :] + 0.5
    cx = (cov * xs).sum((1, 2)) / area.clamp_min(1e-6)
    cy = (cov * ys).sum((1, 2)) / area.clamp_min(1e-6)
    q = max(1, T // 4)
    ok = area > 2.0
    if int(ok[:q].sum()) == 0 or int(ok[-q:].sum()) == 0:
        motion = None
    else:
        def seg(v, sl):  # mean over the frames of a segment where the object is present
            m = ok[sl]
            return float(v[sl][m].mean())

        dx = seg(cx, slice(T - q, T)) - seg(cx, slice(0, q))
        dy = seg(cy, slice(T - q, T)) - seg(cy, slice(0, q))
        la = math.log(max(seg(area, slice(T - q, T)), 1e-3) / max(seg(area, slice(0, q)), 1e-3))
        travel = math.hypot(dx, dy)
        if abs(la) > 0.8 and travel < 0.25 * W:
            motion = "growing" if la > 0 else "shrinking"
        elif travel < 0.1 * W:
            motion = None  # wobbles in place
        elif abs(dx) >= abs(dy):
            motion = "moving right" if dx > 0 else "moving left"
        else:
            motion = "moving down" if dy > 0 else "moving up"
    fills = []
    for t in range(T):
        if float(area[t]) < 10:
            continue
        m = cov[t] > 0.5
        rows = m.any(1).nonzero().flatten()
        cols = m.any(0).nonzero().flatten()
        if len(rows) == 0:
            continue
        if rows[0] == 0 or cols[0] == 0 or rows[-1] == H - 1 or cols[-1] == W - 1:
            continue  # touching the frame: bbox is clipped
        box = float((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1))
        fills.append(float(area[t]) / box)
    shape = None
    if fills:
        f = sorted(fills)[len(fills) // 2]
        shape = "square" if f > 0.89 else ("circle" if f > 0.64 else "triangle")
    return {"background": bg, "colour": colour, "shape": shape, "motion": motion, "present": True,
            "fill": (sorted(fills)[len(fills) // 2] if fills else None),
            "centroid": [[round(float(a), 2), round(float(b), 2)] for a, b in zip(cx, cy)],
            "area": [round(float(a), 1) for a in area]}


KEYS = ["colour", "shape", "motion", "background"]


def score(videos: torch.Tensor, prompts: Sequence[str]) -> dict:
    """videos [B, 3, T, H, W] in [-1, 1]. Returns per-attribute accuracies, their mean ('score') and per-clip rows."""
    rows: List[dict] = []
    hits = {k: 0 for k in KEYS}
    for v, p in zip(videos, prompts):
        want = D.parse_caption(p)
        a = analyse(v)
        truth = dict(zip(["colour", "shape", "motion", "background"], want)) if want else {}
        row = {"prompt": p, **{k: a.get(k) for k in KEYS}}
        for k in KEYS:
            ok = truth.get(k) is not None and a.get(k) == truth.get(k)
            hits[k] += int(ok)
            row[k + "_ok"] = ok
        rows.append(row)
    n = max(1, len(rows))
    acc = {k: hits[k] / n for k in KEYS}
    return {"n": len(rows), **acc, "score": sum(acc.values()) / len(KEYS), "clips": rows}
