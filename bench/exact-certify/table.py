#!/usr/bin/env python3
"""Prints sum `exact` against the fastest strategy, case by case, for the binaries of one call.
Usage: table.py CALLDIR SUFFIX BIN [BIN...], reading CALLDIR/<BIN>-<SUFFIX>/{small,large}/*/sum.csv
(e.g. table.py call3 normal old new2 new2c; call1 uses the rounds 1 and 2 as SUFFIX)."""
import csv, glob, sys


def load(path):
    by = {}
    for row in csv.DictReader(open(path)):
        if row["status"] != "measured":
            continue
        key = (int(row["n"]), int(row["batch"]))
        by.setdefault(key, {})[row["strategy"]] = (float(row["time_median_s"]), row["valid"] == "true")
    return by


def main():
    calldir, suffix, bins = sys.argv[1], sys.argv[2], sys.argv[3:]
    for size in ("small", "large"):
        docs = []
        for b in bins:
            files = glob.glob("%s/%s-%s/%s/*/sum.csv" % (calldir, b, suffix, size))
            if not files:
                break
            docs.append(load(files[0]))
        if len(docs) != len(bins):
            continue
        for key in sorted(docs[0]):
            line = "n=%8d B=%3d" % key
            for b, d in zip(bins, docs):
                t = d[key]
                fastest = min(v[0] for v in t.values())
                e = t["exact"]
                line += "  %s %8.1f us (%.2fx)%s" % (b, e[0] * 1e6, e[0] / fastest, "" if e[1] else " INVALID")
            line += "  tree %.1f us" % (docs[0][key]["tree"][0] * 1e6)
            print(line)


main()
