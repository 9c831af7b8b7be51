#!/usr/bin/env bash
# SAM's radius on the face-identity-pretrained ResNet: the RMFER classifier-alone preset
# (presets/face-resnet-pretrained-rmfer-fer2013-base.toml: 300 labelled FER2013 faces per
# class, class-balanced batches of 32, 112 px, backbone at 0.1x) for one epoch at
# rho = 0.05 (the paper's and SAM's default), 0.01, 0.002 and without SAM, then
# `ferlab table`. About 100 s a run with SAM, 60 s without, on 2 cores.
#   bench/face-resnet-sam-rho.sh [RUNS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERLAB:-target/release/ferlab}
OUT=${1:-runs/face-resnet-sam-rho}
RHOS=${RHOS:-0.05 0.01 0.002 0}
[ -x "$BIN" ] || cargo build --release
for r in $RHOS; do
  "$BIN" train presets/face-resnet-pretrained-rmfer-fer2013-base.toml --out "$OUT" --quiet \
    --set name="sam-rho-$r" --set optimizer.sam_rho="$r" --set train.epochs=1 \
    --set train.embedding_every=0
done
"$BIN" table "$OUT"/sam-rho-*
