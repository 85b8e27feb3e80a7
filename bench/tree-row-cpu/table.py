#!/usr/bin/env python3
"""table.py: sum `tree` (and `fixedsplit`) medians in us, main against the row-per-work-item plan
(row-per-work-item.patch), per run, from the CSVs in this folder; and tree's fingerprints."""
import csv
import glob
import os

here = os.path.dirname(os.path.abspath(__file__))
runs = sorted(os.path.basename(d) for d in glob.glob(os.path.join(here, "[12]-*")))
t, fp = {}, {}
for r in runs:
    for c in csv.DictReader(open(os.path.join(here, r, "sum.csv"))):
        assert c["valid"] == "true", (r, c["strategy"], c["n"], c["batch"])
        k = (int(c["n"]), int(c["batch"]), c["strategy"])
        t.setdefault(k, {})[r] = float(c["time_median_s"]) * 1e6
        if c["strategy"] == "tree":
            fp.setdefault(k, set()).add(c["fingerprint"])
print(f"- tree's fingerprint the same in every run: {all(len(v) == 1 for v in fp.values())} ({len(fp)} cases)\n")
print("| n | B | strategy | " + " | ".join(runs) + " |")
print("|---|---|---|" + "---|" * len(runs))
for k in sorted(t):
    print(f"| {k[0]} | {k[1]} | {k[2]} | " + " | ".join(f"{t[k][r]:.1f}" for r in runs) + " |")
