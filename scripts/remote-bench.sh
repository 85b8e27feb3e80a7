#!/usr/bin/env bash
# Runs on a machine that received .carry/ (see scripts/carry.sh): every benchmark of clrepro on
# the devices named by $DEVICES (default: all), results under $RESULTS (default results/).
# Usage: .carry/remote-bench.sh [extra `clrepro run` options]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$here/clrepro"
results=${RESULTS:-results}
devices=${DEVICES:-all}
status=0
"$bin" --version
"$bin" devices || exit $?
IFS=',' read -r -a list <<<"$devices"
for dev in "${list[@]}"; do
  echo "== $dev: default run"
  "$bin" run --device "$dev" --out "$results" --no-progress "$@" || status=1
  echo "== $dev: n = 2^26"
  "$bin" run --device "$dev" --out "$results/sum-n2e26" --n 2^26 --batch 1,4,16 --reps 20 --trials 5 \
    --strategy tree,split,fixedsplit,atomic,compensated,exact \
    --no-progress "$@" || status=1
  echo "== $dev: demo order"
  "$bin" demo order --device "$dev" --out "$results" --quiet || status=1
done
exit $status
