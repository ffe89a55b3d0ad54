//! The inputs every request names: the workload (a trace, an ONNX model, or the embedded AlexNet)
//! and the hardware (a config, or the embedded Eyeriss chip). Parsing stays with each format's
//! owner (`sim::Network` for traces, `ember_onnx` for ONNX, `estimator::Hardware` for configs);
//! this module only picks the owner and checks the input shape against the workload and batch.

use std::path::{Path, PathBuf};

use ember_estimator::sparsity::{Preset, SparsityRules};
use ember_estimator::Hardware;
use ember_sim::workload::LayerSpec;
use ember_sim::Network;

use crate::error::{ExploreError, Result};

/// The embedded default workload, so a run needs no file and works from any directory.
pub const ALEXNET: &str = include_str!("../../traces/alexnet.toml");

/// An ONNX model's input shape, N x C x H x W, with the text it was given as (errors quote it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputShape {
    pub dims: [usize; 4],
    pub text: String,
}

impl InputShape {
    /// `CxHxW` or `NxCxHxW` of positive integers (N defaults to 1).
    pub fn parse(text: &str) -> Result<InputShape> {
        let bad = || ExploreError::InputShapeSyntax {
            text: text.to_string(),
        };
        let full = if text.split(['x', 'X']).count() == 3 {
            format!("1x{text}")
        } else {
            text.to_string()
        };
        let dims = ember_onnx::parse_input_shape(&full).ok_or_else(bad)?;
        if dims.contains(&0) {
            return Err(bad());
        }
        Ok(InputShape {
            dims,
            text: text.to_string(),
        })
    }

    /// Layers are per image, so N is not a batch: it must be 1 or the run's `batch` (when the
    /// caller runs one), or the user meant something the model cannot do.
    pub fn check_batch(&self, batch: Option<usize>) -> Result<()> {
        let [n, c, h, w] = self.dims;
        if n != 1 && Some(n) != batch {
            return Err(ExploreError::InputShapeBatch {
                text: self.text.clone(),
                n,
                c,
                h,
                w,
                batch,
            });
        }
        Ok(())
    }
}

/// Where the workload comes from: `path` (a trace, or an ONNX model by its `.onnx` extension)
/// or, without one, the embedded AlexNet trace.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    pub path: Option<PathBuf>,
    /// Overrides an ONNX model's input shape (`CxHxW` or `NxCxHxW`, see `InputShape::parse`);
    /// an error with a trace.
    pub input_shape: Option<String>,
}

/// A loaded workload and the importer's notes (skipped operators, unknown densities), each
/// prefixed with the model's path, for the caller to show.
#[derive(Debug, Clone)]
pub struct LoadedNetwork {
    pub network: Network,
    pub warnings: Vec<String>,
}

