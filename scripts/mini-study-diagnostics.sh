#!/usr/bin/env bash
# The mini-study's diagnostic runs (docs/mini-study.md, "Diagnostics"): recipes that change one
# parameter of a study recipe, in a results directory of their own so the study's tables stay
# clean. Prints one Markdown row per finished run, from `lt-bench eval --split test --json` (the
# run's last checkpoint evaluated again: top-1, ECE, NLL, head / middle / tail):
#   scripts/mini-study-diagnostics.sh RESULTS_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:?usage: scripts/mini-study-diagnostics.sh RESULTS_DIR}
echo '| run | method params | Acc | ECE (%) | NLL | Head | Middle | Tail |'
echo '| :-- | :-- | --: | --: | --: | --: | --: | --: |'
for dir in "$results"/*/; do
  [ -f "$dir/run.json" ] || continue
  node bin/lt-bench.js eval "$dir" --split test --json | node -e '
    const fs = require("fs");
    const e = JSON.parse(fs.readFileSync(0, "utf8"));
    const r = JSON.parse(fs.readFileSync(process.argv[1] + "/run.json", "utf8"));
    const m = e.metrics, g = m.groups ?? {};
    const f = (v, d = 1) => (v == null ? "" : v.toFixed(d));
    console.log(`| ${r.runId} | ${JSON.stringify(r.method.params ?? {})} | ${f(m.top1)} | ${f(m.ece, 2)} | ${f(m.nll, 3)} | ${f(g.head)} | ${f(g.middle)} | ${f(g.tail)} |`);
  ' "$dir"
done
