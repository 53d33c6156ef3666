#!/usr/bin/env bash
# Mining speed: bitalign's k-NN (both directions, k=4; exact and IVF, each in f32 and in int8
# re-scored in f32) against faiss-cpu from PyPI
# (IndexFlatIP, IndexIVFFlat, IndexHNSWFlat) on the same synthetic vectors, in one run:
# bitalign, then FAISS, then bitalign again (its two figures bracket FAISS's, so a change in
# the machine's load shows). Prints a table of seconds, ratios and recall@k.
#
#   scripts/bench-mine-compare.sh [--threads N] [--runs N] [--size N[,N…]] [--probe N]
#                                 [--nprobe A,B] [--ef-search A,B]
#
# --probe: lists bitalign's approximate search probes; --nprobe, --ef-search: FAISS's.
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
PROBE=8
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) THREADS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --size) SIZES=$2; shift 2 ;;
        --nprobe) NPROBE=$2; shift 2 ;;
        --ef-search) EF=$2; shift 2 ;;
        --probe) PROBE=$2; shift 2 ;;
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
        --knn exact,approx --knn-precision f32,int8 --ivf-probe "$PROBE" --write-npy "$TMP" \
        > "$TMP/ours-a-$N.json"
    echo "== $N × $N: faiss-cpu" >&2
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" scripts/bench_mine_faiss.py \
        "$TMP/x-$N.npy" "$TMP/y-$N.npy" --threads "$THREADS" --nprobe "$NPROBE" \
        --ef-search "$EF" > "$TMP/faiss-$N.json"
    echo "== $N × $N: bitalign again" >&2
    "$BIN" -q --threads "$THREADS" bench mine --x "$TMP/x-$N.npy" --y "$TMP/y-$N.npy" \
        --knn exact,approx --knn-precision f32,int8 --ivf-probe "$PROBE" --runs "$RUNS" --json \
        > "$TMP/ours-b-$N.json"
done
uptime >&2

"$PY" - "$TMP" "$THREADS" "$SIZES" <<'PYEOF'
import json, sys
tmp, threads, sizes = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
print(f"{threads} threads. bitalign: median of its runs, once before and once after FAISS "
      "(the mean of the two is compared); FAISS: index build + search, both directions, one run")
print("| n × n | method | parameters | seconds | ÷ bitalign exact | ÷ bitalign approx | recall@4 | mined pairs, F1 vs exact | peak RSS |")
print("|---|---|---|---|---|---|---|---|---|")
for n in sizes:
    a = json.load(open(f"{tmp}/ours-a-{n}.json"))
    b = json.load(open(f"{tmp}/ours-b-{n}.json"))
    f = json.load(open(f"{tmp}/faiss-{n}.json"))
    rss = max(a["peak_rss_mib"], b["peak_rss_mib"])
    ma, mb = a["sizes"][0]["methods"], b["sizes"][0]["methods"]
    label = lambda m: m["knn"]["search"] + ("" if m["precision"] == "f32" else " int8")
    mean = {}
    for x, y in zip(ma, mb):
        name = label(x)
        mean[name] = (x["knn_seconds"]["median"] + y["knn_seconds"]["median"]) / 2
    ex, ap = mean.get("exact"), mean.get("ivf")
    ratio = lambda s, base: "—" if base is None else f"{s / base:.2f}×"
    for x, y in zip(ma, mb):
        name = label(x)
        s = mean[name]
        if name == "exact int8":
            par = "centred int8 codes, 12 candidates re-scored in f32"
            rec = f"{x['knn_recall']:.4f}"
        elif name == "exact":
            par = f"{x['knn_gflops']:.0f} / {y['knn_gflops']:.0f} GFLOP/s = {x['knn_percent_of_peak']:.0f} / {y['knn_percent_of_peak']:.0f} % of FMA peak {a['fma_peak_gflops']:.0f} / {b['fma_peak_gflops']:.0f}"
            rec = f"{x['knn_recall_sampled']:.4f} (sampled rows vs brute force)"
        else:
            k = x["knn"]
            par = f"IVF, lists {k['lists'] or 'auto'}, probe {k['probe']}" + (", int8" if name.endswith("int8") else "")
            rec = f"{x['knn_recall']:.4f}" if x.get("knn_recall") is not None else f"{x['knn_recall_sampled']:.4f} (sampled)"
        mined = "—"
        if x.get("mined_pairs") is not None:
            f1 = x.get("mined_f1_vs_exact")
            mined = f"{x['mined_pairs']} in {x['mine_seconds']['median']:.2f} s" + (f", F1 {f1:.4f}" if f1 is not None else "")
        print(f"| {n} | bitalign {name} | {par} | {x['knn_seconds']['median']:.2f} / {y['knn_seconds']['median']:.2f} | "
              f"{ratio(s, ex)} | {ratio(s, ap)} | {rec} | {mined} | {rss:.0f} MiB |")
    for r in f["rows"]:
        print(f"| {n} | faiss {r['index']} | {r['params']} | {r['seconds']:.2f} | "
              f"{ratio(r['seconds'], ex)} | {ratio(r['seconds'], ap)} | {r['recall']:.4f} | — | {f['peak_rss_mib']:.0f} MiB |")
PYEOF
