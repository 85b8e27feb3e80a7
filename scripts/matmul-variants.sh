#!/usr/bin/env bash
# Times matmul `tiled` tile variants on the llm shapes (K = 4096, N = 4096 and 14336) with the
# benchmark itself, one results folder per variant under $RESULTS (default results/gpu-variants).
# Runs next to a .carry/ folder (scripts/carry.sh); the variants are the developer knobs of
# src/ops/matmul.c (CLREPRO_MATMUL_*), which choose kernels and never change the bits: every
# folder's `tiled` fingerprints must agree, and this script checks that they do.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$here/clrepro"
results=${RESULTS:-results/gpu-variants}
device=${DEVICE:-gpu}
batches=${BATCHES:-1,2,4,8,16,32,64,128,256,512}
run() { # name, then VAR=value settings
  local name=$1
  shift
  echo "== $name: $*"
  env "$@" "$bin" run --device "$device" --op matmul --k 4096 --n 4096,14336 --batch "$batches" \
    --strategy tiled --trials 2 --reps 10 --out "$results/$name" --no-progress | grep -E '^tiled'
}
run default
run rb-max-1 CLREPRO_MATMUL_RB_MAX=1
run rb-max-4 CLREPRO_MATMUL_RB_MAX=4
run rb-max-8 CLREPRO_MATMUL_RB_MAX=8
run tile-1x8 CLREPRO_MATMUL_TM=1 CLREPRO_MATMUL_TN=8
run tile-8x4 CLREPRO_MATMUL_TM=8 CLREPRO_MATMUL_TN=4
run tile-4x8 CLREPRO_MATMUL_TM=4
run per-chunk-0 CLREPRO_MATMUL_PER_CHUNK=0
run per-chunk-1 CLREPRO_MATMUL_PER_CHUNK=1
# The same bits everywhere: one fingerprint per (N, M) over all variants.
python3 - "$results" <<'PY'
import json, glob, sys, collections
seen = collections.defaultdict(set)
for path in glob.glob(sys.argv[1] + "/*/*/matmul.json"):
    for c in json.load(open(path))["cases"]:
        seen[(c["shape"]["n"], c["batch"])].add(c["fingerprint"])
bad = {k: v for k, v in seen.items() if len(v) != 1}
print("variants agree on every output" if not bad else f"variants disagree: {bad}")
sys.exit(1 if bad else 0)
PY
