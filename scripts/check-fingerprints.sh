#!/usr/bin/env bash
# check-fingerprints.sh: prove that a refactor kept the bits.
#
# For every committed results JSON (schema "clrepro.results") in the given folders, rerun
# the command line recorded in it (config.command) with a freshly built binary, on the
# device the JSON was measured on, into a temporary folder, and compare each case's
# fingerprint with the committed one, matching cases by (op, strategy, shape, batch).
#
# usage: scripts/check-fingerprints.sh [--bin PATH] [--device SPEC] RESULTS_DIR|FILE.json...
#   --bin PATH     the clrepro binary to rerun with (default: build/clrepro of this repository)
#   --device SPEC  run on SPEC (as `clrepro run --device` takes it) instead of the device
#                  each JSON names; without it, a JSON whose device is absent here is skipped
#   RESULTS_DIR    a committed results folder of one device, e.g.
#                  results/pocl-pthread-skylake-avx512-amd-epyc or
#                  results/exact-vs-tree/pocl-pthread-skylake-avx512-amd-epyc;
#                  its *.json (not subfolders) are checked; a FILE.json is checked alone
#
#   example: scripts/check-fingerprints.sh results/pocl-pthread-skylake-avx512-amd-epyc
#
# The recorded line ("clrepro run ...", its argv joined by spaces) is split on spaces, never
# evaluated by a shell; a line with quotes or shell metacharacters is refused. Its --out and
# --device are dropped and --device <this device> --out <temporary folder> --quiet added.
# JSONs recorded by one command line (a default run writes sum, rmsnorm, matmul and attention)
# share one rerun. Commands run from the repository root, where the recorded lines were run.
#
# Per file it prints "identical N / differing M / missing K" and every differing case with
# both fingerprints: a strategy that claims "deterministic" differing is a FAIL; one without
# that claim (atomics) differing is reported as "race", expected.
# Files that are not clrepro.results (demo-order.json, compare.json) are skipped with a line.
#
# exit status: 0 when no deterministic case differs and no case is missing; 1 otherwise (or
# when a file could not be rerun); 2 on bad usage. Needs bash 4 and python3 (stdlib only).
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$repo_root/build/clrepro"
device_override=""
inputs=()