fn is_onnx(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

impl Workload {
    /// A trace or ONNX file at `path`.
    pub fn file(path: impl Into<PathBuf>) -> Workload {
        Workload {
            path: Some(path.into()),
            input_shape: None,
        }
    }

    /// Load the workload; `batch` is the caller's batch, if it runs one (it checks the input
    /// shape's N).
    pub fn load(&self, batch: Option<usize>) -> Result<LoadedNetwork> {
        let shape = match &self.input_shape {
            None => None,
            Some(text) => {
                self.check_shape_applies(text)?;
                let shape = InputShape::parse(text)?;
                shape.check_batch(batch)?;
                Some(shape.dims)
            }
        };
        match &self.path {
            Some(p) if is_onnx(p) => import_onnx(p, shape),
            Some(p) => Ok(LoadedNetwork {
                network: Network::load(p)?,
                warnings: vec![],
            }),
            None => Ok(LoadedNetwork {
                network: Network::parse(Path::new("traces/alexnet.toml"), ALEXNET)?,
                warnings: vec![],
            }),
        }
    }

    /// A trace fixes its own shapes: an input shape with one is a mistake, not an override.
    fn check_shape_applies(&self, text: &str) -> Result<()> {
        let what = match &self.path {
            Some(p) if is_onnx(p) => return Ok(()),
            Some(p) => format!("{} is a trace, whose layers fix their shapes", p.display()),
            None => "the default workload is the AlexNet trace".to_string(),
        };
        Err(ExploreError::InputShapeNotOnnx {
            text: text.to_string(),
            what,
        })
    }
}

/// Import an ONNX model (`shape` overrides its input shape), keeping the importer's warnings.
pub fn import_onnx(path: &Path, shape: Option<[usize; 4]>) -> Result<LoadedNetwork> {
    let imported = ember_onnx::import_report(path, shape)?;
    let warnings = imported
        .warnings
        .iter()
        .map(|w| format!("{}: {w}", path.display()))
        .collect();
    Ok(LoadedNetwork {
        network: imported.network,
        warnings,
    })
}

/// A hardware config, or (no path) the embedded Eyeriss chip.
pub fn load_hardware(path: Option<&Path>) -> Result<Hardware> {
    Ok(match path {
        Some(p) => Hardware::load(p)?,
        None => Hardware::eyeriss_v1(),
    })
}

/// An ONNX model held in memory (serialized bytes) instead of a file: what a front end that
/// exports models itself (PyTorch's `torch.onnx.export` to a buffer) hands over. `name` labels
/// errors and warnings and names the network when the graph has none; `input_shape` as in
/// [`Workload::input_shape`] (N must be 1: layers are per image).
pub fn import_onnx_bytes(
    bytes: &[u8],
    name: &str,
    input_shape: Option<&str>,
) -> Result<LoadedNetwork> {
    let shape = match input_shape {
        None => None,
        Some(text) => {
            let shape = InputShape::parse(text)?;
            shape.check_batch(None)?;
            Some(shape.dims)
        }
    };
    let imported = ember_onnx::import_bytes(bytes, name, shape)?;
    let warnings = imported
        .warnings
        .iter()
        .map(|w| format!("{name}: {w}"))
        .collect();
    Ok(LoadedNetwork {
        network: imported.network,
        warnings,
    })
}

/// A network given as a list of layer tables (JSON: an array of objects with the keys and
/// defaults of a trace's `[[layer]]` table: `name`, `c`, `h`, `w`, `m`, `r`, `s`, `stride`, `pad`,
/// `groups`, `kind`, `weight_density`, `ifmap_density`, `ofmap_density`, `pool`). The tables are
/// written as a trace and checked by the trace's owner (`sim::Network::parse`), so a list breaks
/// exactly the rules a trace file does; errors name the layer as `layer[i].key (`name`)`.
pub fn network_from_layers(name: &str, layers_json: &str) -> Result<Network> {
    let bad = |index: Option<usize>, detail: String| ExploreError::Layers {
        name: name.to_string(),
        index,
        detail,
    };
    let values: Vec<serde_json::Value> =
        serde_json::from_str(layers_json).map_err(|e| bad(None, e.to_string()))?;
    let layers = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value::<LayerSpec>(v).map_err(|e| bad(Some(i), e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    #[derive(serde::Serialize)]
    struct Trace<'a> {
        name: &'a str,
        source: &'a str,
        layer: &'a [LayerSpec],
    }
    let text = toml::to_string(&Trace {
        name,
        source: "a list of layers",
        layer: &layers,
    })
    .map_err(|e| bad(None, e.to_string()))?;
    Ok(Network::parse(
        Path::new(&format!("{name} (layers)")),
        &text,
    )?)
}

/// Densities to set on one layer of a loaded network (`None`: keep the layer's own).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Densities {
    pub weight: Option<f64>,
    pub ifmap: Option<f64>,
    pub ofmap: Option<f64>,
}

/// Set the densities of the layer named `layer` (the fraction of non-zero values, in (0, 1], as
/// in a trace): what a caller measured on its own model (a pruned model's weights, activations
/// on a batch).
pub fn set_densities(net: &mut Network, layer: &str, d: &Densities) -> Result<()> {
    let names = || {
        net.layers
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(i) = net.layers.iter().position(|l| l.name == layer) else {
        return Err(ExploreError::NoSuchLayer {
            layer: layer.to_string(),
            network: net.name.clone(),
            names: names(),
        });
    };
    for (key, v) in [
        ("weight_density", d.weight),
        ("ifmap_density", d.ifmap),
        ("ofmap_density", d.ofmap),
    ] {
        if let Some(v) = v {
            if !(v > 0.0 && v <= 1.0) {
                return Err(ExploreError::Density {
                    layer: layer.to_string(),
                    key,
                    value: v,
                });
            }
        }
    }
    let l = &mut net.layers[i];
    l.weight_density = d.weight.unwrap_or(l.weight_density);
    l.ifmap_density = d.ifmap.unwrap_or(l.ifmap_density);
    l.ofmap_density = d.ofmap.unwrap_or(l.ofmap_density);
    Ok(())
}

/// The hardware configs shipped in `hw_configs/`, embedded by name (the file stem), so a front
/// end installed without the repository (the Python package) can name them.
pub const SHIPPED_HARDWARE: [(&str, &str); 8] = [
    (
        "eyeriss-v1",
        include_str!("../../hw_configs/eyeriss-v1.toml"),
    ),
    (
        "eyeriss-v1-skip",
        include_str!("../../hw_configs/eyeriss-v1-skip.toml"),
    ),
    (
        "eyeriss-v1-l2",
        include_str!("../../hw_configs/eyeriss-v1-l2.toml"),
    ),
    (
        "eyeriss-isca16-256",
        include_str!("../../hw_configs/eyeriss-isca16-256.toml"),
    ),
    (
        "eyeriss-24x28-216kb",
        include_str!("../../hw_configs/eyeriss-24x28-216kb.toml"),
    ),
    (
        "eyeriss-v1-scaled",
        include_str!("../../hw_configs/eyeriss-v1-scaled.toml"),
    ),
    (
        "eyeriss-v1.5",
        include_str!("../../hw_configs/eyeriss-v1.5.toml"),
    ),
    (
        "eyeriss-v2",
        include_str!("../../hw_configs/eyeriss-v2.toml"),
    ),
];

/// A hardware config named by `spec`: a file, if one exists at that path; otherwise a shipped
/// config's name (`eyeriss-v1`, see [`SHIPPED_HARDWARE`]), parsed as `hw_configs/NAME.toml`
/// (the bytes of that file, so its results are the file's); otherwise the file error `ember
/// --hw` gives for a missing path.
pub fn hardware_named(spec: &str) -> Result<Hardware> {
    let path = Path::new(spec);
    if !path.exists() {
        if let Some((name, text)) = SHIPPED_HARDWARE.iter().find(|(n, _)| *n == spec) {
            let label = PathBuf::from(format!("hw_configs/{name}.toml"));
            return Ok(Hardware::parse(&label, text)?);
        }
    }
    load_hardware(Some(path))
}

/// Replace a config's sparsity rules with a preset's (`none`, `chip`, `eap`, `csc`), as a config's
/// `[sparsity] preset = "..."` with no overrides would: `eap` is energy-aware pruning's model
/// (zero weights gate MACs too), which the pruner prices with.
pub fn set_sparsity_preset(hw: &mut Hardware, preset: &str) -> Result<()> {
    let p = match preset {
        "none" => Preset::None,
        "chip" => Preset::Chip,
        "eap" => Preset::Eap,
        "csc" => Preset::Csc,
        _ => {
            return Err(ExploreError::UnknownPreset {
                preset: preset.to_string(),
            })
        }
    };
    hw.sparsity = SparsityRules::preset(p);
    Ok(())
}
