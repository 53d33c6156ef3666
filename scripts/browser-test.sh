#!/usr/bin/env bash
# The report's browser test (run by scripts/test.sh, so by CI): builds the report of the
# demo run and of a Text+Berg alignment with the release binary, then opens each from disk
# in headless Chromium (tests/browser/check-report.js, driven by playwright-core):
# no console errors, no network, the expected number of rows, sorting and filtering work,
# a screenshot in target/browser-test/.
#
# Needs: the offline model (scripts/fetch-offline-model.sh), `cargo build --release`,
# Chromium (Debian: apt-get install chromium; or set CHROMIUM) and Node.js with npm.
# playwright-core is installed once into ~/.cache/bitalign/browser-test (npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION=1.64.1
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || { echo "browser test: $CHROMIUM not found; install Chromium (apt-get install chromium) or set CHROMIUM" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "browser test: node and npm are required (apt-get install nodejs npm)" >&2; exit 1; }

tools="${BITALIGN_BROWSER_TEST_DIR:-$HOME/.cache/bitalign/browser-test}"
if [ ! -f "$tools/node_modules/playwright-core/.installed-$PLAYWRIGHT_VERSION" ]; then
    mkdir -p "$tools"
    npm install --silent --no-audit --no-fund --prefix "$tools" "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null
    touch "$tools/node_modules/playwright-core/.installed-$PLAYWRIGHT_VERSION"
fi
export NODE_PATH="$tools/node_modules"

bin=target/release/bitalign
model="${BITALIGN_TEST_MODEL:-models/multilingual-e5-small-q4}"
out=target/browser-test
rm -rf "$out" && mkdir -p "$out"

check() { node tests/browser/check-report.js "$@"; }

# The demo run: every candidate is a row (the demo is far below the row caps).
"$bin" -q run data/demo/karabakh.*.txt --model "$model" --out "$out/demo" --report
rows=$(python3 -c 'import json,sys; print(sum(p["candidates"] for p in json.load(open(sys.argv[1]))["pairs"]))' "$out/demo/run.json")
check "$out/demo/report.html" "$rows" cosine "$out/demo.png"

# Text+Berg de-fr test2 excerpt: one row per link (the vecalign output has one a line).
"$bin" -q align tests/data/textberg/test2.de tests/data/textberg/test2.fr --presplit --lang de,fr \
    --model "$model" --out "$out/textberg.align" --report "$out/textberg"
rows=$(wc -l < "$out/textberg.align")
check "$out/textberg/report.html" "$rows" cosine "$out/textberg.png"

# `bitalign report DIR` rebuilds the same page from report.json.
cp "$out/demo/report.html" "$out/demo-first.html"
"$bin" -q report "$out/demo"
cmp -s "$out/demo/report.html" "$out/demo-first.html" || { echo "browser test: bitalign report DIR did not rebuild the same page" >&2; exit 1; }
echo "browser test: ok (screenshots in $out)"
