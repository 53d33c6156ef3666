#!/usr/bin/env bash
# The test command (README, CI): makes the offline model if needed, then runs every test:
# the Rust suite, the Python package's (scripts/test-python.sh: builds python/ into a venv
# under ~/.cache/bitalign and runs pytest against the CLI just built), and the report's
# browser test (scripts/browser-test.sh: headless Chromium), and the sharded pipeline on a
# real single-node Slurm cluster (scripts/slurm-test.sh: root, Debian's slurm-wlm + munge).
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh --test offline_model`); with
# them, the Python, browser and Slurm tests are left out (run their scripts alone for those).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-offline-model.sh
cargo test --release "$@"
if [[ $# -eq 0 ]]; then
    cargo build --release --quiet
    scripts/test-python.sh
    scripts/browser-test.sh
    scripts/slurm-test.sh
fi
