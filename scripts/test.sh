#!/usr/bin/env bash
# The test command (README, CI): makes the offline model if needed, then runs every test.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh --test offline_model`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-offline-model.sh
cargo test --release "$@"
