#!/usr/bin/env bash
# The sharded pipeline on a real Slurm cluster (Debian's slurm-wlm + munge, one node on
# this machine, brought up by scripts/slurm/cluster.sh and stopped by pid on exit):
#   1. the demo articles (text, the offline model, `run`'s default confidence ranking),
#      3 shards: sbatch job arrays → corpus byte-identical to `bitalign run`;
#   2. synthetic 20k × 20k .npy embeddings with planted pairs, 4 shards: same check, exact
#      and with the approximate search (train job + assign array) against `run --knn approx`;
#   3. the same set again, one k-NN task killed mid-way (scancel): no marker for it, the
#      later stages never start; submitted again: the completed shards are skipped, the
#      killed one is redone, and the corpus is again identical.
# Needs root to install the packages and start the daemons; skipped (exit 0, with a
# message) only when not root and the packages are missing. Expects target/release/bitalign
# and the offline model (scripts/test.sh makes both).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
bin=$repo/target/release/bitalign
model=$repo/models/multilingual-e5-small-q4

if [ "$(id -u)" != 0 ] && ! command -v slurmctld >/dev/null; then
  echo "slurm-test: SKIPPED: not root and slurm-wlm/munge are not installed (run as root to test on a real cluster)"
  exit 0
fi
[ -x "$bin" ] || { echo "slurm-test: $bin missing (cargo build --release)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/bitalign-slurm.XXXXXX)
cluster=$tmp/cluster
cleanup() {
  scripts/slurm/cluster.sh down "$cluster" || true
  if [ "${KEEP:-0}" = 1 ]; then echo "slurm-test: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
eval "$(scripts/slurm/cluster.sh up "$cluster")"
export SLURM_CONF
t0=$SECONDS
say() { echo "slurm-test [$((SECONDS - t0)) s]: $*"; }
say "cluster up: $(sinfo -h -o '%P %D node(s) %c CPUs %t')"

# Jobs whose ids are given are gone from squeue (finished, failed or cancelled).
wait_jobs() {
  local ids; ids=$(IFS=,; echo "$*")
  for _ in $(seq 1200); do
    [ -z "$(squeue -h -j "$ids" 2>/dev/null)" ] && return 0
    sleep 0.5
  done
  echo "slurm-test: jobs $ids still queued after 10 minutes" >&2
  squeue >&2
  return 1
}

# State of a finished job (scontrol keeps finished jobs for a few minutes).
job_state() { scontrol show job "$1" -o | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' '; }

# Submits WORK, waits, and checks that every stage completed.
submit_and_wait() {
  local work=$1; shift
  local ids=() stage id
  while read -r stage id; do ids+=("$id"); eval "job_$stage=$id"; done < <(scripts/slurm/submit.sh "$work" --bin "$bin" "$@")
  wait_jobs "${ids[@]}"
  for id in "${ids[@]}"; do
    state=$(job_state "$id")
    [ "$state" = "JobState=COMPLETED " ] || { echo "slurm-test: job $id: $state" >&2; tail -n 5 "$work"/logs/*.log >&2; return 1; }
  done
}

# The corpus files are the same bytes; run.json differs only in timings and embedding stats.
same_corpus() {
  local a=$1 b=$2 f
  [ "$(cd "$a" && ls | sort)" = "$(cd "$b" && ls | sort)" ] || { echo "slurm-test: different files in $a and $b" >&2; return 1; }
  for f in "$a"/*; do
    [ "$(basename "$f")" = run.json ] && continue
    cmp "$f" "$b/$(basename "$f")" || return 1
  done
  python3 - "$a/run.json" "$b/run.json" <<'PY'
import json, sys
def clean(p):
    d = json.load(open(p))
    d.pop("timings"); d.pop("threads")
    d["model"].pop("stats", None); d["model"].pop("max_tokens", None)
    for x in d["pairs"]: x.pop("seconds")
    return d
a, b = (clean(p) for p in sys.argv[1:])
assert a == b, f"run.json differs:\n{a}\n{b}"
PY
  say "identical: $(cd "$a" && ls | grep -v run.json | while read -r f; do printf '%s (%s lines) ' "$f" "$(wc -l <"$a/$f")"; done)"
}

# 1. The demo articles, from text, 3 shards.
demo=(data/demo/karabakh.en.txt data/demo/karabakh.vi.txt data/demo/karabakh.id.txt)
"$bin" -q run "${demo[@]}" --model "$model" --format jsonl,tsv --out "$tmp/demo-single"
"$bin" -q shard init "$tmp/demo-work" --shards 3 "${demo[@]}" --model "$model" --format jsonl,tsv --out "$tmp/demo-sharded"
submit_and_wait "$tmp/demo-work" --embed-cpus 1 --embed-mem 2G --knn-cpus 1 --knn-mem 1G --best-cpus 1 --best-mem 1G --merge-mem 2G
same_corpus "$tmp/demo-single" "$tmp/demo-sharded"
say "demo: $(ls "$tmp/demo-work"/logs | wc -l) task logs; $(grep -h 'embed shard' "$tmp/demo-work"/logs/embed-*.log | tr '\n' ';')"

# 2. Synthetic 20k × 20k embeddings with planted pairs, 4 shards.
syn=$tmp/syn
"$bin" -q bench mine --size 20000 --write-npy "$syn" --write-only
python3 - "$syn" <<'PY'
import sys
for side, lang in (("x", "en"), ("y", "vi")):
    with open(f"{sys.argv[1]}/{side}.{lang}.txt", "w") as f:
        f.writelines(f"{side} sentence {i}\n" for i in range(20000))
PY
syn_args=("$syn/x.en.txt" "$syn/y.vi.txt" --presplit --rank score --filters none --embeddings "$syn/x-20000.npy" "$syn/y-20000.npy")
"$bin" -q run "${syn_args[@]}" --out "$syn/single"
res=(--knn-cpus 1 --knn-mem 1G --best-cpus 1 --best-mem 1G --merge-mem 2G)
"$bin" -q shard init "$syn/work" --shards 4 "${syn_args[@]}" --out "$syn/sharded"
submit_and_wait "$syn/work" "${res[@]}"
same_corpus "$syn/single" "$syn/sharded"
say "synthetic: $(grep -h 'shard' "$syn/work"/logs/knn-*.log | tr '\n' ';')"
"$bin" -q run "${syn_args[@]}" --knn approx --out "$syn/single-approx"
"$bin" -q shard init "$syn/work-approx" --shards 4 "${syn_args[@]}" --knn approx --out "$syn/sharded-approx"
submit_and_wait "$syn/work-approx" "${res[@]}" --train-cpus 1 --train-mem 1G --assign-cpus 1 --assign-mem 1G
[ -n "${job_train:-}" ] && [ -n "${job_assign:-}" ] || { echo "slurm-test: no train/assign jobs for --knn approx" >&2; exit 1; }
same_corpus "$syn/single-approx" "$syn/sharded-approx"
say "synthetic, approximate: $(cat "$syn/work-approx"/logs/train-*.log | tr '\n' ';')"

# 3. Kill one k-NN task mid-way, then submit again.
"$bin" -q shard init "$syn/work2" --shards 4 "${syn_args[@]}" --out "$syn/sharded2"
ids=()
while read -r stage id; do ids+=("$id"); eval "job_$stage=$id"; done < <(scripts/slurm/submit.sh "$syn/work2" --bin "$bin" "${res[@]}")
victim="${job_knn}_1"
for _ in $(seq 600); do
  [ "$(squeue -h -j "$victim" -o %T 2>/dev/null)" = RUNNING ] && break
  sleep 0.2
done
sleep 1
[ ! -e "$syn/work2/knn/1.done" ] || { echo "slurm-test: knn shard 1 finished before it could be killed" >&2; exit 1; }
scancel "$victim"
say "cancelled task $victim mid-way"
# The later stages can never start now: cancel them, wait for the rest of the k-NN array.
sleep 2
scancel "$job_best" "$job_merge"
wait_jobs "${ids[@]}"
[ ! -e "$syn/work2/knn/1.done" ] || { echo "slurm-test: a killed task left a done marker" >&2; exit 1; }
[ ! -e "$syn/sharded2" ] || { echo "slurm-test: the corpus appeared although a shard was killed" >&2; exit 1; }
status=$("$bin" shard status "$syn/work2")
echo "$status" | grep -q '^knn: 3/4 done; missing: 1$' || { echo "slurm-test: unexpected status after the kill: $status" >&2; exit 1; }
say "after the kill: $(echo "$status" | tr '\n' ';') leftovers: $(ls -a "$syn/work2/knn" | grep -c '\.tmp$' || true) temporary file(s)"
submit_and_wait "$syn/work2" "${res[@]}"
resumed=$(cat "$syn/work2"/logs/knn-*.log | grep -c 'skipped, done already' || true)
redone=$(cat "$syn/work2"/logs/knn-*.log | grep -c '^knn shard 1/4: [0-9]* rows' || true)
[ "$resumed" = 3 ] && [ "$redone" = 1 ] || { echo "slurm-test: expected 3 knn shards skipped and shard 1 redone, got $resumed skipped, $redone redone" >&2; exit 1; }
same_corpus "$syn/single" "$syn/sharded2"
say "resume: the 3 completed k-NN shards were skipped, the killed one redone"
say "PASSED in $((SECONDS - t0)) s"
