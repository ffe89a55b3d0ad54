//! A small CPU CNN engine: NHWC activations, f32, im2col + GEMM convolution.

mod conv;
mod flatten;
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
pub use flatten::Flatten;
pub use linear::Linear;
pub use loss::{argmax_rows, softmax_cross_entropy};
pub use network::{Layer, Network};
pub use optim::{Optimizer, OptimizerKind};
pub use param::Param;
pub use pool::MaxPool2d;
pub use relu::Relu;
