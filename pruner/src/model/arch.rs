//! Network architecture: the TOML schema saved next to the weights, and the
//! shape check that every network is built through.
//!
//! A network is a list of nodes in execution order. A node reads the
//! previous node's output unless it names its source (`input = "NAME"`, the
//! network input being `"input"`); `concat` (along channels) and `add`
//! (residual sums) read several (`inputs = [...]`). So a chain is written as
//! a plain list, and branches (inception, fire modules) and skip connections
//! (residual blocks) name what they read. Every node that others read must
//! have a unique `name`; conv, batch-norm and linear nodes always do (their
//! parameters are named after them, as in a PyTorch state dict).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::shape::{LayerKind, LayerShape};
use crate::error::{PrunerError, Result};
use crate::nn::out_size;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    pub name: String,
    pub num_classes: usize,
    pub input: InputShape,
    pub layers: Vec<LayerSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

/// The name that refers to the network input.
pub const INPUT: &str = "input";

fn one() -> usize {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    Conv2d {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<String>,
        in_channels: usize,
        out_channels: usize,
        /// `[R, S]`
        kernel_size: [usize; 2],
        #[serde(default = "one")]
        stride: usize,
        #[serde(default)]
        padding: usize,
        #[serde(default = "one")]
        groups: usize,
    },
    /// Batch normalisation over the channels of a spatial map (trained with
    /// batch statistics; running statistics at inference, as PyTorch).
    BatchNorm2d {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<String>,
        channels: usize,
    },
    Relu {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<String>,
    },
    MaxPool2d {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<String>,
        kernel_size: usize,
        stride: usize,
        /// Implicit -inf padding on every side, as PyTorch's.
        #[serde(default, skip_serializing_if = "is_zero")]
        padding: usize,
    },
    /// Mean over the spatial map: `[N, H, W, C]` -> `[N, C]`.
    GlobalAvgPool {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<String>,
    },
    Flatten {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<String>,
    },
    Linear {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input: Option<String>,
        in_features: usize,
        out_features: usize,
    },
    /// Spatial maps of equal size joined along the channels, in order.
    Concat {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        inputs: Vec<String>,
    },
    /// Element-wise sum of maps of equal shape (a residual connection).
    Add {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        inputs: Vec<String>,
    },
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

/// Where a node's input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Src {
    /// The network input.
    Input,
    /// The output of node `i`.
    Node(usize),
}

/// Activation shape between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Spatial {
        c: usize,
        h: usize,
        w: usize,
    },
    /// Features after a flatten (`c` channels of `h x w`), a global pool or
    /// a fully connected layer (`c` features, `h = w = 1`): a fully
    /// connected layer is a convolution with R = H, S = W over this map.
    Flat {
        c: usize,
        h: usize,
        w: usize,
    },
}

impl Act {
    pub fn features(&self) -> usize {
        match *self {
            Act::Flat { c, h, w } | Act::Spatial { c, h, w } => c * h * w,
        }
    }
}

/// The checked graph of an architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// Per node, its inputs in order.
    pub sources: Vec<Vec<Src>>,
    /// Per node, its output shape.
    pub outputs: Vec<Act>,
    /// Conv/fc nodes (the prunable ones), in node order, with their shapes.
    pub compute: Vec<(usize, LayerShape)>,
}

impl Architecture {
    /// Checks names, sources and shapes and returns the graph. Every
    /// `Network` is built through this, so the layers can assume
    /// consistent shapes at run time.
    pub fn graph(&self) -> Result<Graph> {
        let g = self.nodes()?;
        let last = *g.outputs.last().expect("non-empty");
        if !matches!(last, Act::Flat { .. }) || last.features() != self.num_classes {
            return Err(PrunerError::Arch(format!(
                "network ends in {last:?}, expected {} class scores",
                self.num_classes
            )));
        }
        Ok(g)
    }

