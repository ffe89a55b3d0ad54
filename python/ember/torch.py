"""Ember inside a PyTorch loop: the energy of a ``torch.nn.Module``'s layers on an accelerator,
for its current weights.

Import it explicitly (``import ember.torch``); it needs PyTorch. ``layer_energy`` exports the
module to ONNX in memory, reads every ``Conv2d``/``Linear`` layer's weight density from its
current weights (so a pruned or masked model costs what its zeros allow), optionally measures
the density of each layer's input on the example batch, and returns per-layer energy keyed by
the module's own names (``"features.0"``, ``"fc1"``)."""

from __future__ import annotations

import io
import warnings
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import nn

import ember
from ember import EmberError, Hardware, Network

__all__ = ["layer_energy", "export_network", "priced_modules"]

_PRICED = (nn.Conv2d, nn.Linear)


def priced_modules(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """The layers Ember prices: every ``Conv2d`` and ``Linear``, with its module name."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _PRICED)]


def _export(model: nn.Module, example: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # The TorchScript exporter: fast, and needs nothing beyond torch.
            torch.onnx.export(model, (example,), buf, dynamo=False, input_names=["input"])
        except TypeError:  # a torch without the `dynamo` switch
            buf = io.BytesIO()
            torch.onnx.export(model, (example,), buf, input_names=["input"])
    return buf.getvalue()


def _calls(model: nn.Module, example: torch.Tensor, activations: bool) -> List[Tuple[str, Optional[float]]]:
    """Each priced module's calls in execution order, with the density of its input."""
    names = {m: n for n, m in priced_modules(model)}
    calls: List[Tuple[str, Optional[float]]] = []

    def hook(module: nn.Module, inputs: Tuple[Any, ...]) -> None:
        x = inputs[0]
        d = None
        if activations and x.numel() > 0:
            d = int(torch.count_nonzero(x)) / x.numel()
        calls.append((names[module], d))

    handles = [m.register_forward_pre_hook(hook) for m in names]
    try:
        model(example)
    finally:
        for h in handles:
            h.remove()
    return calls


def _weight_density(module: nn.Module) -> float:
    w = module.weight  # a pruned (masked) module's effective weight, not weight_orig
    return int(torch.count_nonzero(w)) / w.numel()


def export_network(
    model: nn.Module,
    example_input: torch.Tensor,
    *,
    activations: bool = True,
) -> Tuple[Network, List[str]]:
    """The model as an Ember :class:`~ember.Network` with its current densities, and for each
    of the network's layers the name of the module it came from.

    The model runs once on ``example_input`` (in eval mode, without gradients; its mode is
    restored) to record the order in which layers run and, with ``activations``, the density
    of each layer's input; it is exported to ONNX (first image only: layers are per image).
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            calls = _calls(model, example_input, activations)
            onnx = _export(model, example_input[:1])
    finally:
        model.train(was_training)
    net = ember.network(onnx, name=type(model).__name__)
    layers = ember.layers(net)
    modules = dict(priced_modules(model))
    if len(layers) != len(calls):
        raise EmberError(
            f"{type(model).__name__}: ONNX export has {len(layers)} conv/linear layers but the "
            f"forward pass called {len(calls)} Conv2d/Linear modules; fix: price models whose "
            "conv and linear layers are nn.Conv2d and nn.Linear modules"
        )
    rows = []
    owners = []
    for layer, (name, act) in zip(layers, calls):
        m = modules[name]
        w = m.weight
        per_filter = layer["c"] // layer["groups"] * layer["r"] * layer["s"]
        if layer["m"] != w.shape[0] or per_filter != w[0].numel():
            raise EmberError(
                f"{type(model).__name__}: ONNX layer `{layer['name']}` ({layer['m']} filters of "
                f"{per_filter} weights) does not match module `{name}` (weight {tuple(w.shape)}); "
                "fix: price models whose layers run in the order the ONNX graph lists them"
            )
        rows.append((layer["name"], _weight_density(m), act, None))
        owners.append(name)
    return net.with_densities(rows), owners


def layer_energy(
    model: nn.Module,
    example_input: torch.Tensor,
    hw: Any = "eyeriss-v1",
    *,
    batch: Optional[int] = None,
    activations: bool = True,
    sparsity: Optional[str] = None,
    dataflow: Optional[str] = None,
    objective: str = "edp",
) -> Dict[str, float]:
    """Energy of each ``Conv2d``/``Linear`` layer of ``model`` on ``hw``, keyed by module name.

    ``hw``: a shipped config's name, a config path, or an :class:`ember.Hardware`; ``sparsity``
    replaces its sparsity rules with a preset's (see :func:`ember.hardware`: the shipped
    Eyeriss configs model the chip, which gates zero ifmaps only, so pruned weights save energy
    only with ``sparsity="eap"``, the model ``ember prune`` uses). Weight densities are read
    from the module's current weights; with ``activations`` each layer's
    input density is measured on ``example_input`` (else inputs are taken as dense). ``batch``
    (default: ``example_input``'s batch size) is the batch Ember maps. Energy is in the
    config's unit (``ember.hardware(hw).units``); a module called twice has its calls summed.
    """
    net, owners = export_network(model, example_input, activations=activations)
    n = int(example_input.shape[0]) if batch is None else batch
    per_layer = ember._core.layer_energy(net, ember.hardware(hw, sparsity=sparsity), batch=n, dataflow=dataflow, objective=objective)
    out: Dict[str, float] = {}
    for owner, (_, e) in zip(owners, per_layer):
        out[owner] = out.get(owner, 0.0) + e
    return out
