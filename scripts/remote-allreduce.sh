#!/usr/bin/env bash
# remote-allreduce.sh OUT NGPU [STEPS]: the measurements of `clrepro allreduce` and of fleet mode on a
# lent machine with NGPU GPUs (carried there by scripts/carry.sh: the binary, its libraries and
# Open MPI in .carry/mpi). Every command and its exit status go to OUT/log.txt; results to OUT/.
#   1. every strategy at R = 1..NGPU, one rank per GPU (defaults: n = 4096 x 1, 8, 64, 512, the
#      layer 4096 x 4096 at M = 1, 8, 64)
#   2. R = 1..8 with two ranks a GPU where NGPU = 4 (lcm(1..8) = 840 slices; smaller messages)
#   3. R = 1..8 on the CPU through PoCL, each rank two cores
#   4. fleet mode over every GPU and the CPU: `mpirun -np NGPU+1 clrepro run ...`
# STEPS (default 1234) picks some of them, so that each call stays within a lent machine's limit.
set -uo pipefail
OUT=${1:?usage: remote-allreduce.sh OUT NGPU}
NGPU=${2:?usage: remote-allreduce.sh OUT NGPU}
STEPS=${3:-1234}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
source "$here/mpi/env.sh"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
B=$here/clrepro
mkdir -p "$OUT"
L=$OUT/log.txt
s() { # s TIMEOUT CMD...: logs the command, its output and its exit status
  local t=$1
  shift
  echo "== $*" >>"$L"
  local start=$SECONDS
  timeout "$t" "$@" >>"$L" 2>&1
  echo "== rc=$? $((SECONDS - start)) s" >>"$L"
}
step() { [[ $STEPS == *$1* ]]; }
s 60 "$B" devices
s 60 mpirun --version
step 1 && s 900 mpirun -np "$NGPU" "$B" allreduce --device gpu --quiet --out "$OUT/allreduce-gpu-x$NGPU"
if step 2 && [ "$NGPU" -ge 4 ]; then
  s 900 mpirun -np 8 --oversubscribe "$B" allreduce --device gpu --n 4096,32768,262144 --batch 1,8 --quiet \
    --out "$OUT/allreduce-gpu-8ranks"
fi
step 3 && s 900 mpirun -np 8 --oversubscribe -x POCL_CPU_MAX_CU_COUNT=2 "$B" allreduce --device cpu --n 4096,32768,262144 \
  --batch 1,8 --quiet --out "$OUT/allreduce-cpu-8ranks"
step 4 && s 900 mpirun -np $((NGPU + 1)) "$B" run --device gpu,cpu --op sum,rmsnorm --n 65536,1M --hidden 4096 \
  --batch 1,16,256 --trials 3 --reps 5 --no-progress --out "$OUT/fleet"
