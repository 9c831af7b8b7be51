#!/usr/bin/env bash
# The imbalanced-FER table on the face-identity-pretrained ResNet: CE, CB, RUL, EAC and LNSU
# on FER2013 made imbalanced with factor 100 (presets/face-resnet-pretrained-*-imb100), same
# data, budget and seed, then `ferlab table` with per-class accuracies and the flip MSE of
# the attention maps, and LNSU's attention figures into screenshots/figures/.
#
# Budget (in the presets): one epoch of the 17,194-face imbalanced split, batch 32, 112 px —
# 8–14 minutes a run on 2 CPU cores, 18–25 for EAC and LNSU (two views a step; measured on
# a machine whose host took up to 18% steal time).
#   bench/face-resnet-imb100.sh
#   SEED=8 METHODS="ce lnsu" bench/face-resnet-imb100.sh   # a second seed of two rows
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERLAB:-target/release/ferlab}
OUT=${OUT:-runs/face-resnet-imb100}
SEED=${SEED:-7}
THREADS=${THREADS:-0}  # 0 = all cores; 1 lets two seeds run side by side
METHODS=${METHODS:-ce cb rul eac lnsu}
[ -x "$BIN" ] || cargo build --release
for m in $METHODS; do
  "$BIN" train "presets/face-resnet-pretrained-$m-fer2013-imb100.toml" --out "$OUT" --quiet \
    --set seed="$SEED" --set train.threads="$THREADS" \
    --set name="face-resnet-pretrained-$m-fer2013-imb100-seed$SEED"
done
"$BIN" table "$OUT"/face-resnet-pretrained-*-fer2013-imb100-seed"$SEED"-* --format markdown --per-class
# LNSU's attention figures (the maps are 1x1 at 112 px: see the presets) and the comparison.
lnsu=$(ls -d "$OUT"/face-resnet-pretrained-lnsu-fer2013-imb100-seed"$SEED"-* 2>/dev/null | tail -1)
if [ -n "$lnsu" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$BIN" export "$OUT"/face-resnet-pretrained-*-fer2013-imb100-seed"$SEED"-* --out "$tmp" --format png --dpi 150
  fig=screenshots/figures
  run=$tmp/$(basename "$lnsu")
  cp "$run/attention.png" "$fig/face-resnet-lnsu-imb100-attention.png"
  cp "$run/confusion.png" "$fig/face-resnet-lnsu-imb100-confusion.png"
  cp "$run/flip_consistency.png" "$fig/face-resnet-lnsu-imb100-flip-consistency.png"
  cp "$tmp/compare_per_class.png" "$fig/face-resnet-imb100-compare-per-class.png"
fi
