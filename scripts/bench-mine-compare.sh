#!/usr/bin/env bash
# Mining speed: bitalign's k-NN (both directions, k=4) against faiss-cpu from PyPI
# (IndexFlatIP, IndexIVFFlat, IndexHNSWFlat) on the same synthetic vectors, in one run:
# bitalign, then FAISS, then bitalign again (its two figures bracket FAISS's, so a change in
# the machine's load shows). Prints a table of seconds, ratios and recall@k.
#
#   scripts/bench-mine-compare.sh [--threads N] [--runs N] [--size N[,N…]] [--nprobe A,B] [--ef-search A,B]
#
# Not part of CI. faiss-cpu and numpy go into a venv outside the repo, made on first use:
# $BITALIGN_MINE_VENV (default ~/.cache/bitalign/mine-venv, ~100 MB).
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for FAISS alone: some machines set them
# for old OpenBLAS builds, and they slow the current one.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=2
RUNS=3
SIZES=20000
NPROBE=8,32
EF=64
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) THREADS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --size) SIZES=$2; shift 2 ;;
        --nprobe) NPROBE=$2; shift 2 ;;
        --ef-search) EF=$2; shift 2 ;;
        *) echo "bench-mine-compare.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

VENV=${BITALIGN_MINE_VENV:-$HOME/.cache/bitalign/mine-venv}
REQS="faiss-cpu==1.15.1 numpy==2.4.6"
# The stamp is written only after a complete install, so an interrupted one is redone.
if [ "$(cat "$VENV/.bitalign-requirements" 2>/dev/null)" != "$REQS" ]; then
    echo "making the benchmark venv in $VENV" >&2
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

uptime >&2
for N in ${SIZES//,/ }; do
    echo "== $N × $N: bitalign" >&2
    "$BIN" -q --threads "$THREADS" bench mine --size "$N" --runs "$RUNS" --json \
        --write-npy "$TMP" > "$TMP/ours-a-$N.json"
    echo "== $N × $N: faiss-cpu" >&2
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" scripts/bench_mine_faiss.py \
        "$TMP/x-$N.npy" "$TMP/y-$N.npy" --threads "$THREADS" --nprobe "$NPROBE" \
        --ef-search "$EF" > "$TMP/faiss-$N.json"
    echo "== $N × $N: bitalign again" >&2
    "$BIN" -q --threads "$THREADS" bench mine --x "$TMP/x-$N.npy" --y "$TMP/y-$N.npy" \
        --runs "$RUNS" --json > "$TMP/ours-b-$N.json"
done
uptime >&2

"$PY" - "$TMP" "$THREADS" "$SIZES" <<'PYEOF'
import json, sys
tmp, threads, sizes = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
print(f"{threads} threads; bitalign: median of its runs, before and after FAISS; "
      "FAISS: build + search, both directions, one run")
print("| n × n | method | parameters | seconds | bitalign exact is × faster | recall@4 | peak RSS |")
print("|---|---|---|---|---|---|---|")
for n in sizes:
    a = json.load(open(f"{tmp}/ours-a-{n}.json"))
    b = json.load(open(f"{tmp}/ours-b-{n}.json"))
    f = json.load(open(f"{tmp}/faiss-{n}.json"))
    sa, sb = a["sizes"][0], b["sizes"][0]
    ours = (sa["knn_seconds"]["median"] + sb["knn_seconds"]["median"]) / 2
    pk = a["fma_peak_gflops"] or 0
    print(f"| {n} | bitalign exact (f32) | before / after FAISS: {sa['knn_seconds']['median']:.2f} / "
          f"{sb['knn_seconds']['median']:.2f} s, {sa['knn_gflops']:.0f} GFLOP/s = "
          f"{sa['knn_percent_of_peak'] or 0:.0f} % of {pk:.0f} | {ours:.2f} | 1.00× | "
          f"{sa['knn_recall_sampled']:.4f} (sampled) | {max(a['peak_rss_mib'], b['peak_rss_mib']):.0f} MiB |")
    if sa.get("mine_seconds"):
        print(f"| {n} | bitalign whole mining (k-NN, margin best both ways, max) | "
              f"{sa['mined_pairs']} pairs, planted recall {sa['planted_recall']:.4f} | "
              f"{sa['mine_seconds']['median']:.2f} | — | — | — |")
    for r in f["rows"]:
        print(f"| {n} | faiss {r['index']} | {r['params']} | {r['seconds']:.2f} | "
              f"{r['seconds'] / ours:.2f}× | {r['recall']:.4f} | {f['peak_rss_mib']:.0f} MiB |")
PYEOF
