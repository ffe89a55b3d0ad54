"""`ember.torch` against the CLI (runs when PyTorch is installed): a LeNet-5's per-layer energy
equals `ember sim --net` on the same model exported to ONNX, and zeroing half a layer's weights
lowers its energy to what the CLI gives that layer at weight density 0.5."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import ember  # noqa: E402
import ember.torch as et  # noqa: E402
from conftest import write_trace  # noqa: E402


class LeNet5(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


MODULES = ["conv1", "conv2", "fc1", "fc2", "fc3"]


@pytest.fixture()
def model():
    torch.manual_seed(0)
    return LeNet5().eval()


@pytest.fixture()
def batch():
    torch.manual_seed(1)
    return torch.rand(2, 1, 28, 28)


def cli_energy(cli, model, x, tmp_path: Path, batch: int):
    """The CLI's per-layer energy of `model` exported to an ONNX file, in graph order."""
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, (x[:1],), str(path), dynamo=False, input_names=["input"])
    rep = cli.json(["sim", "--net", str(path), "--batch", str(batch)])
    return [l["energy"]["total"] for l in rep["layers"]]


def test_layer_energy_equals_the_cli_on_the_exported_model(cli, model, batch, tmp_path):
    got = et.layer_energy(model, batch, activations=False)
    assert list(got) == MODULES
    assert list(got.values()) == cli_energy(cli, model, batch, tmp_path, 2)
    got = et.layer_energy(model, batch, "eyeriss-v1-skip", batch=3, activations=False)
    path = tmp_path / "model.onnx"
    rep = cli.json(["sim", "--net", str(path), "--batch", "3", "--hw", "hw_configs/eyeriss-v1-skip.toml"])
    assert list(got.values()) == [l["energy"]["total"] for l in rep["layers"]]


def eap_config(root: Path, tmp_path: Path) -> Path:
    """eyeriss-v1 with energy-aware pruning's sparsity model, as a file for the CLI."""
    text = (root / "hw_configs/eyeriss-v1.toml").read_text()
    path = tmp_path / "eyeriss-v1-eap.toml"
    path.write_text(text.replace('preset = "chip"', 'preset = "eap"'))
    return path


def test_zeroing_half_a_layer_costs_what_the_cli_predicts(cli, root, model, batch, tmp_path):
    config = eap_config(root, tmp_path)
    dense = et.layer_energy(model, batch, sparsity="eap", activations=False)
    chip_dense = et.layer_energy(model, batch, activations=False)
    with torch.no_grad():
        w = model.conv2.weight.view(-1)
        w[: w.numel() // 2] = 0.0  # 1200 of 2400 weights: density 0.5 exactly
    pruned = et.layer_energy(model, batch, sparsity="eap", activations=False)
    # The CLI on a trace of the model with conv2's weight_density = 0.5, all else dense.
    layers = ember.layers(et.export_network(model, batch, activations=False)[0])
    for l in layers:
        l["weight_density"] = 0.5 if l["name"] == layers[1]["name"] else 1.0
        l["ifmap_density"] = 1.0
    trace = tmp_path / "lenet.toml"
    write_trace(trace, "LeNet5", layers)
    rep = cli.json(["sim", "--net", str(trace), "--batch", "2", "--hw", str(config)])
    assert list(pruned.values()) == [l["energy"]["total"] for l in rep["layers"]]
    assert pruned["conv2"] < dense["conv2"]
    assert all(pruned[m] == dense[m] for m in MODULES if m != "conv2")
    # The CLI on the pruned model's own ONNX file (its importer counts the zeros) agrees.
    path = tmp_path / "pruned.onnx"
    torch.onnx.export(model, (batch[:1],), str(path), dynamo=False, input_names=["input"])
    rep = cli.json(["sim", "--net", str(path), "--batch", "2", "--hw", str(config)])
    assert list(pruned.values()) == [l["energy"]["total"] for l in rep["layers"]]
    # On the chip's own rules zero weights gate nothing: the same energy as dense.
    assert et.layer_energy(model, batch, activations=False) == chip_dense


def test_a_masked_module_costs_its_mask(model, batch):
    import torch.nn.utils.prune as tprune

    with torch.no_grad():
        w = model.conv2.weight.view(-1).clone()
    zeroed = LeNet5()
    zeroed.load_state_dict(model.state_dict())
    with torch.no_grad():
        zeroed.conv2.weight.view(-1)[: w.numel() // 2] = 0.0
    mask = torch.ones_like(model.conv2.weight)
    mask.view(-1)[: w.numel() // 2] = 0.0
    tprune.custom_from_mask(model.conv2, "weight", mask)
    assert et.layer_energy(model, batch, activations=False) == et.layer_energy(
        zeroed.eval(), batch, activations=False
    )


def test_activation_densities_are_measured_and_priced(cli, model, batch, tmp_path):
    net, owners = et.export_network(model, batch)
    assert owners == MODULES
    layers = ember.layers(net)
    # ReLU outputs feed conv2 and the FCs: about half their inputs are zeros.
    x = batch
    with torch.no_grad():
        a1 = model.pool(model.relu(model.conv1(x)))
    assert layers[1]["ifmap_density"] == int(torch.count_nonzero(a1)) / a1.numel()
    assert layers[0]["ifmap_density"] == int(torch.count_nonzero(x)) / x.numel()
    trace = tmp_path / "lenet.toml"
    write_trace(trace, "LeNet5", layers)
    rep = cli.json(["sim", "--net", str(trace), "--batch", "2"])
    got = et.layer_energy(model, batch)
    assert list(got.values()) == [l["energy"]["total"] for l in rep["layers"]]
    dense = et.layer_energy(model, batch, activations=False)
    assert all(got[m] <= dense[m] for m in MODULES)
    assert got["conv2"] < dense["conv2"]
