#!/usr/bin/env bash
# How the default step (--layer-budget-scale) of each method was chosen: on the seed-1 model of
# each network, each method runs at steps 1, 2 and 4 (the accuracy the network may lose
# before fine-tuning, in budgets), everything else at its default, and the step with the largest
# energy reduction is kept. Only validation figures are printed: the test split plays no part.
# Long and resumable like scripts/pruning_outcome.sh; not part of CI.
#
#   scripts/tune_step.sh [RUNS_DIR=runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
models=${MODELS:-lenet5 vgg-mini}
data=${DATA:-/usr/share/datasets/fashion-mnist}
# EMBER: a binary to run instead of building this checkout's (keeps a long run on one build).
ember=${EMBER:-}
if [ -z "$ember" ]; then
  cargo build -q --release
  ember=target/release/ember
fi
for model in $models; do
  [ -f "$runs/$model-s1/model.safetensors" ] ||
    "$ember" train --model "$model" --seed 1 --data "$data" --out "$runs/$model-s1" 2>/dev/null
  for method in eap magnitude; do
    for step in 1 2 4; do
      out="$runs/tune-$model/$method-step$step"
      [ -f "$out/report.json" ] && continue
      mkdir -p "$runs/tune-$model"
      "$ember" prune --model "$runs/$model-s1" --method "$method" --layer-budget-scale "$step" \
        --seed 1 --data "$data" --out "$out" 2>"$out.log" >/dev/null
    done
  done
done
python3 - "$runs" <<'PY'
import json, pathlib, sys
print("| model | method | step | energy reduction | weight reduction | val change (points) |")
print("|---|---|---|---|---|---|")
for rep in sorted(pathlib.Path(sys.argv[1]).glob("tune-*/*/report.json")):
    r = json.loads(rep.read_text())
    model = rep.parent.parent.name[len("tune-"):]
    step = r["config"]["layer_budget_scale"]
    v = r["val_change"]
    print(f"| {model} | {r['variant']} | {step:g} | {r['energy_reduction']:.2f}x | "
          f"{r['weight_reduction']:.1f}x | {-100 * v['drop']:+.2f} ± {100 * v['std_error']:.2f} |")
PY
