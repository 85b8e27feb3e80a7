#!/usr/bin/env bash
# Runs on a machine that received .carry/ (scripts/carry.sh): the cross-vendor check of the
# device-invariant strategies (issue 13) on the devices named by $DEVICES (default gpu,cpu).
# Per device: rmsnorm, softmax and attention at their default shapes (every strategy, so the
# portable ones are compared with the others and, by `clrepro compare`, across devices) into
# $RESULTS/portable-default, then the llm shapes of those three into $RESULTS/portable-llm (for
# the cost of the portable strategies). The same commands run here give the third device.
# Extra arguments go to every `clrepro run`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin=${BIN:-$here/clrepro}
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
"$bin" devices -l || exit $?
IFS=',' read -r -a list <<<"$devices"
for dev in "${list[@]}"; do
  step "$bin" run --device "$dev" --op rmsnorm,softmax,attention --out "$results/portable-default" --no-progress "$@"
  # The llm shapes (hidden 4096, a 128256 vocabulary, 32 heads x 128 at 1K and 8K tokens). CPUs
  # stop attention at B = 16 and 8K tokens at B = 4: more does not fit PoCL's buffers.
  if [ "$dev" = gpu ]; then att_batches=1,2,4,8,16,32,64; long_batches=1,2,4,8,16,32,64; else att_batches=1,2,4,8,16; long_batches=1,2,4; fi
  step "$bin" run --device "$dev" --op rmsnorm --hidden 4096 --batch 1,2,4,8,16,32,64,128,256,512 \
    --out "$results/portable-llm" --no-progress --reps 20 "$@"
  step "$bin" run --device "$dev" --op softmax --vocab 128256 --batch 1,2,4,8,16,32,64 \
    --out "$results/portable-llm" --no-progress --reps 20 "$@"
  step "$bin" run --device "$dev" --op attention --heads 32 --head-dim 128 --kv-len 1024 --batch "$att_batches" \
    --out "$results/portable-llm" --no-progress --reps 20 "$@"
  step "$bin" run --device "$dev" --op attention --heads 32 --head-dim 128 --kv-len 8192 --batch "$long_batches" \
    --out "$results/portable-llm-8k" --no-progress --reps 20 "$@"
done
exit $status
