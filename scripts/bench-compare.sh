#!/usr/bin/env bash
# The benchmark corpus through bitalign, sentence-transformers (PyTorch fp32) and ONNX Runtime
# (fp32, and dynamic int8 per-channel), one engine per process, same threads, same weights;
# prints throughput ratios against bitalign, peak RSS and the minimum cosine of each engine's
# embeddings to sentence-transformers fp32 (the reference).
#
#   scripts/bench-compare.sh [--threads N] [--runs N] [--model DIR] [--batch N] [--corpus FILE]
#
# Default corpus: bitalign bench's built-in one (Tatoeba vie/ind/eng + the demo articles).
#
# Python packages come from PyPI into a venv outside the repo, made on first use:
# $BITALIGN_BENCH_VENV (default ~/.cache/bitalign/bench-venv). The torch wheel pulls CUDA
# packages (~6 GB on disk, several minutes to download); only the CPU is used. The ONNX
# export and its int8 version are cached in ~/.cache/bitalign/bench-onnx (~0.6 GB).
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=2
RUNS=3
BATCH=32
MODEL=models/multilingual-e5-small-q4
CORPUS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) THREADS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --model) MODEL=$2; shift 2 ;;
        --batch) BATCH=$2; shift 2 ;;
        --corpus) CORPUS=("$2"); shift 2 ;;
        *) echo "bench-compare.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -f "$MODEL/model.safetensors" ] || {
    echo "bench-compare.sh: no model at $MODEL (run scripts/fetch-offline-model.sh, or pass --model DIR)" >&2
    exit 1
}

VENV=${BITALIGN_BENCH_VENV:-$HOME/.cache/bitalign/bench-venv}
REQS="torch==2.15.0 sentence-transformers==6.2.0 transformers==5.23.0 tokenizers==0.23.3 numpy==2.4.6 onnxruntime==1.31.1 onnx==1.23.2 onnxscript==0.7.2"
# The stamp is written only after a complete install, so an interrupted one is redone.
if [ "$(cat "$VENV/.bitalign-requirements" 2>/dev/null)" != "$REQS" ]; then
    echo "making the benchmark venv in $VENV (torch from PyPI pulls CUDA wheels: several GB)" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install -q --disable-pip-version-check $REQS
    echo "$REQS" > "$VENV/.bitalign-requirements"
fi
PY="$VENV/bin/python"

cargo build --release -q
BIN=target/release/bitalign
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "== bitalign (native engine)" >&2
"$BIN" -q --threads "$THREADS" bench --model "$MODEL" --batch "$BATCH" --runs "$RUNS" --json \
    --write-corpus "$TMP/corpus.txt" ${CORPUS[@]+"${CORPUS[@]}"} > "$TMP/bitalign.json"
echo "== bitalign (candle engine, the baseline it replaced)" >&2
"$BIN" -q --threads "$THREADS" bench --model "$MODEL" --batch "$BATCH" --runs "$RUNS" --json \
    --engine candle "$TMP/corpus.txt" > "$TMP/candle.json"
echo "== bitalign (native engine, --quantize q8)" >&2
"$BIN" -q --threads "$THREADS" bench --model "$MODEL" --batch "$BATCH" --runs "$RUNS" --json \
    --quantize q8 "$TMP/corpus.txt" > "$TMP/q8.json"
"$BIN" -q --threads "$THREADS" embed --presplit --lang en --model "$MODEL" --batch "$BATCH" \
    --out "$TMP/emb" "$TMP/corpus.txt"
"$BIN" -q --threads "$THREADS" embed --presplit --lang en --model "$MODEL" --batch "$BATCH" \
    --quantize q8 --out "$TMP/emb-q8" "$TMP/corpus.txt"
for e in st ort-fp32 ort-int8; do
    echo "== $e" >&2
    "$PY" scripts/bench_compare.py "$e" --model "$MODEL" --corpus "$TMP/corpus.txt" \
        --out "$TMP/$e" --threads "$THREADS" --runs "$RUNS"
done

"$PY" - "$TMP" "$THREADS" <<'PYEOF'
import json, sys
import numpy as np
tmp, threads = sys.argv[1], sys.argv[2]
ref = np.load(f"{tmp}/st.npy")
def cos_min(e):
    return float((e * ref).sum(1).min())
ours = json.load(open(f"{tmp}/bitalign.json"))
rows = [("bitalign native f32", ours["sentences_per_second"]["median"], ours["tokens_per_second"]["median"],
         cos_min(np.load(f"{tmp}/emb/corpus.npy")), ours["peak_rss_mib"])]
q8 = json.load(open(f"{tmp}/q8.json"))
rows.append(("bitalign native q8", q8["sentences_per_second"]["median"], q8["tokens_per_second"]["median"],
             cos_min(np.load(f"{tmp}/emb-q8/corpus.npy")), q8["peak_rss_mib"]))
cand = json.load(open(f"{tmp}/candle.json"))
rows.append(("bitalign candle f32", cand["sentences_per_second"]["median"], cand["tokens_per_second"]["median"],
             None, cand["peak_rss_mib"]))
names = {"st": "sentence-transformers fp32", "ort-fp32": "ONNX Runtime fp32", "ort-int8": "ONNX Runtime int8 dynamic"}
for e in ["st", "ort-fp32", "ort-int8"]:
    j = json.load(open(f"{tmp}/{e}.json"))
    rows.append((names[e], j["sentences_per_second"], j["tokens_per_second"], cos_min(np.load(f"{tmp}/{e}.npy")), j["peak_rss_mib"]))
base = rows[0][2]
print(f"corpus: {ours['sentences']} sentences, {ours['tokens']} tokens; {threads} threads; "
      f"FMA peak {ours['fma_peak_gflops'] or 0:.0f} GFLOP/s; bitalign at {ours['percent_of_peak'] or 0:.1f} % of it")
qbase = rows[1][2]
print("| engine | sent/s | tok/s | bitalign f32 ÷ engine | bitalign q8 ÷ engine | cosine to ST fp32, min | peak RSS |")
print("|---|---|---|---|---|---|---|")
for name, s, t, c, rss in rows:
    cs = "—" if c is None else f"{c:.5f}"
    print(f"| {name} | {s:.0f} | {t:.0f} | {base / t:.2f}× | {qbase / t:.2f}× | {cs} | {rss:.0f} MiB |")
PYEOF
