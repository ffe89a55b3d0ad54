//! `ember._core`: the native module of the Python package `ember`. A thin binding: every call
//! is one `ember-explore` call on loaded inputs, and every report crosses as the JSON document
//! the CLI prints (`ember sim --format json` etc.), which `ember/__init__.py` parses into dicts.
//! Errors cross as `ember.EmberError` carrying the CLI's message (file, line, key, fix).

use std::path::PathBuf;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use ember_estimator::{Hardware, Objective, Preset};
use ember_explore::{Densities, Mode, SimOptions, Workload};
use ember_sim::{Dataflow, Network};

create_exception!(
    ember,
    EmberError,
    PyException,
    "An error of Ember's: the message is the CLI's (file, line, key, rule and fix)."
);

/// The error as the CLI prints it after `error: `: its message, then each cause under it that
/// the message does not already state.
fn err(e: impl std::error::Error) -> PyErr {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !text.contains(&t) {
            text += ": ";
            text += &t;
        }
        cause = c.source();
    }
    EmberError::new_err(text)
}

fn json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| EmberError::new_err(e.to_string()))
}

/// A loaded hardware config.
#[pyclass(module = "ember._core", name = "Hardware", frozen)]
struct PyHardware {
    hw: Hardware,
}

#[pymethods]
impl PyHardware {
    /// The config's `name`.
    #[getter]
    fn name(&self) -> String {
        self.hw.arch.name.clone()
    }
    /// The config's `description`.
    #[getter]
    fn description(&self) -> String {
        self.hw.description.clone()
    }
    /// The file it was read from (a shipped config: `hw_configs/NAME.toml`).
    #[getter]
    fn path(&self) -> String {
        self.hw.path.display().to_string()
    }
    /// The config's own dataflow code (`rs`, `ws`, `os`, `nlr`).
    #[getter]
    fn dataflow(&self) -> &'static str {
        self.hw.arch.dataflow.code()
    }
    /// The storage levels' names, from DRAM inwards (the keys of the reports' `by_level`).
    #[getter]
    fn levels(&self) -> Vec<String> {
        self.hw.arch.levels.iter().map(|l| l.name.clone()).collect()
    }
    /// The preset the sparsity rules start from (`none`, `chip`, `eap`, `csc`).
    #[getter]
    fn sparsity(&self) -> &'static str {
        match self.hw.sparsity.preset {
            Preset::None => "none",
            Preset::Chip => "chip",
            Preset::Eap => "eap",
            Preset::Csc => "csc",
        }
    }
    /// The energy table's unit: `normalized` (x one MAC) or `pJ`.
    #[getter]
    fn units(&self) -> &'static str {
        self.hw.energy.units.key()
    }
    fn __repr__(&self) -> String {
        format!("Hardware({:?} from {:?})", self.hw.arch.name, self.path())
    }
}

/// (layer, weight, ifmap, ofmap) densities as Python passes them; None keeps the layer's own.
type LayerDensities = (String, Option<f64>, Option<f64>, Option<f64>);

/// A loaded network: its layers and the importer's warnings.
#[pyclass(module = "ember._core", name = "Network", frozen)]
struct PyNetwork {
    net: Network,
    warnings: Vec<String>,
}

fn network(loaded: ember_explore::LoadedNetwork) -> PyNetwork {
    PyNetwork {
        net: loaded.network,
        warnings: loaded.warnings,
    }
}

