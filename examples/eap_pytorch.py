#!/usr/bin/env python3
"""Energy-aware pruning in PyTorch, with Ember as the energy oracle.

Yang, Chen and Sze's energy-aware pruning (CVPR 2017), written in plain PyTorch: the network
trains and prunes wherever PyTorch runs (CPU, one GPU: `--device cuda`), and Ember prices its
layers on an Eyeriss-class accelerator for their current weights, in milliseconds per call.

1. Train LeNet-5 on Fashion-MNIST (IDX files read with numpy; no torchvision).
2. Price every Conv2d/Linear layer with `ember.torch.layer_energy` (weight densities from the
   weights, input densities measured on a batch).
3. Visit the layers in order of their simulated energy, most expensive first (re-ranked after
   each layer). For each: record the layer's inputs and outputs on calibration images; remove
   the smallest-magnitude weights and refit the kept ones by least squares so the layer still
   reproduces its recorded outputs; binary-search the largest fraction removed whose validation
   accuracy stays within `--tolerance` of the trained model's.
4. Fine-tune with the zeros held, and report energy and test accuracy before and after.

    pip install ./python            # from the repository root; needs torch and numpy besides
    python examples/eap_pytorch.py --data /usr/share/datasets/fashion-mnist

Decisions read the validation split (the last 5,000 training images); the test split is scored
only for the report.
"""

from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import ember
import ember.torch as et


# ---- data -------------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzipped): big-endian header, then the array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (root / name).exists():
            return root / name
    raise FileNotFoundError(f"{root / stem}[.gz]: not found; fix: --data DIR with the Fashion-MNIST IDX files")


