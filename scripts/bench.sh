#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds, and runs the default benchmark on every
# OpenCL device found (PoCL gives a CPU device where there is no GPU). Arguments are passed to
# `clrepro run` (see `build/clrepro run --help`); paths in them are taken from the repository
# root, where this script runs.
#
# It never replaces earlier results. Each run goes to a fresh folder of its own,
# results/bench-<UTC date>-<time>/<device>/ (two identical devices: <device>-<UUID or P-D>/ each),
# so a second run, or a clone that already holds results for this device, loses nothing.
# --out DIR chooses the folder instead, and is refused, before anything is installed or built,
# when DIR already holds results (any .json file below it): choose another --out, or move those
# results away first. To go on with an interrupted run, give --resume with --out naming its folder
# (an interrupted run writes no results, only journals, so its folder is accepted).
# Afterwards: `build/clrepro report results -o report.html` reads every results folder at once.
set -euo pipefail
cd "$(dirname "$0")/.."

out="" out_given=0 resume=0 help=0
args=("$@")
for ((i = 0; i < ${#args[@]}; ++i)); do
  case "${args[i]}" in
    --out) out_given=1; out="${args[i + 1]:-}" ;;
    --out=*) out_given=1; out="${args[i]#--out=}" ;;
    --resume) resume=1 ;;
    --help | -h) help=1 ;;
  esac
done

if [ "$help" = 0 ]; then
  if [ "$out_given" = 0 ] && [ "$resume" = 1 ]; then
    echo "bench.sh: error: --resume: name the folder of the interrupted run with --out DIR, the" \
      "results/bench-<date>-<time>/ it printed (each run of bench.sh writes to a fresh one)" >&2
    exit 2
  fi
  if [ "$out_given" = 0 ]; then
    stamp=$(date -u +%Y%m%d-%H%M%S)
    out="results/bench-$stamp"
    for ((k = 2; ; ++k)); do
      [ -e "$out" ] || break
      out="results/bench-$stamp-$k"
    done
    args+=(--out "$out")
  elif [ -n "$out" ] && [ -d "$out" ]; then
    held=$(find "$out" -name '*.json' -print -quit 2>/dev/null || true)
    if [ -n "$held" ]; then
      echo "bench.sh: error: --out $out already holds results ($held), and bench.sh never" \
        "writes over earlier results: choose another --out DIR, or drop --out to write to a" \
        "fresh results/bench-<date>-<time>/" >&2
      exit 2
    fi
  fi
fi

scripts/install-deps.sh
scripts/build.sh
status=0
"${BUILD_DIR:-build}/clrepro" run "${args[@]}" || status=$?
if [ "$help" = 0 ] && [ -n "$(find "$out" -name '*.json' -print -quit 2>/dev/null || true)" ]; then
  echo "bench.sh: results in $out/; a report of them: ${BUILD_DIR:-build}/clrepro report $out -o $out/report.html"
elif [ "$help" = 0 ] && [ "$resume" = 0 ] && [ -n "$(find "$out" -name '.*.journal.jsonl' -print -quit 2>/dev/null || true)" ]; then
  again="$*"
  [ "$out_given" = 1 ] || again="$again --out $out"
  echo "bench.sh: to measure only what is missing: scripts/bench.sh ${again# } --resume" >&2
fi
exit "$status"
