#!/usr/bin/env bash
# The backbone's learning rate for short fine-tunes of the face ResNet: the noisy-label CE
# preset's budget (1,000 training faces per class, batch 32, 112 px) with clean labels and
# 2 epochs, for each backbone multiple in SCALES and with the backbone frozen through the
# first epoch (a linear probe, then fine-tuning at 0.1x). At most two runs at once, one thread
# each; prints each run's validation accuracy per epoch.
#   bench/face-resnet-lr-scale.sh [RUNS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/face-resnet-lr-scale}
SCALES=${SCALES:-0.1 0.03}
BIN=${FERLAB:-target/release/ferlab}
[ -x "$BIN" ] || cargo build --release
common=(--out "$OUT" --quiet --set corruption.noise=none --set corruption.noise_rate=0
        --set train.epochs=2 --set train.attention_every=0 --set train.threads=1)
preset=presets/face-resnet-pretrained-ce-fer2013-noise30.toml
runs=()
for s in $SCALES; do runs+=("name=lr-scale-$s model.backbone_lr_scale=$s"); done
runs+=("name=lr-scale-0.1-frozen-first-epoch model.backbone_lr_scale=0.1 model.freeze_backbone_epochs=1")
for r in "${runs[@]}"; do
  [ "$(jobs -rp | wc -l)" -lt 2 ] || wait -n
  sets=(); for kv in $r; do sets+=(--set "$kv"); done
  "$BIN" train "$preset" "${common[@]}" "${sets[@]}" &
done
wait
"$BIN" table "$OUT"/lr-scale-*
