#!/usr/bin/env bash
# Prints the path of a Python that has Hugging Face `datasets` and pandas, for the tests
# that load bitalign's outputs the way users do (tests/bad_input_formats.rs).
#   - makes a venv with the pinned packages under $CACHE/hf-venv on first use (rebuilt when
#     the pins change; CACHE is ${XDG_CACHE_HOME:-$HOME/.cache}/bitalign); about 150 MB
#     from PyPI, a minute the first time, instant afterwards.
set -euo pipefail

cache="${XDG_CACHE_HOME:-$HOME/.cache}/bitalign"
venv="$cache/hf-venv"
requirements="datasets==4.8.5 pandas==2.3.3"

die() { echo "hf-venv: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 not found (apt-get install python3 python3-venv)"
mkdir -p "$cache"
exec 9>"$cache/.hf-venv.lock"
flock 9 # one install at a time (tests run in parallel)

if [[ "$(cat "$venv/.bitalign-requirements" 2>/dev/null)" != "$requirements" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 ||
        die "could not create a venv at $venv (on Debian: apt-get install python3-venv)"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --disable-pip-version-check -q $requirements >&2 ||
        die "pip could not install $requirements into $venv"
    echo "$requirements" >"$venv/.bitalign-requirements"
fi
echo "$venv/bin/python"