def load(root: Path, device: torch.device):
    def split(prefix: str) -> Tuple[torch.Tensor, torch.Tensor]:
        x = read_idx(find(root, f"{prefix}-images-idx3-ubyte")).astype(np.float32) / 255.0
        y = read_idx(find(root, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
        x = (x - 0.2860) / 0.3530  # Fashion-MNIST mean and std
        return torch.from_numpy(x).unsqueeze(1).to(device), torch.from_numpy(y).to(device)

    xtr, ytr = split("train")
    xte, yte = split("t10k")
    return (xtr[:-5000], ytr[:-5000]), (xtr[-5000:], ytr[-5000:]), (xte, yte)


# ---- model ------------------------------------------------------------------------------------


class LeNet5(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bs: int = 1000) -> float:
    model.eval()
    with torch.no_grad():
        hits = sum(int((model(x[i : i + bs]).argmax(1) == y[i : i + bs]).sum()) for i in range(0, len(x), bs))
    return 100.0 * hits / len(x)


def train(model, data, epochs, lr, seed, masks=None, bs=128) -> None:
    x, y = data
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=g).to(x.device)
        for i in range(0, len(x), bs):
            idx = order[i : i + bs]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            if masks:  # pruned weights stay zero
                with torch.no_grad():
                    for name, m in masks.items():
                        model.get_submodule(name).weight.mul_(m)


# ---- one layer: magnitude removal + least-squares refit ------------------------------------------


def record(model: nn.Module, name: str, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The layer's inputs as rows (im2col patches for a conv) and its outputs, on `x`."""
    layer = model.get_submodule(name)
    seen: Dict[str, torch.Tensor] = {}
    h = layer.register_forward_hook(lambda m, i, o: seen.update(i=i[0], o=o))
    model.eval()
    with torch.no_grad():
        model(x)
    h.remove()
    inp, out = seen["i"], seen["o"]
    if isinstance(layer, nn.Conv2d):
        cols = F.unfold(inp, layer.kernel_size, padding=layer.padding, stride=layer.stride)
        rows = cols.transpose(1, 2).reshape(-1, cols.shape[1])  # (N*E*F, C*R*S)
        return rows, out.permute(0, 2, 3, 1).reshape(-1, out.shape[1])  # (N*E*F, M)
    return inp, out


def prune_layer(layer: nn.Module, dense_w: torch.Tensor, dense_b: torch.Tensor, xtx, xty, frac: float) -> torch.Tensor:
    """Remove the `frac` smallest-|w| weights of the dense layer, refit each output's kept
    weights and bias by ridge least squares on the recorded normal equations; return the mask."""
    w2 = dense_w.reshape(dense_w.shape[0], -1)
    k = int(round(frac * w2.numel()))
    mask = torch.ones_like(w2)
    if k > 0:
        thresh = w2.abs().flatten().kthvalue(k).values
        mask = (w2.abs() > thresh).float()
    new_w = torch.zeros_like(w2)
    new_b = dense_b.clone()
    n_in = w2.shape[1]
    ridge = 1e-3 * xtx.diagonal().mean()
    for m in range(w2.shape[0]):
        keep = torch.nonzero(mask[m]).flatten()
        cols = torch.cat([keep, torch.tensor([n_in], device=keep.device)])  # + bias column
        a = xtx[cols][:, cols] + ridge * torch.eye(len(cols), device=xtx.device, dtype=xtx.dtype)
        sol = torch.linalg.solve(a, xty[cols, m])
        new_w[m, keep] = sol[:-1].to(new_w.dtype)
        new_b[m] = sol[-1].to(new_b.dtype)
    with torch.no_grad():
        layer.weight.copy_(new_w.reshape(dense_w.shape))
        layer.bias.copy_(new_b)
    # An input that is zero on every recorded image (a dead unit upstream) gets weight 0 exactly.
    return (mask * (new_w != 0)).reshape(dense_w.shape)


def total(energy: Dict[str, float]) -> float:
    return sum(energy.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps ...")
    ap.add_argument("--hw", default="eyeriss-v1", help="a shipped config name or a config path")
    ap.add_argument("--sparsity", default="eap", help="sparsity preset the energy is priced with "
                    "(eap: zero weights and ifmaps gate MACs, as `ember prune` prices; chip: ifmaps only)")
    ap.add_argument("--epochs", type=int, default=2, help="training epochs")
    ap.add_argument("--finetune", type=int, default=1, help="fine-tuning epochs after pruning")
    ap.add_argument("--tolerance", type=float, default=1.0, help="validation accuracy points a layer may cost")
    ap.add_argument("--steps", type=int, default=6, help="binary-search steps per layer")
    ap.add_argument("--calib", type=int, default=512, help="training images the refit records")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args = ap.parse_args()

    t0 = time.time()
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    trainset, (xval, yval), (xte, yte) = load(args.data, dev)
    hw = ember.hardware(args.hw, sparsity=args.sparsity)
    model = LeNet5().to(dev)
    train(model, trainset, args.epochs, 1e-3, args.seed)
    acc0_val, acc0 = accuracy(model, xval, yval), accuracy(model, xte, yte)
    probe = xval[:256]  # input densities are measured here; Ember maps batch 4 (the CLI's default)

    def energy() -> Dict[str, float]:
        # Minimum-energy mappings, as `ember prune` prices a network (it re-prices thousands of
        # times; the edp default of the reports costs more per call).
        return et.layer_energy(model, probe, hw, batch=4, objective="energy")

    e0 = energy()
    print(f"trained {args.epochs} epochs in {time.time() - t0:.0f} s: val {acc0_val:.2f} %, test {acc0:.2f} %")
    print(f"energy on {hw.name} ({hw.sparsity} sparsity, {hw.units}), batch 4: " + ", ".join(f"{k} {v:.3g}" for k, v in e0.items()))

    calib = trainset[0][:args.calib]
    masks: Dict[str, torch.Tensor] = {}
    todo = [n for n, _ in et.priced_modules(model)]
    while todo:
        now = energy()
        name = max(todo, key=lambda n: now[n])  # the most expensive layer left
        todo.remove(name)
        layer = model.get_submodule(name)
        x, y = record(model, name, calib)
        x1 = torch.cat([x, torch.ones(len(x), 1, device=dev)], 1).double()
        xtx, xty = x1.T @ x1, x1.T @ y.double()
        dense_w, dense_b = layer.weight.detach().clone(), layer.bias.detach().clone()
        lo, hi, best = 0.0, 0.98, None
        for _ in range(args.steps):
            mid = (lo + hi) / 2
            mask = prune_layer(layer, dense_w, dense_b, xtx, xty, mid)
            if accuracy(model, xval, yval) >= acc0_val - args.tolerance:
                lo, best = mid, (mask, layer.weight.detach().clone(), layer.bias.detach().clone())
            else:
                hi = mid
        if best is None:
            with torch.no_grad():
                layer.weight.copy_(dense_w)
                layer.bias.copy_(dense_b)
            masks[name] = torch.ones_like(dense_w)
        else:
            masks[name] = best[0]
            with torch.no_grad():
                layer.weight.copy_(best[1])
                layer.bias.copy_(best[2])
        kept = float(masks[name].mean())
        print(f"  {name:6s} ({now[name]:.3g}, the costliest left): keep {100 * kept:5.1f} % of weights, "
              f"val {accuracy(model, xval, yval):.2f} %, energy {energy()[name]:.3g}")

    acc_pruned = accuracy(model, xte, yte)
    train(model, trainset, args.finetune, 2e-4, args.seed + 1, masks=masks)
    e1, acc1 = energy(), accuracy(model, xte, yte)
    minutes = (time.time() - t0) / 60
    dens = {n: float((model.get_submodule(n).weight != 0).float().mean()) for n in masks}
    print("weight density: " + ", ".join(f"{n} {d:.3f}" for n, d in dens.items()))
    print(f"energy {total(e0):.4g} -> {total(e1):.4g} {hw.units}: {100 * (1 - total(e1) / total(e0)):.1f} % less")
    print(f"test accuracy {acc0:.2f} % -> {acc_pruned:.2f} % pruned -> {acc1:.2f} % fine-tuned")
    print(f"{minutes:.1f} minutes on {dev}")


if __name__ == "__main__":
    main()
