#!/usr/bin/env python3
"""table.py DIR [DEVICE]: softmax `portable` before (base, 96fc6a3) and after (new: order revision 2,
each block against its own max) from the A/B runs under DIR/<device>-<round>-<binary>/*/softmax.csv:
per binary and round, portable / the fastest strategy of the same run (min / median / max); the
portable times (us) per case; and whether each binary's portable fingerprints agree between rounds."""
import csv
import glob
import os
import statistics
import sys

top, device = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "gpu")
runs = {}
for d in sorted(glob.glob(os.path.join(top, device + "-*"))):
    name = os.path.basename(d)[len(device) + 1:]
    t = {}
    for f in glob.glob(os.path.join(d, "softmax.csv")) + glob.glob(os.path.join(d, "*", "softmax.csv")):
        for c in csv.DictReader(open(f)):
            t.setdefault((int(c["vocab"]), int(c["batch"])), {})[c["strategy"]] = (
                float(c["time_median_s"]), c["fingerprint"], c["valid"] == "true")
    runs[name] = t
names = sorted(runs, key=lambda n: (n.split("-")[1], n))
for n in names:
    rs = [v["portable"][0] / min(x[0] for x in v.values()) for v in runs[n].values()]
    ok = all(x[2] for v in runs[n].values() for x in v.values())
    print(f"- {n}: portable / fastest min {min(rs):.2f}, median {statistics.median(rs):.2f}, max {max(rs):.2f} "
          f"over {len(rs)} cases; every case valid: {ok}")
for b in ("base", "new"):
    rr = [n for n in names if n.endswith(b)]
    same = sum(len({runs[n][k]["portable"][1] for n in rr}) == 1 for k in runs[rr[0]])
    print(f"- {b}: portable fingerprints equal across its rounds in {same} of {len(runs[rr[0]])} cases")
keys = sorted(runs[names[0]])
print("\n| V | B | " + " | ".join(f"portable {n}" for n in names) + " | split (each run) | row (each run) |")
print("|---|---|" + "---:|" * len(names) + "---|---|")
for k in keys:
    sp = "/".join(f"{runs[n][k]['split'][0] * 1e6:.1f}" for n in names)
    rw = "/".join(f"{runs[n][k]['row'][0] * 1e6:.1f}" for n in names)
    print(f"| {k[0]} | {k[1]} | " + " | ".join(f"{runs[n][k]['portable'][0] * 1e6:.1f}" for n in names) +
          f" | {sp} | {rw} |")
