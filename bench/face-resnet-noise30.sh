#!/usr/bin/env bash
# The noisy-label table on the face-identity-pretrained ResNet: CE, SCN, SOFT, ASM-FT and
# ASM-AT on FER2013 with 30% symmetric label noise (presets/face-resnet-pretrained-*-noise30),
# same data, budget and seed, then `ferlab table` (ASM rows carry mining precision / recall
# against the injected truth).
#
# Budget (in the presets): at most 1,000 training faces per class (6,436), 3 epochs,
# batch 32, 112 px — 8 to 15 minutes a run on 2 CPU cores (ASM and SOFT: two views a
# step). Attention maps and embeddings are off here so that the runs' wall times measure
# training alone.
#   bench/face-resnet-noise30.sh               # seed 7, as the presets
#   SEED=8 METHODS="ce asm-at" bench/face-resnet-noise30.sh   # a second seed of two rows
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERLAB:-target/release/ferlab}
OUT=${OUT:-runs/face-resnet-noise30}
SEED=${SEED:-7}
THREADS=${THREADS:-0}  # 0 = all cores; 1 lets two seeds run side by side
METHODS=${METHODS:-ce scn soft asm-ft asm-at}
[ -x "$BIN" ] || cargo build --release
for m in $METHODS; do
  "$BIN" train "presets/face-resnet-pretrained-$m-fer2013-noise30.toml" --out "$OUT" --quiet \
    --set seed="$SEED" --set train.threads="$THREADS" \
    --set name="face-resnet-pretrained-$m-fer2013-noise30-seed$SEED" \
    --set train.attention_every=0 --set train.embedding_every=0
done
"$BIN" table "$OUT"/face-resnet-pretrained-*-fer2013-noise30-seed"$SEED"-* --format markdown
