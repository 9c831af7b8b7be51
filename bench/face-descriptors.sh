#!/usr/bin/env bash
# Proof that ferlab's face ResNet is the original network: the 128-d descriptors of 28 real
# faces (4 per class of FER2013's validation split, upscaled to 150x150 RGB PPM) from
# `ferlab describe` against @vladmandic/face-api 1.7.15 on TensorFlow.js's CPU backend
# (bench/face_descriptors.mjs), max |difference| per variant (scale layers folded / apart,
# ferlab's kernels / candle's). Needs node + npm, python3 with pillow, and the weights
# (../shared/weights/face-recognition-resnet, or WEIGHTS=DIR; see its README for npm pack).
#   bench/face-descriptors.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WEIGHTS=${WEIGHTS:-../shared/weights/face-recognition-resnet}
FER=${FER:-../shared/datasets/fer2013}
WORK=${WORK:-/tmp/ferlab-face-descriptors}
mkdir -p "$WORK/faces"

if [ ! -d "$WORK/node/node_modules/@vladmandic/face-api" ]; then
  (cd "$WORK" && mkdir -p node && cd node && npm init -y >/dev/null &&
    npm install --silent @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0)
fi
python3 - "$FER/val" "$WORK/faces" <<'PY'
import os, sys
from PIL import Image
root, out = sys.argv[1], sys.argv[2]
for c in sorted(os.listdir(root)):
    for f in sorted(os.listdir(os.path.join(root, c)))[:4]:
        img = Image.open(os.path.join(root, c, f)).convert("RGB").resize((150, 150), Image.BICUBIC)
        img.save(os.path.join(out, f"{c}-{os.path.splitext(f)[0]}.ppm"))
PY
FACES=("$WORK"/faces/*.ppm)
echo "${#FACES[@]} faces, 150x150"

NODE_PATH="$WORK/node/node_modules" node bench/face_descriptors.mjs "$WEIGHTS" "${FACES[@]}" \
  2>/dev/null > "$WORK/original.jsonl"
cargo build --release --quiet
MANIFEST="$WEIGHTS/face_recognition_model-weights_manifest.json"
for variant in "folded" "separate" "folded --candle" "separate --candle"; do
  # shellcheck disable=SC2086
  ./target/release/ferlab describe --weights "$MANIFEST" --scale-affine $variant "${FACES[@]}" \
    2>/dev/null > "$WORK/ferlab.jsonl"
  python3 - "$WORK/original.jsonl" "$WORK/ferlab.jsonl" "$variant" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) and all(x["file"] == y["file"] for x, y in zip(a, b)), "files differ"
worst = max(abs(p - q) for x, y in zip(a, b) for p, q in zip(x["descriptor"], y["descriptor"]))
scale = max(abs(p) for x in a for p in x["descriptor"])
print(f"scale layers {sys.argv[3]:<18} {len(a)} faces x 128: max |ferlab - original| = {worst:.2e} (largest |value| {scale:.3f})")
PY
done
