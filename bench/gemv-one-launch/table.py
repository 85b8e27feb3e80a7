#!/usr/bin/env python3
"""table.py: matmul `tiled` median time (us) per shape and M in every run of this folder, and
split-K's in the first base run; whether every case was valid and every variant's tiled
fingerprints equal the base's."""
import csv
import glob
import os
import statistics

here = os.path.dirname(os.path.abspath(__file__))
for series in ("exp1", "exp2", "exp3", "exp4"):
    runs = {}
    for f in sorted(glob.glob(os.path.join(here, series, "*", "matmul.csv"))):
        name = os.path.basename(os.path.dirname(f))
        shape_set, variant = name.split("-")[0], name.rsplit("-", 1)[0]
        for c in csv.DictReader(open(f)):
            key = (int(c["k"]), int(c["n"]), int(c["batch"]))
            runs.setdefault(variant, {}).setdefault(key, {}).setdefault(c["strategy"], []).append(
                (float(c["time_median_s"]) * 1e6, c["fingerprint"], c["valid"] == "true"))
    variants = sorted(runs, key=lambda v: (v.split("-")[0], v))
    print(f"## {series}\n")
    keys = sorted({k for v in runs.values() for k in v})
    cols = sorted({v.split("-", 1)[1] if "-" in v else v for v in variants})
    print("| K | N | M | " + " | ".join(f"tiled {c}" for c in cols) + " | splitk base |")
    print("|---|---|---|" + "---|" * len(cols) + "---|")
    for k in keys:
        cells = []
        for c in cols:
            v = next((v for v in variants if (v.split("-", 1)[1] if "-" in v else v) == c and k in runs[v]), None)
            t = runs[v][k].get("tiled") if v else None
            cells.append("/".join(f"{x[0]:.1f}" for x in t) if t else "")
        base = next(v for v in variants if v.endswith("base") and k in runs[v])
        sk = runs[base][k].get("splitk")
        print(f"| {k[0]} | {k[1]} | {k[2]} | " + " | ".join(cells) + f" | {sk[0][0]:.1f} |")
    ok = all(x[2] for v in runs.values() for s in v.values() for xs in s.values() for x in xs)
    same = all(len({x[1] for v in variants if k in runs[v] and "tiled" in runs[v][k] for x in runs[v][k]["tiled"]}) == 1
               for k in keys)
    print(f"\nevery case valid: {ok}; tiled's fingerprint the same in every run of a case: {same}\n")
