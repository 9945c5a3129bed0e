#!/usr/bin/env python3
"""PyTorch reference outputs of an exported Open-Sora Nano bundle, for the engine-vs-PyTorch test.

  /usr/bin/python3 tools/nano/dump_reference.py --model models/opensora-nano --out /tmp/nano-ref.safetensors \
      [--prompt "a red circle moving right on a black background"] [--seed 0] [--threads 1]

Loads the bundle (text_encoder/, vae/, stdit/ as tools/nano/export.py writes them) strictly into the PyTorch modules
of tools/nano/models.py (float32) and, for one fixed prompt and seeded latents, computes

  text.*   the prompt's token ids / mask (tokenizer.json's WordLevel vocabulary, lowercase, whitespace split, EOS 1
           appended, pad 0 to model_max_length: what the engine's tokenizer does) and T5's last_hidden_state;
  stdit.*  one STDiT3 forward under CFG batch 2: y = [prompt states, the null caption y_embedding], the prompt's mask
           for both rows, a seeded z [1, 4, T, H, W] duplicated, t = [700, 700], fps 24, height/width in pixels from
           stdit/config.json's sampling block; plain (out_plain) and with TDTM (out_tdtm);
  vae.*    the decode of a seeded latent [1, 4, T, H, W] (no temporal VAE: z·scale + shift, /0.18215, SD decoder).

Writes every input and output as F32 / I64 tensors (safetensors) and prints a JSON summary (shapes, prompt).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import setup_threads  # noqa: E402

setup_threads(sys.argv)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import models as M  # noqa: E402
import safetensors_np as st  # noqa: E402

DEFAULT_PROMPT = "a red circle moving right on a black background"
TIMESTEP = 700.0
_PRETOK = re.compile(r"\w+|[^\w\s]+")  # HF tokenizers' Whitespace pre-tokenizer


def _json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def _load_strict(module: torch.nn.Module, path: str) -> None:
    sd = {k: torch.from_numpy(np.asarray(v, dtype=np.float32).copy()) for k, v in st.load(path).items()}
    module.load_state_dict(sd, strict=True)
    module.eval()


def tokenize(tokenizer: dict, text: str, max_len: int):
    """WordLevel ids of the lowercased, whitespace-split text, truncated to max_len − 1, EOS (1), pad (0)."""
    model = tokenizer["model"]
    if model.get("type") != "WordLevel":
        raise SystemExit(f"tokenizer.json: model type {model.get('type')!r}, expected WordLevel")
    vocab = model["vocab"]
    unk = vocab[model.get("unk_token", "<unk>")]
    eos, pad = vocab.get("</s>", 1), vocab.get("<pad>", 0)
    if (eos, pad) != (1, 0):
        raise SystemExit(f"tokenizer.json: </s> = {eos}, <pad> = {pad}; the engine assumes 1 and 0")
    toks = [vocab.get(w, unk) for w in _PRETOK.findall(text.lower())][: max_len - 1] + [eos]
    ids = torch.full((1, max_len), pad, dtype=torch.int64)
    mask = torch.zeros((1, max_len), dtype=torch.int64)
    ids[0, : len(toks)] = torch.tensor(toks, dtype=torch.int64)
    mask[0, : len(toks)] = 1
    return ids, mask


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="exported bundle (text_encoder/, vae/, stdit/)")
    p.add_argument("--out", required=True, help="output .safetensors")
    p.add_argument("--prompt", default=DEFAULT_PROMPT)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    d = a.model

    # text encoder
    tcfg = _json(os.path.join(d, "text_encoder", "config.json"))
    t5 = M.T5Encoder({k: tcfg[k] for k in M.DEFAULT_T5})
    _load_strict(t5, os.path.join(d, "text_encoder", "model.safetensors"))
    tok_cfg_path = os.path.join(d, "text_encoder", "tokenizer_config.json")
    scfg = _json(os.path.join(d, "stdit", "config.json"))
    max_len = int(scfg["model_max_length"])
    if os.path.exists(tok_cfg_path):
        max_len = int(_json(tok_cfg_path).get("model_max_length", max_len))
    ids, mask = tokenize(_json(os.path.join(d, "text_encoder", "tokenizer.json")), a.prompt, max_len)

    # vae
    vcfg = _json(os.path.join(d, "vae", "config.json"))
    if vcfg.get("temporal"):
        raise SystemExit("vae/config.json: temporal VAE bundles are not supported (Nano has none)")
    sv = vcfg["spatial_vae"]
    vae = M.NanoVAE({k: sv[k] for k in M.DEFAULT_VAE})
    _load_strict(vae, os.path.join(d, "vae", "model.safetensors"))

    # stdit
    dit = M.STDiT3(M.STDiT3Config.from_dict(scfg))
    _load_strict(dit, os.path.join(d, "stdit", "model.safetensors"))
    samp = scfg["sampling"]
    C, T, H, W = (int(v) for v in samp["latent_size"])
    fps, hpx, wpx = float(samp["fps"]), float(samp["height"]), float(samp["width"])

    g = torch.Generator().manual_seed(a.seed)
    z_dit = torch.randn(1, C, T, H, W, generator=g)
    z_vae = torch.randn(1, C, T, H, W, generator=g)

    with torch.no_grad():
        y_text = t5(ids, mask)  # [1, L, D]
        y = torch.cat([y_text, dit.y_embedder.y_embedding[None].to(torch.float32)], 0)[:, None]  # [2, 1, L, D]
        x = torch.cat([z_dit, z_dit], 0)
        t = torch.tensor([TIMESTEP, TIMESTEP], dtype=torch.float32)
        cond = (torch.tensor([fps]), torch.tensor([hpx]), torch.tensor([wpx]))
        out_plain = dit(x, t, y, mask, *cond, tdtm=False)
        out_tdtm = dit(x, t, y, mask, *cond, tdtm=True)
        video = vae.decode(z_vae)

    f32 = lambda v: v.detach().to(torch.float32).contiguous().numpy()  # noqa: E731
    tensors = {
        "text.input_ids": ids.numpy(),
        "text.attention_mask": mask.numpy(),
        "text.last_hidden_state": f32(y_text),
        "stdit.x": f32(x),
        "stdit.timestep": f32(t),
        "stdit.y": f32(y),
        "stdit.mask": mask.numpy(),
        "stdit.fps": f32(cond[0]),
        "stdit.height": f32(cond[1]),
        "stdit.width": f32(cond[2]),
        "stdit.out_plain": f32(out_plain),
        "stdit.out_tdtm": f32(out_tdtm),
        "vae.z": f32(z_vae),
        "vae.video": f32(video),
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    st.save(a.out, tensors, metadata={"prompt": a.prompt, "seed": str(a.seed), "model": os.path.abspath(d)})
    print(json.dumps({"ok": True, "out": a.out, "prompt": a.prompt,
                      "shapes": {k: list(v.shape) for k, v in tensors.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
