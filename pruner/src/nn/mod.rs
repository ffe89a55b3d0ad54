//! A small CPU CNN engine: NHWC activations, f32, im2col + GEMM convolution.

mod conv;
mod flatten;
pub(crate) mod gemm;
pub(crate) mod im2col;
mod init;
mod linear;
mod loss;
mod network;
mod optim;
mod param;
mod pool;
mod relu;

pub use conv::Conv2d;
pub(crate) use conv::{gemm_to_oihw, oihw_to_gemm};
pub use flatten::Flatten;
pub use linear::Linear;
pub use loss::{argmax_rows, softmax_cross_entropy};
pub use network::{Layer, Network};
pub use optim::{Optimizer, OptimizerKind};
pub use param::Param;
pub use pool::MaxPool2d;
pub use relu::Relu;

/// Positions of a window of `kernel` sliding by `stride` over `input` with
/// `pad` zeros on both sides: the output size of a convolution or pooling
/// along one axis. Needs `input + 2 * pad >= kernel` (checked when an
/// architecture is validated).
pub(crate) fn out_size(input: usize, kernel: usize, stride: usize, pad: usize) -> usize {
    (input + 2 * pad - kernel) / stride + 1
}
