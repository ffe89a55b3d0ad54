"""Shared fixtures: the repository root and the `ember` CLI, the second method every test
checks the package against."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ember_bin() -> Path:
    """`EMBER_BIN`, else the release build under CARGO_TARGET_DIR or ./target."""
    if os.environ.get("EMBER_BIN"):
        return Path(os.environ["EMBER_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "ember"


class Cli:
    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, args: List[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.path), *args], cwd=ROOT, capture_output=True, text=True, check=False
        )

    def ok(self, args: List[str]) -> str:
        out = self.run(args)
        assert out.returncode == 0, f"ember {args}: {out.stderr}"
        return out.stdout

    def json(self, args: List[str]) -> Any:
        return json.loads(self.ok([*args, "--format", "json"]))

    def error(self, args: List[str]) -> str:
        """The CLI's error message (after `error: `)."""
        out = self.run(args)
        assert out.returncode != 0, f"ember {args} succeeded"
        line = out.stderr.strip().splitlines()[-1]
        assert line.startswith("error: "), out.stderr
        return line[len("error: "):]


@pytest.fixture(scope="session")
def cli() -> Cli:
    path = _ember_bin()
    if not path.is_file():
        pytest.fail(
            f"the ember CLI is not at {path}: build it (cargo build --release) or set EMBER_BIN"
        )
    return Cli(path)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def write_trace(path: Path, name: str, layers: List[dict]) -> None:
    """A trace file holding `layers` (dicts with a trace's keys, as `ember.layers` gives them)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, float):
            return repr(v)
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return str(v)

    lines = [f"name = {json.dumps(name)}", 'source = "test"', ""]
    for layer in layers:
        lines.append("[[layer]]")
        lines += [f"{k} = {value(v)}" for k, v in layer.items() if v is not None]
        lines.append("")
    path.write_text("\n".join(lines))


def write_masks(path: Path, tensors: Dict[str, Tuple[List[int], bytes]]) -> None:
    """A masks file (safetensors, U8; what `ember masks` writes) of `{name: (shape, flags)}`,
    written by hand (an 8-byte header length, a JSON header, the data) so the tests need no
    safetensors package."""
    header: Dict[str, Any] = {}
    data = b""
    for name, (shape, flags) in tensors.items():
        assert len(flags) == math.prod(shape), name
        header[name] = {"dtype": "U8", "shape": shape, "data_offsets": [len(data), len(data) + len(flags)]}
        data += flags
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
