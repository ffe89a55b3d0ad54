"""The package returns what the CLI prints: `sim` for every shipped trace x config (the
acceptance), the CLI's options, compare, validate, every way of giving a network, and densities
set from Python equal to the same densities written in a trace."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import ember
from conftest import ROOT, write_masks, write_trace

TRACES = sorted(p.name for p in (ROOT / "traces").glob("*.toml"))
CONFIGS = sorted(p.stem for p in (ROOT / "hw_configs").glob("*.toml"))


def test_shipped_configs_are_the_repository_s():
    assert sorted(ember.shipped_hardware()) == CONFIGS
    assert len(TRACES) >= 6 and len(CONFIGS) >= 5


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("trace", TRACES)
def test_sim_equals_the_cli_json(cli, trace, config):
    want = cli.json(["sim", "--net", f"traces/{trace}", "--hw", f"hw_configs/{config}.toml"])
    # The config by its shipped name (embedded in the package), the trace by path.
    got = ember.sim(ROOT / "traces" / trace, config)
    assert got == want


def test_sim_options_are_the_cli_s(cli):
    args = ["sim", "--net", "traces/resnet18.toml", "--hw", "hw_configs/eyeriss-isca16-256.toml"]
    want = cli.json([*args, "--batch", "2", "--dataflow", "ws", "--mode", "cycle"])
    got = ember.sim(
        ROOT / "traces/resnet18.toml",
        ROOT / "hw_configs/eyeriss-isca16-256.toml",
        batch=2,
        dataflow="ws",
        mode="cycle",
    )
    assert got == want
    want = cli.json(["sim", "--objective", "edp", "--batch", "1"])
    assert ember.sim(objective="edp", batch=1) == want


def test_defaults_are_the_cli_s(cli):
    # No network, no config: AlexNet at batch 4 on the embedded Eyeriss chip.
    assert ember.sim() == cli.json(["sim"])


def test_compare_and_validate_equal_the_cli(cli):
    want = cli.json(
        ["compare", "--hw", "hw_configs/eyeriss-v1.toml", "--hw", "hw_configs/eyeriss-v1-skip.toml"]
    )
    assert ember.compare(None, ["eyeriss-v1", "eyeriss-v1-skip"]) == want
    want = cli.json(["compare", "--dataflow", "rs,os", "--batch", "2"])
    assert ember.compare(dataflows=["rs", "os"], batch=2) == want
    # Cycle-engine timing and chip energy (on chip, with clock, control and leakage).
    hws = ["hw_configs/eyeriss-v1.toml", "hw_configs/eyeriss-v1-scaled.toml"]
    flags = ["--mode", "cycle", "--energy", "chip", "--batch", "1"]
    want = cli.json(["compare", "--hw", hws[0], "--hw", hws[1], *flags])
    got = ember.compare(None, ["eyeriss-v1", "eyeriss-v1-scaled"], batch=1, mode="cycle", energy="chip")
    assert got == want
    assert ember.validate() == cli.json(["validate"])
    assert ember.validate(objective="energy") == cli.json(["validate", "--objective", "energy"])


# A toy network (conv, depthwise, pointwise, fully connected) and its masks' shapes at batch 1.
TOY = [
    {"name": "conv1", "c": 3, "h": 16, "w": 16, "m": 16, "r": 3, "pad": 1},
    {"name": "dw", "c": 16, "h": 16, "w": 16, "m": 16, "r": 3, "pad": 1, "stride": 2, "groups": 16},
    {"name": "pw", "c": 16, "h": 8, "w": 8, "m": 32, "r": 1},
    {"name": "fc", "kind": "fc", "c": 32, "h": 8, "w": 8, "m": 10},
]
TOY_WEIGHTS = {"conv1": [16, 3, 3, 3], "dw": [16, 1, 3, 3], "pw": [32, 16, 1, 1], "fc": [10, 32, 8, 8]}


def toy_masks(path: Path) -> None:
    """Every toy layer's ifmaps (9 of 16 non-zero) and weights (6 of 16), scattered."""

    def flags(n: int, keep: int, salt: int) -> bytes:
        return bytes(int((5 * i + salt) % 16 < keep) for i in range(n))

    tensors = {}
    for k, layer in enumerate(TOY):
        ifmaps = [1, layer["c"], layer["h"], layer["w"]]
        tensors[f"{layer['name']}.ifmaps"] = (ifmaps, flags(math.prod(ifmaps), 9, k))
        weights = TOY_WEIGHTS[layer["name"]]
        tensors[f"{layer['name']}.weights"] = (weights, flags(math.prod(weights), 6, 3 * k))
    write_masks(path, tensors)


