//! Fully connected layer, weight `[out, in]` as in PyTorch's `nn.Linear`.

use ndarray::{ArrayD, Axis, Ix1, Ix2};
use rand_chacha::ChaCha8Rng;

use super::init::he_uniform;
use super::param::Param;
use super::Tensor;

#[derive(Debug, Clone)]
pub struct Linear {
    pub name: String,
    pub in_features: usize,
    pub out_features: usize,
    pub weight: Param,
    pub bias: Param,
    input: Option<Tensor>,
}

impl Linear {
    pub fn new(name: &str, in_features: usize, out_features: usize, rng: &mut ChaCha8Rng) -> Self {
        let w = he_uniform(&[out_features, in_features], in_features, rng);
        Linear {
            name: name.to_string(),
            in_features,
            out_features,
            weight: Param::new(w),
            bias: Param::new(ArrayD::zeros(vec![out_features])),
            input: None,
        }
    }

    /// `x`: `[N, in]` -> `[N, out]`.
    pub fn forward(&mut self, x: Tensor, train: bool) -> Tensor {
        let x2 = x
            .view()
            .into_dimensionality::<Ix2>()
            .expect("shapes checked when the network was built");
        let y = x2.dot(&self.weight.view::<Ix2>().t()) + self.bias.view::<Ix1>();
        self.input = train.then_some(x);
        y.into_dyn().into_shared()
    }

    pub fn backward(&mut self, dy: ArrayD<f32>, need_input_grad: bool) -> Option<ArrayD<f32>> {
        let input = self
            .input
            .take()
            .expect("backward called after a training forward");
        let x = input
            .view()
            .into_dimensionality::<Ix2>()
            .expect("2-D input");
        let dy = dy
            .into_dimensionality::<Ix2>()
            .expect("2-D output gradient");
        self.weight.set_grad(dy.t().dot(&x).into_dyn());
        self.bias.set_grad(dy.sum_axis(Axis(0)).into_dyn());
        need_input_grad.then(|| dy.dot(&self.weight.view::<Ix2>()).into_dyn())
    }
}
