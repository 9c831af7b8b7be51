#!/bin/bash
# Same seed, same numbers: trains three short runs (CE, ASM, RMFER on synthetic faces) with
# the given ferlab binary and writes what they measured, every epoch's validation metrics,
# training loss and loss terms and every mining report's counts, without timings.
# Compare two builds (a refactor must not change a single value):
#   bench/same-seed.sh OUT_BEFORE OLD_BINARY; bench/same-seed.sh OUT_AFTER target/release/ferlab
#   diff OUT_BEFORE/measured.json OUT_AFTER/measured.json && echo identical
set -euo pipefail
OUT=${1:?usage: bench/same-seed.sh OUT [FERLAB_BINARY]}
BIN=${2:-target/release/ferlab}
rm -rf "$OUT"; mkdir -p "$OUT"
"$BIN" train presets/quick.toml --set train.epochs=2 --out "$OUT/quick" --quiet > "$OUT/quick.txt" 2>&1
"$BIN" train presets/asm-synthetic-noise30.toml --set train.epochs=4 --out "$OUT/asm" --quiet > "$OUT/asm.txt" 2>&1
"$BIN" train presets/rmfer-synthetic-full.toml --set train.epochs=3 --set method.rmfer.epoch_pre=1 \
    --out "$OUT/rmfer" --quiet > "$OUT/rmfer.txt" 2>&1
python3 - "$OUT" <<'PY'
import glob, json, sys
out = sys.argv[1]
measured = {}
for run in ["quick", "asm", "rmfer"]:
    rows = []
    for line in open(glob.glob(f"{out}/{run}/*/events.jsonl")[0]):
        e = json.loads(line)["event"]
        if e["type"] == "EpochEnd":
            train = {k: v for k, v in e["train"].items()
                     if k not in ("images_per_sec", "seconds", "data_wait_secs")}
            rows.append({"epoch": e["epoch"], "val": e["val"], "train": train})
        elif e["type"] == "Mining":
            rows.append({"mining": e["report"]["counts"], "class_mean": e["report"]["class_mean"]})
    measured[run] = rows
json.dump(measured, open(f"{out}/measured.json", "w"), indent=1, sort_keys=True)
for run, rows in measured.items():
    last = [r for r in rows if "val" in r][-1]["val"]
    print(f"{run}: {len(rows)} records, last epoch overall {100 * last['overall']:.2f}%")
PY
