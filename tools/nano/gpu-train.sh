#!/usr/bin/env bash
# Denoiser training on a lent GPU (README.md "Training on a lent GPU"): two lanes side by side on the one card (the
# model is tiny and a step is launch-bound, so one lane alone leaves the card mostly idle). Each lane:
#   LANE_<X>_FROM  checkpoint folder to continue (dit.pt + dit_ema.pt), or empty to start from scratch;
#   LANE_<X>_ARGS  extra train.py dit arguments (learning rate, data preset, model config).
# Common: batch 256, time-reversed twin pairs, an EMA eval (48 prompts, 30 steps) every minute, and a cosine
# learning rate sized after 300 steps to end with the chunk. Results (checkpoints, logs, sample sheets) land in
# $OUT/<lane>/, at most 8 files of < 16 MB in all (the device tool's return limits).
#
#   MINUTES=4.5 OUT=/tmp/out bash tools/nano/gpu-train.sh   # defaults: continue nano-v4 (its 8-frame short clips too)
set -u
MINUTES=${MINUTES:-4.5}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:?set OUT to the folder that receives the results}
VAE=${VAE:-tools/nano/checkpoints/nano-v4/vae.pt}
BATCH=${BATCH:-256}
PY=${PY:-python3}
WORK=${WORK:-runs/gpu}
LANE_A_FROM=${LANE_A_FROM-tools/nano/checkpoints/nano-v4}
LANE_A_ARGS=${LANE_A_ARGS:---travel wide --t-mean 0.7 --lr 3e-4 --lr-final 1e-5 --warmup 100}
LANE_B_FROM=${LANE_B_FROM-tools/nano/checkpoints/nano-v4}
LANE_B_ARGS=${LANE_B_ARGS:---travel wide --t-mean 0.7 --reverse-pairs 0.5 --lr 3e-4 --lr-final 1e-5 --warmup 100}
HARD_STOP=$(awk "BEGIN { print int($MINUTES * 60 + 60) }") # SIGTERM makes train.py save and stop

common=(tools/nano/train.py dit --device "$DEVICE" --batch "$BATCH" --minutes "$MINUTES" --eval-minutes 1
  --eval-clips 48 --eval-steps 30 --log-seconds 15 --reverse-pairs 1.0 --schedule-auto 300 --reset-best
  --threads 2)
export PYTHONUNBUFFERED=1

lane() { # name, from, args (one string, split on spaces)
  local name=$1 from=$2 args=$3
  mkdir -p "$WORK/$name"
  cp "$VAE" "$WORK/$name/vae.pt"
  if [ -n "$from" ]; then cp "$from/dit.pt" "$from/dit_ema.pt" "$WORK/$name/"; fi
  # shellcheck disable=SC2086 # args is a word list on purpose
  timeout -s TERM "$HARD_STOP" "$PY" "${common[@]}" --run "$WORK/$name" $args >"$WORK/$name.out" 2>&1 &
}
lane A "$LANE_A_FROM" "$LANE_A_ARGS"
lane B "$LANE_B_FROM" "$LANE_B_ARGS"
wait
for r in A B; do
  echo "== $r"
  grep -v '"loss"' "$WORK/$r.out" | cut -c1-400 | tail -n 12
  mkdir -p "$OUT/$r"
  for f in log.jsonl dit.pt dit_ema.pt best_samples.png; do
    if [ -f "$WORK/$r/$f" ]; then cp "$WORK/$r/$f" "$OUT/$r/"; fi
  done
done
ls -la "$OUT"/*
