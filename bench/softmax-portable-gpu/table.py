#!/usr/bin/env python3
"""table.py SERIES: softmax `portable` against the fastest strategy, per run of a series (a-*: the
exponentials computed twice against stored; b-*: one work-group a row at every B against the
three launches; c-*: two launches, every work-group taking its row's max; d-*: four running
maxima a work-item, and two launches at every B), from the documents in this folder; and the portable times (us) per shape."""
import csv
import glob
import os
import statistics
import sys

here = os.path.dirname(os.path.abspath(__file__))
series = sys.argv[1]
runs = {}
for d in sorted(glob.glob(os.path.join(here, series + "-*"))):
    t = {}
    for c in csv.DictReader(open(os.path.join(d, "softmax.csv"))):
        t.setdefault((int(c["vocab"]), int(c["batch"])), {})[c["strategy"]] = (
            float(c["time_median_s"]), c["fingerprint"], c["valid"] == "true")
    runs[os.path.basename(d)] = t
names = sorted(runs)
for n in names:
    rs = [v["portable"][0] / min(x[0] for x in v.values()) for v in runs[n].values()]
    ok = all(x[2] for v in runs[n].values() for x in v.values())
    print(f"- {n}: portable / fastest min {min(rs):.2f}, median {statistics.median(rs):.2f}, max {max(rs):.2f}; every case valid: {ok}")
a, b = runs[names[0]], runs[names[1]]
print(f"- portable's fingerprints equal between {names[0]} and {names[1]} in {sum(a[k]['portable'][1] == b[k]['portable'][1] for k in a)} of {len(a)} cases\n")
print("| V | B | " + " | ".join(f"portable {n}" for n in names) + " | split (first run) |")
print("|---|---|" + "---|" * len(names) + "---|")
for k in sorted(a):
    print(f"| {k[0]} | {k[1]} | " + " | ".join(f"{runs[n][k]['portable'][0] * 1e6:.1f}" for n in names) +
          f" | {runs[names[0]][k]['split'][0] * 1e6:.1f} |")
