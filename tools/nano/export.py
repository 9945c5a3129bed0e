#!/usr/bin/env python3
"""Export an Open-Sora Nano run to the bundle the engine loads (Open-Sora formats, float32 safetensors).

  /usr/bin/python3 tools/nano/export.py --run runs/nano --out bundle/opensora-nano [--weights best|ema|raw]

Writes
  text_encoder/model.safetensors, config.json (HF T5Config), tokenizer.json (HF tokenizers, WordLevel),
               tokenizer_config.json, special_tokens_map.json
  vae/model.safetensors (spatial_vae.module.* + scale + shift), config.json (temporal: false)
  stdit/model.safetensors (STDiT3 keys, spec 2), config.json (STDiT3 snake_case config + sampling notes)
  model_card.md, manifest.json (files, sizes, sha256, key counts)
and then reloads every file strictly into fresh modules and checks the outputs match (exit 1 if not).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import setup_threads  # noqa: E402

setup_threads(sys.argv)

import torch  # noqa: E402

import common as C  # noqa: E402
import data as D  # noqa: E402
import models as M  # noqa: E402
import safetensors_np as st  # noqa: E402
import core as TR  # noqa: E402


def tokenizer_json() -> dict:
    """Hugging Face tokenizers JSON: WordLevel over the Nano vocabulary, Lowercase normalizer, Whitespace
    pre-tokenizer, no post-processor (the engine appends </s> and pads to model_max_length itself)."""
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, t in enumerate(D.SPECIAL)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": dict(D.VOCAB), "unk_token": "<unk>"},
    }


def _np(sd: dict) -> dict:
    return {k: v.detach().to(torch.float32).contiguous().numpy() for k, v in sd.items()}


def _log_records(path: str) -> list:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _sha(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--weights", default="best", choices=["best", "ema", "raw"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cfg", type=float, default=7.0, help="recommended guidance scale written to the config")
    p.add_argument("--steps", type=int, default=30, help="recommended sampling steps written to the config")
    a = p.parse_args(argv)

    vae, vck = TR.load_vae(a.run)
    t5, dit, step = TR.load_text_dit(a.run, a.weights)
    frames = TR.clip_frames(dit)
    dck = C.load(os.path.join(a.run, "dit.pt"))
    best_eval = None
    bp = os.path.join(a.run, "dit_best.pt")
    if a.weights == "best" and os.path.exists(bp):
        best_eval = C.load(bp).get("eval")
    log = _log_records(os.path.join(a.run, "log.jsonl"))
    if best_eval is None and a.weights == "ema":  # the EMA eval the run logged at this step, if any
        evals = [r for r in log if r.get("stage") == "dit" and r.get("event") == "eval" and r.get("step") == step]
        if evals:
            best_eval = {k: evals[-1][k] for k in ("colour", "shape", "motion", "background", "score") if k in evals[-1]}
    devices = sorted({str(r.get("device", "cpu")).split(":")[0] for r in log if r.get("event") == "start"})
    trained_on = "on CPU" if devices in ([], ["cpu"]) else "on CPU, then on a lent GPU (" + ", ".join(
        sorted({str(r["gpu"]) for r in log if r.get("gpu")})) + ")"
    out = a.out
    for sub in ("text_encoder", "vae", "stdit"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)

    # text encoder
    t5_sd = _np(t5.state_dict())
    meta = {"format": "pt", "model": "opensora-nano"}
    st.save(os.path.join(out, "text_encoder", "model.safetensors"), t5_sd, metadata=meta)
    t5c = t5.hf_config()
    t5c["n_positions"] = D.MAX_TOKENS
    with open(os.path.join(out, "text_encoder", "config.json"), "w") as f:
        json.dump(t5c, f, indent=2)
    with open(os.path.join(out, "text_encoder", "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f, indent=2)
    with open(os.path.join(out, "text_encoder", "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": D.MAX_TOKENS,
                   "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>", "do_lower_case": True,
                   "padding_side": "right", "engine_appends_eos": True}, f, indent=2)
    with open(os.path.join(out, "text_encoder", "special_tokens_map.json"), "w") as f:
        json.dump({"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}, f, indent=2)

    # vae
    vae_sd = _np(vae.state_dict())
    st.save(os.path.join(out, "vae", "model.safetensors"), vae_sd, metadata=meta)
    vcfg = vae.export_config(frames, D.HEIGHT, D.WIDTH)
    with open(os.path.join(out, "vae", "config.json"), "w") as f:
        json.dump(vcfg, f, indent=2)

    # stdit
    dit_sd = _np(dit.state_dict())
    st.save(os.path.join(out, "stdit", "model.safetensors"), dit_sd, metadata=meta)
    lat_h, lat_w = D.HEIGHT // vae.factor, D.WIDTH // vae.factor
    pT, pH, pW = dit.cfg.patch_size
    scfg = {
        "_class_name": "STDiT3", "model_type": "STDiT3", "architectures": ["STDiT3"],
        **dit.cfg.to_dict(),
        "class_dropout_prob": 0.1, "drop_path": 0.0, "enable_flash_attn": False, "enable_layernorm_kernel": False,
        "freeze_y_embedder": True, "skip_y_embedder": False, "only_train_temporal": False,
        "enable_sequence_parallelism": False, "input_size": [None, None, None],
        "sampling": {
            "scheduler": "rflow", "num_sampling_steps": a.steps, "cfg_scale": a.cfg, "num_timesteps": 1000,
            "use_discrete_timesteps": True, "use_timestep_transform": False,
            "use_timestep_transform_note": "trained WITHOUT the timestep transform; with 16 pixel frames the spec 6.1 "
                                           "formula has nf = (16 // 17) * 5 = 0, i.e. every timestep would be 0",
            "fps": D.FPS, "num_frames": frames, "height": D.HEIGHT, "width": D.WIDTH,
            "latent_size": [vae.cfg["latent_channels"], frames, lat_h, lat_w],
            "tokens": TR.tokens_per_clip(dit.cfg.to_dict(), frames, (lat_h, lat_w)),
            "caption_max_length": D.MAX_TOKENS,
            "aesthetic_score": None,
            "prompt_note": "trained on bare captions: append NO aesthetic-score suffix (its words are <unk> here); "
                           "tokenize to caption_max_length (EOS appended, pad 0), the null caption is y_embedding",
        },
        "training": {"step": step, "weights": a.weights, "dit_steps_total": dck["step"],
                     "vae_steps": vck["step"], "eval": best_eval},
    }
    with open(os.path.join(out, "stdit", "config.json"), "w") as f:
        json.dump(scfg, f, indent=2)

    # verify: strict reload into fresh modules, identical outputs
    errs = {}
    t5b = M.T5Encoder(t5.cfg)
    t5b.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in
                         st.load(os.path.join(out, "text_encoder", "model.safetensors")).items()}, strict=True)
    ids, mask = D.tokenize(D.eval_prompts(4))
    with torch.no_grad():
        errs["t5"] = float((t5b(ids, mask) - t5(ids, mask)).abs().max())
    vb = M.NanoVAE(vae.cfg)
    vb.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in
                        st.load(os.path.join(out, "vae", "model.safetensors")).items()}, strict=True)
    z = torch.randn(1, 4, 2, lat_h, lat_w, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        errs["vae"] = float((vb.decode(z) - vae.decode(z)).abs().max())
    db = M.STDiT3(M.STDiT3Config.from_dict(scfg))
    db.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in
                        st.load(os.path.join(out, "stdit", "model.safetensors")).items()}, strict=True)
    y = t5(ids[:1], mask[:1])[:, None]
    fps, h, w = TR.cond_tensors(1)
    x = torch.randn(1, 4, frames, lat_h, lat_w, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        errs["stdit"] = float((db(x, torch.tensor([500.0]), y, mask[:1], fps, h, w)
                               - dit(x, torch.tensor([500.0]), y, mask[:1], fps, h, w)).abs().max())

    files = {}
    total = 0
    for root, _, names in os.walk(out):
        for n in sorted(names):
            fp = os.path.join(root, n)
            rel = os.path.relpath(fp, out)
            if rel.split(os.sep)[0] not in ("text_encoder", "vae", "stdit"):
                continue  # model card, manifest, samples, benchmark results
            size = os.path.getsize(fp)
            total += size
            files[rel] = {"bytes": size, "sha256": _sha(fp)}
    counts = {"text_encoder": (len(t5_sd), sum(v.size for v in t5_sd.values())),
              "vae": (len(vae_sd), sum(v.size for v in vae_sd.values())),
              "stdit": (len(dit_sd), sum(v.size for v in dit_sd.values()))}
    card = f"""# Open-Sora Nano

