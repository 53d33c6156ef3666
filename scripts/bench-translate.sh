#!/usr/bin/env bash
# Translation throughput of bitalign's Marian against transformers (PyTorch, CPU), measured
# in the same run, interleaved, with the same threads, batch size, beam and max length, on a
# random-weight model of opus-mt-de-fr's size (d_model 512, 6+6 layers, 8 heads, ffn 2048,
# vocabulary 58,101), made once by scripts/make_tiny_marian.py --bench (not committed).
#   scripts/bench-translate.sh [--threads N] [--sentences N] [--max-length N] [--rounds N]
# Needs the fixture venv (scripts/README.md): PYTHON=path/to/venv/bin/python.
# Tokens/s = generated tokens (end-of-sentence included) / time in generation (model
# loading and tokenization excluded on both sides). Random weights rarely end a sentence,
# so most outputs run to --max-length on both sides: the same work.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 sentences=48 max_length=48 rounds=2
while [[ $# -gt 0 ]]; do
    case $1 in
        --threads) threads=$2; shift 2 ;;
        --sentences) sentences=$2; shift 2 ;;
        --max-length) max_length=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        *) echo "bench-translate: unknown flag $1" >&2; exit 1 ;;
    esac
done
cache="${XDG_CACHE_HOME:-$HOME/.cache}/bitalign"
python=${PYTHON:-$cache/torch-venv/bin/python}
[[ -x $python ]] || { echo "bench-translate: no Python with torch at $python (set PYTHON)" >&2; exit 1; }
model=$cache/bench-opus-mt-size
if [[ ! -f $model/model.safetensors ]]; then
    echo "making the opus-mt-de-fr-size random model in $model" >&2
    "$python" scripts/make_tiny_marian.py --bench "$model" >/dev/null
fi
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk -v n="$sentences" 'NF >= 6 && k < n { print; k++ }' tests/data/textberg/test*.de >"$work/in.de"
export BITALIGN_TRANSLATION_CACHE=off
echo "uptime: $(uptime)"
echo "$(wc -l <"$work/in.de") sentences, threads $threads, batch 16, max length $max_length"
for beam in 1 4; do
    for r in $(seq "$rounds"); do
        ours=$(target/release/bitalign --threads "$threads" translate "$work/in.de" --mt-model "$model" \
            --beam "$beam" --max-length "$max_length" --batch-size 16 --out "$work/out.$beam" --force 2>&1 |
            sed -n 's/.* \([0-9]*\) out, \([0-9.]*\) s .*/\1 \2/p')
        theirs=$("$python" scripts/bench_translate.py "$model" "$work/in.de" --beam "$beam" \
            --max-length "$max_length" --batch 16 --threads "$threads" 2>/dev/null | tail -1)
        python3 - "$beam" "$r" "$ours" "$theirs" <<'PY'
import json, sys
beam, r, ours, theirs = sys.argv[1], sys.argv[2], sys.argv[3].split(), json.loads(sys.argv[4])
ot, os_ = int(ours[0]), float(ours[1])
a, b = ot / os_, theirs["tokens"] / theirs["seconds"]
print(f"beam {beam} round {r}: bitalign {ot} tokens {os_:.1f} s = {a:.0f} tokens/s; "
      f"transformers {theirs['tokens']} tokens {theirs['seconds']:.1f} s = {b:.0f} tokens/s; ratio {a / b:.2f}")
PY
    done
done
echo "uptime: $(uptime)"
