#!/usr/bin/env bash
# A/B of sum `exact` on a lent GPU machine, the binaries in .carry/ (BINS, default "old new"),
# alternating, the same cases; results under $OUT/<binary>-<dist>/{small,large}/.
set -u
export LD_LIBRARY_PATH=$PWD/.carry/lib
nvidia-smi -L 2>/dev/null
DEV=${DEV:-gpu}
for dist in ${DISTS:-uniform}; do
  for bin in ${BINS:-old new}; do
    .carry/$bin run --device "$DEV" --op sum --strategy tree,split,fixedsplit,exact --n 4096,65536,1M \
      --batch 1,2,8,16,64,174,256 --dist "$dist" --reps 20 --trials 2 --out "$OUT/$bin-$dist/small" --quiet ||
      echo "FAILED $bin"
    .carry/$bin run --device "$DEV" --op sum --strategy tree,split,fixedsplit,exact --n 16M \
      --batch 1,2,8,16 --dist "$dist" --reps 20 --trials 2 --out "$OUT/$bin-$dist/large" --quiet || echo "FAILED $bin"
  done
done
