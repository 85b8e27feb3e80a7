#!/usr/bin/env python3
"""allreduce-table.py DOC...: the figures of `clrepro allreduce` documents (allreduce.json) as
Markdown: per document, the rank-count invariance of each strategy (distinct bit patterns over
the rank counts, largest ulp distance to the smallest R, over every shape of the document) and
the cost of every strategy against `mpi` (min / median / max of the time ratio over every case
measured at the same shape and rank count). Every number comes from the documents."""
import json
import statistics
import sys


def fmt(v):
    return f"{v:.2f}"


def readme(paths):
    """One table over the documents: per document and strategy, whether every shape keeps its
    bits at every rank count, and the time against mpi (min / median / max over every case)."""
    print("| ranks on | R | strategy | same bits as the smallest R | layer = one-device tiled | x mpi min | median | max |")
    print("|---|---|---|---|---|---|---|---|")
    for path in paths:
        doc = json.load(open(path))
        devs = sorted({r["device"] for r in doc["ranks"]})
        per = {}
        for r in doc["ranks"]:
            per[r["device"]] = per.get(r["device"], 0) + 1
        where = ", ".join(f"{k}" for k in devs)
        cases = doc["cases"]
        sizes = sorted({c["floats"] for c in cases if c["part"] == "allreduce"})
        if len(sizes) == 1 and not any(c["part"] == "layer" for c in cases):
            where += f" (n = {sizes[0]} only)"
        rs = sorted({c["ranks"] for c in cases})
        keyed = {(c["part"], c.get("m", 0), c["floats"], c["ranks"], c["strategy"]): c for c in cases}
        for strat in ("mpi", "ring", "ordered", "exact"):
            sel = [c for c in cases if c["strategy"] == strat]
            multi = [c for c in sel if c["ranks"] != rs[0]]
            same = sum(1 for c in multi if c["same_as_smallest_r"])
            lay = [c for c in sel if c["part"] == "layer"]
            tiled = sum(1 for c in lay if c.get("same_as_tiled"))
            ratios = []
            for (p, m, n, r, s_), c in keyed.items():
                if s_ == strat and c["valid"]:
                    base = keyed.get((p, m, n, r, "mpi"))
                    if base and base["time_median_s"]:
                        ratios.append(c["time_median_s"] / base["time_median_s"])
            rr = f"{fmt(min(ratios))} | {fmt(statistics.median(ratios))} | {fmt(max(ratios))}" if strat != "mpi" else "1 | 1 | 1"
            lay_cell = f"{tiled} of {len(lay)}" if lay else "–"
            print(f"| {doc['world']} ranks: {where} | {rs[0]}–{rs[-1]} | {strat} | {same} of {len(multi)} | "
                  f"{lay_cell} | {rr} |")


def across(paths):
    """Documents with the same problem (slices, seed, shapes) on different devices: how many of
    their common (shape, R, strategy) cases have the same fingerprint."""
    docs = [json.load(open(p)) for p in paths]
    for i in range(len(docs)):
        for j in range(i + 1, len(docs)):
            a, b = docs[i], docs[j]
            if a["slices"] != b["slices"] or a["seed"] != b["seed"]:
                continue
            ka = {(c["part"], c.get("m", 0), c["floats"], c["ranks"], c["strategy"]): c["fingerprint"] for c in a["cases"]}
            kb = {(c["part"], c.get("m", 0), c["floats"], c["ranks"], c["strategy"]): c["fingerprint"] for c in b["cases"]}
            common = [k for k in ka if k in kb]
            if not common:
                continue
            per = {}
            for k in common:
                t = per.setdefault(k[4], [0, 0])
                t[1] += 1
                t[0] += ka[k] == kb[k]
            da = sorted({r["device"] for r in a["ranks"]})
            db = sorted({r["device"] for r in b["ranks"]})
            print(f"- {', '.join(da)} ({paths[i]}) against {', '.join(db)} ({paths[j]}): " +
                  "; ".join(f"{s} {v[0]} of {v[1]} cases the same bits" for s, v in per.items()))


def main(paths):
    if paths and paths[0] == "--readme":
        readme(paths[1:])
        print()
        return across(paths[1:])
    for path in paths:
        doc = json.load(open(path))
        ranks = doc["ranks"]
        devs = sorted({f"{r['device']} ({r['platform']}, {r['driver']})" for r in ranks})
        print(f"### {path}\n")
        print(f"{doc['world']} ranks on {', '.join(devs)}; {doc['slices']} slices; MPI: {doc['mpi_library']}\n")
        cases = doc["cases"]
        rs = sorted({c["ranks"] for c in cases})
        print("| part | strategy | " + " | ".join(f"R={r}" for r in rs) + " | shapes | max ulp vs smallest R |")
        print("|---|---|" + "---|" * len(rs) + "---|---|")
        for part in ("allreduce", "layer"):
            for strat in ("mpi", "ring", "ordered", "exact"):
                sel = [c for c in cases if c["part"] == part and c["strategy"] == strat]
                if not sel:
                    continue
                shapes = sorted({(c.get("m", 0), c["floats"]) for c in sel})
                cells = []
                for r in rs:
                    at = [c for c in sel if c["ranks"] == r]
                    if not at:
                        cells.append("–")
                        continue
                    same = sum(1 for c in at if c["same_as_smallest_r"])
                    cells.append(f"{same}/{len(at)} same")
                worst = max((c["max_ulp_vs_smallest_r"] or 0) for c in sel)
                print(f"| {part} | {strat} | " + " | ".join(cells) + f" | {len(shapes)} | {worst:.0f} |")
        print()
        # mpi == ring?
        keyed = {}
        for c in cases:
            keyed[(c["part"], c.get("m", 0), c["floats"], c["ranks"], c["strategy"])] = c
        eq = tot = 0
        for (part, m, n, r, s), c in keyed.items():
            if s == "mpi":
                ring = keyed.get((part, m, n, r, "ring"))
                if ring:
                    tot += 1
                    eq += ring["fingerprint"] == c["fingerprint"]
        print(f"`mpi` and `ring` give the same bits in {eq} of {tot} (shape, R) cases.\n")
        print("| part | strategy | cases | x mpi min | median | max | R = 1 median | largest R median |")
        print("|---|---|---|---|---|---|---|---|")
        for part in ("allreduce", "layer"):
            for strat in ("ring", "ordered", "exact"):
                ratios, by_r = [], {}
                for (p, m, n, r, s), c in keyed.items():
                    if p != part or s != strat or not c["valid"]:
                        continue
                    base = keyed.get((p, m, n, r, "mpi"))
                    if base and base["time_median_s"]:
                        q = c["time_median_s"] / base["time_median_s"]
                        ratios.append(q)
                        by_r.setdefault(r, []).append(q)
                if not ratios:
                    continue
                lo_r, hi_r = min(by_r), max(by_r)
                print(f"| {part} | {strat} | {len(ratios)} | {fmt(min(ratios))} | {fmt(statistics.median(ratios))} | "
                      f"{fmt(max(ratios))} | {fmt(statistics.median(by_r[lo_r]))} | "
                      f"{fmt(statistics.median(by_r[hi_r]))} (R={hi_r}) |")
        invalid = sum(1 for c in cases if not c["valid"])
        print(f"\n{len(cases)} cases, {invalid} failed validation.\n")


if __name__ == "__main__":
    main(sys.argv[1:])
