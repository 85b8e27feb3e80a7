#!/usr/bin/env python3
"""table.py: attention `fixedsplit` at chunks of 64, 128 and 256 tokens (--chunk) against
`portable` and `splitkv` of the same runs, per device and shape (medians, us), from the CSVs in
this folder; and fixedsplit / the fastest other strategy per chunk (min, median, max)."""
import csv
import glob
import os
import statistics

here = os.path.dirname(os.path.abspath(__file__))
for dev, prefixes in (("gpu", ("at-def", "at-llm", "at-llm8k")), ("cpu", ("at-cpu-def", "at-cpu-llm"))):
    t = {}
    name = ""
    for p in prefixes:
        for ch in (64, 128, 256):
            for c in csv.DictReader(open(os.path.join(here, f"{p}-{ch}", "attention.csv"))):
                assert c["valid"] == "true", (p, ch, c["strategy"], c["batch"])
                k = (int(c["heads"]), int(c["head-dim"]), int(c["kv-len"]), int(c["batch"]))
                t.setdefault(k, {})[(c["strategy"], ch)] = float(c["time_median_s"]) * 1e6
                name = f'{c["device"]} ({c["driver"]})'
    print(f"## {name}\n")
    print("| H | d | L | B | fixedsplit 64 | 128 | 256 | portable (3 runs) | splitkv (3 runs) |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios = {64: [], 128: [], 256: []}
    for k in sorted(t):
        v = t[k]
        others = min(x for (s, _), x in v.items() if s != "fixedsplit")
        for ch in ratios:
            ratios[ch].append(v[("fixedsplit", ch)] / others)
        fs = " | ".join(f"{v[('fixedsplit', ch)]:.1f}" for ch in (64, 128, 256))
        po = " / ".join(f"{v[('portable', ch)]:.1f}" for ch in (64, 128, 256))
        sk = " / ".join(f"{v[('splitkv', ch)]:.1f}" for ch in (64, 128, 256))
        print(f"| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {fs} | {po} | {sk} |")
    print()
    for ch, r in ratios.items():
        print(f"- chunk {ch}: fixedsplit / the fastest portable or splitkv run of the same case: min {min(r):.2f}, "
              f"median {statistics.median(r):.2f}, max {max(r):.2f} over {len(r)} cases")
    print()
