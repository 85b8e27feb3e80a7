#!/usr/bin/env python3
"""Every case of every committed schema 2 results document against its roof: per device and
commit, how many cases, the highest fraction of the roof and the cases above it (listed).
usage: scripts/roof-check.py [RESULTS_DIR]   (default results/)"""
import collections, glob, json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else "results"
groups = collections.defaultdict(lambda: [0, 0.0, []])
for path in sorted(glob.glob(os.path.join(root, "**", "*.json"), recursive=True)):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        continue
    if not isinstance(doc, dict) or doc.get("schema_version") != 2 or "cases" not in doc:
        continue
    key = (doc["device"]["name"], doc.get("tool", {}).get("git_commit", "?"))
    g = groups[key]
    for c in doc["cases"]:
        if c.get("skipped") or not c.get("valid", True):
            continue
        frac = c.get("roof_fraction") or 0.0
        g[0] += 1
        g[1] = max(g[1], frac)
        if frac > 1:
            g[2].append((frac, os.path.relpath(path, root), c["strategy"], c["shape"], c["batch"]))
print("| device | commit | cases | highest % roof | cases over the roof |")
print("|---|---|---:|---:|---:|")
for (dev, commit), (n, most, over) in sorted(groups.items()):
    print(f"| {dev} | {commit} | {n} | {100 * most:.1f}% | {len(over)} |")
for (dev, commit), (n, most, over) in sorted(groups.items()):
    for frac, path, strategy, shape, batch in sorted(over, reverse=True):
        dims = ", ".join(f"{k} = {v}" for k, v in shape.items() if k != "dtype")
        print(f"over: {100 * frac:.1f}% {path} {strategy} {dims} B = {batch} ({dev}, {commit})")
