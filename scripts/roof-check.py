#!/usr/bin/env python3
"""Every case of every committed schema 2 results document against its roof: per device and
commit, how many cases, the highest fraction of the roof and the cases above it (listed).
usage: scripts/roof-check.py [RESULTS_DIR]   (default results/)"""
import collections, glob, json, os, sys


def cell(text):
    """A Markdown table cell that stays text: documents come from other people's machines."""
    out = []
    for ch in str(text):
        if ch in "\\|`*_[]<>&#":
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


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
    try:  # a malformed document is skipped, saying so, never half counted
        key = (str(doc["device"]["name"]), str(doc.get("tool", {}).get("git_commit", "?")))
        counted, most, over = 0, 0.0, []
        for c in doc["cases"]:
            if c.get("skipped") or not c.get("valid", True):
                continue
            frac = float(c.get("roof_fraction") or 0.0)
            counted += 1
            most = max(most, frac)
            if frac > 1:
                dims = ", ".join(f"{k} = {v}" for k, v in c["shape"].items() if k != "dtype")
                over.append((frac, os.path.relpath(path, root), str(c["strategy"]), dims, c["batch"]))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        print(f"roof-check: skipped {path}: malformed ({e!r})", file=sys.stderr)
        continue
    g = groups[key]
    g[0] += counted
    g[1] = max(g[1], most)
    g[2].extend(over)
print("| device | commit | cases | highest % roof | cases over the roof |")
print("|---|---|---:|---:|---:|")
for (dev, commit), (n, most, over) in sorted(groups.items()):
    print(f"| {cell(dev)} | {cell(commit)} | {n} | {100 * most:.1f}% | {len(over)} |")
for (dev, commit), (n, most, over) in sorted(groups.items()):
    for frac, path, strategy, dims, batch in sorted(over, reverse=True):
        print(f"over: {100 * frac:.1f}% {cell(path)} {cell(strategy)} {cell(dims)} B = {cell(batch)} ({cell(dev)}, {cell(commit)})")