#[pymethods]
impl PyNetwork {
    #[getter]
    fn name(&self) -> String {
        self.net.name.clone()
    }
    /// The ONNX importer's notes (skipped operators, unknown densities), each naming the model.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
    /// The layers' names, in order.
    #[getter]
    fn layer_names(&self) -> Vec<String> {
        self.net.layers.iter().map(|l| l.name.clone()).collect()
    }
    /// The layers as JSON: a list of trace `[[layer]]` tables (every key written).
    fn layers_json(&self) -> PyResult<String> {
        json(&self.net.layers)
    }
    /// A copy with densities set: (layer, weight, ifmap, ofmap), None keeps the layer's own.
    fn with_densities(&self, densities: Vec<LayerDensities>) -> PyResult<PyNetwork> {
        let mut net = self.net.clone();
        for (layer, weight, ifmap, ofmap) in densities {
            let d = Densities {
                weight,
                ifmap,
                ofmap,
            };
            ember_explore::set_densities(&mut net, &layer, &d).map_err(err)?;
        }
        Ok(PyNetwork {
            net,
            warnings: self.warnings.clone(),
        })
    }
    fn __len__(&self) -> usize {
        self.net.layers.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "Network({:?}, {} layers)",
            self.net.name,
            self.net.layers.len()
        )
    }
}

/// A hardware config: a file path, or a shipped config's name (`eyeriss-v1`); `sparsity`
/// replaces its sparsity rules with a preset's (`none`, `chip`, `eap`).
#[pyfunction]
#[pyo3(signature = (spec, sparsity=None))]
fn load_hardware(spec: &str, sparsity: Option<&str>) -> PyResult<PyHardware> {
    let mut hw = ember_explore::hardware_named(spec).map_err(err)?;
    if let Some(p) = sparsity {
        ember_explore::set_sparsity_preset(&mut hw, p).map_err(err)?;
    }
    Ok(PyHardware { hw })
}

/// The names of the configs shipped in `hw_configs/`.
#[pyfunction]
fn shipped_hardware() -> Vec<&'static str> {
    ember_explore::SHIPPED_HARDWARE
        .iter()
        .map(|(n, _)| *n)
        .collect()
}

/// A trace (`.toml`) or ONNX model (`.onnx`) file; None: the embedded AlexNet trace.
#[pyfunction]
#[pyo3(signature = (path=None, input_shape=None))]
fn load_network(path: Option<PathBuf>, input_shape: Option<String>) -> PyResult<PyNetwork> {
    let w = Workload { path, input_shape };
    Ok(network(w.load(None).map_err(err)?))
}

/// A serialized ONNX model.
#[pyfunction]
#[pyo3(signature = (data, name, input_shape=None))]
fn load_onnx_bytes(data: &[u8], name: &str, input_shape: Option<&str>) -> PyResult<PyNetwork> {
    Ok(network(
        ember_explore::import_onnx_bytes(data, name, input_shape).map_err(err)?,
    ))
}

/// A list of layer tables, as JSON (the keys of a trace's `[[layer]]`).
#[pyfunction]
fn network_from_layers(name: &str, layers_json: &str) -> PyResult<PyNetwork> {
    Ok(PyNetwork {
        net: ember_explore::network_from_layers(name, layers_json).map_err(err)?,
        warnings: Vec::new(),
    })
}

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> PyResult<T> {
    s.parse().map_err(EmberError::new_err)
}

fn options(
    batch: usize,
    dataflow: Option<&str>,
    objective: &str,
    mode: &str,
    masks: Option<PathBuf>,
    min_active_pes: Option<f64>,
) -> PyResult<SimOptions> {
    Ok(SimOptions {
        batch,
        dataflow: dataflow.map(parse::<Dataflow>).transpose()?,
        objective: parse::<Objective>(objective)?,
        min_active_pes,
        mode: parse::<Mode>(mode)?,
        masks,
        record_passes: false,
    })
}

/// One `ember_explore::simulate` call with the GIL released.
fn simulate(
    py: Python<'_>,
    net: &PyNetwork,
    hw: &PyHardware,
    opts: &SimOptions,
) -> PyResult<ember_explore::SimReport> {
    let (n, h) = (net.net.clone(), hw.hw.clone());
    py.detach(|| ember_explore::simulate(n, h, opts))
        .map_err(err)
}

