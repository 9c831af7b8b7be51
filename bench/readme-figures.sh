#!/usr/bin/env bash
# The exported figures the README shows, from the runs of bench/imb100.sh (imbalanced
# FER2013) and the ASM run of the noisy-label table (presets/asm-fer2013-noise30.toml), as
# `ferlab export` writes them, copied under stable names into screenshots/figures/.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERLAB:-target/release/ferlab}
IMB=${IMB:-runs/imb100}
ASM=${ASM:-$(ls -d runs/noise30/asm-fer2013-noise30-* | tail -1)}
DPI=${DPI:-150}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BIN" export "$IMB" --out "$tmp/imb" --format png --dpi "$DPI"
"$BIN" export "$ASM" --out "$tmp/asm" --format png --dpi "$DPI"
out=screenshots/figures
mkdir -p "$out"
lnsu=$(ls -d "$tmp"/imb/lnsu-* | tail -1)
cp "$lnsu/attention.png" "$out/lnsu-imb100-attention.png"
cp "$lnsu/confusion.png" "$out/lnsu-imb100-confusion.png"
cp "$lnsu/flip_consistency.png" "$out/lnsu-imb100-flip-consistency.png"
cp "$tmp/imb/compare_per_class.png" "$out/imb100-compare-per-class.png"
cp "$tmp/imb/compare_accuracy.png" "$out/imb100-compare-accuracy.png"
asm=$(ls -d "$tmp"/asm/asm-* | tail -1)
cp "$asm/thresholds.png" "$out/asm-noise30-thresholds.png"
cp "$asm/mining.png" "$out/asm-noise30-mining.png"
ls -l "$out"
