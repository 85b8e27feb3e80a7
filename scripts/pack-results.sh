#!/usr/bin/env bash
# Packs a results folder for the trip back from a lent machine, whose transfers take at most 8
# files of 16 MiB each: one .tgz per top-level folder (journals left out: they are for --resume
# there), each split into 15 MiB pieces (NAME.tgz.part-aa, -ab, ...) when larger. Here:
#   cat NAME.tgz.part-* | tar xz -C results
# usage: pack-results.sh RESULTS_DIR OUT_DIR
set -euo pipefail
[ $# -eq 2 ] && [ -d "$1" ] || { echo "usage: pack-results.sh RESULTS_DIR OUT_DIR" >&2; exit 2; }
src=$1 out=$2
mkdir -p "$out"
for dir in "$src"/*/; do
  name=$(basename "$dir")
  tar czf "$out/$name.tgz" --exclude='.*.journal.jsonl' -C "$src" "$name"
  if [ "$(stat -c %s "$out/$name.tgz")" -gt $((15 << 20)) ]; then
    split -b 15m "$out/$name.tgz" "$out/$name.tgz.part-"
    rm "$out/$name.tgz"
  fi
done
ls -l "$out"
