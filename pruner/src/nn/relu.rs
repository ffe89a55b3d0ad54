//! Rectified linear unit.

use ndarray::{ArrayD, Zip};

#[derive(Debug, Clone, Default)]
pub struct Relu {
    output: Option<ArrayD<f32>>,
}

impl Relu {
    pub fn forward(&mut self, mut x: ArrayD<f32>, train: bool) -> ArrayD<f32> {
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
