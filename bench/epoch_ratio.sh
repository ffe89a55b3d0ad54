#!/usr/bin/env bash
# Ember vs PyTorch: seconds per training epoch of lenet5 and vgg-mini on the
# same 55,000 Fashion-MNIST images, batch 128, Adam, the same thread count,
# runs interleaved (Ember, PyTorch, Ember, ...) so both see the same machine.
# Not part of CI: it creates a venv (bench/.venv) and pip-installs torch.
#
#   bench/epoch_ratio.sh [ROUNDS=3] [THREADS=2] [DATA_DIR=/usr/share/datasets/fashion-mnist]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=${2:-2}
data=${3:-/usr/share/datasets/fashion-mnist}
venv=${EMBER_BENCH_VENV:-bench/.venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch numpy
fi
# EPOCH_TIME_BIN: a prebuilt examples/epoch_time binary (skips the build).
ember_bin=${EPOCH_TIME_BIN:-}
if [ -z "$ember_bin" ]; then
  cargo build -q --release -p ember-pruner --example epoch_time
  ember_bin=target/release/examples/epoch_time
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for r in $(seq 1 "$rounds"); do
  for model in lenet5 vgg-mini; do
    RAYON_NUM_THREADS=$threads "$ember_bin" "$model" 1 128 "$data" | sed 's/^/ember /' >>"$log"
    "$venv/bin/python" bench/torch_epoch.py "$model" 1 128 "$threads" "$data" | sed 's/^/torch /' >>"$log"
  done
  echo "round $r done" >&2
done
python3 - "$log" "$threads" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault((f[0], f[1]), []).append(float(f[f.index("seconds") + 1]))
print(f"threads {sys.argv[2]}, batch 128, one epoch of 55,000 images; median of {len(next(iter(rows.values())))} interleaved runs (min-max)")
print(f"{'model':10} {'ember s':>16} {'pytorch s':>16} {'ratio':>6}")
for model in ("lenet5", "vgg-mini"):
    e, t = rows[("ember", model)], rows[("torch", model)]
    span = lambda v: f"{statistics.median(v):6.2f} ({min(v):.1f}-{max(v):.1f})"
    print(f"{model:10} {span(e):>16} {span(t):>16} {statistics.median(e) / statistics.median(t):6.2f}")
PY
