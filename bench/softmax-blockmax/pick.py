#!/usr/bin/env python3
"""pick.py DIR: the variant whose softmax `portable` runs fastest under DIR/gpu-<round>-<variant>
(geometric mean of its median times over every case and round); prints its name, and the means
to stderr. Every variant must give the same portable fingerprints, else it prints nothing and
exits 1."""
import csv
import glob
import math
import os
import sys

top = sys.argv[1]
times, fps = {}, {}
for d in glob.glob(os.path.join(top, "gpu-*-*")):
    v = os.path.basename(d).split("-", 2)[2]
    for f in glob.glob(os.path.join(d, "softmax.csv")) + glob.glob(os.path.join(d, "*", "softmax.csv")):
        for c in csv.DictReader(open(f)):
            if c["strategy"] == "portable":
                times.setdefault(v, []).append(math.log(float(c["time_median_s"])))
                fps.setdefault((c["vocab"], c["batch"]), set()).add(c["fingerprint"])
if not times or any(len(s) != 1 for s in fps.values()):
    print("pick: no runs, or fingerprints differ between variants", file=sys.stderr)
    sys.exit(1)
means = {v: math.exp(sum(t) / len(t)) for v, t in times.items()}
for v in sorted(means):
    print(f"pick: {v}: geometric mean {means[v] * 1e6:.2f} us over {len(times[v])} cases", file=sys.stderr)
print(min(means, key=means.get))
