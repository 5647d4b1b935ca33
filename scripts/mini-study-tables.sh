#!/usr/bin/env bash
# Regenerates the tables of docs/mini-study.md from the run records of the Fashion-MNIST-LT
# mini-study (every recipes/fashion-lt/*.yaml, `lt-bench sweep … --seeds 0,1`):
#   scripts/mini-study-tables.sh RESULTS_DIR > tables.md
# Records made before cost, calibration and test-distribution metrics existed get them first
# through `lt-bench eval` (which adds what a record lacks and never replaces a value); then the
# tables come from `lt-bench table`, as always only from the records.
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:?usage: scripts/mini-study-tables.sh RESULTS_DIR}
cli() { node bin/lt-bench.js "$@"; }

for dir in "$results"/*/; do
  [ -f "$dir/run.json" ] || continue
  # finished / balanced / other: only finished Fashion-MNIST runs are evaluated.
  kind=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.status !== "finished" || r.dataset.name !== "fashion-mnist" ? "other" : r.dataset.balanced ? "balanced" : "finished")' "$dir/run.json")
  [ "$kind" = other ] && continue
  case "$(basename "$dir")" in
    pretrain-*) continue ;; # a pretext run has no classifier to evaluate
  esac
  cli eval "$dir" --split test >/dev/null
  # Test distributions rank classes by long-tailed counts: a balanced reference run has none.
  [ "$kind" = balanced ] || cli eval "$dir" --test-distributions all >/dev/null
done

echo '### Tables 5 and 6, with calibration and cost columns'
echo
cli table --results "$results" --dataset fashion-mnist --epochs 8 --table 5 --columns ece,nll,params,macs,params-train,macs-train
cli table --results "$results" --dataset fashion-mnist --epochs 8 --table 6
echo '### Test-agnostic evaluation: overall accuracy on forward / uniform / backward test distributions'
echo
cli table --results "$results" --dataset fashion-mnist --epochs 8 --test-distribution all
