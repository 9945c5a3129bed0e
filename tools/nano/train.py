#!/usr/bin/env python3
"""Open-Sora Nano training tool (CPU, or a lent GPU with --device cuda; resumable in chunks).

  /usr/bin/python3 tools/nano/train.py vae    --run runs/nano --minutes 20
  /usr/bin/python3 tools/nano/train.py dit    --run runs/nano --minutes 60      # re-run to continue
  /usr/bin/python3 tools/nano/train.py sample --run runs/nano --prompt "a red circle moving right on a black background"
  /usr/bin/python3 tools/nano/train.py eval   --run runs/nano

Every training invocation resumes from DIR/{vae,dit}.pt when present, trains for --minutes, checkpoints every
--ckpt-minutes and on exit (also on SIGINT/SIGTERM), and appends JSON lines to DIR/log.jsonl. See README.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import setup_threads  # noqa: E402

THREADS = setup_threads(sys.argv)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import common as C  # noqa: E402
import data as D  # noqa: E402
import models as M  # noqa: E402
import scorers as S  # noqa: E402
from core import (build_text_and_dit, checkpoint_ema, clip_frames, cond_tensors, dit_paths,  # noqa: E402
                  ema_update_, encode_text, latent_stats_, load_text_dit, load_vae, lr_at, pick_device, psnr,
                  sample_latents, tokens_per_clip)

torch.set_num_threads(THREADS)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass

STOP = {"flag": False}


def _on_signal(signum, frame):  # noqa: ARG001
    STOP["flag"] = True


# ---------------------------------------------------------------------------------------------------------------
# vae

def cmd_vae(a) -> None:
    os.makedirs(a.run, exist_ok=True)
    log = C.JsonLog(os.path.join(a.run, "log.jsonl"))
    path = os.path.join(a.run, "vae.pt")
    ck = C.load(path)
    if ck is None:
        torch.manual_seed(a.seed)
        cfg = dict(M.DEFAULT_VAE, **(json.loads(a.vae_config) if a.vae_config else {}))
        vae = M.NanoVAE(cfg)
        opt = torch.optim.AdamW([p for p in vae.parameters() if p.requires_grad], lr=a.lr, weight_decay=0.0)
        stream = D.ClipStream(a.seed * 1000 + 1)
        gen = torch.Generator().manual_seed(a.seed * 1000 + 2)
        step, seconds = 0, 0.0
    else:
        cfg = ck["cfg"]
        vae = M.NanoVAE(cfg)
        vae.load_state_dict(ck["model"])
        opt = torch.optim.AdamW([p for p in vae.parameters() if p.requires_grad], lr=a.lr, weight_decay=0.0)
        opt.load_state_dict(ck["opt"])
        stream = D.ClipStream(0, travel=getattr(a, "travel", D.DEFAULT_TRAVEL))
        stream.load_state_dict(ck["data"])
        gen = torch.Generator()
        gen.set_state(ck["rng"])
        step, seconds = ck["step"], ck["seconds"]
    params = M.count_params(vae)
    dec_params = sum(p.numel() for n, p in vae.named_parameters() if ".decoder." in n or "post_quant" in n)
    log.write(stage="vae", event="start", step=step, params=params, decoder_params=dec_params, cfg=cfg,
              threads=THREADS, resumed=ck is not None)

    def save():
        stats = latent_stats_(vae)
        C.save_atomic({"kind": "vae", "cfg": cfg, "model": vae.state_dict(), "opt": opt.state_dict(),
                       "data": stream.state_dict(), "rng": gen.get_state(), "step": step, "seconds": seconds,
                       "seed": a.seed}, path)
        return stats

    t0 = time.time()
    last_ck = t0
    last_log = t0
    clips_seen, loss_acc, n_acc = 0, 0.0, 0
    vae.train()
    while time.time() - t0 < a.minutes * 60 and not STOP["flag"]:
        ts = time.time()
        video, cov, _ = stream.batch(a.clips)
        # a.frames random frames from each clip
        fi = torch.randint(D.FRAMES, (a.clips, a.frames), generator=gen)
        bidx = torch.arange(a.clips)[:, None].expand_as(fi)
        x = video.permute(0, 2, 1, 3, 4)[bidx, fi].reshape(-1, 3, D.HEIGHT, D.WIDTH)
        cv = cov.permute(0, 2, 1, 3, 4)[bidx, fi].reshape(-1, 1, D.HEIGHT, D.WIDTH)
        for gparam in opt.param_groups:
            gparam["lr"] = lr_at(step, a.lr, 100)
        m = vae.spatial_vae.module
        mean = m.quant_conv(m.encoder(x))[:, : cfg["latent_channels"]]
        rms = mean.detach().pow(2).mean().sqrt()
        zn = mean + a.latent_noise * rms * torch.randn(mean.shape, generator=gen)
        xr = m.decoder(m.post_quant_conv(zn))
        wgt = 1.0 + a.object_weight * cv
        err = xr - x
        rec = (wgt * (err * err + 0.1 * err.abs())).sum() / (wgt.sum() * 3)
        loss = rec + a.latent_penalty * mean.pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        seconds += time.time() - ts
        clips_seen += a.clips
        loss_acc += float(rec)
        n_acc += 1
        now = time.time()
        if now - last_log >= a.log_seconds:
            log.write(stage="vae", step=step, loss=round(loss_acc / n_acc, 6), psnr=round(psnr(xr.detach(), x), 2),
                      latent_rms=round(float(rms), 4), seconds=round(seconds, 1),
                      frames_per_s=round(clips_seen * a.frames / (now - last_log), 2))
            last_log, clips_seen, loss_acc, n_acc = now, 0, 0.0, 0
        if now - last_ck >= a.ckpt_minutes * 60:
            save()
            last_ck = time.time()
    vae.eval()
    stats = save()
    ev = vae_roundtrip_eval(vae)
    log.write(stage="vae", event="end", step=step, seconds=round(seconds, 1), latent_stats=stats, **ev)


@torch.no_grad()
def vae_roundtrip_eval(vae: M.NanoVAE, n: int = 24) -> dict:
    prompts = D.eval_prompts(n)
    video, _ = D.render_prompts(prompts, seed=5)
    z = vae.encode(video)
    rec = vae.decode(z)
    sc = S.score(rec, prompts)
    zf = z.permute(1, 0, 2, 3, 4).reshape(z.shape[1], -1)
    return {"roundtrip_psnr": round(psnr(rec, video), 2),
            "roundtrip_scores": {k: round(sc[k], 3) for k in S.KEYS + ["score"]},
            "latent_mean": [round(float(v), 3) for v in zf.mean(1)],
            "latent_std": [round(float(v), 3) for v in zf.std(1)]}


# ---------------------------------------------------------------------------------------------------------------
# dit

def init_from_(dit, t5, src: str) -> dict:
    """Start a new run from another run's EMA weights: every tensor whose name and shape match is copied (e.g. all
    blocks and the text encoder when only the patch size changed); the rest keeps its fresh initialisation."""
    ema = checkpoint_ema(C.load(dit_paths(src)["main"]) or {}, dit_paths(src))
    if ema is None:
        sys.exit(f"--init-from {src}: no dit_ema.pt (or dit.pt with an EMA) there")
    copied, inflated, skipped = 0, [], []
    with torch.no_grad():
        for part, mod in (("dit", dit), ("t5", t5)):
            own = mod.state_dict()
            for k, v in ema[part].items():
                if k in own and own[k].shape == v.shape:
                    own[k].copy_(v)
                    copied += 1
                elif part == "dit" and k in own and _inflate_time_(own[k], v, k):
                    inflated.append(k)
                else:
                    skipped.append(f"{part}.{k}")
    return {"from": src, "copied": copied, "inflated": inflated, "skipped": skipped}


def _inflate_time_(dst: torch.Tensor, src: torch.Tensor, key: str) -> bool:
    """From a 1-frame temporal patch to a pT-frame one: the old weights go to the token's FIRST frame (patch embedding
    slice t = 0; final-layer rows of t = 0, rows being (t, h, w, c)-major), the other frames keep their fresh Open-Sora
    initialisation (random embedding slice, zero output rows). Copying the old weights into every frame instead
    (I3D's mean inflation) starts at a saddle: the frames of a token then enter and leave the network only as their
    mean, and the embedding and output rows that would tell them apart get almost no gradient (measured from nano-v2:
    the loss crawled from 0.62 at step 200 to 0.57 at step 1,050, most of it the second frame's unpredictable noise).
    False when the shapes do not fit."""
    if key == "x_embedder.proj.weight" and src.dim() == 5 and src.shape[2] == 1 and \
            dst.shape[:2] == src.shape[:2] and dst.shape[3:] == src.shape[3:]:
        dst[:, :, :1].copy_(src)
        return True
    if key in ("final_layer.linear.weight", "final_layer.linear.bias") and dst.shape[0] % src.shape[0] == 0 and \
            dst.shape[1:] == src.shape[1:]:
        dst[: src.shape[0]].copy_(src)
        return True
    return False


def cmd_dit(a) -> None:
    dev = pick_device(a.device)
    vae, _ = load_vae(a.run)
    vae.to(dev)
    log = C.JsonLog(os.path.join(a.run, "log.jsonl"))
    paths = dit_paths(a.run)
    ck = C.load(paths["main"])
    if ck is None:
        torch.manual_seed(a.seed)
        t5_cfg = dict(M.DEFAULT_T5, vocab_size=max(32, len(D.VOCAB)), **(json.loads(a.t5_config) if a.t5_config
                                                                          else {}))
        dit_cfg = dict(M.DEFAULT_DIT, **(json.loads(a.dit_config) if a.dit_config else {}))
        t5, dit = build_text_and_dit(t5_cfg, dit_cfg)
        t5.init_weights_(a.seed * 1000 + 3)
        M.init_stdit_(dit, a.seed * 1000 + 4)
        init_log = init_from_(dit, t5, a.init_from) if a.init_from else None
        freeze_t5 = a.freeze_t5
        frames, size = a.frames, a.size
        D.set_size(size)
        stream = D.ClipStream(a.seed * 1000 + 5, T=frames, travel=a.travel)
        short_frames = a.short_frames
        short = D.ClipStream(a.seed * 1000 + 7, T=short_frames, travel=a.travel) if short_frames else None
        gen = torch.Generator().manual_seed(a.seed * 1000 + 6)
        step, seconds = 0, 0.0
        ema = {"dit": copy.deepcopy(dit.state_dict()), "t5": copy.deepcopy(t5.state_dict())}
        best, opt_sd = None, None
    else:
        t5_cfg, dit_cfg, freeze_t5 = ck["t5_cfg"], ck["dit_cfg"], ck["freeze_t5"]
        t5, dit = build_text_and_dit(t5_cfg, dit_cfg)
        t5.load_state_dict(ck["t5"])
        dit.load_state_dict(ck["dit"])
        init_log = None
        frames, size = int(ck.get("frames", D.FRAMES)), int(ck.get("size", D.DEFAULT_SIZE))
        D.set_size(size)
        stream = D.ClipStream(0, T=frames, travel=a.travel)
        stream.load_state_dict(ck["data"])
        short_frames = int(ck.get("short_frames") or 0)
        short = D.ClipStream(0, T=short_frames, travel=a.travel) if short_frames else None
        if short is not None:
            short.load_state_dict(ck["data_short"])
        gen = torch.Generator()
        gen.set_state(ck["rng"])
        step, seconds, best = ck["step"], ck["seconds"], ck.get("best")
        ema = checkpoint_ema(ck, paths)
        opt_sd = ck["opt"] if "opt" in ck else C.load(paths["opt"])
    dit.clip_frames = frames
    if a.reset_best:
        best = None  # the evals of this chunk use other settings than the stored best's (e.g. more clips)
    t5.to(dev)
    dit.to(dev)
    ema = {part: {k: v.to(dev) for k, v in sd.items()} for part, sd in ema.items()}
    for p in t5.parameters():
        p.requires_grad_(not freeze_t5)
    params = [p for p in list(dit.parameters()) + list(t5.parameters()) if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0, betas=(0.9, 0.999))
    if opt_sd is not None:
        opt.load_state_dict(opt_sd)
    # Warm-up counts from step 0 when the AdamW moments carry on, and again from this chunk's first step when they
    # start fresh (a new run, or a checkpoint committed without dit_opt.pt).
    chunk_start = step
    warm_from = 0 if opt_sd is not None else chunk_start
    schedule = {"steps": a.schedule_steps, "final_lr": a.lr_final}
    log.write(stage="dit", event="start", step=step, dit_params=M.count_params(dit), t5_params=M.count_params(t5),
              frames=frames, size=size, tokens=tokens_per_clip(dit_cfg, frames), short_frames=short_frames,
              short_frac=a.short_frac if short_frames else None, dit_cfg=dit_cfg, t5_cfg=t5_cfg,
              init_from=init_log,
              freeze_t5=freeze_t5, batch=a.batch, threads=THREADS, resumed=ck is not None, travel=a.travel,
              reverse_pairs=a.reverse_pairs, eval_clips=a.eval_clips, device=str(dev),
              gpu=torch.cuda.get_device_name(dev) if dev.type == "cuda" else None, torch=torch.__version__,
              lr=a.lr, warmup=a.warmup, warmup_from=warm_from, optimizer_restored=opt_sd is not None,
              schedule=schedule)

    def cpu(sd: dict) -> dict:
        return {k: v.detach().cpu() for k, v in sd.items()}

    def save():
        C.save_atomic({"kind": "dit", "t5_cfg": t5_cfg, "dit_cfg": dit_cfg, "freeze_t5": freeze_t5,
                       "dit": cpu(dit.state_dict()), "t5": cpu(t5.state_dict()), "data": stream.state_dict(),
                       "rng": gen.get_state(), "step": step, "seconds": seconds, "best": best, "seed": a.seed,
                       "frames": frames, "size": size, "short_frames": short_frames,
                       "data_short": short.state_dict() if short is not None else None},
                      paths["main"])
        C.save_atomic({part: cpu(sd) for part, sd in ema.items()}, paths["ema"])
        C.save_atomic(opt.state_dict(), paths["opt"])

    def evaluate():
        nonlocal best
        te = time.time()
        et5, edit = build_text_and_dit(t5_cfg, dit_cfg)
        et5.load_state_dict(ema["t5"])
        edit.load_state_dict(ema["dit"])
        edit.clip_frames = frames
        et5.to(dev).eval()
        edit.to(dev).eval()
        prompts = D.eval_prompts(a.eval_clips)
        z = sample_latents(edit, et5, prompts, steps=a.eval_steps, cfg_scale=a.cfg, seed=1234)
        with torch.no_grad():
            video = vae.decode(z).cpu()
        sc = S.score(video, prompts)
        res = {k: round(sc[k], 3) for k in S.KEYS + ["score"]}
        improved = best is None or sc["score"] >= best["score"]
        if improved:
            best = {"step": step, **res}
            C.save_atomic({"kind": "dit_best", "t5_cfg": t5_cfg, "dit_cfg": dit_cfg, "dit": cpu(ema["dit"]),
                           "t5": cpu(ema["t5"]), "step": step, "eval": res, "frames": frames, "size": size},
                          os.path.join(a.run, "dit_best.pt"))
            C.write_sheet(os.path.join(a.run, "best_samples.png"), video)
        log.write(stage="dit", event="eval", step=step, **res, best_step=best["step"], improved=improved,
                  eval_seconds=round(time.time() - te, 1))

    fps, h, w = cond_tensors(a.batch, dev)  # the same for every clip and step (fps 24, the run's frame size)

    def group_loss(src: D.ClipStream, B: int) -> torch.Tensor:
        """Velocity loss of B clips from src (with time-reversed twins, see --reverse-pairs)."""
        if a.reverse_pairs > 0:
            # Time-reversed twins: a reversed "moving left" clip IS a "moving right" clip, so each twin is an exact
            # sample of the data distribution. Twins share the noise and t of their original, so at high noise the
            # inputs nearly coincide while the targets differ only through the motion word: the caption's direction
            # is the only way to lower that loss (the pure-RoPE temporal attention is otherwise blind to the arrow
            # of time; nano-v0 scored the same loss on clips and their reversals).
            n_twin = int(B * a.reverse_pairs) // 2
            video, _, caps = src.batch(B - n_twin, dev)
            video = torch.cat([video, video[:n_twin].flip(2)], 0)
            caps = caps + [D.reverse_caption(c) for c in caps[:n_twin]]
        else:
            n_twin = 0
            video, _, caps = src.batch(B, dev)
        with torch.no_grad():
            x0 = vae.encode(video)
        y, mask = encode_text(t5, caps)
        drop = (torch.rand(B, generator=gen) < a.cfg_dropout).to(dev)
        y = torch.where(drop[:, None, None], dit.y_embedder.y_embedding[None].expand_as(y), y)
        t = torch.sigmoid(torch.randn(B, generator=gen) * a.t_std + a.t_mean)  # logit-normal
        noise = torch.randn(x0.shape, generator=gen)  # CPU generator: the same stream on every device
        if n_twin:
            t[B - n_twin:] = t[:n_twin]
            noise[B - n_twin:] = noise[:n_twin]
        t, noise = t.to(dev), noise.to(dev)
        tt = t.view(-1, 1, 1, 1, 1)
        xt = (1 - tt) * x0 + tt * noise  # Open-Sora RFLOW add_noise with t = timestep / 1000
        out = dit(xt, t * 1000, y[:, None], mask, fps, h, w)
        return F.mse_loss(out[:, :4], x0 - noise)  # velocity target: points from noise to data (spec 6.2)

    n_short = max(2, round(a.batch * a.short_frac)) if short is not None else 0
    t0 = time.time()
    last_ck = last_log = last_eval = t0
    clips_seen, loss_acc, n_acc = 0, 0.0, 0
    dit.train()
    t5.train()
    while time.time() - t0 < a.minutes * 60 and not STOP["flag"]:
        if schedule["steps"] == 0 and a.schedule_auto and step - chunk_start == a.schedule_auto:
            # fix the cosine's length once the speed is known: as many steps as fit in --minutes (logged, so a
            # rerun can pass --schedule-steps N for the same schedule)
            per_step = (time.time() - t0) / a.schedule_auto
            schedule["steps"] = a.schedule_auto + int((a.minutes * 60 - (time.time() - t0)) / per_step)
            log.write(stage="dit", event="schedule", step=step, schedule_steps=schedule["steps"],
                      seconds_per_step=round(per_step, 4), final_lr=a.lr_final)
        ts = time.time()
        for gparam in opt.param_groups:
            gparam["lr"] = lr_at(step, a.lr, a.warmup, warm_from, schedule["steps"], a.lr_final,
                                 chunk_start)
        loss = group_loss(stream, a.batch)
        if short is not None:
            # Mixed clip lengths (Open-Sora v1.2 trains on buckets of many frame counts): the short group is the same
            # motions at a lower frame rate, so the model also learns to denoise fewer temporal tokens that span the
            # whole motion. The loss is a per-clip mean over both groups.
            loss = (loss * a.batch + group_loss(short, n_short) * n_short) / (a.batch + n_short)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        decay = min(a.ema, (1 + step) / (10 + step))
        ema_update_(ema["dit"], dit.state_dict(), decay)
        ema_update_(ema["t5"], t5.state_dict(), decay)
        clips_seen += a.batch + n_short
        loss_acc += loss.detach()
        n_acc += 1
        now = time.time()
        seconds += now - ts
        if now - last_log >= a.log_seconds:
            log.write(stage="dit", step=step, loss=round(float(loss_acc) / n_acc, 6), seconds=round(seconds, 1),
                      clips_per_s=round(clips_seen / (now - last_log), 2), lr=opt.param_groups[0]["lr"])
            last_log, clips_seen, loss_acc, n_acc = now, 0, 0.0, 0
        if a.eval_minutes > 0 and now - last_eval >= a.eval_minutes * 60:
            save()
            evaluate()
            last_eval = last_ck = time.time()
        elif now - last_ck >= a.ckpt_minutes * 60:
            save()
            last_ck = time.time()
    save()
    if a.eval_minutes > 0 and (a.final_eval or best is None):
        evaluate()
        save()
    log.write(stage="dit", event="end", step=step, seconds=round(seconds, 1), best=best)


def cmd_arrow(a) -> None:
    """Arrow-of-time probe: the denoiser's velocity loss on ground-truth moving/growing clips with their own caption,
    versus the same clips played backwards (same caption, same noise). A model that reads the direction word has a
    clearly larger loss on the reversed clips; equal losses mean it is blind to the arrow of time (nano-v0 was)."""
    vae, _ = load_vae(a.run)
    t5, dit, step = load_text_dit(a.run, a.weights)
    prompts = D.eval_prompts(a.n)
    video, _ = D.render_prompts(prompts, seed=5, T=clip_frames(dit))
    fps, h, w = cond_tensors(len(prompts))
    rows = {}
    with torch.no_grad():
        x0 = vae.encode(video)
        y, mask = encode_text(t5, prompts)
        eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
        for t in [0.3, 0.5, 0.7, 0.9]:
            losses = []
            for x in (x0, x0.flip(2)):
                xt = (1 - t) * x + t * eps
                out = dit(xt, torch.full((len(prompts),), 1000.0 * t), y[:, None], mask, fps, h, w)[:, :4]
                losses.append(float(((out - (x - eps)) ** 2).mean()))
            rows[str(t)] = {"forward": round(losses[0], 4), "reversed": round(losses[1], 4),
                            "gap": round(losses[1] - losses[0], 4)}
    print(json.dumps({"step": step, "weights": a.weights, "clips": len(prompts), "loss_by_t": rows}))


# ---------------------------------------------------------------------------------------------------------------
# sample / eval

def cmd_sample(a) -> None:
    vae, _ = load_vae(a.run)
    t5, dit, step = load_text_dit(a.run, a.weights)
    prompts = a.prompt or D.eval_prompts(a.n)
    out = a.out or os.path.join(a.run, f"samples_step{step}")
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    z = sample_latents(dit, t5, prompts, steps=a.steps, cfg_scale=a.cfg, seed=a.seed, lpl_step=a.lpl)
    with torch.no_grad():
        video = vae.decode(z)
    secs = time.time() - t0
    sc = S.score(video, prompts)
    for i, (v, p) in enumerate(zip(video, prompts)):
        C.write_gif(os.path.join(out, f"{i:02d}_{p.replace(' ', '_')}.gif"), v)
    C.write_sheet(os.path.join(out, "sheet.png"), video)
    torch.save({"video": video, "latent": z, "prompts": prompts}, os.path.join(out, "clips.pt"))
    res = {"step": step, "weights": a.weights, "steps": a.steps, "cfg": a.cfg, "lpl": a.lpl, "seconds": round(secs, 1),
           **{k: round(sc[k], 3) for k in S.KEYS + ["score"]}, "out": out}
    with open(os.path.join(out, "scores.json"), "w") as f:
        json.dump({**res, "clips": sc["clips"]}, f, indent=1)
    print(json.dumps(res))


def cmd_eval(a) -> None:
    os.makedirs(a.run, exist_ok=True)
    prompts = D.eval_prompts(a.n)
    video, _ = D.render_prompts(prompts, seed=5, travel=a.travel)
    gt = S.score(video, prompts)
    rep = {"ground_truth": {k: round(gt[k], 3) for k in S.KEYS + ["score"]}, "travel": a.travel}
    vae, _ = load_vae(a.run, required=False)
    if vae is not None:
        rep["vae"] = vae_roundtrip_eval(vae, a.n)
        if os.path.exists(os.path.join(a.run, "dit.pt")):
            for which in a.weights.split(","):
                t5, dit, step = load_text_dit(a.run, which)
                t0 = time.time()
                z = sample_latents(dit, t5, prompts, steps=a.steps, cfg_scale=a.cfg, seed=a.seed, lpl_step=a.lpl)
                with torch.no_grad():
                    sc = S.score(vae.decode(z), prompts)
                rep[f"dit_{which}"] = {"step": step, "seconds": round(time.time() - t0, 1),
                                       **{k: round(sc[k], 3) for k in S.KEYS + ["score"]}}
    with open(os.path.join(a.run, "eval.json"), "w") as f:
        json.dump(rep, f, indent=1)
    print(json.dumps(rep))


# ---------------------------------------------------------------------------------------------------------------

def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--run", required=True, help="run directory (checkpoints, log.jsonl)")
        sp.add_argument("--threads", type=int, default=1, help="BLAS threads; 1 is much faster on the shared 2-core box")
        sp.add_argument("--seed", type=int, default=0)

    v = sub.add_parser("vae", help="train the autoencoder")
    common(v)
    v.add_argument("--minutes", type=float, default=20)
    v.add_argument("--ckpt-minutes", type=float, default=5)
    v.add_argument("--log-seconds", type=float, default=30)
    v.add_argument("--clips", type=int, default=8, help="clips per step")
    v.add_argument("--frames", type=int, default=4, help="random frames per clip per step")
    v.add_argument("--lr", type=float, default=1e-3)
    v.add_argument("--object-weight", type=float, default=8.0, help="extra loss weight on object pixels")
    v.add_argument("--latent-penalty", type=float, default=1e-4)
    v.add_argument("--latent-noise", type=float, default=0.1, help="decoder robustness noise (x latent rms)")
    v.add_argument("--vae-config", default="", help="JSON overriding models.DEFAULT_VAE (first run only)")

    d = sub.add_parser("dit", help="train the T5 encoder + STDiT3 denoiser (needs vae.pt)")
    common(d)
    d.add_argument("--minutes", type=float, default=60)
    d.add_argument("--ckpt-minutes", type=float, default=5)
    d.add_argument("--eval-minutes", type=float, default=15, help="sample+score the EMA and keep the best; 0 = off")
    d.add_argument("--final-eval", type=int, default=1, help="also evaluate at the end of the chunk")
    d.add_argument("--log-seconds", type=float, default=30)
    d.add_argument("--batch", type=int, default=16)
    d.add_argument("--lr", type=float, default=3e-4)
    d.add_argument("--warmup", type=int, default=200)
    d.add_argument("--ema", type=float, default=0.999)
    d.add_argument("--cfg-dropout", type=float, default=0.1)
    d.add_argument("--t-mean", type=float, default=0.0, help="logit-normal timestep mean")
    d.add_argument("--t-std", type=float, default=1.0, help="logit-normal timestep std")
    d.add_argument("--freeze-t5", action="store_true", help="keep the random T5 encoder fixed (first run only)")
    d.add_argument("--dit-config", default="", help="JSON overriding models.DEFAULT_DIT (first run only)")
    d.add_argument("--t5-config", default="", help="JSON overriding models.DEFAULT_T5 (first run only)")
    d.add_argument("--eval-clips", type=int, default=12)
    d.add_argument("--travel", default=D.DEFAULT_TRAVEL, choices=sorted(D.TRAVEL), help="data: motion travel (data.py)")
    d.add_argument("--reverse-pairs", type=float, default=0.5,
                   help="fraction of each batch made of (clip, time-reversed twin) pairs sharing noise and t; 0 = off")
    d.add_argument("--eval-steps", type=int, default=16)
    d.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"], help="cuda: a lent GPU (README)")
    d.add_argument("--frames", type=int, default=D.FRAMES, help="pixel frames per clip (first run only)")
    d.add_argument("--size", type=int, default=D.DEFAULT_SIZE, choices=D.SIZES,
                   help="frame height = width in pixels (first run only; geometry scales, the VAE is convolutional)")
    d.add_argument("--short-frames", type=int, default=0,
                   help="first run only: also train on clips of this many frames (the same motions, lower frame rate)")
    d.add_argument("--short-frac", type=float, default=0.5, help="short clips per step, as a fraction of --batch")
    d.add_argument("--init-from", default="", help="first run only: copy matching EMA weights from this run folder")
    d.add_argument("--reset-best", action="store_true", help="forget the stored best eval (new eval settings)")
    d.add_argument("--lr-final", type=float, default=0.0, help="cosine end value (with --schedule-steps/auto)")
    d.add_argument("--schedule-steps", type=int, default=0,
                   help="cosine decay of the lr over this many steps of the chunk; 0 = constant lr (earlier chunks)")
    d.add_argument("--schedule-auto", type=int, default=0,
                   help="with --schedule-steps 0: after this many steps, size the cosine to fill --minutes")
    d.add_argument("--cfg", type=float, default=7.0)

    s = sub.add_parser("sample", help="generate clips (GIFs, sheet.png, scores.json)")
    common(s)
    s.add_argument("--prompt", action="append", help="repeatable; default: the fixed eval prompt set")
    s.add_argument("--n", type=int, default=12)
    s.add_argument("--steps", type=int, default=30)
    s.add_argument("--cfg", type=float, default=7.0)
    s.add_argument("--lpl", type=int, default=-1, help="fixed LPL leap at this step index (-1 = off)")
    s.add_argument("--weights", default="best", choices=["best", "ema", "raw"])
    s.add_argument("--out", default="")

    e = sub.add_parser("eval", help="scores: ground truth, VAE round trip, denoiser samples")
    common(e)
    e.add_argument("--n", type=int, default=24)
    e.add_argument("--steps", type=int, default=30)
    e.add_argument("--cfg", type=float, default=7.0)
    e.add_argument("--lpl", type=int, default=-1)
    e.add_argument("--weights", default="best", help="comma list of best,ema,raw")
    e.add_argument("--travel", default=D.DEFAULT_TRAVEL, choices=sorted(D.TRAVEL), help="ground-truth data preset")

    r = sub.add_parser("arrow", help="arrow-of-time probe: loss on clips vs their time reversals")
    common(r)
    r.add_argument("--n", type=int, default=24)
    r.add_argument("--weights", default="best", choices=["best", "ema", "raw"])

    a = p.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    {"vae": cmd_vae, "dit": cmd_dit, "sample": cmd_sample, "eval": cmd_eval, "arrow": cmd_arrow}[a.cmd](a)


if __name__ == "__main__":
    main()
