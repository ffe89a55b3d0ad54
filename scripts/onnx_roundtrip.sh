#!/usr/bin/env bash
# Prune your own model end to end (issue 15): PyTorch LeNet-5 -> ONNX -> `ember prune` ->
# onnxruntime. Creates a venv (scripts/.venv) with torch, onnx and onnxruntime; not part of CI.
#
#   scripts/onnx_roundtrip.sh [WORK_DIR=runs/onnx-roundtrip] [EPOCHS=5] [METHOD=eap]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/onnx-roundtrip}
venv=${EMBER_SCRIPTS_VENV:-scripts/.venv}
data=${DATA:-/usr/share/datasets/fashion-mnist}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch numpy onnx onnxruntime onnxscript
fi
ember=${EMBER:-}
if [ -z "$ember" ]; then
  cargo build -q --release
  ember=target/release/ember
fi
"$venv/bin/python" scripts/onnx_roundtrip.py "$ember" "$data" "$work" "${2:-5}" "${3:-eap}"
