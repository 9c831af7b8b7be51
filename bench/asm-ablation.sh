#!/usr/bin/env bash
# The ASM supplement's Table 1 on synthetic faces with 30% symmetric noise: fixed (FT) and
# adaptive (AT) thresholds for four base pairs, once per partition in PARTITIONS (an
# evaluation pass at each epoch start, as the authors' MAN code; or mined online), then one
# `ferlab table` grid per partition.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERLAB:-target/release/ferlab}
OUT=${OUT:-runs/asm-ablation}
PARTITIONS=${PARTITIONS:-eval_pass online}
[ -x "$BIN" ] || cargo build --release
for part in $PARTITIONS; do
  for preset in presets/asm-ablation-*.toml; do
    "$BIN" train "$preset" --out "$OUT/$part" --quiet --set "method.asm.partition=$part"
  done
done
for part in $PARTITIONS; do
  echo "partition = $part"
  "$BIN" table "$OUT/$part"/* --grid method.asm.noisy_threshold,method.asm.thresholds --format markdown
done
