//! A small builder of ONNX models in memory, encoded with the crate's own prost structs.
#![allow(dead_code)]

use ember_onnx::proto::{
    attribute_type as at, data_type as dt, tensor_shape_proto::dimension::Value as Dim,
    tensor_shape_proto::Dimension, type_proto, AttributeProto, GraphProto, Message, ModelProto,
    NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: at::INTS,
        ..Default::default()
    }
}
pub fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: at::INT,
        ..Default::default()
    }
}
pub fn string(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: s.as_bytes().to_vec(),
        r#type: at::STRING,
        ..Default::default()
    }
}
pub fn tensor_attr(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        t: Some(t),
        r#type: at::TENSOR,
        ..Default::default()
    }
}

/// A float tensor stored as little-endian `raw_data`.
pub fn f32_raw(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: dt::FLOAT,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}
/// A float tensor stored in `float_data`.
pub fn f32_data(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: dt::FLOAT,
        float_data: values.to_vec(),
        ..Default::default()
    }
}
/// A dense tensor of ones.
pub fn ones(name: &str, dims: &[i64]) -> TensorProto {
    let n: i64 = dims.iter().product();
    f32_raw(name, dims, &vec![1.0; n as usize])
}
pub fn i64_tensor(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![values.len() as i64],
        data_type: dt::INT64,
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

pub fn value_info(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(type_proto::Tensor {
                elem_type: dt::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(match d {
                                Some(v) => Dim::DimValue(*v),
                                None => Dim::DimParam("N".into()),
                            }),
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

#[derive(Default)]
pub struct Graph {
    pub g: GraphProto,
}

impl Graph {
    /// A graph with one float input `x` of shape `dims`.
    pub fn new(name: &str, dims: &[i64]) -> Graph {
        let dims: Vec<Option<i64>> = dims.iter().map(|&d| Some(d)).collect();
        let mut g = Graph::default();
        g.g.name = name.into();
        g.g.input.push(value_info("x", &dims));
        g
    }
    pub fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> &mut Self {
        self.g.node.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name: name.into(),
            op_type: op.into(),
            attribute: attrs,
            domain: String::new(),
        });
        self
    }
    pub fn init(&mut self, t: TensorProto) -> &mut Self {
        self.g.initializer.push(t);
        self
    }
    /// `Conv` node `name` reading `x`, with dense weights `name_w` of shape [m, c/g, k, k].
    pub fn conv(
        &mut self,
        name: &str,
        x: &str,
        out: &str,
        w: [i64; 4],
        attrs: Vec<AttributeProto>,
    ) -> &mut Self {
        let wn = format!("{name}_w");
        self.init(ones(&wn, &w));
        self.node("Conv", name, &[x, &wn], &[out], attrs)
    }
    pub fn output(&mut self, name: &str) -> &mut Self {
        self.g.output.push(ValueInfoProto {
            name: name.into(),
            r#type: None,
        });
        self
    }
    pub fn model(&self) -> ModelProto {
        ModelProto {
            ir_version: 8,
            producer_name: "ember-onnx tests".into(),
            graph: Some(self.g.clone()),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            ..Default::default()
        }
    }
    pub fn bytes(&self) -> Vec<u8> {
        self.model().encode_to_vec()
    }
}

/// An inception-style block with most supported operators: conv + BN + relu + pool, branches of
/// 1x1, 3x3 and pooling joined by Concat, a residual Add, a PyTorch-style flatten
/// (Shape/Gather/Unsqueeze/Concat/Reshape) and a Gemm.
pub fn sample() -> Graph {
    let mut g = Graph::new("sample", &[1, 3, 32, 32]);
    g.conv(
        "stem",
        "x",
        "s0",
        [16, 3, 3, 3],
        vec![ints("pads", &[1, 1, 1, 1])],
    );
    g.init(ones("bn_s", &[16]))
        .init(ones("bn_b", &[16]))
        .init(ones("bn_m", &[16]))
        .init(ones("bn_v", &[16]));
    g.node(
        "BatchNormalization",
        "bn",
        &["s0", "bn_s", "bn_b", "bn_m", "bn_v"],
        &["s1"],
        vec![],
    );
    g.node("Relu", "relu", &["s1"], &["s2"], vec![]);
    g.node(
        "MaxPool",
        "pool",
        &["s2"],
        &["p"],
        vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
    );
    g.conv("b1", "p", "b1o", [8, 16, 1, 1], vec![]);
    g.conv(
        "b2",
        "p",
        "b2o",
        [8, 16, 3, 3],
        vec![ints("pads", &[1, 1, 1, 1])],
    );
    g.node(
        "MaxPool",
        "b3",
        &["p"],
        &["b3o"],
        vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])],
    );
    g.node(
        "Concat",
        "cat",
        &["b1o", "b2o", "b3o"],
        &["cat"],
        vec![int("axis", 1)],
    );
    g.conv(
        "dw",
        "cat",
        "dwo",
        [32, 1, 3, 3],
        vec![int("group", 32), ints("pads", &[1, 1, 1, 1])],
    );
    g.node("Add", "res", &["dwo", "cat"], &["r"], vec![]);
    g.node("GlobalAveragePool", "gap", &["r"], &["g"], vec![]);
    g.node("Shape", "shape", &["g"], &["sh"], vec![]);
    g.init(TensorProto {
        name: "zero".into(),
        data_type: dt::INT64,
        int64_data: vec![0],
        ..Default::default()
    });
    g.node("Gather", "gather", &["sh", "zero"], &["n"], vec![]);
    g.node(
        "Unsqueeze",
        "unsq",
        &["n"],
        &["n1"],
        vec![ints("axes", &[0])],
    );
    g.init(i64_tensor("minus1", &[-1]));
    g.node(
        "Concat",
        "shcat",
        &["n1", "minus1"],
        &["target"],
        vec![int("axis", 0)],
    );
    g.node("Reshape", "flat", &["g", "target"], &["f"], vec![]);
    g.init(ones("fc_w", &[10, 32]));
    g.node("Gemm", "fc", &["f", "fc_w"], &["y"], vec![int("transB", 1)]);
    g.output("y");
    g
}

