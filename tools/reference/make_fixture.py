"""Generate an STDiT3 golden fixture in the shared opensora-tiny format from the independent PyTorch reference.

Writes DIR/manifest.json, weights.safetensors, forward.safetensors and sampling.safetensors with the same tensor
names, dtypes and layouts as tests/fixtures/opensora-tiny (see spec section 12), but for another configuration.
The goldens come from tools/reference/stdit3.py (written from the spec), NOT from the On-device-Sora authors' code;
tools/reference/check_fixture.py ties that reference to the authors' fixture.

Everything runs in float32 on CPU with torch.set_num_threads(1); a float64 run of the same code (same float32 weights
and inputs) gives the max_abs_diff_f32_vs_f64 figures. Deterministic given --seed.

Usage: /usr/bin/python3 tools/reference/make_fixture.py --out DIR [--seed N] [--preset odd]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep tools/reference free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402
from stdit3 import AdaptiveLpl, STDiT3, STDiT3Config, default_t_freq_table, rflow_timesteps, sample  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "fixtures", "opensora-tiny", "manifest.json"))

PRESETS = {
    # Odd frame count (TDTM: T = 7 is one the authors' rule supports, spec 5.4) and H/W that need padding.
    "odd": {
        "model": {"depth": 3, "hidden_size": 96, "num_heads": 6, "patch_size": [1, 2, 2], "in_channels": 4,
                  "caption_channels": 48, "model_max_length": 12, "qk_norm": True, "pred_sigma": True,
                  "mlp_ratio": 4.0, "input_sq_size": 512, "class_dropout_prob": 0.1, "drop_path": 0.0},
        "forward": {"B": 2, "T": 7, "H": 9, "W": 11, "timestep": [812.5, 47.0], "y_lens": [12, 4], "fps": 24.0,
                    "height": 72.0, "width": 88.0},
        "sample": {"T": 7, "H": 9, "W": 11, "steps": 8, "cfg": 4.5, "y_len": 7, "num_frames": 34, "height": 72,
                   "width": 88, "fps": 24, "lpl_fixed_step": 5, "tdtm_merge_steps": 4,
                   "lpl_adaptive_minimum_steps": 2, "lpl_adaptive_patience": 2, "lpl_adaptive_tolerance": 1e-3},
        "caption_std": 0.25,
    },
}

WEIGHT_INIT = (
    "numpy default_rng(seed) normal, drawn in sorted key order: Linear/Conv weights std=1/sqrt(fan_in); biases std "
    "0.05; q_norm/k_norm weights 1+0.1*N; scale_shift_table 2*N/sqrt(C); y_embedding N/sqrt(caption_channels); "
    "rope.freqs = the fixed table 1/10000^(2j/head_dim) (not random). Zero-initialised-by-authors tensors "
    "(fps_embedder.mlp.2, temporal proj/fc2, final layer) are random here on purpose."
)


def init_weights(model: STDiT3, seed: int) -> dict:
    """The opensora-tiny manifest's init rule, numpy default_rng(seed), sorted key order. Returns {name: f32 array}."""
    rng = np.random.default_rng(seed)
    C = model.cfg.hidden_size
    sd = model.state_dict()
    out = {}
    for name in sorted(sd):
        shape = tuple(sd[name].shape)
        if name == "rope.freqs":
            out[name] = sd[name].numpy().astype(np.float32)
            continue
        n = rng.standard_normal(shape)
        if name.endswith("q_norm.weight") or name.endswith("k_norm.weight"):
            w = 1 + 0.1 * n
        elif name.endswith("scale_shift_table"):
            w = 2 * n / math.sqrt(C)
        elif name.endswith("y_embedding"):
            w = n / math.sqrt(shape[-1])
        elif name.endswith("bias"):
            w = 0.05 * n
        else:
            w = n / math.sqrt(int(np.prod(shape[1:])))
        out[name] = w.astype(np.float32)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in out.items()}, strict=True)
    return out


def mask_of(lens, L):
    return np.array([[1] * n + [0] * (L - n) for n in lens], dtype=np.int64)


