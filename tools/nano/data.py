"""Synthetic "coloured shape moving over a plain background" clips for Open-Sora Nano (seeded, reproducible).

Clip: 16 frames x 32 x 32 RGB, values in [-1, 1], layout [B, 3, T, H, W] (Open-Sora's pixel layout).
Caption grammar (exact, see VOCABULARY.md):  "a <colour> <shape> <motion> on a <background> background"

Rendering is analytic anti-aliasing on signed distances (coverage = clamp(0.5 - sdf, 0, 1)), vectorised in torch, so
a batch of 16 clips takes a few milliseconds. All three shapes have the same area for the same size parameter r.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch

FRAMES = 16
HEIGHT = 32  # this process's frame: DEFAULT_SIZE until set_size
WIDTH = 32
FPS = 24
SIZES = (32, 64)  # square frame sizes a run may choose (train.py dit --size); geometry scales with the frame
DEFAULT_SIZE = 32  # and the size of every run from before --size (their checkpoints do not say)


def set_size(size: int) -> None:
    """Make `size` x `size` the frame of this process (a run's size, chosen at its start and kept in its checkpoint:
    train.py, export.py and the sampler call this when they load the run). Everything reads HEIGHT / WIDTH at call
    time, so one process works at one size."""
    global HEIGHT, WIDTH
    if size not in SIZES:
        raise ValueError(f"frame size {size}: expected one of {SIZES}")
    HEIGHT = WIDTH = int(size)

# Object colours (RGB 0..255): six hues far apart, no orange (the notes: yellow/orange/red got confused).
COLOURS: Dict[str, Tuple[int, int, int]] = {
    "red": (230, 30, 30),
    "green": (30, 200, 40),
    "blue": (40, 80, 255),
    "yellow": (250, 225, 20),
    "purple": (160, 40, 220),
    "white": (245, 245, 245),
}
SHAPES: List[str] = ["circle", "square", "triangle"]
# motion phrase as it appears in the caption
MOTIONS: List[str] = ["moving left", "moving right", "moving up", "moving down", "growing", "shrinking"]
BACKGROUNDS: Dict[str, Tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "gray": (128, 128, 128),
    "brown": (100, 60, 25),
}
# Travel of a moving shape (pixels at 32 px) along its increasing coordinate.
# Absolute presets, (start range, end range): "wide" (nano-v1) crosses ~75 % of the frame, "v0" (nano-v0) ~60 %.
# In both, where the shape is depends mostly on the frame index (frame 0 always near one edge).
# Relative presets, {"length": range, "lo": .., "hi": ..}: a shorter travel whose start is drawn anywhere in
# [lo, hi - length], and growth by a factor from a random size. STDiT3 has no absolute temporal position (RoPE is
# relative; nano has no causal temporal VAE), so it can only learn what does not depend on the frame index: with
# these presets the direction and speed of change say the motion, not where frame 0 is. "short" keeps the whole
# path inside the frame; "drift" lets it start or end partly outside (closer to time-stationary).
TRAVEL = {"v0": ((5.5, 8.5), (23.5, 26.5)), "wide": ((2.5, 5.5), (26.5, 29.5)),
          "short": {"length": (12.0, 16.0), "lo": 3.0, "hi": 29.0, "r0": (2.5, 4.5), "grow": (1.9, 2.4)},
          "drift": {"length": (12.0, 16.0), "lo": -3.0, "hi": 35.0, "r0": (2.5, 4.5), "grow": (1.9, 2.4)}}
DEFAULT_TRAVEL = "wide"
# opposite motion phrase: a time-reversed clip of one motion is a valid clip of the other
REVERSED_MOTION = {"moving left": "moving right", "moving right": "moving left", "moving up": "moving down",
                   "moving down": "moving up", "growing": "shrinking", "shrinking": "growing"}
# (colour, background) pairs never generated (no contrast)
EXCLUDED = {("white", "white")}

# Tokenizer vocabulary: ids 0..2 special (T5 convention: pad 0, EOS 1, unk 2), then the words in this order.
SPECIAL = ["<pad>", "</s>", "<unk>"]
WORDS: List[str] = (
    ["a", "on", "background", "moving"]
    + [c for c in COLOURS]
    + SHAPES
    + ["left", "right", "up", "down", "growing", "shrinking"]
    + [b for b in BACKGROUNDS if b not in COLOURS]
)
VOCAB: Dict[str, int] = {w: i for i, w in enumerate(SPECIAL + WORDS)}
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
MAX_TOKENS = 16  # caption length the T5 encoder / STDiT3 see (model_max_length), EOS included

_PRETOK = re.compile(r"\w+|[^\w\s]+")  # = HF tokenizers' Whitespace pre-tokenizer


def caption(colour: str, shape: str, motion: str, background: str) -> str:
    return f"a {colour} {shape} {motion} on a {background} background"


def parse_caption(text: str) -> Optional[Tuple[str, str, str, str]]:
    """Inverse of caption(); None when the text does not follow the grammar."""
    m = re.fullmatch(r"a (\w+) (\w+) (moving \w+|growing|shrinking) on a (\w+) background", text.strip().lower())
    if not m:
        return None
    c, s, mo, b = m.groups()
    if c not in COLOURS or s not in SHAPES or mo not in MOTIONS or b not in BACKGROUNDS:
        return None
    return c, s, mo, b


def tokenize(texts: Sequence[str], max_len: int = MAX_TOKENS) -> Tuple[torch.Tensor, torch.Tensor]:
    """Same result as tokenizer.json (WordLevel, Lowercase, Whitespace) + the engine's EOS append + pad to max_len.

    Returns input_ids [B, L] int64 and attention_mask [B, L] int64 (1 for words and EOS)."""
    ids = torch.full((len(texts), max_len), PAD_ID, dtype=torch.int64)
    mask = torch.zeros((len(texts), max_len), dtype=torch.int64)
    for b, t in enumerate(texts):
        toks = [VOCAB.get(w, UNK_ID) for w in _PRETOK.findall(t.lower())][: max_len - 1] + [EOS_ID]
        ids[b, : len(toks)] = torch.tensor(toks)
        mask[b, : len(toks)] = 1
    return ids, mask


def reverse_caption(text: str) -> str:
    """The caption of the time-reversed clip: "moving left" <-> "moving right", "growing" <-> "shrinking"."""
    c = parse_caption(text)
    assert c is not None, text
    return caption(c[0], c[1], REVERSED_MOTION[c[2]], c[3])


def all_combos() -> List[Tuple[str, str, str, str]]:
    return [(c, s, m, b) for c in COLOURS for s in SHAPES for m in MOTIONS for b in BACKGROUNDS
            if (c, b) not in EXCLUDED]


@dataclass
class ClipParams:
    colour: torch.Tensor  # [B, 3] in [-1, 1]
    bg: torch.Tensor  # [B, 3]
    shape: torch.Tensor  # [B] int 0..2
    cx: torch.Tensor  # [B, T] pixel units (centre of pixel i is i + 0.5)
    cy: torch.Tensor  # [B, T]
    r: torch.Tensor  # [B, T] size (circle radius; equal-area square / triangle)


def _rgb(c: Tuple[int, int, int]) -> List[float]:
    return [v / 127.5 - 1.0 for v in c]


def sample_params(combos: Sequence[Tuple[str, str, str, str]], g: torch.Generator, T: int = FRAMES,
                  H: Optional[int] = None, W: Optional[int] = None, travel: str = DEFAULT_TRAVEL) -> ClipParams:
    """Random geometry for the given caption tuples (frame size: the run's, see set_size). Travel is large: see
    TRAVEL."""
    H, W = H or HEIGHT, W or WIDTH
    B = len(combos)
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(B, generator=g)  # noqa: E731
    s = W / 32.0  # geometry is defined for 32 px and scales with the frame
    ramp = torch.linspace(0.0, 1.0, T)[None]  # [1, T]
    preset = TRAVEL[travel]
    if isinstance(preset, dict):  # relative: the same number of draws as the absolute presets
        frac, length = u(0.0, 1.0), u(*preset["length"])
        start = (preset["lo"] + frac * (preset["hi"] - length - preset["lo"])) * s
        end = start + length * s
    else:
        (s0, s1), (e0, e1) = preset
        start = u(s0, s1) * s
        end = u(e0, e1) * s
    perp = u(9.0, 23.0) * s
    size = u(4.0, 5.5) * s
    if isinstance(preset, dict):
        r_small = u(*preset["r0"]) * s
        r_big = r_small * u(*preset["grow"])
    else:
        r_small, r_big = u(2.5, 3.5) * s, u(8.0, 10.0) * s
    ctr_x, ctr_y = u(13.0, 19.0) * s, u(13.0, 19.0) * s
    # Vectorised over the batch (the RNG draws above are the whole randomness, so this is the same clip as the old
    # per-clip loop, bit for bit): one row per motion kind, selected by mask.
    lin = start[:, None] + (end - start)[:, None] * ramp  # [B, T] increasing coordinate
    grow = r_small[:, None] + (r_big - r_small)[:, None] * ramp
    kind = torch.tensor([MOTIONS.index(m) for _, _, m, _ in combos])[:, None]  # MOTIONS order
    is_ = lambda name: kind == MOTIONS.index(name)  # noqa: E731
    horizontal = is_("moving left") | is_("moving right")
    vertical = is_("moving up") | is_("moving down")
    lin_x = torch.where(is_("moving left"), W - lin, lin)
    lin_y = torch.where(is_("moving up"), H - lin, lin)
    cx = torch.where(horizontal, lin_x, torch.where(vertical, perp[:, None], ctr_x[:, None])).expand(B, T).clone()
    cy = torch.where(vertical, lin_y, torch.where(horizontal, perp[:, None], ctr_y[:, None])).expand(B, T).clone()
    r = torch.where(horizontal | vertical, size[:, None], torch.where(is_("growing"), grow, grow.flip(1)))
    r = r.expand(B, T).clone()
    colour = torch.tensor([_rgb(COLOURS[c]) for c, _, _, _ in combos])
    bg = torch.tensor([_rgb(BACKGROUNDS[b]) for _, _, _, b in combos])
    shape = torch.tensor([SHAPES.index(sh) for _, sh, _, _ in combos])
    return ClipParams(colour, bg, shape, cx, cy, r)


def render(p: ClipParams, H: Optional[int] = None, W: Optional[int] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """-> video [B, 3, T, H, W] in [-1, 1], coverage [B, 1, T, H, W] in [0, 1]."""
    H, W = H or HEIGHT, W or WIDTH
    dev = p.cx.device
    ys = (torch.arange(H, dtype=torch.float32, device=dev) + 0.5)[None, None, :, None]
    xs = (torch.arange(W, dtype=torch.float32, device=dev) + 0.5)[None, None, None, :]
    dx = xs - p.cx[:, :, None, None]  # [B, T, H, W]
    dy = ys - p.cy[:, :, None, None]
    r = p.r[:, :, None, None]
    sd_circle = torch.sqrt(dx * dx + dy * dy) - r
    sd_square = torch.maximum(dx.abs(), dy.abs()) - r * math.sqrt(math.pi) / 2
    ri = r * math.sqrt(math.pi / (3 * math.sqrt(3)))  # inradius of the equal-area equilateral triangle (apex up)
    sd_tri = torch.maximum(torch.maximum(dy, 0.8660254 * dx - 0.5 * dy), -0.8660254 * dx - 0.5 * dy) - ri
    sh = p.shape[:, None, None, None]
    sd = torch.where(sh == 0, sd_circle, torch.where(sh == 1, sd_square, sd_tri))
    cov = (0.5 - sd).clamp(0.0, 1.0)[:, None]  # [B, 1, T, H, W]
    col = p.colour[:, :, None, None, None]
    bg = p.bg[:, :, None, None, None]
    return bg + (col - bg) * cov, cov


class ClipStream:
    """Infinite seeded stream of (video, coverage, captions). state_dict()/load_state_dict() make it resumable."""

    def __init__(self, seed: int, H: Optional[int] = None, W: Optional[int] = None, T: int = FRAMES,
                 travel: str = DEFAULT_TRAVEL):
        self.g = torch.Generator().manual_seed(int(seed))
        self.combos = all_combos()
        self.H, self.W, self.T, self.travel = H or HEIGHT, W or WIDTH, T, travel

    def batch(self, B: int, device: Optional[torch.device] = None) -> Tuple[torch.Tensor, torch.Tensor, List[str]]:
        """Parameters come from the CPU generator (same stream on every device); rendering runs on `device`."""
        idx = torch.randint(len(self.combos), (B,), generator=self.g).tolist()
        combos = [self.combos[i] for i in idx]
        p = sample_params(combos, self.g, self.T, self.H, self.W, self.travel)
        if device is not None:
            p = ClipParams(*(getattr(p, f).to(device) for f in ("colour", "bg", "shape", "cx", "cy", "r")))
        video, cov = render(p, self.H, self.W)
        return video, cov, [caption(*c) for c in combos]

    def state_dict(self) -> dict:
        return {"g": self.g.get_state()}

    def load_state_dict(self, sd: dict) -> None:
        self.g.set_state(sd["g"])


def eval_prompts(n: int = 24) -> List[str]:
    """A fixed, balanced prompt list: every colour and every motion appears n/6 times; shapes and backgrounds rotate."""
    colours, bgs = list(COLOURS), list(BACKGROUNDS)
    out = []
    for i in range(n):
        c = colours[i % 6]
        m = MOTIONS[(i + i // 6) % 6]
        s = SHAPES[(i + i // 3) % 3]
        k = (i // 2) % 4
        while (c, bgs[k]) in EXCLUDED:
            k = (k + 1) % 4
        out.append(caption(c, s, m, bgs[k]))
    return out


def render_prompts(prompts: Sequence[str], seed: int = 0, travel: str = DEFAULT_TRAVEL,
                   T: int = FRAMES) -> Tuple[torch.Tensor, torch.Tensor]:
    """Ground-truth clips for prompts (used to check the scorers and the VAE round trip)."""
    combos = [parse_caption(p) for p in prompts]
    assert all(c is not None for c in combos), prompts
    g = torch.Generator().manual_seed(seed)
    return render(sample_params(combos, g, T=T, travel=travel))  # type: ignore[arg-type]
