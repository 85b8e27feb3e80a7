#!/usr/bin/env python3
"""table.py: softmax `portable` on this session's local PoCL 3.1 (2-core "Intel(R) Xeon(R) Processor"),
main (before) against each try (new), rounds alternating, from the CSVs here: the geometric mean of
portable's median times over the 12 cases, portable / row per case, and whether the fingerprints
of the two binaries agree."""
import csv
import glob
import math
import os

here = os.path.dirname(os.path.abspath(__file__))
for series in ("first3", "subnormal-branch"):
    print(f"## {series}\n")
    fps = {}
    for d in sorted(glob.glob(os.path.join(here, series, "*"))):
        t = {}
        for c in csv.DictReader(open(os.path.join(d, "softmax.csv"))):
            t.setdefault((int(c["vocab"]), int(c["batch"])), {})[c["strategy"]] = (float(c["time_median_s"]) * 1e6,
                                                                                  c["fingerprint"])
        g = math.exp(sum(math.log(v["portable"][0]) for v in t.values()) / len(t))
        r = sorted(v["portable"][0] / v["row"][0] for v in t.values())
        fps.setdefault(os.path.basename(d).split("-")[1], []).append(tuple(v["portable"][1] for _, v in sorted(t.items())))
        print(f"- {os.path.basename(d)}: portable geometric mean {g:.0f} us; portable / row {r[0]:.2f} / "
              f"{r[len(r) // 2]:.2f} / {r[-1]:.2f}x over {len(r)} cases")
    same = len({f for v in fps.values() for f in v}) == 1
    print(f"- one set of portable fingerprints in every run of both binaries: {same}\n")
