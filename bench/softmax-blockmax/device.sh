#!/usr/bin/env bash
# Runs on a lent GPU machine that received .carry/ with the binaries: .carry/clrepro-base (main
# before the per-block max, 96fc6a3) and .carry/clrepro (order revision 2 of softmax portable),
# and for PART=variants .carry/clrepro-<name> for each name in $VARIANTS.
# PART=ab:   softmax, every strategy, base against new, alternating twice on the GPU and on
#            the CPU (PoCL); outputs in $OUT/ab/<device>-<round>-<binary>.
# PART=variants: softmax on the GPU, the default vocabularies at B = 1-256, each variant in turn,
#            twice; outputs in $OUT/variants/gpu-<round>-<variant>.
# PART=docs: the committed softmax documents measured again with the new binary, by the commands
#            they record, on the GPU and the CPU (the llm suite's softmax: PART=att); outputs in
#            $OUT/docs/<folder>.
# PART=llm:  the llm suite on the GPU; outputs in $OUT/llm.
# PART=att:  the committed attention documents of the GPU (fixedsplit's chunks changed), the
#            llm suite included; outputs in $OUT/att/<folder>.
# Each step's time and status go to $OUT/times.txt, its output to $OUT/logs/<step>.log.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
export LD_LIBRARY_PATH="$here/.carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
new="$here/.carry/clrepro" base="$here/.carry/clrepro-base"
out=${OUT:?}
mkdir -p "$out/logs"
step() { # name, timeout, command...
  local name=$1 limit=$2 start=$SECONDS
  shift 2
  timeout "$limit" "$@" >"$out/logs/$name.log" 2>&1
  echo "$name rc=$? $((SECONDS - start))s" | tee -a "$out/times.txt"
}
case "${PART:?}" in
ab)
  "$new" devices -l >"$out/logs/devices.log" 2>&1
  for round in 1 2; do
    for b in base new; do
      bin=$new; [ $b = base ] && bin=$base
      step "ab-gpu-$round-$b" 120 "$bin" run --device gpu --op softmax --vocab 32000,128256,151936 \
        --batch 1,2,4,8,16,32,64,128,256 --reps 20 --trials 2 --no-progress --quiet --out "$out/ab/gpu-$round-$b"
    done
  done
  for round in 1 2; do
    for b in base new; do
      bin=$new; [ $b = base ] && bin=$base
      step "ab-cpu-$round-$b" 120 "$bin" run --device cpu --op softmax --vocab 32000,128256 \
        --batch 1,2,4,8,16,32 --reps 10 --trials 2 --no-progress --quiet --out "$out/ab/cpu-$round-$b"
    done
  done
  ;;
variants)
  for round in 1 2; do
    for v in ${VARIANTS:?}; do
      step "var-gpu-$round-$v" 120 "$here/.carry/clrepro-$v" run --device gpu --op softmax \
        --vocab 32000,128256,151936 --batch 1,2,4,8,16,32,64,128,256 --reps 20 --trials 2 --no-progress --quiet \
        --out "$out/variants/gpu-$round-$v"
    done
  done
  ;;
docs)
  for dev in ${DEVICES:-gpu cpu}; do
    d="$out/docs"
    step "$dev-default" 120 "$new" run --device $dev --op softmax --out "$d/default-$dev" --no-progress
    step "$dev-portable" 120 "$new" run --device $dev --op softmax --out "$d/portable-$dev" --no-progress
    step "$dev-pllm" 120 "$new" run --device $dev --op softmax --vocab 128256 --batch 1,2,4,8,16,32,64 \
      --out "$d/portable-llm-$dev" --no-progress --reps 20
    step "$dev-switch" 150 "$new" run --device $dev --op softmax --vocab 32000 --batch 1-512 --find-switch \
      --reps 3 --trials 3 --out "$d/switch-$dev" --no-progress --quiet
  done
  ;;
llm)
  step llm 300 "$new" run --device gpu --suite llm --out "$out/llm" --no-progress --reps 20 --quiet
  ;;
att)
  d="$out/att"
  step default 120 "$new" run --device gpu --op attention --out "$d/default" --no-progress
  step seed 120 "$new" run --device gpu --suite seed --out "$d/seed" --no-progress
  step portable 120 "$new" run --device gpu --op attention --out "$d/portable" --no-progress
  step switch 120 "$new" run --op attention --kv-len 256 --device gpu --batch 1-512 --reps 3 --trials 3 \
    --no-progress --find-switch --out "$d/switch" --quiet
  step pllm 120 "$new" run --device gpu --op attention --heads 32 --head-dim 128 --kv-len 1024 \
    --batch 1,2,4,8,16,32,64 --out "$d/portable-llm" --no-progress --reps 20
  step llm 300 "$new" run --device gpu --suite llm --out "$d/llm" --no-progress --reps 20 --quiet
  step 8k 200 "$new" run --device gpu --op attention --heads 32 --head-dim 128 --kv-len 8192 \
    --batch 1,2,4,8,16,32,64 --out "$d/portable-llm-8k" --no-progress --reps 20
  ;;
esac
