#!/usr/bin/env python3
"""decode-table.py: the README's decode tables, computed from the committed `clrepro decode`
documents (results/decode/<experiment>/<device>/decode.json), so that no figure is typed in.

usage: scripts/decode-table.py [RESULTS_DIR]   (default results/decode)

Prints three Markdown tables: completions per experiment, mode and device (and across devices);
speed per experiment, mode and device (tokens/s at B = 1 and the largest B, the median and range
of the step time over fast's, and the best fraction of the weights' read roof); and the step time
over fast's per device and mode over every batch size of every experiment (min, median, max).
Device names and experiment names are escaped for Markdown; a malformed document is skipped
with a message on stderr."""
import glob
import json
import os
import sys


def md(text):
    out = []
    for ch in str(text):
        if ord(ch) < 32 or ord(ch) == 127:
            out.append(" ")
        elif ch in "|\\`*_[]~":
            out.append("\\" + ch)
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "&":
            out.append("&amp;")
        else:
            out.append(ch)
    return "".join(out)


def short(device):
    name = device.get("name", "?")
    if "NVIDIA" in name or "H200" in name or "H100" in name:
        return name
    if "Xeon" in name:
        return "Xeon (PoCL 5.0)"
    if "EPYC" in name:
        return "EPYC (PoCL 3.1)"
    return name


def load(root):
    docs = {}
    for path in sorted(glob.glob(os.path.join(root, "*", "*", "decode.json"))):
        try:
            with open(path) as f:
                d = json.load(f)
            if d.get("schema") != "clrepro.decode":
                raise ValueError("not a clrepro.decode document")
            exp = os.path.basename(os.path.dirname(os.path.dirname(path)))
            docs.setdefault(exp, []).append(d)
        except (OSError, ValueError, AttributeError) as e:
            print(f"decode-table: skipped {path}: {e}", file=sys.stderr)
    return docs


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "results/decode"
    docs = load(root)
    print("| experiment | activations | prompts x tokens | mode | device | one completion | top-1 logit "
          "patterns: one | largest top-1 shift | earliest divergence (margin) |")
    print("|---|---|---|---|---|---:|---:|---:|---|")
    for exp, ds in sorted(docs.items()):
        for mi, mode in enumerate(m["mode"] for m in ds[0]["modes"]):
            fps_by_prompt = {}
            for d in ds:
                m = d["modes"][mi]
                cfg = d["config"]
                if "not_run" in m:
                    print(f"| {md(exp)} | {md(cfg['activations'])} | {cfg['prompts']} x {cfg['tokens']} | {md(mode)} "
                          f"| {md(short(d['device']))} | not run | | | |")
                    continue
                for p in m["prompts"]:
                    fps_by_prompt.setdefault(p["prompt"], set()).update(r["fingerprint"] for r in p["runs"])
                div = m.get("earliest_divergence")
                div_text = "none" if div is None else f"token {div} ({m['margin_at_earliest_divergence']:.3g})"
                print(f"| {md(exp)} | {md(cfg['activations'])} | {cfg['prompts']} x {cfg['tokens']} | {md(mode)} | "
                      f"{md(short(d['device']))} | {m['prompts_with_one_completion']} / {cfg['prompts']} | "
                      f"{m['prompts_with_one_logit_pattern']} / {cfg['prompts']} | {m['largest_top1_logit_shift']:.3g} "
                      f"| {div_text} |")
            if len(ds) > 1 and fps_by_prompt:
                same = sum(1 for s in fps_by_prompt.values() if len(s) == 1)
                print(f"| {md(exp)} | {md(ds[0]['config']['activations'])} | | {md(mode)} | **all {len(ds)} "
                      f"devices** | {same} / {len(fps_by_prompt)} | | | |")
    print()
    print("| experiment | mode | device | tokens/s at B = 1 | tokens/s at the largest B | step time over fast's: "
          "median (min–max) | best % of roof |")
    print("|---|---|---|---:|---:|---|---:|")
    for exp, ds in sorted(docs.items()):
        for d in ds:
            for m in d["modes"]:
                if "not_run" in m:
                    continue
                b = m["batches"]
                ov = sorted(x["overhead_vs_fast"] for x in b if x.get("overhead_vs_fast"))
                ov_text = "-" if m["mode"] == "fast" or not ov else \
                    f"{ov[len(ov) // 2]:.2f}x ({ov[0]:.2f}–{ov[-1]:.2f}x)"
                last = max(b, key=lambda x: x["batch"])
                print(f"| {md(exp)} | {md(m['mode'])} | {md(short(d['device']))} | {b[0]['tokens_per_s']:.0f} | "
                      f"{last['tokens_per_s']:.0f} (B = {last['batch']}) | {ov_text} | "
                      f"{100 * max(x['roof_fraction'] for x in b):.1f}% |")
    cost_table(docs)


def cost_table(docs):
    cost = {}
    for exp, ds in sorted(docs.items()):
        for d in ds:
            for m in d["modes"]:
                if "not_run" in m or m["mode"] == "fast":
                    continue
                for b in m["batches"]:
                    if b.get("overhead_vs_fast"):
                        cost.setdefault((short(d["device"]), m["mode"]), []).append(
                            (b["overhead_vs_fast"], exp, b["batch"]))
    print()
    print("| device | mode | cases | min | median | max (where) |")
    print("|---|---|---:|---:|---:|---|")
    for (dev, mode), v in sorted(cost.items()):
        v.sort()
        hi = v[-1]
        print(f"| {md(dev)} | {md(mode)} | {len(v)} | {v[0][0]:.2f}x | {v[len(v) // 2][0]:.2f}x | "
              f"{hi[0]:.2f}x ({md(hi[1])}, B = {hi[2]}) |")


if __name__ == "__main__":
    main()
