#!/usr/bin/env python3
"""Rewrites the README's table "What invariance costs, over every committed case" from
results/compare-all/compare.md (written by `clrepro compare results --out results/compare-all`),
so the table is the tool's output, never typed in. Run from the repository root after that
command; it changes only the table's rows (the prose around it is checked by hand)."""
import re
import sys

SHORT = (("H200", "H200, 580.159.04"), ("H100", "H100, 580.159.04"), ("pthread-skylake-avx512-Intel", "PoCL 3.1, 2-core Xeon"),
         ("Xeon", "PoCL 5.0, Xeon"), ("EPYC", "PoCL 3.1, EPYC"))
HEADER = "| operation | strategy | device (driver) | cases | min | median | max |"


def device_label(text):
    for key, label in SHORT:
        if key in text:
            return label
    return text


def main():
    lines = open("results/compare-all/compare.md", encoding="utf-8").read().split("\n")
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("## What invariance costs"))
    except StopIteration:
        sys.exit("readme-cost-table: results/compare-all/compare.md has no 'What invariance costs' section")
    rows = []
    row_re = re.compile(r"^\| (\w+) \| ([\w-]+) \| (.*?) \| (\d+) \| ([\d.]+x) \| ([\d.]+x) \| ([\d.]+x) \|$")
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        m = row_re.match(line)
        if m:
            op, strategy, dev, n, lo, med, hi = m.groups()
            rows.append(f"| {op} | {strategy} | {device_label(dev)} | {n} | {lo} | {med} | {hi} |")
    if not rows:
        sys.exit("readme-cost-table: no rows found in the section")
    readme = open("README.md", encoding="utf-8").read()
    begin = readme.index(HEADER)
    end = readme.index("\n\n", begin)
    table = HEADER + "\n|---|---|---|---:|---:|---:|---:|\n" + "\n".join(rows)
    open("README.md", "w", encoding="utf-8").write(readme[:begin] + table + readme[end:])
    print(f"readme-cost-table: {len(rows)} rows")


if __name__ == "__main__":
    main()
