#!/usr/bin/env bash
# Submits a sharded run (a work directory made by `bitalign shard init`) to Slurm: one job
# array per stage (embed, assign, knn, best; one task per shard), one train job (for
# --knn approx|auto: the k-means lists) and one merge job, each stage waiting for the
# previous one with --dependency=afterok. embed, train and assign are left out when the
# run does not need them. Shards already done are skipped by
# the tasks themselves, so submitting again after a failure redoes only what is missing.
#
#   scripts/slurm/submit.sh WORK [--bin PATH] [--partition P] [--STAGE-cpus N]
#       [--STAGE-mem MEM] [--STAGE-time TIME] [--max-parallel N] [-- extra sbatch flags]
#
# STAGE is embed, train, assign, knn, best or merge. Defaults: embed, knn and best 2 CPUs
# 4G 4:00:00, train 2 CPUs 4G 2:00:00, assign 2 CPUs 4G 1:00:00, merge 1 CPU 8G 2:00:00. Logs: WORK/logs/STAGE-JOBID_TASK.log.
# Prints the job ids, one line per stage (`embed 123`), for scripts.
set -euo pipefail
work=${1:?usage: submit.sh WORK [options]}
shift
bin=$(command -v bitalign || true)
[ -x "$(dirname "$0")/../../target/release/bitalign" ] && bin=$(cd "$(dirname "$0")/../.." && pwd)/target/release/bitalign
partition=""
parallel=""
declare -A cpus=([embed]=2 [train]=2 [assign]=2 [knn]=2 [best]=2 [merge]=1)
declare -A mem=([embed]=4G [train]=4G [assign]=4G [knn]=4G [best]=4G [merge]=8G)
declare -A time=([embed]=4:00:00 [train]=2:00:00 [assign]=1:00:00 [knn]=4:00:00 [best]=4:00:00 [merge]=2:00:00)
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --partition) partition=$2; shift 2 ;;
    --max-parallel) parallel=$2; shift 2 ;;
    --*-cpus|--*-mem|--*-time)
      stage=${1#--}; what=${stage##*-}; stage=${stage%-*}
      [[ $stage =~ ^(embed|train|assign|knn|best|merge)$ ]] || { echo "submit.sh: unknown stage in $1" >&2; exit 2; }
      case $what in cpus) cpus[$stage]=$2 ;; mem) mem[$stage]=$2 ;; time) time[$stage]=$2 ;; esac
      shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "submit.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$bin" ] && [ -x "$bin" ] || { echo "submit.sh: no bitalign binary; pass --bin PATH" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
work=$(cd "$work" && pwd)
n=$("$bin" shard status "$work" --shards)
mkdir -p "$work/logs"
needs_embed=$("$bin" shard status "$work" --needs-embed)
needs_index=$("$bin" shard status "$work" --needs-index)

submit() { # stage array-spec dependency command…
  local stage=$1 array=$2 dep=$3; shift 3
  local args=(--parsable --job-name="bitalign-$stage" --cpus-per-task="${cpus[$stage]}"
              --mem="${mem[$stage]}" --time="${time[$stage]}")
  [ -n "$partition" ] && args+=(--partition="$partition")
  if [ -n "$array" ]; then
    args+=(--array="$array${parallel:+%$parallel}" --output="$work/logs/$stage-%A_%a.log")
  else
    args+=(--output="$work/logs/$stage-%j.log")
  fi
  [ -n "$dep" ] && args+=(--dependency="afterok:$dep")
  sbatch "${args[@]}" "${extra[@]}" --wrap="$(printf '%q ' "$@")"
}

dep=""
if [ "$needs_embed" = yes ]; then
  dep=$(submit embed "0-$((n - 1))" "" "$bin" --threads "${cpus[embed]}" shard embed "$work" --shard slurm)
  echo "embed $dep"
fi
if [ "$needs_index" = yes ]; then
  dep=$(submit train "" "$dep" "$bin" --threads "${cpus[train]}" shard train "$work")
  echo "train $dep"
  dep=$(submit assign "0-$((n - 1))" "$dep" "$bin" --threads "${cpus[assign]}" shard assign "$work" --shard slurm)
  echo "assign $dep"
fi
dep=$(submit knn "0-$((n - 1))" "$dep" "$bin" --threads "${cpus[knn]}" shard knn "$work" --shard slurm)
echo "knn $dep"
dep=$(submit best "0-$((n - 1))" "$dep" "$bin" --threads "${cpus[best]}" shard best "$work" --shard slurm)
echo "best $dep"
dep=$(submit merge "" "$dep" "$bin" --threads "${cpus[merge]}" shard merge "$work")
echo "merge $dep"
