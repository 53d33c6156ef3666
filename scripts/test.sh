#!/usr/bin/env bash
# The test command (README, CI): makes the offline model if needed, runs every test, then
# the report's browser test (scripts/browser-test.sh: headless Chromium).
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh --test offline_model`), and
# then the browser test is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-offline-model.sh
cargo test --release "$@"
if [ $# -eq 0 ]; then
    cargo build --release --quiet
    scripts/browser-test.sh
fi
