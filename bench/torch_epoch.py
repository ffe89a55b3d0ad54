"""Seconds per training epoch of Ember's built-in models in PyTorch.

The same architectures as `ember_pruner::model::zoo` (lenet5, vgg-mini), the
same 55,000 Fashion-MNIST training images (pixels / 255, the first 55,000 of
the training file, as Ember's default split), batch 128, Adam lr 1e-3, one
epoch = a shuffled pass, no validation. Not part of CI: `bench/epoch_ratio.sh`
runs it beside Ember.

    python torch_epoch.py MODEL EPOCHS BATCH THREADS DATA_DIR
"""

import gzip
import struct
import sys
import time

import numpy as np
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


def vgg_mini():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Linear(256, 10),
    )


def main():
    model_name, epochs, batch, threads, data_dir = sys.argv[1:6]
    epochs, batch, threads = int(epochs), int(batch), int(threads)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    images = read_idx(f"{data_dir}/train-images-idx3-ubyte.gz")[:55000]
    labels = read_idx(f"{data_dir}/train-labels-idx1-ubyte.gz")[:55000]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    model = {"lenet5": lenet5, "vgg-mini": vgg_mini}[model_name]()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n)
        total = 0.0
        for b in range(0, n, batch):
            idx = order[b : b + batch]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        secs = time.perf_counter() - start
        print(
            f"{model_name} epoch {epoch} images {n} batch {batch} threads {threads} "
            f"seconds {secs:.3f} loss {total / n:.4f} torch {torch.__version__}",
            flush=True,
        )


if __name__ == "__main__":
    main()
