#!/usr/bin/env bash
# Round 4 of the H200 variants (run from the repository root next to .carry/).
set -uo pipefail
export LD_LIBRARY_PATH=$PWD/.carry/lib
B=.carry/clrepro
R=$1
mm() { local name=$1; shift; echo "== matmul $name: $*"; env "$@" $B run --device gpu --op matmul --k 4096 --n 4096,14336 --batch 1,2,4,8 --strategy tiled,splitk --trials 2 --reps 20 --out $R/mm-$name --no-progress | grep -E '^(tiled|splitk) '; }
mm default
mm rb1 CLREPRO_MATMUL_RB=1
mm rb1-max4 CLREPRO_MATMUL_RB=1 CLREPRO_MATMUL_RB_MAX=4
mm rb1-max8 CLREPRO_MATMUL_RB=1 CLREPRO_MATMUL_RB_MAX=8
mm rb2-max4 CLREPRO_MATMUL_RB=2 CLREPRO_MATMUL_RB_MAX=4
ex() { local name=$1; shift; echo "== sum $name: $*"; env "$@" $B run --device gpu --op sum --n 2^26 --batch 1,4,16 --strategy tree,exact --trials 2 --reps 20 --out $R/sum-$name --no-progress | grep -E '^(tree|exact) '; }
ex default
for p in 396 660 792; do ex parts$p CLREPRO_EXACT_PARTS=$p; done
for w in 64 128 512; do echo "== sum wg $w"; $B run --device gpu --op sum --n 2^26 --batch 1,4,16 --strategy tree,exact --trials 2 --reps 20 --wg $w --out $R/sum-wg$w --no-progress | grep -E '^(tree|exact) '; done