def run_forward(model, inp, table, dtype):
    """Plain + TDTM forward with traces. Returns {name: np.float32/64 array} of every golden."""
    cast = (lambda a: torch.from_numpy(a).to(dtype)) if dtype == torch.float64 else torch.from_numpy
    res = {}
    model.t_freq_table = torch.from_numpy(table)
    with torch.inference_mode():
        for mode in ("plain", "tdtm"):
            trace = {}
            out = model(cast(inp["in.x"]), torch.from_numpy(inp["in.timestep"]), cast(inp["in.y"]),
                        torch.from_numpy(inp["in.mask"]), torch.from_numpy(inp["in.fps"]),
                        torch.from_numpy(inp["in.height"]), torch.from_numpy(inp["in.width"]),
                        tdtm=(mode == "tdtm"), trace=trace)
            if mode == "plain":
                for k in ("ref.x_embed", "ref.pos_emb", "ref.t_emb", "ref.fps_emb", "ref.t", "ref.t_mlp",
                          "ref.y_proj"):
                    res[k] = trace[k].numpy()
                yp = trace["ref.y_proj"][:, 0]  # [B, L, C]
                lens = inp["in.mask"].sum(-1)
                res["ref.y_packed"] = torch.cat([yp[b, : int(n)] for b, n in enumerate(lens)], 0)[None].numpy()
            for i in range(model.cfg.depth):
                for kind in ("spatial", "temporal"):
                    res[f"{mode}.block.{i}.{kind}"] = trace[f"block.{i}.{kind}"].numpy()
            res[f"{mode}.final_tokens"] = trace["final_tokens"].numpy()
            res[f"{mode}.out"] = out.numpy()
    return res


def run_sampling(model, inp, sc, dtype):
    """Plain, LPL fixed, LPL adaptive and TDTM sampling. Returns ({name: array}, adaptive trace)."""
    cast = (lambda a: torch.from_numpy(a).to(dtype)) if dtype == torch.float64 else torch.from_numpy
    num_frames = int(inp["in.num_frames"][0])
    common = dict(z=cast(inp["in.z0"]), y=cast(inp["in.y"]), y_null=cast(inp["in.y_null"]),
                  mask=torch.from_numpy(inp["in.mask"]), fps=torch.from_numpy(inp["in.fps"]),
                  height=torch.from_numpy(inp["in.height"]), width=torch.from_numpy(inp["in.width"]),
                  num_frames=num_frames, steps=sc["steps"], cfg_scale=sc["cfg"])
    res = {"timesteps": np.array(rflow_timesteps(sc["steps"], float(inp["in.height"][0]),
                                                 float(inp["in.width"][0]), num_frames), dtype=np.float32)}
    variants = {
        "plain": dict(),
        "lpl_fixed": dict(lpl_step=sc["lpl_fixed_step"]),
        "lpl_adaptive": dict(lpl_adaptive=AdaptiveLpl(sc["lpl_adaptive_minimum_steps"], sc["lpl_adaptive_patience"],
                                                      sc["lpl_adaptive_tolerance"])),
        "tdtm": dict(tdtm_steps=sc["tdtm_merge_steps"]),
    }
    trace = None
    with torch.inference_mode():
        for name, extra in variants.items():
            rec = {}
            z = sample(model, record=rec, **common, **extra)
            n_calls = len(rec["model_out"])
            res[f"{name}.z_steps"] = torch.stack(rec["z_steps"] + [z]).numpy()
            res[f"{name}.model_out"] = torch.stack(rec["model_out"]).numpy()
            res[f"{name}.t_in"] = np.stack([np.array([t, t], dtype=np.float32) for t in res["timesteps"][:n_calls]])
            res[f"{name}.z_final"] = z.numpy()
            if name.startswith("lpl_"):
                res[f"{name}.leap_step"] = np.array(rec["leap_step"], dtype=np.int64)
            if name == "lpl_adaptive":
                cos = [float("nan") if c is None else c for c in rec["cos_mean"]]
                res[f"{name}.cos_mean"] = np.array(cos + [float("nan")] * (sc["steps"] - len(cos)), dtype=np.float32)
                trace = rec["lpl_trace"]
    return res, trace


def describe(template: dict, name: str) -> str:
    """Tensor description from the opensora-tiny manifest (block indices generalised)."""
    key = name
    parts = name.split(".")
    if len(parts) == 4 and parts[1] == "block":
        key = f"{parts[0]}.block.0.{parts[3]}"
        return template.get(key, "").replace("block 0", f"block {parts[2]}")
    return template.get(key, "")


