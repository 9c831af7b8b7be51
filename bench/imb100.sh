#!/usr/bin/env bash
# The imbalanced-FER results table of the README: CE, CB, EAC, RUL and LNSU on FER2013 made
# imbalanced with factor 100 (n_l' = n_l * mu^l), same backbone, epochs and seed, then
# `ferlab table` with per-class accuracies.
#
# Defaults are the reduced budget the README's numbers were measured with on 2 CPU cores
# (10 epochs, one conv per stage). For the presets' full budget:
# EPOCHS=40 CONVS=2 bench/imb100.sh   (FACTOR=50 or 150 for the other presets)
# ABLATE=1 also trains LNSU without each of its terms (attention weight 0, epsilon 0) into
# $OUT/lnsu-ablation, the README's ablation table.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERLAB:-target/release/ferlab}
OUT=${OUT:-runs/imb100}
EPOCHS=${EPOCHS:-10}
CONVS=${CONVS:-1}
FACTOR=${FACTOR:-100}
[ -x "$BIN" ] || cargo build --release
budget=(--quiet --set "train.epochs=$EPOCHS" --set "model.convs_per_stage=$CONVS")
common=(--out "$OUT" "${budget[@]}")
for method in ce cb rul eac lnsu; do
  "$BIN" train "presets/$method-fer2013-imb$FACTOR.toml" "${common[@]}"
done
"$BIN" table "$OUT"/*-fer2013-imb"$FACTOR"-* --format markdown --per-class
if [ "${ABLATE:-0}" = 1 ]; then
  for term in method.lnsu.attention_weight=0 method.lnsu.epsilon=0; do
    "$BIN" train "presets/lnsu-fer2013-imb$FACTOR.toml" --out "$OUT/lnsu-ablation" "${budget[@]}" --set "$term"
    "$BIN" table "$(ls -d "$OUT"/lnsu-ablation/lnsu-* | tail -1)" --per-class
  done
fi
