//! The built-in architectures, for 28x28 grey-scale input and 10 classes.

use super::arch::{Architecture, InputShape, LayerSpec};

const INPUT: InputShape = InputShape {
    channels: 1,
    height: 28,
    width: 28,
};

/// Names accepted by [`by_name`].
pub const MODEL_NAMES: &[&str] = &["lenet5", "vgg-mini"];

pub fn by_name(name: &str) -> Option<Architecture> {
    match name {
        "lenet5" => Some(lenet5()),
        "vgg-mini" => Some(vgg_mini()),
        _ => None,
    }
}

fn conv(name: &str, c: usize, m: usize, k: usize, pad: usize) -> LayerSpec {
    LayerSpec::Conv2d {
        name: name.into(),
        in_channels: c,
        out_channels: m,
        kernel_size: [k, k],
        stride: 1,
        padding: pad,
        groups: 1,
    }
}

fn fc(name: &str, i: usize, o: usize) -> LayerSpec {
    LayerSpec::Linear {
        name: name.into(),
        in_features: i,
        out_features: o,
    }
}

/// A built-in model: [`INPUT`] images, 10 classes.
fn fashion_mnist(name: &str, layers: Vec<LayerSpec>) -> Architecture {
    Architecture {
        name: name.into(),
        num_classes: 10,
        input: INPUT,
        layers,
    }
}

fn pool2() -> LayerSpec {
    LayerSpec::MaxPool2d {
        kernel_size: 2,
        stride: 2,
    }
}

/// LeNet-5 with ReLU and max-pooling (the classic tanh/average-pool variant
/// trains worse); ReLUs between the fully connected layers as well, since
/// without them fc1..fc3 would collapse into one linear map.
pub fn lenet5() -> Architecture {
    use LayerSpec::{Flatten, Relu};
    fashion_mnist(
        "lenet5",
        vec![
            conv("conv1", 1, 6, 5, 2),
            Relu,
            pool2(),
            conv("conv2", 6, 16, 5, 0),
            Relu,
            pool2(),
            Flatten,
            fc("fc1", 16 * 5 * 5, 120),
            Relu,
            fc("fc2", 120, 84),
            Relu,
            fc("fc3", 84, 10),
        ],
    )
}

pub fn vgg_mini() -> Architecture {
    use LayerSpec::{Flatten, Relu};
    fashion_mnist(
        "vgg-mini",
        vec![
            conv("conv1", 1, 32, 3, 1),
            Relu,
            conv("conv2", 32, 32, 3, 1),
            Relu,
            pool2(),
            conv("conv3", 32, 64, 3, 1),
            Relu,
            conv("conv4", 64, 64, 3, 1),
            Relu,
            pool2(),
            Flatten,
            fc("fc1", 64 * 7 * 7, 256),
            Relu,
            fc("fc2", 256, 10),
        ],
    )
}
