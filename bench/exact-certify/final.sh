#!/usr/bin/env bash
# One device call: the A/B of BINS (default "new3 new4") on uniform, normal and illcond rows
# (device.sh), the one whose `exact` is the closest to the fastest strategy (geometric mean of
# exact / fastest over every uniform and normal case) picked, and the H200's committed sum
# documents measured again with it, by their own commands, under $OUT/docs/.
set -u
export LD_LIBRARY_PATH=$PWD/.carry/lib
BINS=${BINS:-new3 new4}
DISTS="uniform normal illcond" BINS="$BINS" bash "$(dirname "$0")/device.sh"
best=""; bestg=""
for bin in $BINS; do
  g=$(cat "$OUT"/"$bin"-uniform/*/*/sum.csv "$OUT"/"$bin"-normal/*/*/sum.csv | awk -F, '
    $1 != "run" && $11 == "measured" { key = $8 "," $10 "," seg;
      t[key "," $6] = $16; if (!(key in m) || $16 < m[key]) m[key] = $16 }
    $1 == "run" { seg++ }
    END { s = 0; c = 0; for (key in m) if ((key ",exact") in t) { s += log(t[key ",exact"] / m[key]); c++ }
          printf "%.4f %d\n", exp(s / c), c }')
  echo "pick: $bin geomean exact/fastest $g"
  gm=${g% *}
  if [ -z "$best" ] || awk -v a="$gm" -v b="$bestg" 'BEGIN { exit !(a < b) }'; then best=$bin; bestg=$gm; fi
done
echo "pick: $best"
B=.carry/$best
mkdir -p "$OUT/docs"
$B run --device gpu --op sum --out "$OUT/docs/default" --no-progress > "$OUT/docs/default.log" 2>&1; echo "default rc=$?"
$B run --op sum --n 65536 --device gpu --batch 1-512 --reps 3 --trials 3 --no-progress --find-switch \
  --out "$OUT/docs/search-sum-65536" > "$OUT/docs/search.log" 2>&1; echo "search rc=$?"
$B run --device gpu --op sum --out "$OUT/docs/sum-n2e26" --n 2^26 --batch 1,4,16 --reps 20 --trials 5 \
  --strategy tree,split,fixedsplit,atomic,compensated,exact --no-progress > "$OUT/docs/n2e26.log" 2>&1; echo "n2e26 rc=$?"
