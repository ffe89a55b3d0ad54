#!/usr/bin/env python3
"""RS's energy margin over WS, OS and NLR per AlexNet layer on the ISCA 2016 study's 256-PE
accelerator (batch 16, minimum-energy mappings), with and without a floor on busy PEs
(`--min-active-pes`): the study compared dataflows with the array fully used (issue 13 item 4).

Each layer runs alone (a one-layer trace cut from traces/alexnet.toml), so an infeasible floor
on one layer does not hide the others. Prints a Markdown table; "-" marks a floor no mapping of
that dataflow reaches. Not part of CI (about a minute).

    [EMBER=target/release/ember] [HW=hw_configs/eyeriss-isca16-256.toml] scripts/isca16_dataflows.py
"""
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMBER = os.environ.get("EMBER", str(ROOT / "target/release/ember"))
HW = os.environ.get("HW", str(ROOT / "hw_configs/eyeriss-isca16-256.toml"))
FLOORS = [0.0, 0.5, 0.75, 0.9]
DATAFLOWS = ["rs", "ws", "os", "nlr"]


def layer_trace(layer: dict, folder: Path) -> Path:
    keys = "\n".join(
        f"{k} = {json.dumps(v) if isinstance(v, str) else v}"
        for k, v in layer.items()
        if k != "pool"
    )
    path = folder / f"{layer['name']}.toml"
    path.write_text(f'name = "{layer["name"]}"\nsource = "traces/alexnet.toml"\n\n[[layer]]\n{keys}\n')
    return path


def energy(trace: Path, dataflow: str, floor: float):
    """(energy, active PEs) of the layer, or None when no mapping keeps the floor."""
    out = subprocess.run(
        [EMBER, "sim", "--net", str(trace), "--hw", HW, "--batch", "16", "--objective", "energy",
         "--dataflow", dataflow, "--min-active-pes", str(floor), "--format", "json"],
        capture_output=True, text=True)
    if out.returncode != 0:
        if "busy" in out.stderr:
            return None
        sys.exit(out.stderr)
    layer = json.loads(out.stdout)["layers"][0]
    return layer["energy"]["total"], layer["active_pes"]


def main() -> None:
    layers = tomllib.loads((ROOT / "traces/alexnet.toml").read_text())["layer"]
    print("| layer | floor | RS energy (x10^6), PEs | WS/RS | OS/RS | NLR/RS |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for layer in layers:
            trace = layer_trace(layer, Path(tmp))
            for floor in FLOORS:
                got = {df: energy(trace, df, floor) for df in DATAFLOWS}
                rs = got["rs"]
                if rs is None:
                    print(f"| {layer['name']} | {floor} | - | - | - | - |")
                    continue
                cells = []
                for df in DATAFLOWS[1:]:
                    g = got[df]
                    cells.append("-" if g is None else f"{g[0] / rs[0]:.2f}x ({g[1]})")
                print(f"| {layer['name']} | {floor} | {rs[0] / 1e6:.0f}, {rs[1]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
