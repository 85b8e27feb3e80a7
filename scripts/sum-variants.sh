#!/usr/bin/env bash
# Times `sum` launch-geometry variants at n = 2^26 with the benchmark itself, one results folder
# per variant under $RESULTS (default results/gpu-variants/sum): blocks per work-group of
# `tree` (CLREPRO_TREE_PER_GROUP) and parts per row of `exact` (CLREPRO_EXACT_PARTS). Neither
# changes the bits (tree's blocks and exact's digits are fixed); this script checks that.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$here/clrepro"
results=${RESULTS:-results/gpu-variants/sum}
device=${DEVICE:-gpu}
run() { # name, strategy, then VAR=value settings
  local name=$1 strategy=$2
  shift 2
  echo "== $name: $*"
  env "$@" "$bin" run --device "$device" --op sum --n 2^26 --batch 1,4,16 --strategy "$strategy" --trials 2 \
    --reps 20 --out "$results/$name" --no-progress | grep -E "^$strategy "
}
run tree-default tree
for g in 1 2 8 16; do run tree-per-group-$g tree CLREPRO_TREE_PER_GROUP=$g; done
run exact-default exact
for p in 132 264 528 2112 4096; do run exact-parts-$p exact CLREPRO_EXACT_PARTS=$p; done
python3 - "$results" <<'PY'
import json, glob, sys, collections
seen = collections.defaultdict(set)
for path in glob.glob(sys.argv[1] + "/*/*/sum.json"):
    for c in json.load(open(path))["cases"]:
        seen[(c["strategy"], c["batch"])].add(c["fingerprint"])
bad = {k: v for k, v in seen.items() if len(v) != 1}
print("variants agree on every output" if not bad else f"variants disagree: {bad}")
sys.exit(1 if bad else 0)
PY