A tiny text-to-video model in the Open-Sora v1.2 formats (T5 v1.1 encoder, SD-VAE-layout autoencoder without the
temporal VAE, STDiT3 denoiser), trained from scratch {trained_on} on synthetic clips by `tools/nano` (see its README).

- Clip: {frames} frames, {D.HEIGHT}x{D.WIDTH} px, fps {D.FPS}; latent {vcfg['clip']['latent']} (spatial x{vae.factor},
  no temporal compression); patch {pT}x{pH}x{pW} -> {scfg['sampling']['tokens']} tokens.
- Prompts: exactly `a <colour> <shape> <motion> on a <background> background` (vocabulary in tools/nano/VOCABULARY.md);
  max {D.MAX_TOKENS} tokens incl. EOS. Words outside the vocabulary map to `<unk>`.
- Sizes (state-dict entries / numbers): text encoder {counts['text_encoder'][0]} / {counts['text_encoder'][1]:,};
  VAE {counts['vae'][0]} / {counts['vae'][1]:,}; STDiT3 {counts['stdit'][0]} / {counts['stdit'][1]:,}.
  Files total {total / 1e6:.2f} MB (float32).
- Sampling: RFLOW, {a.steps} steps, CFG {a.cfg}, **no timestep transform** (see stdit/config.json `sampling`).
- Training: VAE {vck['step']} steps; denoiser + T5 (trained jointly) {dck['step']} steps; exported weights:
  {a.weights} (step {step}).
- Automatic eval of the exported weights (the training run's last eval of them; accuracies): {json.dumps(best_eval)}.

Limitations: a toy. It knows only the documented vocabulary; shapes are small and soft; quality depends on how long
the run trained (see the eval numbers above).
"""
    with open(os.path.join(out, "model_card.md"), "w") as f:
        f.write(card)
    manifest = {"model": "opensora-nano", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "run": os.path.abspath(a.run), "weights": a.weights, "step": step, "total_bytes": total,
                "entries": {k: v[0] for k, v in counts.items()}, "numbers": {k: v[1] for k, v in counts.items()},
                "reload_max_abs_err": errs, "files": files}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    ok = all(v <= 1e-5 for v in errs.values())
    print(json.dumps({"ok": ok, "out": out, "total_bytes": total, "entries": manifest["entries"],
                      "reload_max_abs_err": errs}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
