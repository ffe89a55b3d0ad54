//! Per-layer geometry of the compute layers, in the vocabulary of the
//! accelerator model (C in, M out, H x W input, R x S kernel), so the caller
//! can turn a trained network into simulator layers without knowing this
//! crate's internals.

use serde::Serialize;

use crate::nn::out_size;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LayerKind {
    Conv,
    /// Fully connected; described as a convolution whose filter covers its
    /// whole input map (R = H, S = W): the channels and map of the flattened
    /// activation, or C features on a 1x1 map after another fc layer. This is
    /// the simulator's and the traces' form (`kind = "fc"`).
    Fc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerShape {
    pub name: String,
    pub kind: LayerKind,
    /// Input channels C (fc: channels of the flattened map, or features).
    pub c_in: usize,
    /// Output channels M (features for fc).
    pub m_out: usize,
    /// Input height H.
    pub h_in: usize,
    /// Input width W.
    pub w_in: usize,
    /// Kernel height R (fc: H).
    pub r: usize,
    /// Kernel width S (fc: W).
    pub s: usize,
    pub stride: usize,
    pub pad: usize,
    pub groups: usize,
}

impl LayerShape {
    pub fn h_out(&self) -> usize {
        out_size(self.h_in, self.r, self.stride, self.pad)
    }
    pub fn w_out(&self) -> usize {
        out_size(self.w_in, self.s, self.stride, self.pad)
    }
    /// Multiply-accumulates of one inference on one image (dense).
    pub fn macs(&self) -> usize {
        self.m_out * self.h_out() * self.w_out() * (self.c_in / self.groups) * self.r * self.s
    }
    /// Number of weights (without bias).
    pub fn weights(&self) -> usize {
        self.m_out * (self.c_in / self.groups) * self.r * self.s
    }
}
