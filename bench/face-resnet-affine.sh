#!/usr/bin/env bash
# The face ResNet's scale layers when fine-tuning: folded into the convolutions or kept as
# their own learnable scale and shift. A short FER2013 fine-tune of each (1,000 training
# faces per class at most — 6,436 faces —, 2 epochs, 112 px, full validation split), same
# seed; prints each run's validation accuracy per epoch.
#   bench/face-resnet-affine.sh [RUNS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/face-resnet-affine}
cargo build --release --quiet
for affine in folded separate; do
  ./target/release/ferlab train presets/face-resnet-pretrained-fer2013-ce.toml --out "$OUT" \
    --set name="face-resnet-affine-$affine" --set model.scale_affine="$affine" \
    --set data.max_train_per_class=1000 --set train.epochs=2 --set train.attention_every=0 \
    --set train.embedding_every=0
done
./target/release/ferlab table "$OUT"/face-resnet-affine-*
