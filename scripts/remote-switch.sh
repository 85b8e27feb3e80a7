#!/usr/bin/env bash
# Runs on a machine that received .carry/ (see scripts/carry.sh): the switch points of every
# operation over B = 1-512 (M for matmul) on the devices named by $DEVICES (default gpu,cpu),
# results under $RESULTS/switch-<device kind>/ (default results/). Each operation once with
# --find-switch (the search) at its default shapes, matmul also at K = N = 4096 with CLBlast
# (its direct/indirect switch), then the full sweep of sum for what the search saves.
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
IFS=',' read -r -a list <<<"$devices"
for dev in "${list[@]}"; do
  out="$results/switch-$dev"
  common=(--device "$dev" --batch 1-512 --reps 3 --trials 3 --no-progress)
  # Shapes that fit B = 512 on the Xeon's PoCL too (1 GiB per buffer).
  step "$bin" run --op sum --n 4096,65536,1M "${common[@]}" --find-switch --out "$out/search"
  step "$bin" run --op rmsnorm --hidden 4096 "${common[@]}" --find-switch --out "$out/search"
  step "$bin" run --op softmax --vocab 32000 "${common[@]}" --find-switch --out "$out/search"
  step "$bin" run --op attention --kv-len 256 "${common[@]}" --find-switch --out "$out/search"
  step "$bin" run --op matmul --k 4096 --n 4096 "${common[@]}" --find-switch --out "$out/search-matmul-k4096"
  step "$bin" run --op sum --n 4096 "${common[@]}" --strategy serial,tree,split,atomic --find-switch \
    --out "$out/sum-n4096-search"
  step "$bin" run --op sum --n 4096 "${common[@]}" --strategy serial,tree,split,atomic --yes \
    --out "$out/sum-n4096-sweep"
done
exit $status
