"""Time one full CFG denoising step (batch-2 STDiT3 forward + CFG + Euler update) of the PyTorch reference.

Called by `odsora bench engine` as the PyTorch baseline. Prints ONE JSON object on stdout:
  {torch_version, threads, config, shape, per_step_ms: [...], p50_ms, p90_ms,
   tdtm_per_step_ms: [...], tdtm_p50_ms, tdtm_p90_ms, warmup, params, setup_ms, weights, dtype, blas}
per_step_ms are the --steps plain steps; tdtm_per_step_ms are --tdtm-steps extra steps with TDTM on (timed after the
plain ones); tdtm_* are null when --tdtm-steps is 0. Errors go to stderr with exit code 2.

Examples:
  /usr/bin/python3 tools/reference/bench_stdit3.py --config nano --frames 8 --height 16 --width 16 \
      --caption-length 32 --threads 2
  /usr/bin/python3 tools/reference/bench_stdit3.py --config '{"depth":2,"hidden_size":128,"num_heads":4}' ...
  /usr/bin/python3 tools/reference/bench_stdit3.py --config tiny --weights tests/fixtures/opensora-tiny/weights.safetensors

--config: a preset (tiny | nano | mid | xl), a JSON object, or a path to a .json file. JSON keys are STDiT3Config
arguments (depth, hidden_size, num_heads, mlp_ratio, patch_size, in_channels, pred_sigma, caption_channels,
model_max_length, qk_norm, input_sq_size) and override the released XL config (depth 28, hidden 1152, ...); a
fixture manifest ({"config": {"model": {...}}}) is accepted too. --height/--width are LATENT sizes; the pixel size
fed to the position embedding and timestep transform is 8x that.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

PRESETS = {
    "tiny": dict(depth=2, hidden_size=64, num_heads=4, caption_channels=32, model_max_length=8),
    "nano": dict(depth=4, hidden_size=256, num_heads=4, caption_channels=64, model_max_length=32),
    "mid": dict(depth=4, hidden_size=576, num_heads=8, caption_channels=1024, model_max_length=64),
    "xl": dict(depth=28, hidden_size=1152, num_heads=16, caption_channels=4096, model_max_length=300),
}


def parse_config(spec: str) -> dict:
    if spec in PRESETS:
        return dict(PRESETS[spec])
    text = spec
    if not spec.lstrip().startswith("{"):
        if not os.path.isfile(spec):
            raise ValueError(f"--config: not a preset ({', '.join(PRESETS)}), JSON object or file: {spec}")
        text = open(spec).read()
    d = json.loads(text)
    if isinstance(d.get("config"), dict) and isinstance(d["config"].get("model"), dict):
        d = d["config"]["model"]
    return d


def percentile(xs, q):
    if not xs:
        return None
    s = sorted(xs)
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def blas_library() -> str:
    """Which BLAS the process actually mapped (Debian torch uses the libblas.so.3 alternative: netlib is ~30x slower
    than OpenBLAS, so report it)."""
    try:
        libs = set()
        for line in open("/proc/self/maps"):
            path = line.split()[-1] if "/" in line else ""
            name = os.path.basename(path).lower()
            if "blas" in name:
                libs.add(os.path.realpath(path))
        if not libs:
            return "unknown"
        out = sorted(libs)
        kind = "openblas" if any("openblas" in x for x in out) else (
            "netlib-reference" if any("/blas/" in x for x in out) else "other")
        return kind + ": " + ", ".join(out)
    except OSError:
        return "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=None, help="preset, JSON or .json path (default: from --weights, else tiny)")
    ap.add_argument("--frames", type=int, default=4, help="latent frames T")
    ap.add_argument("--height", type=int, default=8, help="latent height H")
    ap.add_argument("--width", type=int, default=8, help="latent width W")
    ap.add_argument("--caption-length", type=int, default=None, help="caption tokens L (default model_max_length)")
    ap.add_argument("--valid-tokens", type=int, default=None, help="valid caption tokens (default L)")
    ap.add_argument("--steps", type=int, default=5, help="timed plain CFG steps")
    ap.add_argument("--tdtm-steps", type=int, default=0, help="extra timed CFG steps with TDTM on")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps before each timed series")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", default=None, help="safetensors state dict (strict load) instead of random weights")
    ap.add_argument("--cfg-scale", type=float, default=7.0)
    args = ap.parse_args()

    # Thread pools must be sized before torch (and its BLAS) initialise.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    t_setup = time.perf_counter()
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    sys.dont_write_bytecode = True  # keep tools/reference free of __pycache__
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from stdit3 import STDiT3, STDiT3Config, config_from_state_dict, load_state_dict_np, random_init_, rflow_timesteps

    sd = None
    if args.weights:
        import safetensors_np

        sd = safetensors_np.load(args.weights)
    if args.config is None:
        cfg = config_from_state_dict(sd) if sd is not None else STDiT3Config.from_dict(PRESETS["tiny"])
    else:
        cfg = STDiT3Config.from_dict(parse_config(args.config))
    L = args.caption_length or cfg.model_max_length
    if L > cfg.model_max_length:
        print(f"note: caption length {L} > model_max_length {cfg.model_max_length}", file=sys.stderr)
    valid = min(args.valid_tokens or L, L)
    T, H, W = args.frames, args.height, args.width
    B = 2
    pT, pH, pW = cfg.patch_size
    Tp, Hp, Wp = -(-T // pT), -(-H // pH), -(-W // pW)

    model = STDiT3(cfg).eval()
    if sd is not None:
        load_state_dict_np(model, sd, strict=True)
    else:
        random_init_(model, args.seed)
    params = sum(p.numel() for p in model.parameters()) - model.rope.freqs.numel()

    g = torch.Generator().manual_seed(args.seed + 1)
    z = torch.randn(1, cfg.in_channels, T, H, W, generator=g)
    y = torch.randn(1, 1, L, cfg.caption_channels, generator=g) * 0.2
    y_null = model.y_embedder.y_embedding[:L][None, None].expand(1, 1, L, cfg.caption_channels)
    y_in = torch.cat([y, y_null], 0)
    mask = torch.zeros(1, L, dtype=torch.int64)
    mask[:, :valid] = 1
    fps = torch.tensor([24.0])
    hpx, wpx = torch.tensor([8.0 * H]), torch.tensor([8.0 * W])
    n_total = max(args.steps + args.tdtm_steps, 2)
    ts = rflow_timesteps(n_total, float(hpx[0]), float(wpx[0]), 4 * T if T > 1 else 1)
    setup_ms = (time.perf_counter() - t_setup) * 1000

    def cfg_step(z, i, tdtm):
        t = torch.tensor([ts[i % n_total]] * 2, dtype=torch.float32)
        out = model(torch.cat([z, z], 0), t, y_in, mask, fps, hpx, wpx, tdtm=tdtm)
        pred = out[:, : cfg.in_channels]
        v = pred[1:2] + args.cfg_scale * (pred[0:1] - pred[1:2])
        dt = ts[i % n_total] - (ts[i % n_total + 1] if i % n_total < n_total - 1 else 0.0)
        return z + v * (dt / 1000)

    def series(n, tdtm, start):
        nonlocal z
        for i in range(args.warmup):
            cfg_step(z, start + i, tdtm)
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            z = cfg_step(z, start + i, tdtm)
            times.append((time.perf_counter() - t0) * 1000)
        return times

    with torch.inference_mode():
        plain = series(args.steps, False, 0)
        tdtm = series(args.tdtm_steps, True, args.steps) if args.tdtm_steps > 0 else []

    r = lambda v: None if v is None else round(v, 3)  # noqa: E731
    report = {
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "config": cfg.to_dict(),
        "shape": {"batch": B, "frames": T, "height": H, "width": W, "caption_length": L, "valid_tokens": valid,
                  "patch_grid": [Tp, Hp, Wp], "tokens_per_frame": Hp * Wp, "tokens": Tp * Hp * Wp,
                  "merged_frames": Tp // 2, "pixel_height": 8 * H, "pixel_width": 8 * W},
        "per_step_ms": [r(x) for x in plain],
        "p50_ms": r(percentile(plain, 50)),
        "p90_ms": r(percentile(plain, 90)),
        "tdtm_per_step_ms": [r(x) for x in tdtm],
        "tdtm_p50_ms": r(percentile(tdtm, 50)),
        "tdtm_p90_ms": r(percentile(tdtm, 90)),
        "warmup": args.warmup,
        "params": params,
        "weights": args.weights or f"random(seed={args.seed})",
        "setup_ms": r(setup_ms),
        "dtype": "float32",
        "blas": blas_library(),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001
        msg = str(e)
        print(f"bench_stdit3: {type(e).__name__}: {msg[:600]}{' ...' if len(msg) > 600 else ''}", file=sys.stderr)
        sys.exit(2)