def test_compare_masks_equal_the_cli(cli, tmp_path: Path):
    trace, masks = tmp_path / "toy.toml", tmp_path / "m.safetensors"
    write_trace(trace, "toy", TOY)
    toy_masks(masks)
    hws = ["hw_configs/eyeriss-v1-scaled.toml", "hw_configs/eyeriss-v2.toml"]
    flags = ["--batch", "1", "--mode", "cycle", "--energy", "chip"]
    args = ["compare", "--net", str(trace), "--hw", hws[0], "--hw", hws[1], *flags]
    want = cli.json([*args, "--masks", str(masks)])
    names = ["eyeriss-v1-scaled", "eyeriss-v2"]
    got = ember.compare(trace, names, batch=1, mode="cycle", energy="chip", masks=masks)
    assert got == want
    # Not vacuous: the masks change what is compared.
    assert ember.compare(trace, names, batch=1, mode="cycle", energy="chip") != want


def test_a_list_of_layers_is_its_trace(cli):
    trace = ROOT / "traces/mobilenet_v1.toml"
    layers = ember.layers(trace)
    net = ember.network(layers, name=ember.network(trace).name)
    assert ember.sim(net) == cli.json(["sim", "--net", "traces/mobilenet_v1.toml"])


def test_onnx_bytes_are_the_onnx_file(cli, tmp_path: Path):
    onnx, model = tmp_path / "lenet5.onnx", tmp_path / "lenet5"
    data = "pruner/tests/fixtures/fashion-mnist-small"
    cli.ok(["train", "--model", "lenet5", "--epochs", "1", "--data", data, "--out", str(model)])
    cli.ok(["export", "--model", str(model), "--out", str(onnx)])
    want = cli.json(["sim", "--net", str(onnx), "--batch", "1"])
    assert ember.sim(onnx.read_bytes(), batch=1) == want
    assert ember.sim(onnx, batch=1) == want
    net = ember.network(onnx.read_bytes(), name="lenet5")
    assert len(net) == len(want["layers"])
    assert net.layer_names == [l["name"] for l in want["layers"]]


def test_densities_from_python_equal_densities_in_a_trace(cli, tmp_path: Path):
    layers = ember.layers(ROOT / "traces/alexnet.toml")
    dens = {"CONV2": {"weight": 0.5, "ifmap": 0.3}, "FC6": 0.25}
    edited = []
    for l in layers:
        l = dict(l)
        if l["name"] == "CONV2":
            l["weight_density"], l["ifmap_density"] = 0.5, 0.3
        if l["name"] == "FC6":
            l["weight_density"] = 0.25
        edited.append(l)
    path = tmp_path / "alexnet-dens.toml"
    write_trace(path, "AlexNet", edited)
    want = cli.json(["sim", "--net", str(path)])
    assert ember.sim(ROOT / "traces/alexnet.toml", densities=dens) == want
    per_layer = ember.layer_energy(ROOT / "traces/alexnet.toml", densities=dens)
    assert per_layer == {l["name"]: l["energy"]["total"] for l in want["layers"]}
    # Fewer non-zeros never cost more; the chip gates on ifmap zeros (CONV2 costs less), and
    # its rules do not exploit zero weights (FC6 costs the same).
    dense = ember.layer_energy(ROOT / "traces/alexnet.toml")
    assert per_layer["CONV2"] < dense["CONV2"] and per_layer["FC6"] <= dense["FC6"]
    assert per_layer["CONV1"] == dense["CONV1"]


def test_hardware_objects():
    hw = ember.hardware("eyeriss-v1-l2")
    assert hw.name == "eyeriss-v1-l2"
    assert hw.levels == ["dram", "l2", "glb", "array", "rf"]
    assert hw.path == "hw_configs/eyeriss-v1-l2.toml"
    assert ember.hardware(hw) is hw
    assert ember.hardware(ROOT / "hw_configs/eyeriss-v1.toml").dataflow == "rs"


def test_a_sparsity_preset_is_the_config_with_that_preset(cli, tmp_path: Path):
    text = (ROOT / "hw_configs/eyeriss-v1.toml").read_text()
    path = tmp_path / "eap.toml"
    path.write_text(text.replace('preset = "chip"', 'preset = "eap"'))
    hw = ember.hardware("eyeriss-v1", sparsity="eap")
    assert hw.sparsity == "eap" and ember.hardware().sparsity == "chip"
    dens = {"CONV3": {"weight": 0.3}}
    trace = tmp_path / "alexnet.toml"
    layers = ember.layers(ROOT / "traces/alexnet.toml")
    for l in layers:
        if l["name"] == "CONV3":
            l["weight_density"] = 0.3
    write_trace(trace, "AlexNet", layers)
    assert ember.sim(ROOT / "traces/alexnet.toml", hw, densities=dens) == cli.json(
        ["sim", "--net", str(trace), "--hw", str(path)]
    )
    # With eap's rules, zero weights save energy.
    e = ember.layer_energy(ROOT / "traces/alexnet.toml", hw, densities=dens)
    assert e["CONV3"] < ember.layer_energy(ROOT / "traces/alexnet.toml", hw)["CONV3"]
