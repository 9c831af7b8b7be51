#!/usr/bin/env bash
# The noisy-label comparison where CE memorises (issue 40): the pretrained face ResNet on
# 100 FER2013 training faces a class (700, 30% of their labels flipped symmetrically),
# validation on all 3,589 clean faces. The regime was chosen from CE's curve
# (runs/noise-curve, bench/RESULTS.md "Noisy labels where CE memorises"): with the backbone at
# 0.3x the head's rate, no dropout and no random erasing, CE's validation accuracy peaks
# near epoch 32 of 60 and falls while its training accuracy on the given labels passes the
# 70% that are right (epoch 52); 80 epochs run well into that.
#
# Each method is its noise30 preset with this regime's settings on top; the mining or
# relabelling starts after epoch START (20: CE's curve has left chance — it sits at the
# prior for its first ~12 epochs — and not yet begun to memorise), where the presets' short
# budgets start it after epoch 1-3. EAC is CE's preset with its method.
#   bench/face-resnet-noise30-memorise.sh                          # seed 7, every method
#   SEEDS="8 9" METHODS="ce asm-at" THREADS=1 bench/face-resnet-noise30-memorise.sh
# A run stopped part-way resumes bit-exactly: ferlab train --resume RUN_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERLAB:-target/release/ferlab}
OUT=${OUT:-runs/face-resnet-noise30-memorise}
SEEDS=${SEEDS:-7}
THREADS=${THREADS:-0}  # 0 = all cores; 1 lets two runs go side by side
METHODS=${METHODS:-ce scn soft asm-ft asm-at eac}
EPOCHS=${EPOCHS:-80}
START=${START:-20}
[ -x "$BIN" ] || cargo build --release
REGIME=(--set data.max_train_per_class=100 --set train.epochs="$EPOCHS"
  --set model.backbone_lr_scale=0.3 --set schedule.warmup_epochs=0.5
  --set model.dropout=0 --set augment.erase_prob=0
  --set train.attention_every=0 --set train.embedding_every=0 --set train.threads="$THREADS")
for seed in $SEEDS; do
  for m in $METHODS; do
    preset=$m
    extra=()
    case $m in
      eac) preset=ce; extra=(--set method.name=eac) ;;
      scn) extra=(--set method.scn.relabel_epoch="$START") ;;
      soft) extra=(--set method.soft.rampup_epochs="$START") ;;
      asm-ft|asm-at) extra=(--set method.asm.warmup_epochs="$START") ;;
    esac
    "$BIN" train "presets/face-resnet-pretrained-$preset-fer2013-noise30.toml" --out "$OUT" \
      --quiet --set seed="$seed" --set name="memorise-$m-seed$seed" "${REGIME[@]}" "${extra[@]}"
  done
done
"$BIN" table "$OUT"/memorise-* --format markdown
