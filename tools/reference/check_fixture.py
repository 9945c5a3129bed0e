"""Check the PyTorch reference STDiT3 (stdit3.py) against the opensora-tiny golden fixture.

Prints ONE JSON object: {"ok", "torch_version", "fixture", "tolerance", "results": {name: {max_abs_err, max_excess,
ok, kind}}}. max_excess = max(|a - g| - (atol + rtol·|g|)); a tensor passes when it is <= 0.
Exit code 0 when every checked tensor is within the manifest tolerance, 1 otherwise, 2 on a usage/load error.

Usage: /usr/bin/python3 tools/reference/check_fixture.py [--fixture DIR] [--no-freq-table]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep tools/reference free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402
from stdit3 import (  # noqa: E402
    AdaptiveLpl,
    STDiT3,
    STDiT3Config,
    load_state_dict_np,
    rflow_timesteps,
    sample,
    tdtm_merge,
    tdtm_reference_ok,
    tdtm_unmerge,
)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURE = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "fixtures", "opensora-tiny"))


def compare(actual, golden, atol, rtol, kind):
    a = np.asarray(actual, dtype=np.float64)
    g = np.asarray(golden, dtype=np.float64)
    if a.shape != g.shape:
        return {"kind": kind, "ok": False, "error": f"shape {list(a.shape)} != golden {list(g.shape)}"}
    err = np.abs(a - g)
    excess = float(np.max(err - (atol + rtol * np.abs(g)))) if err.size else 0.0
    ok = bool(np.isfinite(a).all()) and excess <= 0
    return {"kind": kind, "max_abs_err": float(err.max()) if err.size else 0.0, "max_excess": excess, "ok": ok}


def structure_checks(model):
    """Spec 5.4 frame-count rule, TDTM unmerge patterns (reference + extension), odd-size padding/cropping."""
    res = {}
    works = [T for T in range(1, 41) if tdtm_reference_ok(T)]
    expect = [T for T in range(1, 41) if (T >= 3 and T % 4 in (0, 3) and T != 31) or T == 30]
    res["structure.tdtm_reference_frame_counts"] = {"kind": "structure", "ok": works == expect}
    patterns = {7: [0, 0, 1, 1, 2, 2, 2], 8: [0, 0, 1, 1, 2, 2, 3, 3], 5: [0, 0, 1, 1, 1], 2: [0, 0],
                6: [0, 0, 1, 1, 2, 2], 31: [k // 2 for k in range(30)] + [14]}
    ok = True
    for T, pat in patterns.items():
        x = torch.arange(T, dtype=torch.float32)[None, :, None]
        m = tdtm_merge(x)
        ok &= torch.equal(m.flatten(), torch.arange(T // 2, dtype=torch.float32) * 2 + 0.5)
        ok &= tdtm_unmerge(torch.arange(T // 2, dtype=torch.float32)[None, :, None], T).flatten().tolist() == pat
    res["structure.tdtm_unmerge_patterns"] = {"kind": "structure", "ok": bool(ok)}
    g = torch.Generator().manual_seed(1)
    cfg = model.cfg
    x = torch.randn(2, cfg.in_channels, 5, 7, 9, generator=g)
    y = torch.randn(2, 1, cfg.model_max_length, cfg.caption_channels, generator=g)
    mask = torch.ones(1, cfg.model_max_length, dtype=torch.int64)
    args = (x, torch.tensor([500.0, 500.0]), y, mask, torch.tensor([24.0]), torch.tensor([56.0]), torch.tensor([72.0]))
    outs = [model(*args, tdtm=td) for td in (False, True)]
    shape_ok = all(list(o.shape) == [2, cfg.out_channels, 5, 7, 9] and bool(torch.isfinite(o).all()) for o in outs)
    res["structure.odd_size_padding_and_tdtm_T5"] = {"kind": "structure", "ok": shape_ok}
    return res


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture", default=DEFAULT_FIXTURE)
    ap.add_argument("--no-freq-table", action="store_true",
                    help="build the timestep frequency table instead of using const.t_freq_table")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)
    fx = args.fixture
    manifest = json.load(open(os.path.join(fx, "manifest.json")))
    weights = safetensors_np.load(os.path.join(fx, "weights.safetensors"))
    fwd = safetensors_np.load(os.path.join(fx, "forward.safetensors"))
    smp = safetensors_np.load(os.path.join(fx, "sampling.safetensors"))
    tol = manifest["tolerance"]
    fa, fr = tol["forward"]["atol"], tol["forward"]["rtol"]
    sa, sr = tol["sampling"]["atol"], tol["sampling"]["rtol"]
    ta = tol["sampling"].get("timesteps_atol", 1e-3)

    cfg = STDiT3Config.from_dict(manifest["config"]["model"])
    model = STDiT3(cfg).eval()
    load_state_dict_np(model, weights, strict=True)
    if not args.no_freq_table:
        model.t_freq_table = torch.from_numpy(fwd["const.t_freq_table"])

    T = lambda name, d=fwd: torch.from_numpy(d[name])  # noqa: E731
    results = {}
    with torch.inference_mode():
        for mode in ("plain", "tdtm"):
            trace = {}
            out = model(T("in.x"), T("in.timestep"), T("in.y"), T("in.mask"), T("in.fps"), T("in.height"),
                        T("in.width"), tdtm=(mode == "tdtm"), trace=trace)
            if mode == "plain":
                for k in ("ref.x_embed", "ref.pos_emb", "ref.t_emb", "ref.t", "ref.t_mlp", "ref.y_proj"):
                    results[k] = compare(trace[k], fwd[k], fa, fr, "forward")
            for i in range(cfg.depth):
                for kind in ("spatial", "temporal"):
                    k = f"{mode}.block.{i}.{kind}"
                    results[k] = compare(trace[f"block.{i}.{kind}"], fwd[k], fa, fr, "forward")
            results[f"{mode}.final_tokens"] = compare(trace["final_tokens"], fwd[f"{mode}.final_tokens"], fa, fr,
                                                      "forward")
            results[f"{mode}.out"] = compare(out, fwd[f"{mode}.out"], fa, fr, "forward")

        sc = manifest["config"]["sample"]
        num_frames = int(smp["in.num_frames"][0])
        ts = rflow_timesteps(sc["steps"], float(smp["in.height"][0]), float(smp["in.width"][0]), num_frames)
        results["sampling.timesteps"] = compare(np.array(ts), smp["timesteps"], ta, 0.0, "sampling")
        common = dict(z=T("in.z0", smp), y=T("in.y", smp), y_null=T("in.y_null", smp), mask=T("in.mask", smp),
                      fps=T("in.fps", smp), height=T("in.height", smp), width=T("in.width", smp),
                      num_frames=num_frames, steps=sc["steps"], cfg_scale=sc["cfg"])
        variants = {
            "plain": lambda: dict(),
            "lpl_fixed": lambda: dict(lpl_step=int(smp["lpl_fixed.leap_step"][0])),
            "tdtm": lambda: dict(tdtm_steps=sc["tdtm_merge_steps"]),
        }
        if "lpl_adaptive.z_final" in smp:
            variants["lpl_adaptive"] = lambda: dict(lpl_adaptive=AdaptiveLpl(
                minimum_steps=sc.get("lpl_adaptive_minimum_steps", 14), patience=sc.get("lpl_adaptive_patience", 3),
                tolerance=sc.get("lpl_adaptive_tolerance", 1e-3)))
        ca = tol["sampling"].get("cos_mean_atol", 1e-5)
        for name, make_extra in variants.items():
            rec = {}
            z = sample(model, record=rec, **common, **make_extra())
            if name.startswith("lpl_"):
                results[f"{name}.leap_step"] = compare(rec.get("leap_step", [-1]), smp[f"{name}.leap_step"], 0, 0,
                                                       "sampling")
            if f"{name}.cos_mean" in smp:
                g = smp[f"{name}.cos_mean"]
                a = [c if c is not None else float("nan") for c in rec.get("cos_mean", [])]
                a = np.array(a + [float("nan")] * (len(g) - len(a)), dtype=np.float64)
                same_nan = bool((np.isnan(a) == np.isnan(g)).all())
                r = compare(np.nan_to_num(a), np.nan_to_num(g), ca, 0.0, "sampling")
                r["ok"] = r["ok"] and same_nan
                results[f"{name}.cos_mean"] = r
            results[f"{name}.z_final"] = compare(z, smp[f"{name}.z_final"], sa, sr, "sampling")
            results[f"{name}.model_out"] = compare(torch.stack(rec["model_out"]), smp[f"{name}.model_out"], sa, sr,
                                                   "sampling")
            zs = torch.stack(rec["z_steps"] + [z])
            results[f"{name}.z_steps"] = compare(zs, smp[f"{name}.z_steps"], sa, sr, "sampling")

        results.update(structure_checks(model))

    ok = all(r["ok"] for r in results.values())
    report = {
        "ok": ok,
        "torch_version": torch.__version__,
        "fixture": os.path.relpath(fx),
        "used_const_t_freq_table": not args.no_freq_table,
        "tolerance": {"forward": [fa, fr], "sampling": [sa, sr], "timesteps_atol": ta},
        "max_abs_err": {
            "forward": max(r.get("max_abs_err", float("inf")) for r in results.values() if r["kind"] == "forward"),
            "sampling_z_final": max(results[f"{n}.z_final"].get("max_abs_err", float("inf")) for n in variants),
        },
        "results": results,
    }
    print(json.dumps(report, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
        sys.exit(2)