/// `ember sim --format json` of `net` on `hw`, as a JSON string.
#[pyfunction]
#[pyo3(signature = (net, hw, batch=4, dataflow=None, objective="edp", mode="analytic", masks=None, min_active_pes=None))]
#[allow(clippy::too_many_arguments)]
fn sim(
    py: Python<'_>,
    net: &PyNetwork,
    hw: &PyHardware,
    batch: usize,
    dataflow: Option<&str>,
    objective: &str,
    mode: &str,
    masks: Option<PathBuf>,
    min_active_pes: Option<f64>,
) -> PyResult<String> {
    let opts = options(batch, dataflow, objective, mode, masks, min_active_pes)?;
    json(&simulate(py, net, hw, &opts)?)
}

/// Each layer's total energy (the report's `layers[i].energy.total`), in order.
#[pyfunction]
#[pyo3(signature = (net, hw, batch=4, dataflow=None, objective="edp"))]
fn layer_energy(
    py: Python<'_>,
    net: &PyNetwork,
    hw: &PyHardware,
    batch: usize,
    dataflow: Option<&str>,
    objective: &str,
) -> PyResult<Vec<(String, f64)>> {
    let opts = options(batch, dataflow, objective, "analytic", None, None)?;
    Ok(simulate(py, net, hw, &opts)?
        .result
        .layers
        .iter()
        .map(|l| (l.layer.name.clone(), l.energy.total))
        .collect())
}

/// `ember compare --format json` of `net` on every config x dataflow, as a JSON string.
#[pyfunction]
#[pyo3(signature = (net, hws, dataflows=Vec::new(), batch=4, objective="edp", min_active_pes=None, mode="analytic", energy="total", masks=None))]
#[allow(clippy::too_many_arguments)] // one per keyword of the Python function
fn compare(
    py: Python<'_>,
    net: &PyNetwork,
    hws: Vec<PyRef<'_, PyHardware>>,
    dataflows: Vec<String>,
    batch: usize,
    objective: &str,
    min_active_pes: Option<f64>,
    mode: &str,
    energy: &str,
    masks: Option<PathBuf>,
) -> PyResult<String> {
    let opts = ember_explore::CompareOptions {
        batch,
        objective: parse::<Objective>(objective)?,
        mode: parse::<ember_explore::Mode>(mode)?,
        energy: parse::<ember_explore::EnergyScope>(energy)?,
        masks,
    };
    let dfs = dataflows
        .iter()
        .map(|d| parse::<Dataflow>(d))
        .collect::<PyResult<Vec<_>>>()?;
    let named = hws
        .iter()
        .map(|h| {
            let hw = ember_explore::with_min_active_pes(h.hw.clone(), min_active_pes);
            Ok((h.path(), hw.map_err(err)?))
        })
        .collect::<PyResult<Vec<(String, Hardware)>>>()?;
    let report = py
        .detach(|| ember_explore::compare_loaded(&net.net, named, &dfs, &opts))
        .map_err(err)?;
    json(&report)
}

/// `ember validate --format json`: `net` on `hw` against a measurement file (None: the embedded
/// JSSC 2017 Table V), as a JSON string.
#[pyfunction]
#[pyo3(signature = (net, hw, measured=None, objective="edp"))]
fn validate(
    py: Python<'_>,
    net: &PyNetwork,
    hw: &PyHardware,
    measured: Option<PathBuf>,
    objective: &str,
) -> PyResult<String> {
    let objective = parse::<Objective>(objective)?;
    let report = py
        .detach(|| ember_explore::validate_loaded(&hw.hw, &net.net, measured.as_deref(), objective))
        .map_err(err)?;
    json(&report)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("EmberError", m.py().get_type::<EmberError>())?;
    m.add_class::<PyHardware>()?;
    m.add_class::<PyNetwork>()?;
    m.add_function(wrap_pyfunction!(load_hardware, m)?)?;
    m.add_function(wrap_pyfunction!(shipped_hardware, m)?)?;
    m.add_function(wrap_pyfunction!(load_network, m)?)?;
    m.add_function(wrap_pyfunction!(load_onnx_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(network_from_layers, m)?)?;
    m.add_function(wrap_pyfunction!(sim, m)?)?;
    m.add_function(wrap_pyfunction!(layer_energy, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    Ok(())
}
