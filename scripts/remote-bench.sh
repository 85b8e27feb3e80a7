#!/usr/bin/env bash
# Runs on a machine that received .carry/ (see scripts/carry.sh): the benchmarks of clrepro on
# the devices named by $DEVICES (default: gpu,cpu), results under $RESULTS (default results/).
# Every device gets the default run (all operations), the seed suite and `demo order`; GPUs also
# get the llm suite and the n = 2^26 sums. Extra arguments go to every `clrepro run`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$here/clrepro"
results=${RESULTS:-results}
devices=${DEVICES:-gpu,cpu}
status=0
step() {
  echo "== $*"
  local start=$SECONDS
  "$@" || status=1
  echo "== $(( SECONDS - start )) s"
}
"$bin" --version
"$bin" devices || exit $?
IFS=',' read -r -a list <<<"$devices"
for dev in "${list[@]}"; do
  step "$bin" run --device "$dev" --out "$results" --no-progress "$@"
  step "$bin" run --device "$dev" --suite seed --out "$results" --no-progress "$@"
  if [ "$dev" = gpu ]; then
    step "$bin" run --device "$dev" --suite llm --out "$results" --no-progress --reps 20 "$@"
    step "$bin" run --device "$dev" --op sum --out "$results/sum-n2e26" --n 2^26 --batch 1,4,16 --reps 20 \
      --trials 5 --strategy tree,split,fixedsplit,atomic,compensated,exact --no-progress "$@"
  fi
  step "$bin" demo order --device "$dev" --out "$results" --quiet
done
exit $status