/// A fresh, empty directory for one test, removed with everything in it when dropped (keep
/// the value alive while the test uses the folder).
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("ember-test-")
        .tempdir()
        .expect("a temp dir")
}

/// A LeNet-style model: a 5x5 convolution (pad 2) on a 28x28 image, 2x2 max-pooling to 14x14,
/// a flatten and two fully connected layers (the first covers the whole 6x14x14 map, R = S =
/// 14: taller than a 12-row array and wider than a 12-word ifmap spad).
pub fn lenet() -> Graph {
    let mut g = Graph::new("lenet", &[1, 1, 28, 28]);
    g.conv(
        "conv1",
        "x",
        "c1",
        [6, 1, 5, 5],
        vec![ints("pads", &[2, 2, 2, 2])],
    );
    g.node("Relu", "relu1", &["c1"], &["r1"], vec![]);
    g.node(
        "MaxPool",
        "pool1",
        &["r1"],
        &["p1"],
        vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
    );
    g.node("Flatten", "flat", &["p1"], &["f"], vec![int("axis", 1)]);
    g.init(ones("fc1_w", &[120, 6 * 14 * 14]));
    g.node(
        "Gemm",
        "fc1",
        &["f", "fc1_w"],
        &["h1"],
        vec![int("transB", 1)],
    );
    g.node("Relu", "relu2", &["h1"], &["r2"], vec![]);
    g.init(ones("fc2_w", &[10, 120]));
    g.node(
        "Gemm",
        "fc2",
        &["r2", "fc2_w"],
        &["y"],
        vec![int("transB", 1)],
    );
    g.output("y");
    g
}

/// Every model the tests ship, by name.
pub fn models() -> Vec<(&'static str, Graph)> {
    vec![("sample", sample()), ("lenet", lenet())]
}
