#!/usr/bin/env bash
# The candidates for larger class activation maps on the pretrained face ResNet (issue 37)
# side by side: `model.stride_one_blocks` (how many of the last down blocks keep their
# input's size) and `model.input_size`, each candidate written BLOCKS or BLOCKS@SIZE (112 px
# when left out); BLOCKSd (e.g. 2d@120) also dilates the convolutions after the kept blocks
# (`model.stride_one_dilated`). For each: the maps' side; how far the 128-d descriptors of 28 FER2013
# validation faces (4 a class) move from the original network's at the same input size
# (cosine similarity; 0 blocks is the original, within 4e-7 of face-api:
# bench/face-descriptors.sh); and a fixed short fine-tune (the CE preset, MAX_TRAIN faces a
# class, 0 = all, EPOCHS epochs, seed 7): training images/s, minutes, validation overall /
# mean accuracy on all 3,589 faces, and the maps' validation flip MSE.
#   bench/face-resnet-maps.sh                       # CANDIDATES="0 1 2 3" MAX_TRAIN=1000 EPOCHS=1
#   CANDIDATES="0 2@120" MAX_TRAIN=0 bench/face-resnet-maps.sh   # one epoch of all FER2013
#   EPOCHS=3 CANDIDATES="2d@120" MAX_TRAIN=0 THREADS=1 SEED=7 bench/face-resnet-maps.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERLAB:-target/release/ferlab}
FER=${FER:-../shared/datasets/fer2013}
WEIGHTS=${WEIGHTS:-../shared/weights/face-recognition-resnet/face_recognition_model-weights_manifest.json}
WORK=${WORK:-/tmp/ferlab-face-resnet-maps}
CANDIDATES=${CANDIDATES:-0 1 2 3}
MAX_TRAIN=${MAX_TRAIN:-1000}
EPOCHS=${EPOCHS:-1}
SEED=${SEED:-7}
THREADS=${THREADS:-0}  # 0 = all cores
[ -x "$BIN" ] || cargo build --release
mkdir -p "$WORK"
FACES=()
for c in "$FER"/val/*/; do
  while IFS= read -r f; do FACES+=("$f"); done < <(ls "$c" | sort | head -4 | sed "s|^|$c|")
done
for c in $CANDIDATES; do
  k=${c%@*}
  size=112
  [ "$c" = "$k" ] || size=${c#*@}
  blocks=${k%d}
  dilated=false
  [ "$blocks" = "$k" ] || dilated=true
  flag=()
  [ "$dilated" = false ] || flag=(--stride-one-dilated)
  "$BIN" describe --weights "$WEIGHTS" --input-size "$size" --stride-one-blocks 0 \
    "${FACES[@]}" 2>/dev/null > "$WORK/descriptors-0@$size.jsonl"
  "$BIN" describe --weights "$WEIGHTS" --input-size "$size" --stride-one-blocks "$blocks" \
    "${flag[@]}" "${FACES[@]}" 2>/dev/null > "$WORK/descriptors-$k@$size.jsonl"
  rm -rf "$WORK/runs-$c"
  "$BIN" train presets/face-resnet-pretrained-fer2013-ce.toml --quiet --out "$WORK/runs-$c" \
    --set model.stride_one_blocks="$blocks" --set model.stride_one_dilated="$dilated" \
    --set model.input_size="$size" --set seed="$SEED" --set train.threads="$THREADS" \
    --set data.max_train_per_class="$MAX_TRAIN" --set train.epochs="$EPOCHS" \
    --set name="maps-stride-one-$k-$size-seed$SEED" > "$WORK/train-$c.log" 2>&1
done
python3 - "$WORK" $CANDIDATES <<'PY'
import glob, json, math, sys
work, ks = sys.argv[1], sys.argv[2:]
def descriptors(k):
    return [json.loads(l)["descriptor"] for l in open(f"{work}/descriptors-{k}.jsonl")]
def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
print("| stride-1 blocks @ input px | map side | descriptor cosine to the original (mean / min) | train images/s | minutes | val overall % | val mean % | flip MSE |")
print("|---|---|---|---|---|---|---|---|")
for c in ks:
    k, size = (c.split("@") + ["112"])[:2]
    original = descriptors(f"0@{size}")
    cos = [cosine(a, b) for a, b in zip(original, descriptors(f"{k}@{size}"))]
    events = [json.loads(l)["event"] for l in open(glob.glob(f"{work}/runs-{c}/*/events.jsonl")[0])]
    side = next(e["snapshot"]["map_height"] for e in events if e["type"] == "Attention")
    ends = [e for e in events if e["type"] == "EpochEnd"]
    best = max(ends, key=lambda e: e["val"]["overall"])
    ips = sum(e["train"]["images_per_sec"] for e in ends) / len(ends)
    secs = sum(e["train"]["seconds"] for e in ends)
    flip = next((e["snapshot"]["mean"] for e in reversed(events) if e["type"] == "Attention"), float("nan"))
    print(f"| {k} @ {size} | {side}×{side} | {sum(cos) / len(cos):.4f} / {min(cos):.4f} | {ips:.1f} | {secs / 60:.1f} | "
          f"{100 * best['val']['overall']:.2f} | {100 * best['val']['mean']:.2f} | {flip:.5f} |")
PY
