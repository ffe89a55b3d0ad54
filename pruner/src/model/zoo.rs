//! The built-in architectures, for 28x28 grey-scale input and 10 classes:
//! two chains (LeNet-5, a small VGG) and four graph-shaped networks in the
//! styles the energy-aware-pruning paper discusses (GoogLeNet's inception
//! modules, SqueezeNet's fire modules) and two more (ResNet's residual
//! blocks, MobileNet's depthwise-separable convolutions).

use super::arch::{Architecture, InputShape, LayerSpec};

const INPUT: InputShape = InputShape {
    channels: 1,
    height: 28,
    width: 28,
};

/// Names accepted by [`by_name`].
pub const MODEL_NAMES: &[&str] = &[
    "lenet5",
    "vgg-mini",
    "inception-mini",
    "squeeze-mini",
    "resnet-mini",
    "mobilenet-mini",
];

pub fn by_name(name: &str) -> Option<Architecture> {
    match name {
        "lenet5" => Some(lenet5()),
        "vgg-mini" => Some(vgg_mini()),
        "inception-mini" => Some(inception_mini()),
        "squeeze-mini" => Some(squeeze_mini()),
        "resnet-mini" => Some(resnet_mini()),
        "mobilenet-mini" => Some(mobilenet_mini()),
        _ => None,
    }
}

/// Appends nodes; each reads the previous one unless `from` says otherwise.
#[derive(Default)]
struct Builder {
    layers: Vec<LayerSpec>,
    from: Option<String>,
}

impl Builder {
    /// The next node reads `name` instead of the previous node.
    fn from(&mut self, name: &str) -> &mut Self {
        self.from = Some(name.to_string());
        self
    }

    fn push(&mut self, l: LayerSpec) -> &mut Self {
        self.layers.push(l);
        self
    }

    #[allow(clippy::too_many_arguments)]
    fn conv_g(
        &mut self,
        name: &str,
        c: usize,
        m: usize,
        k: usize,
        st: usize,
        g: usize,
    ) -> &mut Self {
        let input = self.from.take();
        self.push(LayerSpec::Conv2d {
            name: name.into(),
            input,
            in_channels: c,
            out_channels: m,
            kernel_size: [k, k],
            stride: st,
            padding: k / 2,
            groups: g,
        })
    }

    /// A "same" convolution (padding k/2).
    fn conv(&mut self, name: &str, c: usize, m: usize, k: usize) -> &mut Self {
        self.conv_g(name, c, m, k, 1, 1)
    }

    fn bn(&mut self, name: &str, c: usize) -> &mut Self {
        let input = self.from.take();
        self.push(LayerSpec::BatchNorm2d {
            name: name.into(),
            input,
            channels: c,
        })
    }

    fn relu(&mut self) -> &mut Self {
        self.relu_named(None)
    }

    fn relu_as(&mut self, name: &str) -> &mut Self {
        self.relu_named(Some(name))
    }

    fn relu_named(&mut self, name: Option<&str>) -> &mut Self {
        let input = self.from.take();
        self.push(LayerSpec::Relu {
            name: name.map(Into::into),
            input,
        })
    }

    fn pool(&mut self, name: Option<&str>, k: usize, stride: usize, padding: usize) -> &mut Self {
        let input = self.from.take();
        self.push(LayerSpec::MaxPool2d {
            name: name.map(Into::into),
            input,
            kernel_size: k,
            stride,
            padding,
        })
    }

    fn join(&mut self, add: bool, name: &str, inputs: &[&str]) -> &mut Self {
        let inputs = inputs.iter().map(|s| s.to_string()).collect();
        let name = Some(name.to_string());
        self.push(match add {
            true => LayerSpec::Add { name, inputs },
            false => LayerSpec::Concat { name, inputs },
        })
    }

    fn gap(&mut self) -> &mut Self {
        self.push(LayerSpec::GlobalAvgPool {
            name: None,
            input: None,
        })
    }

    fn flatten(&mut self) -> &mut Self {
        self.push(LayerSpec::Flatten {
            name: None,
            input: None,
        })
    }

