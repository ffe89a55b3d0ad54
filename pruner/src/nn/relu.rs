//! Rectified linear unit.

use ndarray::{ArrayD, Zip};

use super::Tensor;

#[derive(Debug, Clone, Default)]
pub struct Relu {
    /// The output of the last training forward pass, shared with the layer
    /// that reads it (no copy).
    output: Option<Tensor>,
}

impl Relu {
    /// In place when the caller held the only reference to `x`.
    pub fn forward(&mut self, mut x: Tensor, train: bool) -> Tensor {
        x.mapv_inplace(|v| v.max(0.0));
        if train {
            self.output = Some(x.clone());
        }
        x
    }

    /// The derivative at 0 is taken as 0, as PyTorch does.
    pub fn backward(&mut self, mut dy: ArrayD<f32>) -> ArrayD<f32> {
        let y = self
            .output
            .take()
            .expect("backward called after a training forward");
        Zip::from(&mut dy).and(&y).for_each(|d, &v| {
            if v <= 0.0 {
                *d = 0.0;
            }
        });
        dy
    }
}
