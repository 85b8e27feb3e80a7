#!/usr/bin/env bash
# Ran at commit e1d0eaf (one-launch exact, reverted in 7a6d565 as slower). On the lent GPU
# machine (next to .carry/): times sum exact in one launch against two at
# n = 2^26 (CLREPRO_EXACT_FUSED), keeps the faster at B = 1, and with it reruns the GPU's sum
# results (default shapes, and the n = 2^26 set of scripts/remote-bench.sh). Output under $1.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$here/clrepro"
out=$1
for f in 0 1; do
  echo "== exact fused=$f"
  CLREPRO_EXACT_FUSED=$f "$bin" run --device gpu --op sum --n 2^26 --batch 1,4,16 --strategy tree,exact --trials 2 \
    --reps 20 --out "$out/ab/fused$f" --no-progress | grep -E '^(tree|exact) '
done
winner=$(python3 - "$out/ab" <<'PY'
import json, glob, sys
best = {}
for f in (0, 1):
    for path in glob.glob(f"{sys.argv[1]}/fused{f}/*/sum.json"):
        for c in json.load(open(path))["cases"]:
            if c["strategy"] == "exact" and c["batch"] == 1:
                best[f] = c["time_s"]["median"]
print(min(best, key=best.get))
PY
)
echo "== keeping CLREPRO_EXACT_FUSED=$winner"
export CLREPRO_EXACT_FUSED=$winner
"$bin" run --device gpu --op sum --out "$out/res" --no-progress
"$bin" run --device gpu --op sum --out "$out/res/sum-n2e26" --n 2^26 --batch 1,4,16 --reps 20 --trials 5 \
  --strategy tree,split,fixedsplit,atomic,compensated,exact --no-progress