    fn fc(&mut self, name: &str, i: usize, o: usize) -> &mut Self {
        self.push(LayerSpec::Linear {
            name: name.into(),
            input: None,
            in_features: i,
            out_features: o,
        })
    }

    fn build(&mut self, name: &str) -> Architecture {
        Architecture {
            name: name.into(),
            num_classes: 10,
            input: INPUT,
            layers: std::mem::take(&mut self.layers),
        }
    }
}

/// LeNet-5 with ReLU and max-pooling (the classic tanh/average-pool variant
/// trains worse); ReLUs between the fully connected layers as well, since
/// without them fc1..fc3 would collapse into one linear map.
pub fn lenet5() -> Architecture {
    let mut b = Builder::default();
    b.conv_g("conv1", 1, 6, 5, 1, 1).relu().pool(None, 2, 2, 0);
    // conv2 is "valid" (no padding): 14x14 -> 10x10.
    b.push(LayerSpec::Conv2d {
        name: "conv2".into(),
        input: None,
        in_channels: 6,
        out_channels: 16,
        kernel_size: [5, 5],
        stride: 1,
        padding: 0,
        groups: 1,
    });
    b.relu().pool(None, 2, 2, 0).flatten();
    b.fc("fc1", 16 * 5 * 5, 120)
        .relu()
        .fc("fc2", 120, 84)
        .relu();
    b.fc("fc3", 84, 10).build("lenet5")
}

pub fn vgg_mini() -> Architecture {
    let mut b = Builder::default();
    b.conv("conv1", 1, 32, 3)
        .relu()
        .conv("conv2", 32, 32, 3)
        .relu();
    b.pool(None, 2, 2, 0);
    b.conv("conv3", 32, 64, 3)
        .relu()
        .conv("conv4", 64, 64, 3)
        .relu();
    b.pool(None, 2, 2, 0).flatten();
    b.fc("fc1", 64 * 7 * 7, 256).relu().fc("fc2", 256, 10);
    b.build("vgg-mini")
}

/// A GoogLeNet inception module on `input` (`c` channels): a 1x1 branch, a
/// 1x1-reduced 3x3 branch, a 1x1-reduced 5x5 branch and a 3x3 max-pool
/// branch with a 1x1 projection, joined along the channels. Returns the
/// output channels.
fn inception(b: &mut Builder, p: &str, input: &str, c: usize, w: [usize; 6]) -> usize {
    let [b1, r3, b3, r5, b5, bp] = w;
    let n = |s: &str| format!("{p}_{s}");
    b.from(input).conv(&n("1x1"), c, b1, 1).relu_as(&n("b1"));
    b.from(input).conv(&n("3x3_reduce"), c, r3, 1).relu();
    b.conv(&n("3x3"), r3, b3, 3).relu_as(&n("b2"));
    b.from(input).conv(&n("5x5_reduce"), c, r5, 1).relu();
    b.conv(&n("5x5"), r5, b5, 5).relu_as(&n("b3"));
    b.from(input).pool(None, 3, 1, 1);
    b.conv(&n("pool_proj"), c, bp, 1).relu_as(&n("b4"));
    b.join(false, p, &[&n("b1"), &n("b2"), &n("b3"), &n("b4")]);
    b1 + b3 + b5 + bp
}

/// GoogLeNet's shape in miniature: a stem (3x3, then 1x1 and 3x3 as in
/// GoogLeNet), two inception modules, global average pooling, one classifier.
pub fn inception_mini() -> Architecture {
    let mut b = Builder::default();
    b.conv("conv1", 1, 32, 3).relu().pool(None, 2, 2, 0);
    b.conv("conv2_reduce", 32, 32, 1).relu();
    b.conv("conv2", 32, 64, 3).relu_as("stem");
    let c = inception(&mut b, "inc3a", "stem", 64, [32, 48, 64, 8, 16, 16]);
    b.pool(Some("pool3"), 2, 2, 0);
    let c = inception(&mut b, "inc4a", "pool3", c, [64, 64, 96, 16, 32, 32]);
    b.gap().fc("fc", c, 10);
    b.build("inception-mini")
}

