//! Network architecture: the TOML schema saved next to the weights, and the
//! shape check that every network is built through.

use std::collections::HashSet;
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

fn one() -> usize {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    Conv2d {
        name: String,
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
    Relu,
    MaxPool2d {
        kernel_size: usize,
        stride: usize,
    },
    Flatten,
    Linear {
        name: String,
        in_features: usize,
        out_features: usize,
    },
}

/// Activation shape between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Spatial {
        c: usize,
        h: usize,
        w: usize,
    },
    /// Features after a flatten (`c` channels of `h x w`) or a fully
    /// connected layer (`c` features, `h = w = 1`): a fully connected layer
    /// is a convolution with R = H, S = W over this map.
    Flat {
        c: usize,
        h: usize,
        w: usize,
    },
}

impl Act {
    fn features(&self) -> Option<usize> {
        match *self {
            Act::Flat { c, h, w } => Some(c * h * w),
            Act::Spatial { .. } => None,
        }
    }
}

impl Architecture {
    /// Checks that the layers chain and returns the shape of every conv/fc
    /// layer. Every `Network` is built through this, so the layers can
    /// assume consistent shapes at run time.
    pub fn layer_shapes(&self) -> Result<Vec<LayerShape>> {
        let bad = |i: usize, why: String| PrunerError::Arch(format!("layer {i}: {why}"));
        let InputShape {
            channels,
            height,
            width,
        } = self.input;
        if channels == 0 || height == 0 || width == 0 {
            return Err(PrunerError::Arch(
                "input dimensions must be positive".into(),
            ));
        }
        let mut act = Act::Spatial {
            c: channels,
            h: height,
            w: width,
        };
        let mut names = HashSet::new();
        let mut shapes = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            if let Some(name) = layer.name() {
                if name.is_empty() || !names.insert(name.to_string()) {
                    return Err(bad(i, format!("layer name {name:?} is empty or repeated")));
                }
            }
            act = match (layer, act) {
                (
                    LayerSpec::Conv2d {
                        name,
                        in_channels,
                        out_channels,
                        kernel_size: [r, s],
                        stride,
                        padding,
                        groups,
                    },
                    Act::Spatial { c, h, w },
                ) => {
                    let (m, g, st, p) = (*out_channels, *groups, *stride, *padding);
                    if *in_channels != c {
                        return Err(bad(
                            i,
                            format!("{name}: in_channels {in_channels} but input has {c}"),
                        ));
                    }
                    if m == 0 || g == 0 || st == 0 || *r == 0 || *s == 0 {
                        return Err(bad(i, format!("{name}: sizes must be positive")));
                    }
                    if c % g != 0 || m % g != 0 {
                        return Err(bad(
                            i,
                            format!("{name}: groups {g} must divide channels {c} and {m}"),
                        ));
                    }
                    if h + 2 * p < *r || w + 2 * p < *s {
                        return Err(bad(
                            i,
                            format!("{name}: kernel larger than padded input {h}x{w}"),
                        ));
                    }
                    let shape = LayerShape {
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
                    };
                    let next = Act::Spatial {
                        c: m,
                        h: shape.h_out(),
                        w: shape.w_out(),
                    };
                    shapes.push(shape);
                    next
                }
                (LayerSpec::Relu, a) => a,
                (
                    LayerSpec::MaxPool2d {
                        kernel_size: k,
                        stride,
                    },
                    Act::Spatial { c, h, w },
                ) => {
                    if *k == 0 || *stride == 0 || *k > h || *k > w {
                        return Err(bad(
                            i,
                            format!("max_pool2d {k}/{stride} does not fit {h}x{w}"),
                        ));
                    }
                    Act::Spatial {
                        c,
                        h: out_size(h, *k, *stride, 0),
                        w: out_size(w, *k, *stride, 0),
                    }
                }
                (LayerSpec::Flatten, Act::Spatial { c, h, w }) => Act::Flat { c, h, w },
                (
                    LayerSpec::Linear {
                        name,
                        in_features,
                        out_features,
                    },
                    Act::Flat { c, h, w },
                ) => {
                    let f = c * h * w;
                    if *in_features != f {
                        return Err(bad(
                            i,
                            format!("{name}: in_features {in_features} but input has {f}"),
                        ));
                    }
                    if *out_features == 0 {
                        return Err(bad(i, format!("{name}: out_features must be positive")));
                    }
                    shapes.push(LayerShape {
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
                    });
                    Act::Flat {
                        c: *out_features,
                        h: 1,
                        w: 1,
                    }
                }
                (l, a) => return Err(bad(i, format!("{} cannot take a {a:?} input", l.kind()))),
            };
        }
        if act.features() != Some(self.num_classes) {
            return Err(PrunerError::Arch(format!(
                "network ends in {act:?}, expected {} class scores",
                self.num_classes
            )));
        }
        Ok(shapes)
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| PrunerError::Arch(e.to_string()))
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let arch: Architecture = toml::from_str(text).map_err(|e| PrunerError::ArchFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        arch.layer_shapes().map_err(|e| PrunerError::ArchFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(arch)
    }
}

impl LayerSpec {
    /// Name of a layer that owns parameters.
    pub fn name(&self) -> Option<&str> {
        match self {
            LayerSpec::Conv2d { name, .. } | LayerSpec::Linear { name, .. } => Some(name),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::Relu => "relu",
            LayerSpec::MaxPool2d { .. } => "max_pool2d",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Linear { .. } => "linear",
        }
    }
}
