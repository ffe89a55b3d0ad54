"""Errors raise `ember.EmberError` carrying the CLI's message (file, line, key, fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ember
from conftest import write_masks, write_trace


def test_ember_error_is_an_exception():
    assert issubclass(ember.EmberError, Exception)


def test_a_bad_trace_raises_the_cli_message(cli, tmp_path: Path):
    path = tmp_path / "bad.toml"
    write_trace(path, "bad", [{"name": "a", "c": 3, "h": 8, "w": 8, "m": 0, "r": 3}])
    with pytest.raises(ember.EmberError) as e:
        ember.sim(path)
    msg = str(e.value)
    assert msg == cli.error(["sim", "--net", str(path)])
    assert str(path) in msg and "layer[0].m" in msg and "fix:" in msg
    assert f"{path}:9:" in msg  # name, source, blank, [[layer]], name, c, h, w, m


def test_missing_files_raise_the_cli_message(cli, tmp_path: Path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ember.EmberError) as e:
        ember.network(missing)
    assert str(e.value) == cli.error(["sim", "--net", str(missing)])
    with pytest.raises(ember.EmberError) as e:
        ember.hardware(missing)
    assert str(e.value) == cli.error(["sim", "--hw", str(missing)])
    with pytest.raises(ember.EmberError) as e:
        ember.hardware("eyeriss-v9")
    assert str(e.value) == cli.error(["sim", "--hw", "eyeriss-v9"])


def test_a_bad_config_raises_the_cli_message(cli, root: Path, tmp_path: Path):
    text = (root / "hw_configs/eyeriss-v1.toml").read_text()
    path = tmp_path / "hw.toml"
    path.write_text(text.replace("rows = 12", "rows = 0", 1))
    with pytest.raises(ember.EmberError) as e:
        ember.hardware(path)
    assert str(e.value) == cli.error(["sim", "--hw", str(path)])
    assert "fix:" in str(e.value)


def test_a_trace_given_where_a_config_belongs(cli, root: Path):
    with pytest.raises(ember.EmberError) as e:
        ember.hardware(root / "traces/alexnet.toml")
    assert str(e.value) == cli.error(["sim", "--hw", "traces/alexnet.toml"]).replace(
        "traces/alexnet.toml", str(root / "traces/alexnet.toml")
    )


def test_option_errors():
    with pytest.raises(ember.EmberError, match="unknown dataflow `xs`"):
        ember.sim(dataflow="xs")
    with pytest.raises(ember.EmberError, match="unknown objective"):
        ember.sim(objective="speed")
    with pytest.raises(ember.EmberError, match="unknown mode"):
        ember.sim(mode="fast")
    with pytest.raises(ember.EmberError, match="batch = 0"):
        ember.sim(batch=0)
    with pytest.raises(ember.EmberError, match="compare needs at least two candidates"):
        ember.compare(None, ["eyeriss-v1"])


def test_a_mismatched_masks_file_raises_the_cli_message(cli, tmp_path: Path):
    trace, masks = tmp_path / "net.toml", tmp_path / "m.safetensors"
    write_trace(trace, "net", [{"name": "a", "c": 3, "h": 8, "w": 8, "m": 4, "r": 3}])
    write_masks(masks, {"b.ifmaps": ([1, 3, 8, 8], bytes(192))})
    with pytest.raises(ember.EmberError) as e:
        ember.compare(trace, ["eyeriss-v1", "eyeriss-v1-skip"], batch=1, masks=masks)
    msg = str(e.value)
    hws = ["--hw", "hw_configs/eyeriss-v1.toml", "--hw", "hw_configs/eyeriss-v1-skip.toml"]
    args = ["compare", "--net", str(trace), *hws, "--batch", "1"]
    assert msg == cli.error([*args, "--masks", str(masks)])
    assert str(masks) in msg and "no layer `b`" in msg and "fix:" in msg


def test_layer_list_and_density_errors_name_the_layer():
    with pytest.raises(ember.EmberError) as e:
        ember.network([{"name": "a", "c": 3, "h": 8, "w": 8, "m": 4, "r": 3, "colour": 2}])
    assert "layer[0]: unknown field `colour`" in str(e.value) and "fix:" in str(e.value)
    with pytest.raises(ember.EmberError) as e:
        ember.sim(densities={"CONV9": 0.5})
    assert "no such layer" in str(e.value) and "CONV1" in str(e.value)
    with pytest.raises(ember.EmberError) as e:
        ember.sim(densities={"CONV1": {"weight": 1.5}})
    assert "`weight_density` = 1.5 is outside (0, 1]" in str(e.value)
    with pytest.raises(ember.EmberError, match="unknown key"):
        ember.sim(densities={"CONV1": {"weights": 0.5}})
    with pytest.raises(ember.EmberError, match="ONNX"):
        ember.network(b"not an onnx model")
