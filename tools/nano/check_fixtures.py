#!/usr/bin/env python3
"""Check tools/nano/models.py against the golden T5 and VAE fixtures (tests/fixtures/{t5-tiny,vae-tiny}).

T5Encoder on t5-tiny (HF modeling_t5 output), and NanoVAE's SD-VAE decoder on vae-tiny's `spatial_only` case
(Open-Sora's VideoAutoencoderKL.decode, diffusers 0.27.2). Prints one JSON line; exit 0 when both are within 1e-4.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import setup_threads  # noqa: E402

setup_threads(sys.argv)
import numpy as np  # noqa: E402
import torch  # noqa: E402

import models as M  # noqa: E402
import safetensors_np as st  # noqa: E402  (tools/reference, on sys.path via models)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures")


def t5_check() -> float:
    d = os.path.join(ROOT, "t5-tiny")
    cfg = json.load(open(os.path.join(d, "config.json")))
    keys = ["vocab_size", "d_model", "d_kv", "num_heads", "d_ff", "num_layers", "relative_attention_num_buckets",
            "relative_attention_max_distance", "layer_norm_epsilon"]
    m = M.T5Encoder({k: cfg[k] for k in keys})
    w = {k: torch.from_numpy(v.copy()) for k, v in st.load(os.path.join(d, "weights.safetensors")).items()}
    if "shared.weight" not in w:
        w["shared.weight"] = w["encoder.embed_tokens.weight"]
    w.pop("encoder.embed_tokens.weight", None)
    m.load_state_dict(w, strict=True)
    f = st.load(os.path.join(d, "forward.safetensors"))
    with torch.no_grad():
        out = m(torch.from_numpy(f["in.input_ids"]).long(), torch.from_numpy(f["in.attention_mask"]).long())
    b = M.relative_position_bucket(f["in.input_ids"].shape[1]).numpy()
    assert (b == f["ref.relative_position_bucket"]).all(), "bucket mismatch"
    return float(np.abs(out.numpy() - f["out.last_hidden_state"]).max())


def vae_check() -> float:
    d = os.path.join(ROOT, "vae-tiny")
    man = json.load(open(os.path.join(d, "manifest.json")))
    sc = man["config"]["spatial_vae"]
    v = M.NanoVAE({k: sc[k] for k in ["block_out_channels", "layers_per_block", "norm_num_groups", "latent_channels",
                                      "in_channels", "out_channels"]})
    w = {k: torch.from_numpy(x.copy()) for k, x in st.load(os.path.join(d, "weights.safetensors")).items()
         if not k.startswith("temporal_vae.")}
    v.load_state_dict(w, strict=True)
    f = st.load(os.path.join(d, "decode.safetensors"))
    z = torch.from_numpy(f["spatial_only.z"])
    with torch.no_grad():
        x = v._from_frames(v.decode_frames(v._to_frames(z)), z.shape[0])
    return float(np.abs(x.numpy() - f["spatial_only.x"]).max())


if __name__ == "__main__":
    rep = {"t5_max_abs_err": t5_check(), "vae_spatial_max_abs_err": vae_check()}
    rep["ok"] = rep["t5_max_abs_err"] < 1e-4 and rep["vae_spatial_max_abs_err"] < 1e-4
    print(json.dumps(rep))
    sys.exit(0 if rep["ok"] else 1)
