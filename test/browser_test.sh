#!/usr/bin/env bash
# Opens the report of the committed results in headless Chromium: every chart must be in the
# rendered DOM, the console must stay silent, and a screenshot is saved. Skipped (exit 77, which
# ctest reports as skipped) only where no Chromium is installed; CI installs it.
set -uo pipefail
bin=$1 src=$2 out=$3
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "SKIPPED: no Chromium found (install Debian's chromium to run this test)"
  exit 77
fi
mkdir -p "$out"
docs=()
for f in "$src"/results/*/sum.json "$src"/results/*/seed-attention-lengths.json; do docs+=("$f"); done
"$bin" report "${docs[@]}" -o "$out/report.html" || { echo "FAIL: clrepro report failed"; exit 1; }
expected=$(grep -o '<svg' "$out/report.html" | wc -l)
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$out/profile")
"$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$out/report.html" \
  >"$out/dom.html" 2>"$out/console.log"
rendered=$(grep -o '<svg' "$out/dom.html" | wc -l)
if [ "$expected" -lt 10 ] || [ "$rendered" -ne "$expected" ]; then
  echo "FAIL: $rendered of $expected charts in the rendered page"
  exit 1
fi
if grep -E 'CONSOLE|Uncaught|Failed to load|ERR_FILE_NOT_FOUND' "$out/console.log"; then
  echo "FAIL: the browser console reported the lines above"
  exit 1
fi
"$browser" "${flags[@]}" --window-size=1100,3000 --screenshot="$out/report.png" "file://$out/report.html" \
  >/dev/null 2>&1
[ -s "$out/report.png" ] || { echo "FAIL: no screenshot"; exit 1; }
echo "OK: $rendered charts rendered, console silent, screenshot $out/report.png"
