#!/usr/bin/env bash
# Opens the report of the committed results in headless Chromium: every chart must be in the
# rendered DOM, the console must stay silent, the report's own script must have run under its
# Content-Security-Policy (it marks <html class="js">), and a screenshot is saved. Sorting: a
# copy of the report with a test script (and without the CSP, which would block that script)
# clicks column headers of the Documents table and checks the rows' order, numeric and text.
# Then the report of the hostile documents (fuzz/corpus/hostile-*.json, under hostile file
# names): every payload in them sets document.title to PWNED-<where> if it runs, so the
# rendered page must keep its own title and hold no element the report does not write, with
# the CSP and without it (escaping alone must hold); a control page with one unescaped payload
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
if grep -E 'CONSOLE|Uncaught|Failed to load|ERR_FILE_NOT_FOUND|Refused|Content.Security.Policy' "$out/console.log"; then
  echo "FAIL: the browser console reported the lines above"
  exit 1
fi
script=$(sed -n 's|^<script>\(.*\)</script>$|\1|p' "$out/report.html")
if command -v openssl >/dev/null; then
  hash=$(printf %s "$script" | openssl dgst -sha256 -binary | base64)
  if ! grep -qF "'sha256-$hash'" "$out/report.html"; then
    echo "FAIL: the CSP in report_html.c does not admit the report's script: its hash is sha256-$hash"
    exit 1
  fi
fi
if ! grep -q '<html lang="en" class="js">' "$out/dom.html"; then
  echo "FAIL: the report's script did not run (blocked by its CSP? check the hash in report_html.c)"
  exit 1
fi
if [ "$(grep -o '<script' "$out/dom.html" | wc -l)" -ne 1 ]; then
  echo "FAIL: the report should hold exactly one script, its own"
  exit 1
fi
dump() { "$browser" "${flags[@]}" --virtual-time-budget=3000 --dump-dom "file://$1" 2>/dev/null; }

# Sorting: click the 'cases' column (numbers, data-v) twice, then the 'run' column (text).
sed -e 's|<meta http-equiv=[^>]*>||' -e 's|</body>|<script src="sort-test.js"></script></body>|' \
  "$out/report.html" >"$out/sort.html"
cat >"$out/sort-test.js" <<'EOF'
(function () {
  var table = document.querySelector('#documents table'), heads = table.tHead.rows[0].cells;
  function column(i, numeric) {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      return numeric ? +r.cells[i].getAttribute('data-v') : r.cells[i].textContent;
    });
  }
  function ordered(v, down) {
    return v.every(function (x, i) { return i === 0 || (down ? v[i - 1] >= x : v[i - 1] <= x); });
  }
  if (heads[6].textContent !== 'cases' || heads[5].textContent !== 'run') {
    document.title = 'SORT-FAIL columns';
    return;
  }
  heads[6].click();
  var up = column(6, true);
  heads[6].click();
  var down = column(6, true);
  heads[5].click();
  var runs = column(5, false), sorted = runs.slice().sort(function (a, b) { return a.localeCompare(b); });
  var ok = up.length > 2 && up[0] !== up[up.length - 1] && ordered(up, false) && ordered(down, true) &&
           heads[6].getAttribute('aria-sort') === null && heads[5].getAttribute('aria-sort') === 'ascending' &&
           runs.join('|') === sorted.join('|');
  document.title = ok ? 'SORT-OK' : 'SORT-FAIL ' + up.join(',') + ' / ' + down.join(',') + ' / ' + runs.join(',');
})();
EOF
dump "$out/sort.html" >"$out/sort-dom.html"
if ! grep -q '<title>SORT-OK</title>' "$out/sort-dom.html"; then
  echo "FAIL: sorting the Documents table: $(grep -o '<title>[^<]*</title>' "$out/sort-dom.html")"
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
printf '%s\n' "<!DOCTYPE html><html><head><title>clrepro report</title></head><body>" \
  "<svg onload=\"document.title='PWNED-control'\"></svg></body></html>" >"$hostile/control.html"
dump "$hostile/control.html" >"$hostile/control-dom.html"
if ! grep -q '<title>PWNED-control</title>' "$hostile/control-dom.html"; then
  echo "FAIL: the control page's script did not run, so this browser cannot show an injection"
  exit 1
fi
# with the CSP, and without it: escaping alone must keep every payload text
sed -e 's|<meta http-equiv=[^>]*>||' "$hostile/report.html" >"$hostile/report-no-csp.html"
for page in report report-no-csp; do
  dump "$hostile/$page.html" >"$hostile/$page-dom.html"
  if ! grep -q '<title>clrepro report</title>' "$hostile/$page-dom.html" || grep -q '<title>PWNED' "$hostile/$page-dom.html"; then
    echo "FAIL: a payload of the hostile documents ran ($page): $(grep -o '<title>[^<]*</title>' "$hostile/$page-dom.html")"
    exit 1
  fi
  if [ "$(grep -o '<script' "$hostile/$page-dom.html" | wc -l)" -ne 1 ] ||
     ! grep -q '<html lang="en" class="js">' "$hostile/$page-dom.html"; then
    echo "FAIL: the hostile report ($page) holds another script than its own, or its own did not run"
    exit 1
  fi
  for tag in '<img' '<i>' '<style>body{display'; do
    if grep -qF "$tag" "$hostile/$page-dom.html"; then
      echo "FAIL: the hostile report's DOM ($page) holds an element from a document: $tag"
      exit 1
    fi
  done
  if ! grep -qF "PWNED-op" "$hostile/$page-dom.html"; then
    echo "FAIL: the hostile report ($page) lost the documents' text"
    exit 1
  fi
done
echo "OK: $rendered charts rendered, console silent, script ran, tables sort, screenshot $out/report.png; hostile documents: no payload ran"
