//! `ember-onnx`: import an ONNX model's CONV and FC layers as an `ember_sim::Network`.
//!
//! The protobuf is decoded by `prost` with hand-written message structs ([`proto`]): no `protoc`,
//! no Python, no build script. Shapes are inferred over the graph from the input shape (the
//! graph input's static dims, or the caller's N x C x H x W); every `Conv`, `Gemm` and `MatMul`
//! becomes one [`ember_sim::Layer`] named after its node (its first output when the node has no
//! name). Everything else either shapes tensors or costs nothing on the accelerator model.
//!
//! # What maps to what
//! - **Conv** → CONV layer with `groups` (depthwise = groups = c). Weights stored in the file give
//!   the real `weight_density` (fraction of non-zeros), so a pruned model's sparsity counts;
//!   weights not stored (external data, or computed) are taken as dense, with a warning.
//!   - Asymmetric or unequal H/W padding: `pad` = the smaller half of the total padding, and the
//!     padding left over is counted as input rows/columns (`h`, `w` grow by it). Output size and
//!     MACs are exact; the input is at most one row/column larger than the real one
//!     (conservative for energy).
//!   - Stride larger than the filter (a 1x1 stride-2 shortcut), or unequal H/W strides: the
//!     simulator rejects stride > filter, so the layer becomes a stride-1 convolution over the
//!     subsampled input (`h` = E + R - 1, `w` = F + S - 1, pad 0; for 1x1: h = ceil(H/stride)).
//!     Same output size, MACs and weights; the input counted is the part the windows read.
//!   - Dilation > 1: an error (no Eyeriss layer has the same reuse).
//! - **Gemm** / **MatMul** with a constant 2-D weight → FC layer. After `Flatten`/`Reshape` of an
//!   N x C x H x W tensor the FC keeps C x H x W (r = h, s = w), as in the traces. A MatMul over
//!   more rows per image (N x T x K) becomes a 1x1 CONV over 1 x T.
//! - **MaxPool / AveragePool / GlobalAveragePool / GlobalMaxPool**: attached as the layer's `pool`
//!   when it reads a layer's output directly (through shape-preserving single-consumer ops such as
//!   Relu, BatchNormalization, LRN) and a symmetric pool reproduces its output size; otherwise it
//!   stands alone (it costs nothing) and the network is not a `chain`. `ceil_mode` output sizes
//!   follow ONNX shape inference.
//! - **Shape-preserving, costless** (skipped, counted in the warnings): BatchNormalization (folded
//!   away), Relu, LeakyRelu, PRelu, Elu, Selu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh,
//!   Softplus, Softmax, LogSoftmax, Dropout, LRN, Identity, Cast, InstanceNormalization.
//! - **Element-wise with broadcasting** (residual `Add`/`Sum`, unfolded batch-norm `Mul`/`Add`):
//!   Add, Sum, Sub, Mul, Div, Max, Min, Mean.
//! - **Shape operators**: Flatten, Reshape (constant target shape), Concat, Transpose, Squeeze,
//!   Unsqueeze, Shape, Gather, Constant, ConstantOfShape.
//!
//! Anything else fails with [`OnnxError::Unsupported`], listing every unsupported operator type
//! with its node names. `chain` is true only when each layer reads the previous layer's pooled
//! output unchanged (a plain CNN such as AlexNet or VGG).

mod error;
mod import;
pub mod proto;
mod tensor;

use std::path::Path;

use ember_sim::Network;
use prost::Message;

pub use error::OnnxError;
pub use import::{supported_ops, Imported};

/// Import the model at `path`. `input_shape` (N x C x H x W) overrides the graph input's dims;
/// N is informational (layers are per image).
pub fn import(path: &Path, input_shape: Option<[usize; 4]>) -> Result<Network, OnnxError> {
    import_report(path, input_shape).map(|i| i.network)
}

/// [`import`], with the importer's warnings (skipped operators, re-expressed layers).
pub fn import_report(path: &Path, input_shape: Option<[usize; 4]>) -> Result<Imported, OnnxError> {
    let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // Errors name the path as given; the network is named after the file.
    let label = path.display().to_string();
    let stem = path
        .file_stem()
        .map_or_else(|| label.clone(), |s| s.to_string_lossy().into_owned());
    decode(&bytes, &label)
        .and_then(|model| import::import_model(&model, &label, &stem, input_shape))
}

/// Import a model from its serialized bytes; `name` labels errors and names the network when
/// the graph has no name.
pub fn import_bytes(
    bytes: &[u8],
    name: &str,
    input_shape: Option<[usize; 4]>,
) -> Result<Imported, OnnxError> {
    let model = decode(bytes, name)?;
    import::import_model(&model, name, name, input_shape)
}

fn decode(bytes: &[u8], name: &str) -> Result<proto::ModelProto, OnnxError> {
    proto::ModelProto::decode(bytes).map_err(|source| OnnxError::Decode {
        name: name.to_string(),
        source,
    })
}

/// The trace file text of an imported network (`Network::to_toml`; it reads back with
/// `Network::parse`).
pub fn write_trace(net: &Network) -> String {
    net.to_toml()
}

/// Parse an input shape written `NxCxHxW` (e.g. `1x3x224x224`).
pub fn parse_input_shape(s: &str) -> Option<[usize; 4]> {
    let v: Vec<usize> = s
        .split(['x', 'X', ','])
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    v.try_into().ok()
}
