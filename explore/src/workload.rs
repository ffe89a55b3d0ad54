//! The inputs every request names: the workload (a trace, an ONNX model, or the embedded AlexNet)
//! and the hardware (a config, or the embedded Eyeriss chip). Parsing stays with each format's
//! owner (`sim::Network` for traces, `ember_onnx` for ONNX, `estimator::Hardware` for configs);
//! this module only picks the owner and checks the input shape against the workload and batch.

use std::path::{Path, PathBuf};

use ember_estimator::Hardware;
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
