#!/usr/bin/env bash
# The Python package's tests: builds python/ into a venv and runs its pytest suite.
#
# Run:   scripts/test-python.sh [PYTEST ARGS…]        (scripts/test.sh runs it too)
#   - makes a venv with pinned maturin, pytest and numpy under $CACHE/py-venv (rebuilt when
#     the pins change; CACHE is ${XDG_CACHE_HOME:-$HOME/.cache}/bitalign),
#   - installs the package from python/ into it with `pip install` (the README's command,
#     without build isolation so the pinned maturin is used); maturin builds the extension
#     in release mode into the workspace's target/, reusing the CLI's compiled dependencies,
#   - makes sure the offline model and the CLI (target/release/bitalign, which the tests
#     compare against) are there, then runs pytest on python/tests.
# Exit code: pytest's, except that "no tests collected" (5) is a failure too.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/bitalign"
venv="$cache/py-venv"
requirements="maturin==1.16.0 pytest==9.2.0 numpy==2.2.6"

die() { echo "test-python: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 not found (apt-get install python3 python3-venv)"
mkdir -p "$cache"

if [[ "$(cat "$venv/.bitalign-requirements" 2>/dev/null)" != "$requirements" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv" ||
        die "could not create a venv at $venv (on Debian: apt-get install python3-venv)"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --disable-pip-version-check -q $requirements ||
        die "pip could not install $requirements into $venv"
    echo "$requirements" >"$venv/.bitalign-requirements"
fi

"$repo/scripts/fetch-offline-model.sh" >/dev/null
(cd "$repo" && cargo build --release --quiet --bin bitalign)

# Build and install; the backend calls the venv's `maturin` by name.
PATH="$venv/bin:$PATH" "$venv/bin/pip" install --disable-pip-version-check -q --no-build-isolation --no-deps \
    --force-reinstall "$repo/python" || die "pip could not build and install python/"

# Run from the tests' directory so that `import bitalign` is the installed package,
# never the source tree (whose native module is not built in place).
cd "$repo/python/tests"
set +e
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
    die "pytest collected no tests"
fi
exit $status
