#!/usr/bin/env python3
"""table.py: softmax median times (us) per run: `old` (the plan of 0a1988f: three launches on CPUs
whenever a row spans several blocks) against `new` (a row a work-item from B = compute units on),
with whether every run of a case gave the same fingerprint."""
import csv
import glob
import os
from collections import defaultdict

here = os.path.dirname(os.path.abspath(__file__))
times, prints = defaultdict(list), defaultdict(set)
for f in sorted(glob.glob(os.path.join(here, "*", "softmax.csv"))):
    variant = os.path.basename(os.path.dirname(f)).split("-")[0]
    for c in csv.DictReader(open(f)):
        key = (int(c["vocab"]), int(c["batch"]), c["strategy"])
        times[key + (variant,)].append(float(c["time_median_s"]) * 1e6)
        prints[key].add(c["fingerprint"])
print("| V | B | strategy | old (us, per run) | new (us, per run) | same bits |")
print("|---|---|---|---|---|---|")
for k in sorted({k[:3] for k in times}):
    cells = [" / ".join(f"{t:.1f}" for t in times[k + (v,)]) for v in ("old", "new")]
    print(f"| {k[0]} | {k[1]} | {k[2]} | {cells[0]} | {cells[1]} | {len(prints[k]) == 1} |")
