#!/bin/bash
# Submits the sweep array (sweep.sbatch beside this script) and a merge job that starts once
# every array task has succeeded (afterok), then prints the two job ids, one per line: the
# array's first, the merge's second.
#
#   examples/slurm/submit.sh [sbatch options for the array, e.g. --array=0-23 --cpus-per-task=2]
#
# Both jobs run in the clone this script belongs to; relative paths below are relative to it.
# Settings, from the environment (the array also reads the ones documented in sweep.sbatch):
#   GROKWASM_SHARDS  one directory per array task (default: results/sweep-shards)
#   GROKWASM_OUT     the merged sweep (default: results/sweep)
#   GROKWASM_LOGS    Slurm's output files, <job name>-<task>.out and merge.out (default: logs)
#   GROKWASM_NODE    the node binary (default: node)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export GROKWASM_DIR=${GROKWASM_DIR:-$(cd "$here/../.." && pwd)}
cd "$GROKWASM_DIR"
export GROKWASM_SHARDS=${GROKWASM_SHARDS:-results/sweep-shards}
out=${GROKWASM_OUT:-results/sweep}
logs=${GROKWASM_LOGS:-logs}
node=${GROKWASM_NODE:-node}
mkdir -p "$logs"   # Slurm does not create the directory of an --output file

# --parsable prints "id" or "id;cluster".
array=$(sbatch --parsable --output="$logs/%x-%a.out" "$@" "$here/sweep.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes \
  --job-name=grokwasm-merge --output="$logs/merge.out" \
  --wrap "$(printf '%q ' "$node" dist/cli/grokwasm.js merge)$(printf '%q' "$GROKWASM_SHARDS")/* --out $(printf '%q' "$out")")
merge=${merge%%;*}
echo "$array"
echo "$merge"
