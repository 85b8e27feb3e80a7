#!/usr/bin/env python3
"""table.py: median time (us) of each case in every run of this folder, per variant: `old` (the
fold as of 0a1988f) against `new` (rmsnorm's squares through TREE_WI_FOLD_FIRST3), and sum's tree
with `plain` against `first3` (tree_wi_global through it too, --kernel-dir), with whether each
case's fingerprint is the same in every run."""
import csv
import glob
import os
from collections import defaultdict

here = os.path.dirname(os.path.abspath(__file__))
times, prints = defaultdict(list), defaultdict(set)
for f in sorted(glob.glob(os.path.join(here, "*", "*.csv"))):
    series, rnd, variant = os.path.basename(os.path.dirname(f)).split("-")
    for c in csv.DictReader(open(f)):
        size = c.get("hidden") or c.get("n")
        key = (series, c["strategy"], int(size), int(c["batch"]))
        times[key + (variant,)].append(float(c["time_median_s"]) * 1e6)
        prints[key].add(c["fingerprint"])
print("| series | strategy | size | B | variant | median us per run | same bits in every run |")
print("|---|---|---|---|---|---|---|")
for key in sorted({k[:4] for k in times}):
    for v in sorted(k[4] for k in times if k[:4] == key):
        print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {v} | "
              + " / ".join(f"{t:.1f}" for t in times[key + (v,)]) + f" | {len(prints[key]) == 1} |")
