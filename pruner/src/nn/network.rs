//! A sequential network built from an [`Architecture`].

use ndarray::{Array2, Array4, ArrayD, Ix2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Conv2d, Flatten, Linear, MaxPool2d, Param, Relu};
use crate::error::{PrunerError, Result};
use crate::model::{Architecture, LayerShape, LayerSpec};

#[derive(Debug, Clone)]
pub enum Layer {
    Conv2d(Conv2d),
    Relu(Relu),
    MaxPool2d(MaxPool2d),
    Flatten(Flatten),
    Linear(Linear),
}

impl Layer {
    /// `train`: keep what [`Layer::backward`] needs.
    pub fn forward(&mut self, a: ArrayD<f32>, train: bool) -> ArrayD<f32> {
        match self {
            Layer::Conv2d(l) => l.forward(a, train),
            Layer::Relu(l) => l.forward(a, train),
            Layer::MaxPool2d(l) => l.forward(a, train),
            Layer::Flatten(l) => l.forward(a),
            Layer::Linear(l) => l.forward(a, train),
        }
    }

    /// Stores the parameter gradients of a conv/fc layer and returns the
    /// input gradient (conv/fc: only when `need_input_grad`).
    pub fn backward(&mut self, dy: ArrayD<f32>, need_input_grad: bool) -> Option<ArrayD<f32>> {
        match self {
            Layer::Conv2d(l) => l.backward(dy, need_input_grad),
            Layer::Linear(l) => l.backward(dy, need_input_grad),
            Layer::Relu(l) => Some(l.backward(dy)),
            Layer::MaxPool2d(l) => Some(l.backward(dy)),
            Layer::Flatten(l) => Some(l.backward(dy)),
        }
    }

