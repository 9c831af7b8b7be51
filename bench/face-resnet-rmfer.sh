#!/usr/bin/env bash
# RMFER's four ablations on the face-identity-pretrained ResNet
# (presets/face-resnet-pretrained-rmfer-fer2013-*): the classifier alone, IAL without ACL,
# the full method and ACL without the clip prior; FER2013 (300 labelled faces per class,
# 150 per class for validation) with synthetic reaction clips as the unlabeled set. Then
# `ferlab table`, and its feature-space measurements (`--embedding`).
#
# Budget (in the presets): 5 epochs of batch 32, ACL from the third, 112 px, SAM at rho 0.01
# (two passes a step) on 2,100 labelled faces. Measured on 2 cores with steal time: 13, 14,
# 30 and 48 minutes (base, ial, full, cosine; seed 8 on an idle machine: 12, 11, 31, 44);
# ACL's candidate forwards make its epochs slow.
#   bench/face-resnet-rmfer.sh
#   SEED=8 VARIANTS="ial full" bench/face-resnet-rmfer.sh   # a second seed of two rows
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERLAB:-target/release/ferlab}
OUT=${OUT:-runs/face-resnet-rmfer}
SEED=${SEED:-7}
VARIANTS=${VARIANTS:-base ial full cosine}
[ -x "$BIN" ] || cargo build --release
for v in $VARIANTS; do
  "$BIN" train "presets/face-resnet-pretrained-rmfer-fer2013-$v.toml" --out "$OUT" --quiet \
    --set seed="$SEED" --set name="face-resnet-pretrained-rmfer-fer2013-$v-seed$SEED"
done
runs=("$OUT"/face-resnet-pretrained-rmfer-fer2013-*-seed"$SEED"-*)
"$BIN" table "${runs[@]}" --format markdown
"$BIN" table "${runs[@]}" --format markdown --embedding
