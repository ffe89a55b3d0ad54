//! A network built from an [`Architecture`]: its layers run in node order
//! over the architecture's graph. A node's output is handed to its readers
//! (moved to the last one, shared with the others) and dropped after the
//! last read; gradients flow back along the same edges and add up where a
//! node has several readers.

use ndarray::{Array2, Array4, ArrayD, Ix2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{
    Add, BatchNorm2d, Concat, Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool2d, Param, Relu,
    Tensor,
};
use crate::error::{PrunerError, Result};
use crate::model::{Architecture, Graph, LayerShape, LayerSpec, Src};

#[derive(Debug, Clone)]
pub enum Layer {
    Conv2d(Conv2d),
    BatchNorm2d(BatchNorm2d),
    Relu(Relu),
    MaxPool2d(MaxPool2d),
    GlobalAvgPool(GlobalAvgPool),
    Flatten(Flatten),
    Linear(Linear),
    Concat(Concat),
    Add(Add),
}

impl Layer {
    fn new(spec: &LayerSpec, rng: &mut ChaCha8Rng) -> Self {
        match spec {
            LayerSpec::Conv2d {
                name,
                in_channels,
                out_channels,
                kernel_size: [r, s],
                stride,
                padding,
                groups,
                ..
            } => Layer::Conv2d(Conv2d::new(
                name,
                *in_channels,
                *out_channels,
                (*r, *s),
                *stride,
                *padding,
                *groups,
                rng,
            )),
            LayerSpec::BatchNorm2d { name, channels, .. } => {
                Layer::BatchNorm2d(BatchNorm2d::new(name, *channels))
            }
            LayerSpec::Relu { .. } => Layer::Relu(Relu::default()),
            LayerSpec::MaxPool2d {
                kernel_size,
                stride,
                padding,
                ..
            } => Layer::MaxPool2d(MaxPool2d::new(*kernel_size, *stride, *padding)),
            LayerSpec::GlobalAvgPool { .. } => Layer::GlobalAvgPool(GlobalAvgPool::default()),
            LayerSpec::Flatten { .. } => Layer::Flatten(Flatten::default()),
            LayerSpec::Linear {
                name,
                in_features,
                out_features,
                ..
            } => Layer::Linear(Linear::new(name, *in_features, *out_features, rng)),
            LayerSpec::Concat { .. } => Layer::Concat(Concat::default()),
            LayerSpec::Add { .. } => Layer::Add(Add::default()),
        }
    }

    /// `train`: keep what [`Layer::backward`] needs.
    pub fn forward(&mut self, mut xs: Vec<Tensor>, train: bool) -> Tensor {
        match self {
            Layer::Concat(l) => return l.forward(xs),
            Layer::Add(l) => return l.forward(xs),
            _ => {}
        }
        let x = xs.pop().expect("a single-input layer gets one input");
        match self {
            Layer::Conv2d(l) => l.forward(x, train),
            Layer::BatchNorm2d(l) => l.forward(x, train),
            Layer::Relu(l) => l.forward(x, train),
            Layer::MaxPool2d(l) => l.forward(x, train),
            Layer::GlobalAvgPool(l) => l.forward(x),
            Layer::Flatten(l) => l.forward(x),
            Layer::Linear(l) => l.forward(x, train),
            Layer::Concat(_) | Layer::Add(_) => unreachable!("handled above"),
        }
    }

    /// Stores the parameter gradients and returns one gradient per input
    /// (conv/fc: only when `need_input_grad`).
    pub fn backward(&mut self, dy: ArrayD<f32>, need_input_grad: bool) -> Vec<Option<ArrayD<f32>>> {
        match self {
            Layer::Conv2d(l) => vec![l.backward(dy, need_input_grad)],
            Layer::Linear(l) => vec![l.backward(dy, need_input_grad)],
            Layer::BatchNorm2d(l) => vec![Some(l.backward(dy))],
            Layer::Relu(l) => vec![Some(l.backward(dy))],
            Layer::MaxPool2d(l) => vec![Some(l.backward(dy))],
            Layer::GlobalAvgPool(l) => vec![Some(l.backward(dy))],
            Layer::Flatten(l) => vec![Some(l.backward(dy))],
            Layer::Concat(l) => l.backward(dy),
            Layer::Add(l) => l.backward(dy),
        }
    }

    /// Name, weight and bias of a conv/fc layer (the layers pruning works
    /// on); `None` for the others.
    pub fn weight_and_bias(&self) -> Option<(&str, &Param, &Param)> {
        match self {
            Layer::Conv2d(l) => Some((&l.name, &l.weight, &l.bias)),
            Layer::Linear(l) => Some((&l.name, &l.weight, &l.bias)),
            _ => None,
        }
    }

    /// The trainable parameters: conv/fc weight and bias, batch-norm γ and β
    /// (PyTorch's `weight` and `bias`).
    fn params_mut(&mut self) -> Option<(&str, &mut Param, &mut Param)> {
        match self {
            Layer::Conv2d(l) => Some((&l.name, &mut l.weight, &mut l.bias)),
            Layer::Linear(l) => Some((&l.name, &mut l.weight, &mut l.bias)),
            Layer::BatchNorm2d(l) => Some((&l.name, &mut l.weight, &mut l.bias)),
            _ => None,
        }
    }

    fn params(&self) -> Option<(&str, &Param, &Param)> {
        match self {
            Layer::BatchNorm2d(l) => Some((&l.name, &l.weight, &l.bias)),
            other => other.weight_and_bias(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Network {
    arch: Architecture,
    layers: Vec<Layer>,
    graph: Graph,
    /// Per node, how many inputs of later nodes read its output.
    readers: Vec<usize>,
    /// How many inputs read the network input.
    input_readers: usize,
    /// Per node, whether a parameter lies at or before it (its output's
    /// gradient is needed).
    grad_needed: Vec<bool>,
}

/// Sees a node's index, inputs and output.
type Observer<'a> = dyn FnMut(usize, &[Tensor], &Tensor) + 'a;

/// The state of a forward pass between nodes: every output some later node
/// still reads. Cloning shares the tensors.
#[derive(Debug, Clone)]
pub struct Frontier {
    /// The next node to run.
    at: usize,
    input: Option<Tensor>,
    input_left: usize,
    values: Vec<Option<Tensor>>,
    left: Vec<usize>,
}

impl Frontier {
    /// The next node to run.
    pub fn at(&self) -> usize {
        self.at
    }

    fn read(&mut self, s: Src, consume: bool) -> Tensor {
        let (slot, left) = match s {
            Src::Input => (&mut self.input, &mut self.input_left),
            Src::Node(j) => (&mut self.values[j], &mut self.left[j]),
        };
        if !consume {
            return slot.clone().expect("a read value is present");
        }
        *left -= 1;
        if *left == 0 {
            slot.take().expect("a read value is present")
        } else {
            slot.clone().expect("a read value is present")
        }
    }
}

impl Network {
    /// Builds the network with He-initialised weights drawn from `seed`.
    pub fn new(arch: Architecture, seed: u64) -> Result<Self> {
        let graph = arch.graph()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers: Vec<Layer> = arch
            .layers
            .iter()
            .map(|s| Layer::new(s, &mut rng))
            .collect();
        let mut readers = vec![0usize; layers.len()];
        let mut input_readers = 0;
        let mut grad_needed = vec![false; layers.len()];
        for (i, srcs) in graph.sources.iter().enumerate() {
            grad_needed[i] = layers[i].params().is_some();
            for s in srcs {
                match *s {
                    Src::Input => input_readers += 1,
                    Src::Node(j) => {
                        readers[j] += 1;
                        grad_needed[i] |= grad_needed[j];
                    }
                }
            }
        }
        Ok(Network {
            arch,
            layers,
            graph,
            readers,
            input_readers,
            grad_needed,
        })
    }

    pub fn arch(&self) -> &Architecture {
        &self.arch
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The inputs of node `i`.
    pub fn sources(&self, i: usize) -> &[Src] {
        &self.graph.sources[i]
    }

    /// Geometry of every conv/fc layer, in node order.
    pub fn layer_shapes(&self) -> Vec<LayerShape> {
        self.graph.compute.iter().map(|(_, s)| s.clone()).collect()
    }

    /// Indices into [`Network::layers`] of the conv/fc layers, in order (the
    /// order of [`Network::layer_shapes`]).
    pub fn param_layer_indices(&self) -> Vec<usize> {
        self.graph.compute.iter().map(|&(i, _)| i).collect()
    }

    /// The node whose output is node `i`'s activation: `i`, or the end of a
    /// chain of batch-norm and ReLU nodes that are each the only reader of
    /// the one before (a conv's output as the next layers see it).
    pub fn activation_of(&self, i: usize) -> usize {
        let mut at = i;
        loop {
            let next = at + 1;
            let sole = self.readers[at] == 1
                && next < self.layers.len()
                && self.graph.sources[next] == [Src::Node(at)];
            if !(sole && matches!(self.layers[next], Layer::Relu(_) | Layer::BatchNorm2d(_))) {
                return at;
            }
            at = next;
        }
    }

    fn check_input(&self, x: &Array4<f32>) -> Result<()> {
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
        Ok(())
    }

    /// A forward pass about to run its first node on `x` (NHWC images).
    pub fn start(&self, x: Array4<f32>) -> Result<Frontier> {
        self.check_input(&x)?;
        Ok(Frontier {
            at: 0,
            input: Some(x.into_dyn().into_shared()),
            input_left: self.input_readers,
            values: vec![None; self.layers.len()],
            left: self.readers.clone(),
        })
    }

    /// Runs nodes up to (not including) `upto`.
    pub fn advance(&mut self, f: &mut Frontier, upto: usize, train: bool) {
        self.run(f, upto, train, None);
    }

    /// Runs nodes up to `upto`; `observe` sees each node's inputs and
    /// output (inference only).
    fn run(
        &mut self,
        f: &mut Frontier,
        upto: usize,
        train: bool,
        mut observe: Option<&mut Observer<'_>>,
    ) {
        while f.at < upto.min(self.layers.len()) {
            let i = f.at;
            let xs: Vec<Tensor> = self.graph.sources[i]
                .iter()
                .map(|&s| f.read(s, true))
                .collect();
            // Shared copies for the observer: a layer that would have
            // written its input in place copies it instead.
            let seen = observe.is_some().then(|| xs.clone());
            let y = self.layers[i].forward(xs, train);
            if let (Some(obs), Some(seen)) = (observe.as_mut(), seen) {
                obs(i, &seen, &y);
            }
            f.values[i] = Some(y);
            f.at += 1;
        }
    }

    /// Runs the rest of the pass; the last node's output `[N, classes]`.
    pub fn finish(&mut self, mut f: Frontier, train: bool) -> Array2<f32> {
        let n = self.layers.len();
        self.advance(&mut f, n, train);
        f.values[n - 1]
            .take()
            .expect("the last node ran")
            .into_owned()
            .into_dimensionality::<Ix2>()
            .expect("validated: ends in class scores")
    }

    /// `x`: NHWC images `[N, H, W, C]` -> logits `[N, classes]`. With `train`
    /// the layers keep what [`Network::backward`] needs.
    pub fn forward(&mut self, x: Array4<f32>, train: bool) -> Result<Array2<f32>> {
        let f = self.start(x)?;
        Ok(self.finish(f, train))
    }

    /// Inference on `x`, showing every node's inputs and output to
    /// `observe` (densities, masks).
    pub fn forward_observed(
        &mut self,
        x: Array4<f32>,
        mut observe: impl FnMut(usize, &[Tensor], &Tensor),
    ) -> Result<Array2<f32>> {
        let mut f = self.start(x)?;
        let n = self.layers.len();
        self.run(&mut f, n, false, Some(&mut observe));
        Ok(self.finish(f, false))
    }

    /// Inference up to node `i`: its input (the first, for several) and its
    /// output.
    pub fn node_io(&mut self, x: Array4<f32>, i: usize) -> Result<(Tensor, Tensor)> {
        let mut f = self.start(x)?;
        self.advance(&mut f, i, false);
        let input = f.read(self.graph.sources[i][0], false);
        self.advance(&mut f, i + 1, false);
        let output = f.values[i].take().expect("node ran");
        Ok((input, output))
    }

    /// Back-propagates the loss gradient of the last training forward pass
    /// and leaves each parameter's gradient in [`Param::grad`].
    pub fn backward(&mut self, dlogits: Array2<f32>) {
        let n = self.layers.len();
        let mut grads: Vec<Option<ArrayD<f32>>> = vec![None; n];
        grads[n - 1] = Some(dlogits.into_dyn());
        for i in (0..n).rev() {
            if !self.grad_needed[i] {
                continue;
            }
            let Some(dy) = grads[i].take() else { continue };
            let srcs = &self.graph.sources[i];
            let need_input = srcs
                .iter()
                .any(|s| matches!(*s, Src::Node(j) if self.grad_needed[j]));
            let dxs = self.layers[i].backward(dy, need_input);
            for (s, dx) in srcs.iter().zip(dxs) {
                let (Src::Node(j), Some(dx)) = (*s, dx) else {
                    continue;
                };
                if !self.grad_needed[j] {
                    continue;
                }
                match &mut grads[j] {
                    Some(g) => *g += &dx,
                    slot @ None => *slot = Some(dx),
                }
            }
        }
    }

    /// All parameters as `(name, param)` with PyTorch state-dict names
    /// (`conv1.weight`, `conv1.bias`, `bn1.weight`, ...), in node order.
    pub fn params(&self) -> Vec<(String, &Param)> {
        let mut out = Vec::new();
        for (name, w, b) in self.layers.iter().filter_map(Layer::params) {
            out.push((format!("{name}.weight"), w));
            out.push((format!("{name}.bias"), b));
        }
        out
    }

    pub fn params_mut(&mut self) -> Vec<(String, &mut Param)> {
        let mut out = Vec::new();
        for (name, w, b) in self.layers.iter_mut().filter_map(Layer::params_mut) {
            out.push((format!("{name}.weight"), w));
            out.push((format!("{name}.bias"), b));
        }
        out
    }

    /// Batch-norm running statistics with PyTorch's buffer names
    /// (`bn1.running_mean`, `bn1.running_var`).
    pub fn buffers(&self) -> Vec<(String, &ArrayD<f32>)> {
        let mut out = Vec::new();
        for l in &self.layers {
            if let Layer::BatchNorm2d(b) = l {
                out.push((format!("{}.running_mean", b.name), &b.running_mean));
                out.push((format!("{}.running_var", b.name), &b.running_var));
            }
        }
        out
    }

    /// The batch-norm layers, for reading and restoring their running state.
    pub fn batch_norms_mut(&mut self) -> Vec<&mut BatchNorm2d> {
        self.layers
            .iter_mut()
            .filter_map(|l| match l {
                Layer::BatchNorm2d(b) => Some(b),
                _ => None,
            })
            .collect()
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

    /// Conv/fc weights kept by the masks, and their total.
    pub fn live_weights(&self) -> (usize, usize) {
        self.layers
            .iter()
            .filter_map(Layer::weight_and_bias)
            .fold((0, 0), |(l, t), (_, w, _)| {
                (l + w.live_count(), t + w.value().len())
            })
    }
}
