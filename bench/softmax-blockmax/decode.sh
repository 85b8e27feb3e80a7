#!/usr/bin/env bash
# The GPU halves of the committed decode experiments (results/decode/*), measured again with
# .carry/clrepro after attention fixedsplit's positional chunks (abfbc25): the commands of
# results/logs/decode-h200-29f9a1c.log, --device gpu. Outputs in $OUT/decode/<experiment>.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
export LD_LIBRARY_PATH="$here/.carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$here/.carry/clrepro" out=${OUT:?}
mkdir -p "$out/logs"
run() { # name, arguments...
  local name=$1 start=$SECONDS
  shift
  timeout 100 "$bin" decode --device gpu "$@" --out "$out/decode/$name" >"$out/logs/decode-$name.log" 2>&1
  echo "$name rc=$? $((SECONDS - start))s" | tee -a "$out/times.txt"
}
run small-fp32
run small-bf16 --activations bf16
run small-fp32-32x64 --prompt-count 32 --tokens 64
run small-bf16-32x64 --prompt-count 32 --tokens 64 --activations bf16
run 1b-fp32 --synthetic 1b
run 1b-bf16 --synthetic 1b --activations bf16