def tensor_entry(name, arr, f64, descr):
    e = {"name": name, "dtype": str(arr.dtype), "shape": list(arr.shape), "description": descr}
    if arr.dtype == np.int64:
        e["values"] = arr.tolist()
    else:
        finite = arr[np.isfinite(arr)]
        e["max_abs"] = float(np.abs(finite).max()) if finite.size else 0.0
        if f64 is not None and name in f64:
            d = np.abs(arr.astype(np.float64) - f64[name].astype(np.float64))
            d = d[np.isfinite(d)]
            e["max_abs_diff_f32_vs_f64"] = float(d.max()) if d.size else 0.0
    return e


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="odd", choices=sorted(PRESETS))
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    preset = copy.deepcopy(PRESETS[args.preset])
    mc, fc, sc = preset["model"], preset["forward"], preset["sample"]
    cfg = STDiT3Config.from_dict(mc)
    model = STDiT3(cfg).eval()
    weights = init_weights(model, args.seed)
    table = default_t_freq_table(256).numpy()

    # ---- forward inputs
    rng = np.random.default_rng([args.seed, 1])
    B, T, H, W, L = fc["B"], fc["T"], fc["H"], fc["W"], cfg.model_max_length
    fwd_in = {
        "in.x": rng.standard_normal((B, cfg.in_channels, T, H, W)).astype(np.float32),
        "in.y": (preset["caption_std"] * rng.standard_normal((B, 1, L, cfg.caption_channels))).astype(np.float32),
        "in.mask": mask_of(fc["y_lens"], L),
        "in.timestep": np.array(fc["timestep"], dtype=np.float32),
        "in.fps": np.array([fc["fps"]], dtype=np.float32),
        "in.height": np.array([fc["height"]], dtype=np.float32),
        "in.width": np.array([fc["width"]], dtype=np.float32),
    }
    fwd = run_forward(model, fwd_in, table, torch.float32)
    fwd_files = {**fwd_in, "const.t_freq_table": table, "ref.y_lens": np.array(fc["y_lens"], dtype=np.int64), **fwd}

    # ---- sampling inputs
    rng = np.random.default_rng([args.seed, 2])
    smp_in = {
        "in.z0": rng.standard_normal((1, cfg.in_channels, sc["T"], sc["H"], sc["W"])).astype(np.float32),
        "in.y": (preset["caption_std"] * rng.standard_normal((1, 1, L, cfg.caption_channels))).astype(np.float32),
        "in.y_null": weights["y_embedder.y_embedding"][None, None].copy(),
        "in.mask": mask_of([sc["y_len"]], L),
        "in.fps": np.array([sc["fps"]], dtype=np.float32),
        "in.height": np.array([sc["height"]], dtype=np.float32),
        "in.width": np.array([sc["width"]], dtype=np.float32),
        "in.num_frames": np.array([sc["num_frames"]], dtype=np.float32),
    }
    smp, trace32 = run_sampling(model, smp_in, sc, torch.float32)
    smp_files = {**smp_in, **smp}

    # ---- float64 run of the same code (same float32 weights and inputs)
    model64 = copy.deepcopy(model).double()
    fwd64 = run_forward(model64, fwd_in, table, torch.float64)
    smp64, trace64 = run_sampling(model64, smp_in, sc, torch.float64)
    smp64["in.y_null"] = smp_in["in.y_null"]

    leap = int(smp["lpl_adaptive.leap_step"][0])
    if not (0 <= leap < sc["steps"] - 1):
        print(f"warning: adaptive LPL leap_step={leap} (not before the last step); pick another seed/tolerance",
              file=sys.stderr)
    if leap != int(smp64["lpl_adaptive.leap_step"][0]):
        print("warning: the float64 run takes a different adaptive leap step", file=sys.stderr)

    # ---- write
    os.makedirs(args.out, exist_ok=True)
    safetensors_np.save(os.path.join(args.out, "weights.safetensors"), weights)
    safetensors_np.save(os.path.join(args.out, "forward.safetensors"), fwd_files)
    safetensors_np.save(os.path.join(args.out, "sampling.safetensors"), smp_files)

    template = {}
    if os.path.exists(TEMPLATE):
        tm = json.load(open(TEMPLATE))
        for f in ("forward.safetensors", "sampling.safetensors"):
            for t in tm["files"][f]["tensors"]:
                template.setdefault(t["name"], t["description"])
                template.setdefault(f"{f}:{t['name']}", t["description"])
    template.setdefault("ref.y_lens", "[B] int64 number of valid caption tokens per batch item")

    def entries(files, f64, fname):
        return [tensor_entry(n, np.asarray(files[n]), f64,
                             template.get(f"{fname}:{n}") or describe(template, n))
                for n in sorted(files)]

    pH, pW = cfg.patch_size[1], cfg.patch_size[2]
    Hp, Wp = -(-H // pH), -(-W // pW)
    S = Hp * Wp
    manifest = {
        "fixture": os.path.basename(os.path.normpath(args.out)),
        "purpose": (
            "Golden numerics for Open-Sora v1.2 STDiT3 (+ On-device-Sora TDTM) forward pass and the RFLOW sampler "
            "(+ LPL fixed and adaptive) on a second configuration (odd frame count T=7, latent H/W 9x11 that need "
            "padding, depth 3, 6 heads, CFG 4.5, 8 steps). Produced by OUR independent PyTorch reference "
            "(tools/reference/stdit3.py, written from opensora-v1.2-spec.md), NOT by the On-device-Sora authors' "
            "code; that reference reproduces the authors' opensora-tiny fixture to <= 3e-6 (forward) / <= 1.5e-5 "
            "(sampling z) via tools/reference/check_fixture.py."
        ),
        "config": {
            "model": mc,
            "derived": {
                "out_channels": cfg.out_channels,
                "head_dim": cfg.head_dim,
                "mlp_hidden": int(cfg.hidden_size * cfg.mlp_ratio),
                "rope_freqs_len": cfg.head_dim // 2,
                "forward_T": T,
                "forward_latent_HxW": [H, W],
                "forward_padded_HxW": [Hp * pH, Wp * pW],
                "forward_patches_HxW": [Hp, Wp],
                "forward_S": S,
                "forward_N": T * S,
                "forward_base_size": round(math.sqrt(S)),
                "forward_pos_scale": math.sqrt(fc["height"] * fc["width"]) / cfg.input_sq_size,
                "merged_T": T // 2,
                "tdtm_unmerge_frame_map": [min(k // 2, T // 2 - 1) for k in range(T)],
                "sample_nf": (sc["num_frames"] // 17) * 5,
            },
            "forward": fc,
            "sample": sc,
            "notes": [
                "model config keys are STDiT3Config arguments (same meaning as in opensora-tiny)",
                "forward: 'plain' = original path; 'tdtm' = TDTM in every block. T = 7 is odd: merge drops frame 6, "
                "unmerge gives [m0, m0, m1, m1, m2, m2, m2] (the authors' rule, spec 5.4: T = 7 works)",
                "H = 9, W = 11 latents are padded at the end to 10 x 12 (patch 2x2) and the output is cropped back",
                "forward captions: row 0 uses all 12 tokens, row 1 uses 4",
                "sampling: RFLOW(num_sampling_steps=8, cfg_scale=4.5, use_timestep_transform=True, "
                "use_discrete_timesteps=True); num_frames 34 -> nf = (34//17)*5 = 10; 72x88 px; frame mask all-True",
                "lpl_adaptive: the authors' compute_cosine_simularity rule (spec 6.3) with minimum_steps=2, "
                "tolerance_n=max_tolerance_n=2, cos_tolerance=1e-3 (config.sample lpl_adaptive_*); trace below",
                "lpl_fixed leaps at step 5 (app rule): z + v*t_5/1000, then return",
                "tdtm sampling: merge_steps=4 -> steps 0..3 use TDTM",
            ],
        },
        "files": {
            "weights.safetensors": {
                "what": "model state_dict with the exact Open-Sora STDiT3 key names (load with strict=True)",
                "num_tensors": len(weights),
                "num_elements": int(sum(v.size for v in weights.values())),
                "init": WEIGHT_INIT + f" seed={args.seed}.",
                "keys": [{"name": k, "shape": list(v.shape)} for k, v in sorted(weights.items())],
            },
            "forward.safetensors": {
                "what": "inputs, intermediates (ref.*), per-block outputs and final outputs of STDiT3.forward, "
                        "plain and TDTM",
                "tensors": entries(fwd_files, fwd64, "forward.safetensors"),
            },
            "sampling.safetensors": {
                "what": "RFLOW sampling goldens: plain, LPL fixed-step, LPL adaptive, TDTM",
                "tensors": entries(smp_files, smp64, "sampling.safetensors"),
            },
        },
        "code_path": {
            "generator": "tools/reference/make_fixture.py --preset " + args.preset + f" --seed {args.seed}",
            "model": "tools/reference/stdit3.py::STDiT3 (independent, from the spec), sampler stdit3.py::sample "
                     "with AdaptiveLpl",
            "torch": torch.__version__,
            "numpy": np.__version__,
            "run": "CPU, torch.set_num_threads(1), eval mode, inference_mode; goldens are the float32 run; a float64 "
                   "run of the same code (model.double(), same float32 weights and inputs) gives the "
                   "max_abs_diff_f32_vs_f64 figures",
        },
        "tolerance": {
            "compare": "|actual - golden| <= atol + rtol * |golden|, elementwise, float32 implementation",
            "forward": {"atol": 1e-4, "rtol": 1e-4,
                        "why": "same as opensora-tiny; float32-vs-float64 of this reference is listed per tensor"},
            "sampling": {"atol": 5e-4, "rtol": 1e-3, "timesteps_atol": 1e-3, "cos_mean_atol": 1e-5,
                         "why": "same as opensora-tiny; float32-vs-float64 per tensor in files.sampling"},
            "exact": ["ref.y_lens", "lpl_fixed.leap_step", "lpl_adaptive.leap_step"],
        },
        "lpl_adaptive_trace_float32": trace32,
        "lpl_adaptive_trace_float64": trace64,
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, allow_nan=False)
        f.write("\n")
    sizes = {n: os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out)}
    print(json.dumps({"out": args.out, "bytes": sum(sizes.values()), "files": sizes, "adaptive_leap_step": leap,
                      "cos_mean": [c["cos_mean"] for c in trace32]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
