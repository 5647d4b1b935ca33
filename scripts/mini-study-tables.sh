#!/usr/bin/env bash
# Regenerates the tables of docs/mini-study.md from the run records of the Fashion-MNIST-LT
# mini-study (every recipes/fashion-lt/*.yaml, `lt-bench sweep … --seeds 0,1`):
#   scripts/mini-study-tables.sh RESULTS_DIR > tables.md
# Records made before cost, calibration and test-distribution metrics existed get them first
# through `lt-bench eval` (which adds what a record lacks and never replaces a value); then the
# tables come from `lt-bench table`, as always only from the records, less the empty rows.
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:?usage: scripts/mini-study-tables.sh RESULTS_DIR}
cli() { node bin/lt-bench.js "$@"; }

for dir in "$results"/*/; do
  [ -f "$dir/run.json" ] || continue
  # finished / balanced / other: only finished Fashion-MNIST runs are evaluated; "+cost" / "+td"
  # say that the record already has its cost and calibration / all 11 test distributions (a run
  # scores the recipe's five; the tables show all).
  kind=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (r.status !== "finished" || r.dataset.name !== "fashion-mnist") { console.log("other"); process.exit(0); }
    const has = (r.cost && r.metrics.last && r.metrics.last.ece !== undefined ? "+cost" : "") + (Object.keys(r.testDistributions?.last ?? {}).length >= 11 ? "+td" : "");
    console.log((r.dataset.balanced ? "balanced" : "finished") + has);' "$dir/run.json")
  [ "$kind" = other ] && continue
  case "$(basename "$dir")" in
    pretrain-*) continue ;; # a pretext run has no classifier to evaluate
  esac
  [[ "$kind" == *+cost* ]] || cli eval "$dir" --split test >/dev/null
  # Test distributions rank classes by long-tailed counts: a balanced reference run has none.
  [[ "$kind" == balanced* || "$kind" == *+td* ]] || cli eval "$dir" --test-distributions all >/dev/null
done

# The tables list every registered method; here only the rows with a record are kept (and the
# family headers above them), without the "Missing" lists of the methods the study did not run.
filled() {
  node -e '
    const lines = require("fs").readFileSync(0, "utf8").split("\n");
    const empty = (l) => /^\| [^|]+ \|( *\|)+$/.test(l) && !/^\| \*\*\*/.test(l);
    const out = [];
    let skipping = false;
    for (const l of lines) {
      if (/^Missing \(\d+\):$/.test(l) || /^Empty, no run/.test(l)) { skipping = true; continue; }
      if (skipping) { if (l.startsWith("- ") || l === "") { if (l === "" && out[out.length - 1] !== "") out.push(l); continue; } skipping = false; }
      if (empty(l)) continue;
      out.push(l);
    }
    // A family header followed by another header or the end of the table has no rows.
    const kept = out.filter((l, i) => !(/^\| \*\*\*/.test(l) && (i + 1 >= out.length || !/^\| /.test(out[i + 1]) || /^\| \*\*\*/.test(out[i + 1]))));
    process.stdout.write(kept.join("\n"));
  '
}

echo '### Tables 5 and 6, with calibration and cost columns'
echo
cli table --results "$results" --dataset fashion-mnist --epochs 8 --table 5 --columns ece,nll,params,macs,params-train,macs-train | filled
cli table --results "$results" --dataset fashion-mnist --epochs 8 --table 6 | filled
echo '### Test-agnostic evaluation: overall accuracy on forward / uniform / backward test distributions'
echo
cli table --results "$results" --dataset fashion-mnist --epochs 8 --test-distribution all | filled
