"""Quick automatic scores for generated Nano clips (no learned model, pure numpy/torch arithmetic).

For a clip [3, T, H, W] in [-1, 1] and its prompt:
- background: median colour of the border pixels over all frames -> nearest background of the palette;
- colour: mean colour of the pixels far from the background -> nearest object colour of the palette;
- coverage: linear unmixing of every pixel between the background and the predicted object colour;
- motion: coverage-weighted centroid and area per frame; a large area change with little travel is growing /
  shrinking, otherwise the dominant axis of the first-quarter -> last-quarter centroid displacement;
- shape: in every frame where the object is whole (>= 10 px, not touching the edge), the silhouette of the
  coverage > 0.5 mask (specks under 20 % of the largest component dropped, then its convex hull: holes and sagging
  sides filled, as a person reads an outline) is matched by IoU against the square, inscribed ellipse and apex-up
  triangle of its bounding box; area-weighted over frames, the best match wins. As shared/metrics/analysis.ts
  (silhouette.ts) does for nanobench; the median fill ratio is still reported.
On the ground-truth renderer every attribute scores 1.0 (checked by `train.py eval`).
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

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


SHAPES = ("circle", "square", "triangle")
SPECK_FRACTION = 0.2


def _components(m: torch.Tensor) -> List[List[Tuple[int, int]]]:
    """8-connected components of a 2-D bool mask, as lists of (y, x)."""
    H, W = m.shape
    grid = m.tolist()
    seen = [[False] * W for _ in range(H)]
    comps = []
    for y0 in range(H):
        for x0 in range(W):
            if not grid[y0][x0] or seen[y0][x0]:
                continue
            seen[y0][x0] = True
            stack, comp = [(y0, x0)], []
            while stack:
                y, x = stack.pop()
                comp.append((y, x))
                for ny in (y - 1, y, y + 1):
                    for nx in (x - 1, x, x + 1):
                        if 0 <= ny < H and 0 <= nx < W and grid[ny][nx] and not seen[ny][nx]:
                            seen[ny][nx] = True
                            stack.append((ny, nx))
            comps.append(comp)
    return comps


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def silhouette(m: torch.Tensor) -> torch.Tensor:
    """Specks (components < 20 % of the largest) dropped, then every pixel whose centre is inside or on the convex
    hull of the kept pixel centres (monotone chain). Rendered circles, squares and triangles come back unchanged."""
    comps = _components(m)
    if not comps:
        return m.clone()
    keep = SPECK_FRACTION * max(len(c) for c in comps)
    pts = sorted((x, y) for c in comps if len(c) >= keep for (y, x) in c)
    kept = torch.zeros_like(m)
    if pts:
        kept[torch.tensor([p[1] for p in pts]), torch.tensor([p[0] for p in pts])] = True
    if len(pts) <= 2:
        return kept
    lower, upper = [], []
    for q in pts:
        while len(lower) >= 2 and _cross(lower[-2], lower[-1], q) <= 0:
            lower.pop()
        lower.append(q)
    for q in reversed(pts):
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], q) <= 0:
            upper.pop()
        upper.append(q)
    hull = lower[:-1] + upper[:-1]
    if len(hull) < 3:
        return kept
    H, W = m.shape
    gy, gx = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    out = torch.ones_like(m)
    for k in range(len(hull)):
        (ox, oy), (ax, ay) = hull[k], hull[(k + 1) % len(hull)]
        out &= (ax - ox) * (gy - oy) - (ay - oy) * (gx - ox) >= -1e-9
    return out


def box_ious(sil: torch.Tensor) -> Dict[str, float]:
    """IoU of a silhouette with the square, inscribed ellipse and apex-up triangle (base on the bottom edge, apex at
    the top centre) of its bounding box, at pixel centres."""
    rows = sil.any(1).nonzero().flatten()
    cols = sil.any(0).nonzero().flatten()
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    s = sil[y0:y1 + 1, x0:x1 + 1]
    bh, bw = s.shape
    v = ((torch.arange(bh, dtype=torch.float32) + 0.5) / bh)[:, None].expand(bh, bw)
    u = ((torch.arange(bw, dtype=torch.float32) + 0.5) / bw)[None, :].expand(bh, bw)
    templates = {"circle": (u - 0.5) ** 2 + (v - 0.5) ** 2 < 0.25, "square": torch.ones_like(s),
                 "triangle": (u - 0.5).abs() <= v / 2}
    return {k: float((s & t).sum()) / max(1.0, float((s | t).sum())) for k, t in templates.items()}


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
    acc = {k: 0.0 for k in SHAPES}
    wsum = 0.0
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
        for k, v in box_ious(silhouette(m)).items():
            acc[k] += float(area[t]) * v
        wsum += float(area[t])
    shape = max(SHAPES, key=lambda k: acc[k]) if wsum > 0 else None
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
