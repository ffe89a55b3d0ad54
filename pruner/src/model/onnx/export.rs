//! A network as an ONNX model (opset 13), for PyTorch and onnxruntime.

use ember_onnx::proto::{
    attribute_type, data_type, tensor_shape_proto::dimension::Value as Dim,
    tensor_shape_proto::Dimension, type_proto, AttributeProto, GraphProto, Message, ModelProto,
    NodeProto, OperatorSetIdProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

use super::initializer;
use crate::model::{LayerSpec, Src};
use crate::nn::Network;

/// The graph input's name; the output is `logits`.
const INPUT_NAME: &str = "input";
const OUTPUT_NAME: &str = "logits";

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: attribute_type::INTS,
        ..AttributeProto::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: v,
        r#type: attribute_type::INT,
        ..AttributeProto::default()
    }
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: v,
        r#type: attribute_type::FLOAT,
        ..AttributeProto::default()
    }
}

fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(v) => Dim::DimValue(*v as i64),
                None => Dim::DimParam("N".into()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(type_proto::Tensor {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
    }
}

fn node(
    op: &str,
    name: &str,
    inputs: Vec<String>,
    output: &str,
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: inputs,
        output: vec![output.to_string()],
        name: name.to_string(),
        op_type: op.to_string(),
        attribute,
        domain: String::new(),
    }
}

/// The network as ONNX bytes: NCHW input `input` `[N, C, H, W]` (N free),
/// output `logits` `[N, classes]`, initializers under PyTorch's
/// state-dict names (`conv1.weight`, `bn1.running_mean`). Batch norm stays a
/// BatchNormalization node (inference mode), as PyTorch exports it.
pub fn export(net: &Network) -> Vec<u8> {
    let arch = net.arch();
    let n_nodes = arch.layers.len();
    let outs: Vec<String> = (0..n_nodes)
        .map(|i| match (i + 1 == n_nodes, arch.layers[i].name()) {
            (true, _) => OUTPUT_NAME.to_string(),
            (false, Some(n)) => n.to_string(),
            (false, None) => format!("t{i}"),
        })
        .collect();
    let mut nodes = Vec::new();
    for (i, spec) in arch.layers.iter().enumerate() {
        let ins: Vec<String> = net
            .sources(i)
            .iter()
            .map(|s| match *s {
                Src::Input => INPUT_NAME.to_string(),
                Src::Node(j) => outs[j].clone(),
            })
            .collect();
        let out = &outs[i];
        let label = spec
            .name()
            .map_or_else(|| format!("node{i}"), str::to_string);
        let with = |extra: &[&str]| {
            let mut v = ins.clone();
            v.extend(extra.iter().map(|e| format!("{label}.{e}")));
            v
        };
        match spec {
            LayerSpec::Conv2d {
                kernel_size: [r, s],
                stride,
                padding,
                groups,
                ..
            } => {
                let (st, p) = (*stride as i64, *padding as i64);
                nodes.push(node(
                    "Conv",
                    &label,
                    with(&["weight", "bias"]),
                    out,
                    vec![
                        ints("kernel_shape", &[*r as i64, *s as i64]),
                        ints("strides", &[st, st]),
                        ints("pads", &[p, p, p, p]),
                        ints("dilations", &[1, 1]),
                        int("group", *groups as i64),
                    ],
                ));
            }
            LayerSpec::BatchNorm2d { .. } => nodes.push(node(
                "BatchNormalization",
                &label,
                with(&["weight", "bias", "running_mean", "running_var"]),
                out,
                vec![float("epsilon", 1e-5), float("momentum", 0.9)],
            )),
            LayerSpec::Relu { .. } => nodes.push(node("Relu", &label, ins, out, vec![])),
            LayerSpec::MaxPool2d {
                kernel_size,
                stride,
                padding,
                ..
            } => {
                let (k, st, p) = (*kernel_size as i64, *stride as i64, *padding as i64);
                nodes.push(node(
                    "MaxPool",
                    &label,
                    ins,
                    out,
                    vec![
                        ints("kernel_shape", &[k, k]),
                        ints("strides", &[st, st]),
                        ints("pads", &[p, p, p, p]),
                    ],
                ));
            }
            LayerSpec::GlobalAvgPool { .. } => {
                // ONNX keeps [N, C, 1, 1]; Ember's global pool is [N, C].
                let pooled = format!("{out}_nchw");
                nodes.push(node("GlobalAveragePool", &label, ins, &pooled, vec![]));
                nodes.push(node(
                    "Flatten",
                    &format!("{label}_flatten"),
                    vec![pooled],
                    out,
                    vec![int("axis", 1)],
                ));
            }
            LayerSpec::Flatten { .. } => {
                nodes.push(node("Flatten", &label, ins, out, vec![int("axis", 1)]))
            }
            LayerSpec::Linear { .. } => nodes.push(node(
                "Gemm",
                &label,
                with(&["weight", "bias"]),
                out,
                vec![int("transB", 1)],
            )),
            LayerSpec::Concat { .. } => {
                nodes.push(node("Concat", &label, ins, out, vec![int("axis", 1)]))
            }
            LayerSpec::Add { .. } => nodes.push(node("Add", &label, ins, out, vec![])),
        }
    }
    let mut init: Vec<_> = net
        .params()
        .into_iter()
        .map(|(n, p)| initializer(&n, p.value()))
        .collect();
    init.extend(net.buffers().into_iter().map(|(n, v)| initializer(&n, v)));
    let i = arch.input;
    let graph = GraphProto {
        node: nodes,
        name: arch.name.clone(),
        initializer: init,
        input: vec![value_info(
            INPUT_NAME,
            &[None, Some(i.channels), Some(i.height), Some(i.width)],
        )],
        output: vec![value_info(OUTPUT_NAME, &[None, Some(arch.num_classes)])],
        value_info: vec![],
    };
    ModelProto {
        ir_version: 8,
        producer_name: "ember".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        ..ModelProto::default()
    }
    .encode_to_vec()
}
