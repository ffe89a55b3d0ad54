"""Ember's energy oracle for Python: CNN energy on Eyeriss-class spatial accelerators.

Every call is one call of Ember's Rust core (``ember-explore``), and every report is the
document the CLI prints with ``--format json``, parsed into dicts::

    import ember
    hw = ember.hardware("eyeriss-v1")              # a shipped name, or a path to a config
    net = ember.network("traces/alexnet.toml")     # a trace, an .onnx path or bytes, or layers
    report = ember.sim(net, hw, batch=4)           # == ember sim --format json
    print(report["total"]["energy"]["total"])
    ember.layer_energy(net, hw, densities={"CONV2": {"weight": 0.5}})

``ember.torch`` (import it explicitly; it needs PyTorch) prices a ``torch.nn.Module`` per layer
with its current weights. Errors raise :class:`EmberError` with the CLI's message.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ember._core import EmberError, Hardware, Network
from ember import _core

__all__ = [
    "EmberError",
    "Hardware",
    "Network",
    "hardware",
    "shipped_hardware",
    "network",
    "layers",
    "sim",
    "layer_energy",
    "compare",
    "validate",
]

HardwareLike = Union[Hardware, str, "os.PathLike[str]", None]
NetworkLike = Union[Network, str, "os.PathLike[str]", bytes, bytearray, memoryview, Sequence[Mapping[str, Any]], None]
DensitiesLike = Optional[Mapping[str, Union[float, Mapping[str, float]]]]

_DENSITY_KEYS = ("weight", "ifmap", "ofmap")


def shipped_hardware() -> List[str]:
    """The names of the hardware configs shipped with Ember (``hw_configs/*.toml``)."""
    return list(_core.shipped_hardware())


def hardware(spec: HardwareLike = None, *, sparsity: Optional[str] = None) -> Hardware:
    """Load a hardware config.

    ``spec``: a path to a config file, a shipped config's name (see :func:`shipped_hardware`,
    e.g. ``"eyeriss-v1"``), a loaded :class:`Hardware` (returned as is), or None for the CLI's
    default, ``eyeriss-v1``. ``sparsity`` replaces the config's sparsity rules with a preset's:
    ``"none"``, ``"chip"`` (the Eyeriss chip: zero ifmaps gate MACs) or ``"eap"``
    (energy-aware pruning's model, which ``ember prune`` prices with: zero weights gate MACs
    too, so pruned weights save energy).
    """
    if isinstance(spec, Hardware):
        if sparsity is not None:
            raise EmberError("sparsity applies to a config being loaded; fix: pass its name or path")
        return spec
    if spec is None:
        spec = "eyeriss-v1"
    return _core.load_hardware(os.fspath(spec), sparsity)


def network(
    source: NetworkLike = None,
    *,
    input_shape: Optional[str] = None,
    name: Optional[str] = None,
    densities: DensitiesLike = None,
) -> Network:
    """Load a network.

    ``source`` is one of:

    - a path (``str`` or ``os.PathLike``) to a trace (``.toml``) or an ONNX model (``.onnx``);
    - ``bytes`` of a serialized ONNX model (e.g. ``torch.onnx.export`` into a ``BytesIO``);
      ``name`` names it (default ``"model"``);
    - a list of layer dicts with the keys of a trace's ``[[layer]]`` table (``name``, ``c``,
      ``h``, ``w``, ``m``; optional ``r``, ``s``, ``stride``, ``pad``, ``groups``, ``kind``
      (``"conv"``/``"fc"``), ``weight_density``, ``ifmap_density``, ``ofmap_density``,
      ``pool``); ``name`` names it (default ``"layers"``);
    - a loaded :class:`Network`; or None for the embedded AlexNet trace (the CLI's default).

    ``input_shape`` (``"CxHxW"``) overrides an ONNX model's input shape. ``densities`` sets
    per-layer densities afterwards (see :func:`sim`).
    """
    if isinstance(source, Network):
        if input_shape is not None:
            raise EmberError("input_shape applies to a model being loaded, not to a loaded Network; fix: pass the ONNX path or bytes")
        net = source
    elif source is None or isinstance(source, (str, os.PathLike)):
        path = None if source is None else os.fspath(source)
        net = _core.load_network(path, input_shape)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        net = _core.load_onnx_bytes(bytes(source), name or "model", input_shape)
    elif isinstance(source, Sequence) and not isinstance(source, str):
        if input_shape is not None:
            raise EmberError("input_shape applies to ONNX models only; fix: give each layer's c, h, w")
        net = _core.network_from_layers(name or "layers", json.dumps(list(source)))
    else:
        raise EmberError(
            f"cannot load a network from {type(source).__name__}; fix: give a trace or ONNX path, "
            "ONNX bytes, or a list of layer dicts"
        )
    return _with_densities(net, densities)


def _with_densities(net: Network, densities: DensitiesLike) -> Network:
    if not densities:
        return net
    rows = []
    for layer, d in densities.items():
        if isinstance(d, Mapping):
            unknown = set(d) - set(_DENSITY_KEYS)
            if unknown:
                raise EmberError(
                    f"densities for layer `{layer}`: unknown key(s) {sorted(unknown)}; "
                    "fix: use weight, ifmap and ofmap"
                )
            rows.append((str(layer), *(_float(d.get(k)) for k in _DENSITY_KEYS)))
        else:
            rows.append((str(layer), _float(d), None, None))
    return net.with_densities(rows)


def _float(x: Any) -> Optional[float]:
    return None if x is None else float(x)


def layers(net: NetworkLike) -> List[Dict[str, Any]]:
    """A network's layers as dicts with the keys of a trace's ``[[layer]]`` table."""
    return json.loads(network(net).layers_json())


def sim(
    net: NetworkLike = None,
    hw: HardwareLike = None,
    *,
    batch: int = 4,
    dataflow: Optional[str] = None,
    objective: str = "edp",
    mode: str = "analytic",
    masks: Union[str, "os.PathLike[str]", None] = None,
    densities: DensitiesLike = None,
    min_active_pes: Optional[float] = None,
) -> Dict[str, Any]:
    """``ember sim --format json``: the whole network on one config, as a dict.

    The options are the CLI's: ``batch`` (images per batch), ``dataflow`` (``rs``, ``ws``,
    ``os``, ``nlr``; None: the config's own), ``objective`` (``edp``, the default, or ``energy``), ``mode``
    (``analytic`` or ``cycle``), ``masks`` (a safetensors file of ``ember masks``),
    ``min_active_pes`` (the least share of the PEs a mapping keeps busy; None: the config's).
    ``densities`` maps a layer name to its weight density, or to a dict with any of
    ``weight``, ``ifmap``, ``ofmap`` (fractions of non-zeros in (0, 1]).
    """
    n = network(net, densities=densities)
    h = hardware(hw)
    text = _core.sim(
        n,
        h,
        batch=batch,
        dataflow=dataflow,
        objective=objective,
        mode=mode,
        masks=None if masks is None else os.fspath(masks),
        min_active_pes=min_active_pes,
    )
    return json.loads(text)


def layer_energy(
    net: NetworkLike,
    hw: HardwareLike = None,
    *,
    densities: DensitiesLike = None,
    batch: int = 4,
    dataflow: Optional[str] = None,
    objective: str = "edp",
) -> Dict[str, float]:
    """Each layer's total energy (``sim(...)["layers"][i]["energy"]["total"]``), by layer name,
    in the config's energy unit, with ``densities`` set as in :func:`sim`. Faster than
    :func:`sim` (no report document is built)."""
    n = network(net, densities=densities)
    pairs = _core.layer_energy(n, hardware(hw), batch=batch, dataflow=dataflow, objective=objective)
    return dict(pairs)


def compare(
    net: NetworkLike = None,
    hws: Iterable[HardwareLike] = (),
    *,
    dataflows: Iterable[str] = (),
    batch: int = 4,
    objective: str = "edp",
    min_active_pes: Optional[float] = None,
    mode: str = "analytic",
    energy: str = "total",
    masks: Union[str, "os.PathLike[str]", None] = None,
) -> Dict[str, Any]:
    """``ember compare --format json``: one network on several configs (and/or dataflows),
    each mapped for ``objective`` (``edp`` or ``energy``) and ``min_active_pes`` as in
    :func:`sim`; cycles from ``mode`` (``analytic`` or ``cycle``), energy ``total`` (every
    access, DRAM included) or ``chip`` (on chip, with clock, control and leakage); ``masks``
    (a safetensors file of ``ember masks``) gives every candidate the same real zeros, as in
    :func:`sim`."""
    hw_list = [hardware(h) for h in hws] or [hardware(None)]
    text = _core.compare(
        network(net),
        hw_list,
        dataflows=list(dataflows),
        batch=batch,
        objective=objective,
        min_active_pes=min_active_pes,
        mode=mode,
        energy=energy,
        masks=None if masks is None else os.fspath(masks),
    )
    return json.loads(text)


def validate(
    net: NetworkLike = None,
    hw: HardwareLike = None,
    *,
    measured: Union[str, "os.PathLike[str]", None] = None,
    objective: str = "edp",
) -> Dict[str, Any]:
    """``ember validate --format json``: the simulator against chip measurements (default: the
    embedded JSSC 2017 Table V, Eyeriss running AlexNet)."""
    text = _core.validate(
        network(net),
        hardware(hw),
        measured=None if measured is None else os.fspath(measured),
        objective=objective,
    )
    return json.loads(text)
