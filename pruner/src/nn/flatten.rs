//! NHWC -> `[N, C*H*W]` in PyTorch's (C, H, W) order, so a following fully
//! connected layer has the same weight layout as in a PyTorch model.

use ndarray::{ArrayD, Ix2};

use super::conv::dims4;
use super::Tensor;

#[derive(Debug, Clone, Default)]
pub struct Flatten {
    shape: Option<(usize, usize, usize, usize)>,
}

impl Flatten {
    pub fn forward(&mut self, x: Tensor) -> Tensor {
        let (n, h, w, c) = dims4(&x);
        self.shape = Some((n, h, w, c));
        x.view()
            .permuted_axes(vec![0, 3, 1, 2])
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(vec![n, c * h * w])
            .expect("contiguous")
            .into_shared()
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
