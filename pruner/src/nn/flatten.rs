//! NHWC -> `[N, C*H*W]` in PyTorch's (C, H, W) order, so a following fully
//! connected layer has the same weight layout as in a PyTorch model.

use ndarray::{ArrayD, Ix2, Ix4};

#[derive(Debug, Clone, Default)]
pub struct Flatten {
    shape: Option<(usize, usize, usize, usize)>,
}

impl Flatten {
    pub fn forward(&mut self, x: ArrayD<f32>) -> ArrayD<f32> {
        let x = x
            .into_dimensionality::<Ix4>()
            .expect("4-D input to flatten");
        let (n, h, w, c) = x.dim();
        self.shape = Some((n, h, w, c));
        x.permuted_axes([0, 3, 1, 2])
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((n, c * h * w))
            .expect("contiguous")
            .into_dyn()
    }

    pub fn backward(&mut self, dy: ArrayD<f32>) -> ArrayD<f32> {
        let (n, h, w, c) = self.shape.take().expect("backward called after forward");
        let dy = dy
            .into_dimensionality::<Ix2>()
            .expect("2-D gradient into flatten");
        dy.as_standard_layout()
            .into_owned()
            .into_shape_with_order((n, c, h, w))
            .expect("contiguous")
            .permuted_axes([0, 2, 3, 1])
            .as_standard_layout()
            .into_owned()
            .into_dyn()
    }
}