    /// [`Architecture::graph`] without the check that the network ends in
    /// `num_classes` scores (for readers that learn the class count from
    /// the graph).
    pub fn nodes(&self) -> Result<Graph> {
        let InputShape {
            channels: c,
            height: h,
            width: w,
        } = self.input;
        if c == 0 || h == 0 || w == 0 {
            return Err(PrunerError::Arch(
                "input dimensions must be positive".into(),
            ));
        }
        if self.layers.is_empty() {
            return Err(PrunerError::Arch("the network has no layers".into()));
        }
        let input = Act::Spatial { c, h, w };
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut g = Graph {
            sources: Vec::new(),
            outputs: Vec::new(),
            compute: Vec::new(),
        };
        for (i, layer) in self.layers.iter().enumerate() {
            let bad = |why: String| {
                let label = layer.name().map(|n| format!(" ({n})")).unwrap_or_default();
                PrunerError::Arch(format!("layer {i}{label}: {why}"))
            };
            let sources = layer.source_names().map_err(&bad)?;
            let sources: Vec<Src> = sources
                .iter()
                .map(|s| match s {
                    Source::Previous if i == 0 => Ok(Src::Input),
                    Source::Previous => Ok(Src::Node(i - 1)),
                    Source::Named(n) if *n == INPUT => Ok(Src::Input),
                    Source::Named(n) => names.get(n).map(|&j| Src::Node(j)).ok_or_else(|| {
                        bad(format!(
                            "reads {n:?}, which is no earlier node's name; fix: name the node \
                             it reads (name = \"{n}\") before this one, or use \"{INPUT}\""
                        ))
                    }),
                })
                .collect::<Result<_>>()?;
            let ins: Vec<Act> = sources
                .iter()
                .map(|s| match *s {
                    Src::Input => input,
                    Src::Node(j) => g.outputs[j],
                })
                .collect();
            let out = layer.output(&ins, &mut g.compute, i).map_err(bad)?;
            if let Some(name) = layer.name() {
                if name.is_empty() || name == INPUT || names.insert(name, i).is_some() {
                    return Err(bad(format!(
                        "the name {name:?} is empty, reserved or repeated"
                    )));
                }
            }
            g.sources.push(sources);
            g.outputs.push(out);
        }
        Ok(g)
    }

    /// Geometry of every conv/fc layer, in node order.
    pub fn layer_shapes(&self) -> Result<Vec<LayerShape>> {
        Ok(self.graph()?.compute.into_iter().map(|(_, s)| s).collect())
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| PrunerError::Arch(e.to_string()))
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let arch: Architecture = toml::from_str(text).map_err(|e| PrunerError::ArchFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        arch.graph().map_err(|e| PrunerError::ArchFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(arch)
    }
}

/// A node's source as written.
enum Source<'a> {
    Previous,
    Named(&'a str),
}

impl LayerSpec {
    /// The node's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            LayerSpec::Conv2d { name, .. }
            | LayerSpec::BatchNorm2d { name, .. }
            | LayerSpec::Linear { name, .. } => Some(name),
            LayerSpec::Relu { name, .. }
            | LayerSpec::MaxPool2d { name, .. }
            | LayerSpec::GlobalAvgPool { name, .. }
            | LayerSpec::Flatten { name, .. }
            | LayerSpec::Concat { name, .. }
            | LayerSpec::Add { name, .. } => name.as_deref(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::BatchNorm2d { .. } => "batch_norm2d",
            LayerSpec::Relu { .. } => "relu",
            LayerSpec::MaxPool2d { .. } => "max_pool2d",
            LayerSpec::GlobalAvgPool { .. } => "global_avg_pool",
            LayerSpec::Flatten { .. } => "flatten",
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Concat { .. } => "concat",
            LayerSpec::Add { .. } => "add",
        }
    }

