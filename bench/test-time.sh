#!/bin/bash
# `cargo test --release` time from clean and after touching one method file, for two
# revisions, each in its own worktree and target folder, one after the other (run it on an
# otherwise idle machine: a build beside it spoils both sides).
#   bench/test-time.sh 1bdf324 src/method/cb.rs HEAD src/compute/method/cb.rs
set -u
[ $# -eq 4 ] || { echo "usage: $0 REV_A METHOD_FILE_A REV_B METHOD_FILE_B" >&2; exit 2; }
repo=$(git rev-parse --show-toplevel)
measure() {
  local rev=$1 file=$2 wt tgt start rc
  wt=$(mktemp -d) tgt=$(mktemp -d)
  git -C "$repo" worktree add -f --detach "$wt" "$rev" >/dev/null 2>&1
  cd "$wt" || return
  start=$(date +%s); CARGO_TARGET_DIR=$tgt cargo test --release >"$tgt/clean.log" 2>&1; rc=$?
  echo "$rev from clean: $(( $(date +%s) - start )) s (exit $rc)"
  echo "// touched" >> "$file"
  start=$(date +%s); CARGO_TARGET_DIR=$tgt cargo test --release >"$tgt/touched.log" 2>&1; rc=$?
  echo "$rev after touching $file: $(( $(date +%s) - start )) s (exit $rc)"
  # A failing run names its failed tests before its target folder goes.
  grep -hE "^test .* FAILED|panicked at" "$tgt/clean.log" "$tgt/touched.log" | head -20
  cd "$repo" && git worktree remove --force "$wt" && rm -rf "$tgt"
}
measure "$1" "$2"
measure "$3" "$4"