while (($#)); do
    case "$1" in
        --bin) [[ $# -ge 2 ]] || { echo "check-fingerprints: --bin needs a PATH" >&2; exit 2; }
               bin=$2; shift 2 ;;
        --bin=*) bin=${1#--bin=}; shift ;;
        --device) [[ $# -ge 2 ]] || { echo "check-fingerprints: --device needs a SPEC" >&2; exit 2; }
                  device_override=$2; shift 2 ;;
        --device=*) device_override=${1#--device=}; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; inputs+=("$@"); break ;;
        -*) echo "check-fingerprints: unknown option '$1' (--help shows the usage)" >&2; exit 2 ;;
        *) inputs+=("$1"); shift ;;
    esac
done

if ((${#inputs[@]} == 0)); then
    echo "check-fingerprints: no RESULTS_DIR given" >&2
    echo "usage: scripts/check-fingerprints.sh [--bin PATH] [--device SPEC] RESULTS_DIR|FILE.json... (--help for more)" >&2
    exit 2
fi
# Absolute paths: the reruns run from the repository root.
[[ "$bin" == /* ]] || bin="$PWD/$bin"
if [[ ! -x "$bin" ]]; then
    echo "check-fingerprints: no executable binary at $bin (build it, or give --bin PATH)" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "check-fingerprints: python3 is needed" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-fingerprints.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The JSON work, in python3 with the standard library only.
# meta OLD DEVICES OVERRIDE : NUL-separated: status (ok|skip|refuse), then for ok the device
#                             spec, the device name, and the argv to rerun (after "clrepro")
# compare OLD RUNDIR OVERRIDE TOTALS : the per-file report; appends counts to TOTALS;
#                             exit 0 pass, 1 fail
read -r -d '' py <<'PYEOF' || true
import json, os, re, sys

def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)

def out0(*fields):
    sys.stdout.write("".join(str(x) + "\0" for x in fields))

SAFE = re.compile(r"^[A-Za-z0-9 _./:,=+^@%-]*$")
NOT_RUN = {"devices", "demo", "compare", "report", "help"}

def meta(path, devices_path, override):
    try:
        doc = load(path)
    except (OSError, ValueError) as e:
        return out0("skip", "not readable as JSON (%s)" % e)
    if not isinstance(doc, dict) or doc.get("schema") != "clrepro.results":
        schema = doc.get("schema") if isinstance(doc, dict) else None
        return out0("skip", "not clrepro.results (schema %s)" % json.dumps(schema))
    dev = doc.get("device") or {}
    name = dev.get("name") or ""
    cfg = doc.get("config") or {}
    line = cfg.get("command") or cfg.get("command_line") or ""
    if not line:
        return out0("refuse", "no recorded command line (config.command)")
    if not SAFE.match(line):
        bad = "".join(sorted(set(c for c in line if not SAFE.match(c))))
        return out0("refuse", "recorded command line has quotes or shell metacharacters %r, "
                    "refused rather than evaluated: %s" % (bad, line))
    argv = line.split(" ")
    if "" in argv:
        return out0("refuse", "recorded command line has an empty argument or doubled spaces, "
                    "cannot split it safely: %s" % line)
    if argv[0] != "clrepro":
        return out0("refuse", "recorded command line does not begin with 'clrepro': %s" % line)
    if len(argv) > 1 and argv[1] in NOT_RUN:
        return out0("refuse", "recorded command is not a run: %s" % line)
    args, i = [], 1
    while i < len(argv):
        a = argv[i]
        if a in ("--out", "--device"):
            i += 2
            continue
        if a.startswith("--out=") or a.startswith("--device=") or a == "--quiet":
            i += 1
            continue
        args.append(a)
        i += 1
    if override:
        spec = override
    else:
        try:
            here = load(devices_path).get("devices") or []
        except (OSError, ValueError, AttributeError):
            here = []
        same = [d for d in here if d.get("name") == name]
        if not same:
            return out0("skip", "device '%s' is not present on this machine" % name)
        # Its recorded P:D if that device still has the name, else the first of the name:
        # a name substring could select several devices (two identical GPUs).
        pick = next((d for d in same if d.get("id") == dev.get("id")), same[0])
        spec = pick.get("id") or str(pick.get("index"))
    out0("ok", spec, name, *args)

def key_of(c):
    return (c.get("op"), c.get("strategy"), json.dumps(c.get("shape"), sort_keys=True), c.get("batch"))

def show(c):
    shape = c.get("shape")
    if isinstance(shape, dict):
        shape = ",".join("%s=%s" % kv for kv in shape.items())
    return "%s/%s %s batch=%s" % (c.get("op"), c.get("strategy"), shape, c.get("batch"))

def claims_of(doc):
    return {s.get("name"): set(s.get("claims") or []) for s in (doc.get("strategies") or [])}

def find_new(old_path, old, rundir, override):
    base = os.path.basename(old_path)
    want_name = (old.get("config") or {}).get("name")
    dev_name = (old.get("device") or {}).get("name")
    found = []
    for sub in sorted(os.listdir(rundir)):
        p = os.path.join(rundir, sub, base)
        if not os.path.isfile(p):
            continue
        try:
            doc = load(p)
        except (OSError, ValueError):
            continue
        if doc.get("schema") != "clrepro.results" or (doc.get("config") or {}).get("name") != want_name:
            continue
        if not override and (doc.get("device") or {}).get("name") != dev_name:
            continue
        found.append((p, doc))
    return found

def compare(old_path, rundir, override, totals):
    old = load(old_path)
    found = find_new(old_path, old, rundir, override)
    if len(found) != 1:
        n = len(old.get("cases") or [])
        why = ("the rerun wrote no %s" % os.path.basename(old_path) if not found else
               "the rerun wrote %d %s (--device selects several devices: %s)"
               % (len(found), os.path.basename(old_path), ", ".join(p for p, _ in found)))
        print("  %s: all %d cases missing" % (why, n))
        print("  identical 0 / differing 0 / missing %d  FAIL" % n)
        with open(totals, "a") as f:
            f.write("0 0 0 %d 0\n" % n)
        return 1
    new_path, new = found[0]
    claims = claims_of(old)
    new_claims = claims_of(new)
    new_cases = {key_of(c): c for c in (new.get("cases") or [])}
    old_keys = set()
    ident = race = det = 0
    missing, lines = [], []
    for c in old.get("cases") or []:
        k = key_of(c)
        old_keys.add(k)
        n = new_cases.get(k)
        if n is None:
            missing.append(c)
            continue
        fo, fn = c.get("fingerprint"), n.get("fingerprint")
        if fo == fn:
            ident += 1
            continue
        cl = claims.get(c.get("strategy"), new_claims.get(c.get("strategy")))
        if cl is None or "deterministic" in cl:
            det += 1
            verdict = "FAIL: claims deterministic" if cl is not None else "FAIL: strategy's claims unknown"
        else:
            race += 1
            verdict = "race (claims no determinism, expected)"
        lines.append("  differs  %s: old %s new %s  %s" % (show(c), fo, fn, verdict))
    extra = [c for k, c in new_cases.items() if k not in old_keys]
    ok = det == 0 and not missing
    head = "  identical %d / differing %d / missing %d" % (ident, det + race, len(missing))
    if race or det:
        head += "  (%d deterministic, %d race)" % (det, race)
    if extra:
        head += "  (+%d cases only in the rerun)" % len(extra)
    print(head + ("  ok" if ok else "  FAIL"))
    for l in lines:
        print(l)
    for c in missing:
        print("  missing  %s: old %s, not in the rerun" % (show(c), c.get("fingerprint")))
    with open(totals, "a") as f:
        f.write("%d %d %d %d %d\n" % (ident, det, race, len(missing), len(extra)))
    return 0 if ok else 1

mode = sys.argv[1]
if mode == "meta":
    meta(sys.argv[2], sys.argv[3], sys.argv[4])
elif mode == "compare":
    sys.exit(compare(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]))
else:
    sys.exit("unknown mode " + mode)
PYEOF

# The devices of this machine, for the presence check (none listed: every file is skipped).
devices_json="$tmp/devices.json"
if [[ -z "$device_override" ]] && ! "$bin" devices --json >"$devices_json" 2>"$tmp/devices.err"; then
    echo "check-fingerprints: '$bin devices --json' failed, so no device is present:" >&2
    sed 's/^/  /' "$tmp/devices.err" >&2
    echo '{"devices": []}' >"$devices_json"
fi

# Expand the inputs into JSON files.
files=()
for in in "${inputs[@]}"; do
    if [[ -d "$in" ]]; then
        shopt -s nullglob
        found=("${in%/}"/*.json)
        shopt -u nullglob
        if ((${#found[@]} == 0)); then
            echo "check-fingerprints: $in holds no *.json" >&2
            exit 2
        fi
        files+=("${found[@]}")
    elif [[ -f "$in" ]]; then
        files+=("$in")
    else
        echo "check-fingerprints: no such folder or file: $in" >&2
        exit 2
    fi
done

declare -A run_dir=()   # device spec + argv -> the temporary folder its rerun wrote
runs=0
status=0
checked=0
skipped=0
unchecked=0
: >"$tmp/totals"

for f in "${files[@]}"; do
    abs=$f
    [[ "$abs" == /* ]] || abs="$PWD/$abs"
    fields=()
    mapfile -d '' fields < <(python3 -c "$py" meta "$abs" "$devices_json" "$device_override")
    case "${fields[0]:-}" in
        skip)
            echo "== $f: skipped, ${fields[1]}"
            skipped=$((skipped + 1))
            continue ;;
        refuse)
            echo "== $f: NOT CHECKED, ${fields[1]}"
            unchecked=$((unchecked + 1))
            status=1
            continue ;;
        ok) ;;
        *)
            echo "== $f: NOT CHECKED, reading it failed"
            unchecked=$((unchecked + 1))
            status=1
            continue ;;
    esac
    spec=${fields[1]}
    devname=${fields[2]}
    args=("${fields[@]:3}")
    echo "== $f (device $devname)"
    key=$(printf '%s\037' "$spec" "${args[@]}")
    if [[ -z "${run_dir[$key]+x}" ]]; then
        runs=$((runs + 1))
        dir="$tmp/run$runs"
        mkdir -p "$dir"
        echo "  rerun: clrepro ${args[*]} --device $spec --out TMP --quiet"
        start=$SECONDS
        rc=0
        (cd "$repo_root" && "$bin" "${args[@]}" --device "$spec" --out "$dir" --quiet) \
            >"$tmp/run$runs.log" 2>&1 || rc=$?
        echo "  rerun took $((SECONDS - start)) s, exit status $rc"
        if ((rc != 0)); then
            echo "  rerun's last lines:"
            tail -n 5 "$tmp/run$runs.log" | sed 's/^/    /'
        fi
        run_dir[$key]=$dir
    else
        echo "  same command line as an earlier file: its rerun is reused"
    fi
    checked=$((checked + 1))
    python3 -c "$py" compare "$abs" "${run_dir[$key]}" "$device_override" "$tmp/totals" || status=1
done

ident=0; det=0; race=0; missing=0; extra=0
while read -r a b c d e; do
    ident=$((ident + a)); det=$((det + b)); race=$((race + c)); missing=$((missing + d)); extra=$((extra + e))
done <"$tmp/totals"

echo
echo "files: $checked checked, $skipped skipped, $unchecked not checked; reruns: $runs"
summary="cases: identical $ident / differing $((det + race)) ($det deterministic, $race race) / missing $missing"
((extra == 0)) || summary+=" (+$extra only in the reruns)"
echo "$summary"
if ((status == 0 && checked == 0)); then
    echo "PASS, vacuously: no file was checked"
elif ((status == 0)); then
    echo "PASS: every deterministic case kept its bits"
else
    echo "FAIL: a deterministic case differs, a case is missing, or a file could not be rerun"
fi
exit "$status"
