#!/usr/bin/env bash
# Opens the report of the committed results in headless Chromium: every chart must be in the
# rendered DOM, the console must stay silent, and a screenshot is saved. Then the report of the
# hostile documents (fuzz/corpus/hostile-*.json, under hostile file names): every payload in them
# sets document.title to PWNED-<where> if it runs, so the rendered page must keep its own title
# and hold no element the report does not write; a control page with one unescaped payload
# must show PWNED (proof that scripts do run here). Skipped (exit 77, which ctest reports as
# skipped) only where no Chromium is installed; CI installs it.
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

# Hostile documents: the payloads must stay text.
hostile="$out/hostile"
rm -rf "$hostile" && mkdir -p "$hostile"
cp "$src/fuzz/corpus/hostile-a.json" "$hostile/a<svg onload=document.title='PWNED-file'>'x.json"
cp "$src/fuzz/corpus/hostile-b.json" "$hostile/b\"<img src=x onerror=document.title='PWNED-file-b'>.json"
cp "$src/fuzz/corpus/hostile-a.json" "$hostile/a2'<b>.json"
"$bin" report "$hostile"/*.json -o "$hostile/report.html" >/dev/null || { echo "FAIL: report of hostile documents failed"; exit 1; }
dump() { "$browser" "${flags[@]}" --virtual-time-budget=3000 --dump-dom "file://$1" 2>/dev/null; }
printf '%s\n' "<!DOCTYPE html><html><head><title>clrepro report</title></head><body>" \
  "<svg onload=\"document.title='PWNED-control'\"></svg></body></html>" >"$hostile/control.html"
dump "$hostile/control.html" >"$hostile/control-dom.html"
if ! grep -q '<title>PWNED-control</title>' "$hostile/control-dom.html"; then
  echo "FAIL: the control page's script did not run, so this browser cannot show an injection"
  exit 1
fi
dump "$hostile/report.html" >"$hostile/dom.html"
if ! grep -q '<title>clrepro report</title>' "$hostile/dom.html" || grep -q '<title>PWNED' "$hostile/dom.html"; then
  echo "FAIL: a payload of the hostile documents ran: $(grep -o '<title>[^<]*</title>' "$hostile/dom.html")"
  exit 1
fi
for tag in '<script' '<img' '<i>' '<style>body{display'; do
  if grep -qF "$tag" "$hostile/dom.html"; then
    echo "FAIL: the hostile report's DOM holds an element from a document: $tag"
    exit 1
  fi
done
if ! grep -qF "PWNED-op" "$hostile/dom.html"; then
  echo "FAIL: the hostile report lost the documents' text"
  exit 1
fi
echo "OK: $rendered charts rendered, console silent, screenshot $out/report.png; hostile documents: no payload ran"
