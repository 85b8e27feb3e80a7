#!/usr/bin/env bash
# Runs on a machine that received .carry/ (scripts/carry.sh). Hardening checks on a GPU machine: replay validation against NVIDIA's and PoCL 5.0's
# bits, the dropped-tail repro, a tail sweep over tunings, a sabotaged kernel, and the default run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib"
B="$here/clrepro"
R=${OUT:-/tmp/out}/r
mkdir -p "$R"
log() { echo "== $*"; "$@"; echo "== rc=$?"; }
"$B" --version; "$B" devices
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
# 1. The issue's command: every strategy must now be valid (and was 29,710 ulp off before).
for d in gpu cpu; do
  log "$B" run --device $d --op sum --n 1000002 --batch 1,2 --wg 1 --strategy split,fixedsplit,atomic,compensated,exact \
      --trials 2 --reps 1 --out "$R/repro-$d" --no-progress
done
# 2. Tails and tunings on the GPU: sizes with every tail, wg 1..256, vec 1..16.
for wg in 1 2 32 256; do for vec in 1 4 16; do
  "$B" run --device gpu --op sum --n 1,3,7,17,4099,70003,1000002 --batch 1,3 --wg $wg --vec $vec --trials 2 --reps 1 \
      --out "$R/sweep-$wg-$vec" --no-progress > "$R/sweep-$wg-$vec.txt" 2>&1
  echo "sweep wg $wg vec $vec: rc=$? invalid=$(grep -c INVALID "$R/sweep-$wg-$vec.txt")"
done; done
# 3. A kernel dropping one element per work-item's tail must fail on the GPU too.
rm -rf /tmp/sab && cp -r "$here/cl" /tmp/sab
sed -i 's/for (ulong t = nvec \* VEC + lid; t < len; t += WG_SIZE)/for (ulong t = nvec * VEC + lid + WG_SIZE; t < len; t += WG_SIZE)/' /tmp/sab/reduce.clh
grep -c 'lid + WG_SIZE; t < len' /tmp/sab/reduce.clh
log "$B" run --device gpu --op sum --n 4099 --batch 1,3 --wg 1 --strategy split,fixedsplit --kernel-dir /tmp/sab \
    --trials 2 --reps 1 --out "$R/sabotage" --no-progress
# 4. The default run (every operation, replay where there is one) and the llm suite, on the GPU; default on PoCL 5.0.
log "$B" run --device gpu --out "$R/default" --no-progress
log "$B" run --device gpu --suite llm --reps 5 --out "$R/llm" --no-progress
log "$B" run --device cpu --out "$R/default" --no-progress