/// A SqueezeNet fire module: a 1x1 squeeze, then 1x1 and 3x3 expands of it
/// joined along the channels. Returns the output channels.
fn fire(b: &mut Builder, p: &str, c: usize, s: usize, e: usize) -> usize {
    let n = |x: &str| format!("{p}_{x}");
    b.conv(&n("squeeze1x1"), c, s, 1).relu_as(&n("s"));
    b.from(&n("s"))
        .conv(&n("expand1x1"), s, e, 1)
        .relu_as(&n("e1"));
    b.from(&n("s"))
        .conv(&n("expand3x3"), s, e, 3)
        .relu_as(&n("e3"));
    b.join(false, p, &[&n("e1"), &n("e3")]);
    2 * e
}

/// SqueezeNet's shape in miniature: fire modules and a 1x1 convolution as
/// the classifier, averaged over the map (no fully connected layer).
pub fn squeeze_mini() -> Architecture {
    let mut b = Builder::default();
    b.conv("conv1", 1, 64, 3).relu().pool(None, 2, 2, 0);
    let c = fire(&mut b, "fire2", 64, 16, 64);
    let c = fire(&mut b, "fire3", c, 16, 64);
    b.pool(None, 2, 2, 0);
    let c = fire(&mut b, "fire4", c, 32, 128);
    let c = fire(&mut b, "fire5", c, 32, 128);
    b.conv("conv10", c, 10, 1).relu().gap();
    b.build("squeeze-mini")
}

/// A basic residual block (two 3x3 convolutions with batch norm) on
/// `input`; with `stride` 2 or a change of width, a 1x1 projection on the
/// shortcut. The block's output is named `p`.
fn residual(b: &mut Builder, p: &str, input: &str, c: usize, m: usize, stride: usize) {
    let n = |x: &str| format!("{p}_{x}");
    b.from(input).conv_g(&n("conv1"), c, m, 3, stride, 1);
    b.bn(&n("bn1"), m).relu();
    b.conv(&n("conv2"), m, m, 3).bn(&n("bn2"), m);
    let short = if stride != 1 || c != m {
        b.from(input).conv_g(&n("shortcut"), c, m, 1, stride, 1);
        b.bn(&n("shortcut_bn"), m);
        n("shortcut_bn")
    } else {
        input.to_string()
    };
    b.join(true, &n("sum"), &[&n("bn2"), &short]);
    b.relu_as(p);
}

/// ResNet's shape in miniature: a stem, three basic blocks (the second
/// halving the map), global average pooling, one classifier.
pub fn resnet_mini() -> Architecture {
    let mut b = Builder::default();
    b.conv("conv1", 1, 32, 3).bn("bn1", 32).relu();
    b.pool(Some("pool1"), 2, 2, 0);
    residual(&mut b, "layer1", "pool1", 32, 32, 1);
    residual(&mut b, "layer2", "layer1", 32, 64, 2);
    residual(&mut b, "layer3", "layer2", 64, 64, 1);
    b.gap().fc("fc", 64, 10);
    b.build("resnet-mini")
}

/// MobileNet's shape in miniature: a 3x3 stem, then depthwise 3x3 +
/// pointwise 1x1 pairs with batch norm, global average pooling, one
/// classifier.
pub fn mobilenet_mini() -> Architecture {
    let mut b = Builder::default();
    b.conv("conv1", 1, 32, 3).bn("bn1", 32).relu();
    let mut c = 32;
    for (i, (m, stride)) in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1)]
        .into_iter()
        .enumerate()
    {
        let n = |x: &str| format!("block{}_{x}", i + 1);
        b.conv_g(&n("dw"), c, c, 3, stride, c)
            .bn(&n("dw_bn"), c)
            .relu();
        b.conv(&n("pw"), c, m, 1).bn(&n("pw_bn"), m).relu();
        c = m;
    }
    b.gap().fc("fc", c, 10);
    b.build("mobilenet-mini")
}