    fn source_names(&self) -> std::result::Result<Vec<Source<'_>>, String> {
        fn one(input: &Option<String>) -> Vec<Source<'_>> {
            vec![input.as_deref().map_or(Source::Previous, Source::Named)]
        }
        Ok(match self {
            LayerSpec::Conv2d { input, .. }
            | LayerSpec::BatchNorm2d { input, .. }
            | LayerSpec::Relu { input, .. }
            | LayerSpec::MaxPool2d { input, .. }
            | LayerSpec::GlobalAvgPool { input, .. }
            | LayerSpec::Flatten { input, .. }
            | LayerSpec::Linear { input, .. } => one(input),
            LayerSpec::Concat { inputs, .. } | LayerSpec::Add { inputs, .. } => {
                if inputs.len() < 2 {
                    return Err(format!(
                        "{} needs at least two inputs, got {inputs:?}",
                        self.kind()
                    ));
                }
                inputs.iter().map(|s| Source::Named(s)).collect()
            }
        })
    }

    /// Output shape for input shapes `ins`; conv/fc nodes also record their
    /// geometry in `compute`.
    fn output(
        &self,
        ins: &[Act],
        compute: &mut Vec<(usize, LayerShape)>,
        i: usize,
    ) -> std::result::Result<Act, String> {
        let spatial = |a: Act| match a {
            Act::Spatial { c, h, w } => Ok((c, h, w)),
            Act::Flat { .. } => Err(format!("{} cannot take a {a:?} input", self.kind())),
        };
        Ok(match self {
            LayerSpec::Conv2d { .. } => {
                let shape = self.conv_shape(spatial(ins[0])?)?;
                let out = Act::Spatial {
                    c: shape.m_out,
                    h: shape.h_out(),
                    w: shape.w_out(),
                };
                compute.push((i, shape));
                out
            }
            LayerSpec::Linear {
                name,
                in_features,
                out_features,
                ..
            } => {
                let Act::Flat { c, h, w } = ins[0] else {
                    return Err(format!(
                        "{name}: linear needs a flattened input, got {:?}",
                        ins[0]
                    ));
                };
                if *in_features != c * h * w {
                    return Err(format!(
                        "{name}: in_features {in_features} but input has {}",
                        c * h * w
                    ));
                }
                if *out_features == 0 {
                    return Err(format!("{name}: out_features must be positive"));
                }
                compute.push((
                    i,
                    LayerShape {
                        name: name.clone(),
                        kind: LayerKind::Fc,
                        c_in: c,
                        m_out: *out_features,
                        h_in: h,
                        w_in: w,
                        r: h,
                        s: w,
                        stride: 1,
                        pad: 0,
                        groups: 1,
                    },
                ));
                Act::Flat {
                    c: *out_features,
                    h: 1,
                    w: 1,
                }
            }
            LayerSpec::BatchNorm2d { channels, .. } => {
                let (c, h, w) = spatial(ins[0])?;
                if *channels != c {
                    return Err(format!("channels {channels} but input has {c}"));
                }
                Act::Spatial { c, h, w }
            }
            LayerSpec::Relu { .. } => ins[0],
            LayerSpec::MaxPool2d {
                kernel_size: k,
                stride,
                padding: p,
                ..
            } => {
                let (c, h, w) = spatial(ins[0])?;
                if *k == 0 || *stride == 0 || 2 * p > *k || *k > h + 2 * p || *k > w + 2 * p {
                    return Err(format!(
                        "max_pool2d {k}/{stride} (padding {p}) does not fit {h}x{w}; the \
                         padding may be at most half the kernel"
                    ));
                }
                Act::Spatial {
                    c,
                    h: out_size(h, *k, *stride, *p),
                    w: out_size(w, *k, *stride, *p),
                }
            }
            LayerSpec::GlobalAvgPool { .. } => {
                let (c, _, _) = spatial(ins[0])?;
                Act::Flat { c, h: 1, w: 1 }
            }
            LayerSpec::Flatten { .. } => {
                let (c, h, w) = spatial(ins[0])?;
                Act::Flat { c, h, w }
            }
            LayerSpec::Concat { .. } => {
                let mut shapes = ins.iter().map(|&a| spatial(a));
                let (mut c, h, w) = shapes.next().expect("two inputs")?;
                for s in shapes {
                    let (ci, hi, wi) = s?;
                    if (hi, wi) != (h, w) {
                        return Err(format!("concat of {h}x{w} and {hi}x{wi} maps"));
                    }
                    c += ci;
                }
                Act::Spatial { c, h, w }
            }
            LayerSpec::Add { .. } => {
                if let Some(b) = ins.iter().find(|&&a| a != ins[0]) {
                    return Err(format!("add of {:?} and {b:?}: shapes differ", ins[0]));
                }
                ins[0]
            }
        })
    }

    fn conv_shape(
        &self,
        (c, h, w): (usize, usize, usize),
    ) -> std::result::Result<LayerShape, String> {
        let LayerSpec::Conv2d {
            name,
            in_channels,
            out_channels,
            kernel_size: [r, s],
            stride,
            padding,
            groups,
            ..
        } = self
        else {
            unreachable!("conv only")
        };
        let (m, g, st, p) = (*out_channels, *groups, *stride, *padding);
        if *in_channels != c {
            return Err(format!(
                "{name}: in_channels {in_channels} but input has {c}"
            ));
        }
        if m == 0 || g == 0 || st == 0 || *r == 0 || *s == 0 {
            return Err(format!("{name}: sizes must be positive"));
        }
        if c % g != 0 || m % g != 0 {
            return Err(format!(
                "{name}: groups {g} must divide channels {c} and {m}"
            ));
        }
        if h + 2 * p < *r || w + 2 * p < *s {
            return Err(format!("{name}: kernel larger than padded input {h}x{w}"));
        }
        Ok(LayerShape {
            name: name.clone(),
            kind: LayerKind::Conv,
            c_in: c,
            m_out: m,
            h_in: h,
            w_in: w,
            r: *r,
            s: *s,
            stride: st,
            pad: p,
            groups: g,
        })
    }
}
