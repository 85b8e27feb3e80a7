#!/usr/bin/env python3
"""Markdown tables of median times from variant folders written by clrepro (results/gpu-variants).

usage: variants-table.py OP STRATEGY FOLDER...   (each FOLDER holds <device>/<op or llm-op>.json)
One row per (shape, batch), one column per folder: the strategy's median time in ms."""
import glob, json, os, sys

op, strategy, folders = sys.argv[1], sys.argv[2], sys.argv[3:]
rows, names = {}, []
for folder in folders:
    name = os.path.basename(folder.rstrip("/"))
    names.append(name)
    for path in glob.glob(f"{folder}/*/{op}.json"):
        for c in json.load(open(path))["cases"]:
            if c["strategy"] == strategy and c["valid"]:
                shape = tuple((k, v) for k, v in c["shape"].items() if k != "dtype")
                rows.setdefault((shape, c["batch"]), {})[name] = c["time_s"]["median"] * 1e3
print(f"`{strategy}` median ms | " + " | ".join(f"`{n}`" for n in names))
print("|".join(["---"] + ["---:"] * len(names)))
for (shape, batch) in sorted(rows):
    cells = [f"{rows[(shape, batch)][n]:.4f}" if n in rows[(shape, batch)] else "–" for n in names]
    label = " ".join(f"{k}={v}" for k, v in shape)
    print(f"{label}, B={batch} | " + " | ".join(cells))
