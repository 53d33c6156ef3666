#!/usr/bin/env bash
# The test command (README, CI): makes the offline model if needed, then runs every test:
# the Rust suite, then the Python package's (scripts/test-python.sh: builds python/ into a
# venv under ~/.cache/bitalign and runs pytest against the CLI just built).
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh --test offline_model`); with
# them, the Python tests are skipped (run scripts/test-python.sh for those alone).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-offline-model.sh
cargo test --release "$@"
if [[ $# -eq 0 ]]; then
    scripts/test-python.sh
fi
