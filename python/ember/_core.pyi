"""Type stubs of ``ember._core``, the native module (Rust, PyO3). Use the wrappers in
``ember`` rather than these directly: they accept paths, names, bytes and lists, and parse the
JSON reports."""

from typing import List, Optional, Sequence, Tuple

class EmberError(Exception):
    """An error of Ember's: the message is the CLI's (file, line, key, rule and fix)."""

class Hardware:
    """A loaded hardware config."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def dataflow(self) -> str: ...
    @property
    def levels(self) -> List[str]: ...
    @property
    def units(self) -> str: ...
    @property
    def sparsity(self) -> str: ...

class Network:
    """A loaded network: its layers and the importer's warnings."""

    @property
    def name(self) -> str: ...
    @property
    def warnings(self) -> List[str]: ...
    @property
    def layer_names(self) -> List[str]: ...
    def layers_json(self) -> str: ...
    def with_densities(
        self, densities: Sequence[Tuple[str, Optional[float], Optional[float], Optional[float]]]
    ) -> "Network": ...
    def __len__(self) -> int: ...

def load_hardware(spec: str, sparsity: Optional[str] = None) -> Hardware: ...
def shipped_hardware() -> List[str]: ...
def load_network(path: Optional[str] = None, input_shape: Optional[str] = None) -> Network: ...
def load_onnx_bytes(data: bytes, name: str, input_shape: Optional[str] = None) -> Network: ...
def network_from_layers(name: str, layers_json: str) -> Network: ...
def sim(
    net: Network,
    hw: Hardware,
    batch: int = 4,
    dataflow: Optional[str] = None,
    objective: str = "edp",
    mode: str = "analytic",
    masks: Optional[str] = None,
    min_active_pes: Optional[float] = None,
) -> str: ...
def layer_energy(
    net: Network,
    hw: Hardware,
    batch: int = 4,
    dataflow: Optional[str] = None,
    objective: str = "edp",
) -> List[Tuple[str, float]]: ...
def compare(
    net: Network,
    hws: Sequence[Hardware],
    dataflows: Sequence[str] = ...,
    batch: int = 4,
    objective: str = "edp",
    min_active_pes: Optional[float] = None,
    mode: str = "analytic",
    energy: str = "total",
    masks: Optional[str] = None,
) -> str: ...
def validate(net: Network, hw: Hardware, measured: Optional[str] = None, objective: str = "edp") -> str: ...
