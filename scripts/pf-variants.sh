#!/usr/bin/env bash
# Ran at commit 3bad034, where MM_PF and EXACT_PF existed (dropped in 344a785 as slower or no
# faster); at later commits the -D options it passes change nothing. Times the loads-in-flight variants (MM_PF of cl/matmul.cl for matmul's work-item kernels at
# small M, EXACT_PF of cl/exact.clh for sum exact) through CLREPRO_CL_DEFINES, with the
# benchmark itself; one results folder per variant under $RESULTS (default
# results/gpu-variants/pf). Neither changes the bits; the script checks that.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$here/clrepro"
results=${RESULTS:-results/gpu-variants/pf}
device=${DEVICE:-gpu}
for pf in 1 8 16 32; do
  echo "== matmul MM_PF=$pf"
  CLREPRO_CL_DEFINES="-DMM_PF=$pf" "$bin" run --device "$device" --op matmul --k 4096 --n 4096,14336 --batch 1,2,4,8 \
    --strategy tiled,splitk --trials 2 --reps 20 --out "$results/mm-pf$pf" --no-progress | grep -E '^(tiled|splitk) '
done
for pf in 1 4 8; do
  echo "== sum EXACT_PF=$pf"
  CLREPRO_CL_DEFINES="-DEXACT_PF=$pf" "$bin" run --device "$device" --op sum --n 2^26 --batch 1,4,16 \
    --strategy tree,exact --trials 2 --reps 20 --out "$results/exact-pf$pf" --no-progress | grep -E '^(tree|exact) '
done
python3 - "$results" <<'PY'
import json, glob, sys, collections
seen = collections.defaultdict(set)
for path in glob.glob(sys.argv[1] + "/*/*/*.json"):
    for c in json.load(open(path))["cases"]:
        seen[(c["op"], c["strategy"], json.dumps(c["shape"]), c["batch"])].add(c["fingerprint"])
bad = {k: v for k, v in seen.items() if len(v) != 1}
print("variants agree on every output" if not bad else f"variants disagree: {bad}")
sys.exit(1 if bad else 0)
PY
