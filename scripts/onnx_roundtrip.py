"""Prune your own model: PyTorch -> ONNX -> ember prune -> onnxruntime.

Trains LeNet-5 in PyTorch on Fashion-MNIST, exports it to ONNX, prunes it
with `ember prune --model lenet5.onnx`, then scores Ember's pruned
model.onnx with onnxruntime on the same test images with the same
preprocessing, and checks that onnxruntime's accuracy equals the one Ember
reports and that onnxruntime's logits equal Ember's own (`ember eval
--logits`) to 1e-4. Not part of CI: scripts/onnx_roundtrip.sh creates the
venv (torch, onnx, onnxruntime) and runs this.

    python onnx_roundtrip.py EMBER_BIN DATA_DIR WORK_DIR [EPOCHS] [METHOD]
"""

import gzip
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def main():
    ember, data, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    method = sys.argv[5] if len(sys.argv) > 5 else "eap"
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    x = read_idx(data / "train-images-idx3-ubyte.gz")[:50000].astype(np.float32) / 255.0
    y = read_idx(data / "train-labels-idx1-ubyte.gz")[:50000].astype(np.int64)
    xt = read_idx(data / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    yt = read_idx(data / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    model = lenet5()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    X, Y = torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)
    for epoch in range(epochs):
        perm = torch.randperm(len(Y))
        for b in range(0, len(Y), 64):
            idx = perm[b : b + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[idx]), Y[idx]).backward()
            opt.step()
        print(f"pytorch epoch {epoch + 1} done", flush=True)
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(xt).unsqueeze(1)).argmax(1).numpy() == yt).mean()
    print(f"pytorch test accuracy {acc:.4f}")
    onnx_in = work / "lenet5.onnx"
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), str(onnx_in), input_names=["input"],
        output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        opset_version=13, dynamo=False,
    )
    out = work / f"pruned-{method}"
    subprocess.run(
        [ember, "prune", "--model", str(onnx_in), "--method", method, "--data", str(data),
         "--out", str(out)],
        check=True,
    )
    report = json.loads((out / "report.json").read_text())
    # onnxruntime on Ember's pruned model.onnx, same images, same preprocessing.
    sess = ort.InferenceSession(str(out / "model.onnx"))
    name = sess.get_inputs()[0].name
    logits = np.concatenate(
        [sess.run(None, {name: xt[i : i + 500, None]})[0] for i in range(0, len(yt), 500)]
    )
    ort_acc = float((logits.argmax(1) == yt).mean())
    subprocess.run(
        [ember, "eval", "--model", str(out / "model.onnx"), "--data", str(data),
         "--logits", str(work / "ember_logits.npy")],
        check=True,
    )
    ember_logits = np.load(work / "ember_logits.npy")
    diff = float(np.abs(ember_logits - logits).max())
    rep_acc = report["pruned"]["test_accuracy"]
    print(json.dumps({
        "pytorch_test_accuracy": float(acc),
        "baseline_test_accuracy": report["baseline"]["test_accuracy"],
        "ember_test_accuracy": rep_acc,
        "onnxruntime_test_accuracy": ort_acc,
        "max_logit_difference": diff,
        "energy_reduction": report["energy_reduction"],
        "weight_reduction": report["weight_reduction"],
        "weights": [report["baseline"]["nonzero_weights"], report["pruned"]["nonzero_weights"]],
    }, indent=2))
    assert abs(ort_acc - rep_acc) < 1e-6, "onnxruntime and Ember disagree on accuracy"
    assert diff < 1e-4, "logits differ by more than 1e-4"
    print("OK: onnxruntime reproduces Ember's pruned model")


if __name__ == "__main__":
    main()
