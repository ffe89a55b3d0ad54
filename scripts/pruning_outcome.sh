#!/usr/bin/env bash
# The pruning-outcome experiments of the README (issue 10): LeNet-5 and vgg-mini on full
# Fashion-MNIST, eyeriss-v1, a budget of one point, three seeds (training and pruning), for
# energy-aware pruning, the Han et al. magnitude baseline and the ablations; the reduced-class
# run; and the budget sweep (energy-accuracy curves). Every setting is the CLI default.
#
# Long (hours on 2 cores) and resumable: finished runs are skipped, an interrupted run resumes
# from its checkpoint. Not part of CI.
#
#   scripts/pruning_outcome.sh [RUNS_DIR=runs]       then   scripts/pruning_table.py RUNS_DIR
# Environment: MODELS ("lenet5 vgg-mini"), SEEDS ("1 2 3"), DATA (the Fashion-MNIST folder),
# VARIANTS (names from the list below; default all), SWEEP (1: run the budget sweep; default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
models=${MODELS:-lenet5 vgg-mini}
seeds=${SEEDS:-1 2 3}
data=${DATA:-/usr/share/datasets/fashion-mnist}
# EMBER: a binary to run instead of building this checkout's (keeps a long run on one build).
ember=${EMBER:-}
if [ -z "$ember" ]; then
  cargo build -q --release
  ember=target/release/ember
fi
mkdir -p "$runs"

# name|flags: the method and its ablations (each changes one idea of eap).
variants=(
  "eap|--method eap"
  "magnitude|--method magnitude"
  "eap-order-network|--method eap --order network"
  "eap-order-weights|--method eap --order weights"
  "eap-criterion-magnitude|--method eap --criterion magnitude"
  "eap-refit-off|--method eap --refit off"
  "greedy-magnitude|--method eap --order network --criterion magnitude --refit off"
  # Beyond the paper: Han et al.'s allocation spending the budget on energy instead of weights.
  "magnitude-energy|--method magnitude --allocate energy"
)

train() { # model seed
  local dir="$runs/$1-s$2"
  [ -f "$dir/model.safetensors" ] && return
  "$ember" train --model "$1" --seed "$2" --data "$data" --out "$dir" 2>"$dir.train.log" \
    || { cat "$dir.train.log"; exit 1; }
}

for model in $models; do
  for seed in $seeds; do
    train "$model" "$seed"
  done
done

wanted=${VARIANTS:-}
for model in $models; do
  for seed in $seeds; do
    for v in "${variants[@]}"; do
      name=${v%%|*}
      [ -n "$wanted" ] && [[ " $wanted " != *" $name "* ]] && continue
      out="$runs/$model-s$seed/$name"
      [ -f "$out/report.json" ] && continue
      echo "== $model seed $seed $name" >&2
      # shellcheck disable=SC2086
      "$ember" prune --model "$runs/$model-s$seed" ${v#*|} --seed "$seed" --data "$data" \
        --out "$out" 2>"$out.log" >/dev/null || { tail -5 "$out.log"; exit 1; }
    done
  done
done

# Fewer classes: weights fall far more than energy.
[[ " $models " == *" lenet5 "* ]] && for seed in $seeds; do
  for m in eap magnitude; do
    out="$runs/lenet5-s$seed/classes-012-$m"
    [ -f "$out/report.json" ] && continue
    "$ember" prune --model "$runs/lenet5-s$seed" --method $m --classes 0,1,2 --seed "$seed" \
      --data "$data" --out "$out" 2>"$out.log" >/dev/null
  done
done

# Energy-accuracy curves (seed 1).
[ "${SWEEP:-1}" = 1 ] && for model in $models; do
  "$ember" prune --model "$runs/$model-s1" --method eap,magnitude \
    --sweep-budget 0.0025,0.005,0.01,0.02,0.04 --seed 1 --data "$data" \
    --out "$runs/sweep-$model" 2>"$runs/sweep-$model.log" >/dev/null
done
scripts/pruning_table.py "$runs"
