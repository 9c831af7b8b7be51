#!/usr/bin/env bash
# The RMFER ablation table of the README: the classifier alone (w/o ACL and IAL), IAL
# without ACL, the full method (IAL + ACL with the clip prior) and ACL without the clip
# prior (cosine-similarity sampling only), with synthetic reaction clips as the unlabeled
# set; first on synthetic faces, then on FER2013 (DATA=fer2013 or both).
#
# Every run embeds validation features with t-SNE and MDS; `ferlab table --embedding`
# prints the feature-space measurements (cosine gap, distance to class centre, the share
# of attention-filtered positives with the anchor's expression).
#
#   bench/rmfer.sh                 # synthetic faces (about 4 min per run on 2 cores)
#   DATA=fer2013 bench/rmfer.sh    # FER2013 + synthetic clips (PER_CLASS labelled faces)
#   DATA=both bench/rmfer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FERLAB:-target/release/ferlab}
OUT=${OUT:-runs/rmfer}
DATA=${DATA:-synthetic}
[ -x "$BIN" ] || cargo build --release
variants=(base ial full cosine)
table() {
  "$BIN" table "$@" --format markdown
  "$BIN" table "$@" --format markdown --embedding
}
if [ "$DATA" = synthetic ] || [ "$DATA" = both ]; then
  for v in "${variants[@]}"; do
    "$BIN" train "presets/rmfer-synthetic-$v.toml" --out "$OUT/synthetic" --quiet
  done
  table $(for v in "${variants[@]}"; do ls -d "$OUT"/synthetic/rmfer-synthetic-"$v"-* | tail -1; done)
fi
if [ "$DATA" = fer2013 ] || [ "$DATA" = both ]; then
  for v in "${variants[@]}"; do
    "$BIN" train "presets/rmfer-fer2013-$v.toml" --out "$OUT/fer2013" --quiet
  done
  table $(for v in "${variants[@]}"; do ls -d "$OUT"/fer2013/rmfer-fer2013-"$v"-* | tail -1; done)
fi
