//! A small CPU CNN engine: NHWC activations, f32, im2col + GEMM convolution,
//! networks as graphs of layers (branches, concatenation, residual sums).

mod batchnorm;
mod conv;
mod depthwise;
mod flatten;
mod gap;
pub(crate) mod gemm;
pub(crate) mod im2col;
mod init;
mod linear;
mod loss;
mod merge;
mod network;
mod optim;
mod param;
mod pool;
mod relu;

pub use batchnorm::BatchNorm2d;
pub use conv::Conv2d;
pub(crate) use conv::{gemm_to_oihw, oihw_to_gemm};
pub use flatten::Flatten;
pub use gap::GlobalAvgPool;
pub use linear::Linear;
pub use loss::{argmax_rows, softmax_cross_entropy};
pub use merge::{Add, Concat};
pub use network::{Frontier, Layer, Network};
pub use optim::{Optimizer, OptimizerKind};
pub use param::Param;
pub use pool::MaxPool2d;
pub use relu::Relu;

/// An activation between layers: NHWC maps or `[N, features]`, shared
/// (reference-counted) so that a layer keeping its input for the backward
/// pass and a branch reading the same map cost no copy. Mutation copies
/// only when the data is shared.
pub type Tensor = ndarray::ArcArray<f32, ndarray::IxDyn>;

/// `x` in standard (C-contiguous) layout, copied only if it is not.
pub(crate) fn standard_tensor(x: Tensor) -> Tensor {
    if x.is_standard_layout() {
        x
    } else {
        x.as_standard_layout().into_owned().into_shared()
    }
}

/// Positions of a window of `kernel` sliding by `stride` over `input` with
/// `pad` zeros on both sides: the output size of a convolution or pooling
/// along one axis. Needs `input + 2 * pad >= kernel` (checked when an
/// architecture is validated).
pub(crate) fn out_size(input: usize, kernel: usize, stride: usize, pad: usize) -> usize {
    (input + 2 * pad - kernel) / stride + 1
}