    /// Name, weight and bias of a conv/fc layer; `None` for the others.
    pub fn weight_and_bias(&self) -> Option<(&str, &Param, &Param)> {
        match self {
            Layer::Conv2d(l) => Some((&l.name, &l.weight, &l.bias)),
            Layer::Linear(l) => Some((&l.name, &l.weight, &l.bias)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Network {
    arch: Architecture,
    layers: Vec<Layer>,
}

impl Network {
    /// Builds the network with He-initialised weights drawn from `seed`.
    pub fn new(arch: Architecture, seed: u64) -> Result<Self> {
        arch.layer_shapes()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers = arch
            .layers
            .iter()
            .map(|spec| match spec {
                LayerSpec::Conv2d {
                    name,
                    in_channels,
                    out_channels,
                    kernel_size: [r, s],
                    stride,
                    padding,
                    groups,
                } => Layer::Conv2d(Conv2d::new(
                    name,
                    *in_channels,
                    *out_channels,
                    (*r, *s),
                    *stride,
                    *padding,
                    *groups,
                    &mut rng,
                )),
                LayerSpec::Relu => Layer::Relu(Relu::default()),
                LayerSpec::MaxPool2d {
                    kernel_size,
                    stride,
                } => Layer::MaxPool2d(MaxPool2d::new(*kernel_size, *stride)),
                LayerSpec::Flatten => Layer::Flatten(Flatten::default()),
                LayerSpec::Linear {
                    name,
                    in_features,
                    out_features,
                } => Layer::Linear(Linear::new(name, *in_features, *out_features, &mut rng)),
            })
            .collect();
        Ok(Network { arch, layers })
    }

    pub fn arch(&self) -> &Architecture {
        &self.arch
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Geometry of every conv/fc layer, in network order.
    pub fn layer_shapes(&self) -> Vec<LayerShape> {
        self.arch.layer_shapes().expect("validated when built")
    }

    /// `x`: NHWC images `[N, H, W, C]` -> logits `[N, classes]`. With `train`
    /// the layers keep what [`Network::backward`] needs.
    pub fn forward(&mut self, x: Array4<f32>, train: bool) -> Result<Array2<f32>> {
        let i = self.arch.input;
        let (_, h, w, c) = x.dim();
        if (h, w, c) != (i.height, i.width, i.channels) {
            return Err(PrunerError::Tensor {
                name: "input".into(),
                reason: format!(
                    "expected NHWC images of {}x{}x{}, got {h}x{w}x{c}",
                    i.height, i.width, i.channels
                ),
            });
        }
        let mut a: ArrayD<f32> = x.into_dyn();
        for layer in &mut self.layers {
            a = layer.forward(a, train);
        }
        Ok(a.into_dimensionality::<Ix2>()
            .expect("validated: ends in class scores"))
    }

    /// Indices into [`Network::layers`] of the conv/fc layers, in order (the
    /// order of [`Network::layer_shapes`]).
    pub fn param_layer_indices(&self) -> Vec<usize> {
        self.layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.weight_and_bias().is_some())
            .map(|(i, _)| i)
            .collect()
    }

    /// Runs the layers `range` (indices into [`Network::layers`]) on the
    /// activation `a` in inference mode: the building block for reading the
    /// input and output of one layer (calibration, least-squares refit).
    pub fn forward_range(
        &mut self,
        mut a: ArrayD<f32>,
        range: std::ops::Range<usize>,
    ) -> ArrayD<f32> {
        for layer in &mut self.layers[range] {
            a = layer.forward(a, false);
        }
        a
    }

    /// Back-propagates the loss gradient of the last training forward pass
    /// and leaves each parameter's gradient in [`Param::grad`].
    pub fn backward(&mut self, dlogits: Array2<f32>) {
        let mut g: Option<ArrayD<f32>> = Some(dlogits.into_dyn());
        // Nothing before the first parameterised layer needs a gradient.
        let first = self
            .layers
            .iter()
            .position(|l| l.weight_and_bias().is_some())
            .unwrap_or(0);
        for (idx, layer) in self.layers.iter_mut().enumerate().rev() {
            let Some(dy) = g.take() else { break };
            g = layer.backward(dy, idx > first);
        }
    }

    /// All parameters as `(name, param)` with PyTorch state-dict names
    /// (`conv1.weight`, `conv1.bias`, ...), in network order.
    pub fn params(&self) -> Vec<(String, &Param)> {
        let mut out = Vec::new();
        for (name, w, b) in self.layers.iter().filter_map(Layer::weight_and_bias) {
            out.push((format!("{name}.weight"), w));
            out.push((format!("{name}.bias"), b));
        }
        out
    }

    pub fn params_mut(&mut self) -> Vec<(String, &mut Param)> {
        let mut out = Vec::new();
        for layer in &mut self.layers {
            let (name, w, b) = match layer {
                Layer::Conv2d(l) => (&l.name, &mut l.weight, &mut l.bias),
                Layer::Linear(l) => (&l.name, &mut l.weight, &mut l.bias),
                _ => continue,
            };
            out.push((format!("{name}.weight"), w));
            out.push((format!("{name}.bias"), b));
        }
        out
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }

    pub fn param_mut(&mut self, name: &str) -> Option<&mut Param> {
        self.params_mut()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }

    /// Installs a 0/1 mask on the tensor `name` (e.g. `conv2.weight`) and
    /// zeroes the pruned entries; `None` removes the mask.
    pub fn set_mask(&mut self, name: &str, mask: Option<ArrayD<f32>>) -> Result<()> {
        let p = self.param_mut(name).ok_or_else(|| PrunerError::Tensor {
            name: name.into(),
            reason: "no such parameter".into(),
        })?;
        p.set_mask(name, mask)
    }

    /// Number of weights kept by the masks, and the total.
    pub fn live_weights(&self) -> (usize, usize) {
        self.params()
            .iter()
            .filter(|(n, _)| n.ends_with(".weight"))
            .fold((0, 0), |(l, t), (_, p)| {
                (l + p.live_count(), t + p.value().len())
            })
    }
}
