//! Importer tests on small models built in memory.

mod common;

use std::path::Path;

use common::*;
use ember_onnx::{import_bytes, write_trace, Imported, OnnxError};
use ember_sim::{LayerKind, Network, Pool};

fn run(g: &Graph) -> Imported {
    import_bytes(&g.bytes(), "test", None).unwrap_or_else(|e| panic!("import failed: {e}"))
}

fn layer<'a>(net: &'a Network, name: &str) -> &'a ember_sim::Layer {
    net.layers
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no layer {name}"))
}

/// Every imported network must read back from its own trace unchanged.
fn round_trip(net: &Network) {
    let back =
        Network::parse(Path::new("roundtrip.toml"), &write_trace(net)).expect("trace parses");
    assert_eq!(&back, net);
}

#[test]
fn grouped_conv() {
    let mut g = Graph::new("grouped", &[1, 8, 16, 16]);
    g.conv(
        "g2",
        "x",
        "y",
        [16, 4, 3, 3],
        vec![int("group", 2), ints("pads", &[1, 1, 1, 1])],
    );
    let net = run(&g).network;
    let l = layer(&net, "g2");
    assert_eq!(
        (l.c, l.m, l.h, l.w, l.r, l.s, l.groups, l.pad, l.stride),
        (8, 16, 16, 16, 3, 3, 2, 1, 1)
    );
    assert_eq!(l.macs(1), 16 * 16 * 16 * 4 * 9);
    assert!(net.chain);
    round_trip(&net);
}

#[test]
fn depthwise_conv_with_stride() {
    let mut g = Graph::new("dw", &[1, 8, 15, 15]);
    g.conv(
        "dw",
        "x",
        "y",
        [8, 1, 3, 3],
        vec![
            int("group", 8),
            ints("pads", &[1, 1, 1, 1]),
            ints("strides", &[2, 2]),
        ],
    );
    let net = run(&g).network;
    let l = layer(&net, "dw");
    assert_eq!((l.groups, l.cg(), l.stride, l.e(), l.f()), (8, 1, 2, 8, 8));
    assert_eq!(l.macs(1), 8 * 8 * 8 * 9);
    round_trip(&net);
}

#[test]
fn residual_add() {
    let mut g = Graph::new("res", &[1, 16, 8, 8]);
    g.conv(
        "a",
        "x",
        "a0",
        [16, 16, 3, 3],
        vec![ints("pads", &[1, 1, 1, 1])],
    );
    g.node("Relu", "ra", &["a0"], &["a1"], vec![]);
    g.conv(
        "b",
        "a1",
        "b0",
        [16, 16, 3, 3],
        vec![ints("pads", &[1, 1, 1, 1])],
    );
    g.node("Add", "sum", &["b0", "a1"], &["s"], vec![]);
    g.conv("c", "s", "y", [32, 16, 1, 1], vec![]);
    let imp = run(&g);
    let net = imp.network;
    assert_eq!(
        net.layers
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!((layer(&net, "c").c, layer(&net, "c").h), (16, 8));
    // `c` reads the sum, not `b`'s output alone: not a chain.
    assert!(!net.chain);
    assert!(
        imp.warnings.iter().any(|w| w.contains("1 x Add")),
        "{:?}",
        imp.warnings
    );
    round_trip(&net);
}

#[test]
fn sum_of_three_broadcasts() {
    let mut g = Graph::new("sum", &[1, 4, 8, 8]);
    g.conv("a", "x", "a0", [4, 4, 1, 1], vec![]);
    g.init(ones("bias", &[4, 1, 1]));
    g.node("Sum", "s", &["a0", "x", "bias"], &["s0"], vec![]);
    g.conv("b", "s0", "y", [4, 4, 1, 1], vec![]);
    let net = run(&g).network;
    assert_eq!((layer(&net, "b").c, layer(&net, "b").h), (4, 8));
}

#[test]
fn inception_concat() {
    let g = sample();
    let net = run(&g).network;
    let names: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["stem", "b1", "b2", "dw", "fc"]);
    // 8 (1x1) + 8 (3x3) + 16 (pool branch) channels.
    let dw = layer(&net, "dw");
    assert_eq!((dw.c, dw.m, dw.h, dw.groups), (32, 32, 16, 32));
    // The pool branch reads the stem's pooled output, which has two other readers.
    assert_eq!(layer(&net, "b1").pool, None);
    assert!(!net.chain);
    round_trip(&net);
}

#[test]
fn batchnorm_folded_and_pool_attached() {
    let net = run(&sample()).network;
    let stem = layer(&net, "stem");
    // conv -> BatchNormalization -> Relu -> MaxPool 2/2: the pool belongs to the conv.
    assert_eq!(
        stem.pool,
        Some(Pool {
            kernel: 2,
            stride: 2,
            pad: 0,
            ceil_mode: false
        })
    );
    assert_eq!(stem.out_shape(), (16, 16, 16));
    assert_eq!(layer(&net, "b1").h, 16);
}

#[test]
fn gemm_after_flatten() {
    let mut g = Graph::new("lenet", &[1, 1, 28, 28]);
    g.conv("conv1", "x", "c1", [6, 1, 5, 5], vec![]);
    g.node("Relu", "r1", &["c1"], &["r1"], vec![]);
    g.node(
        "MaxPool",
        "p1",
        &["r1"],
        &["p1"],
        vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
    );
    g.node("Flatten", "flat", &["p1"], &["f"], vec![int("axis", 1)]);
    g.init(ones("fc_w", &[864, 10]));
    g.node("Gemm", "fc", &["f", "fc_w"], &["y"], vec![]);
    let net = run(&g).network;
    let fc = layer(&net, "fc");
    assert_eq!(fc.kind, LayerKind::Fc);
    assert_eq!(
        (fc.c, fc.h, fc.w, fc.r, fc.s, fc.m),
        (6, 12, 12, 12, 12, 10)
    );
    assert_eq!(fc.macs(1), 864 * 10);
    assert!(net.chain, "conv1 -> pool -> flatten -> fc is a chain");
    round_trip(&net);
}

#[test]
fn pytorch_style_flatten_gives_fc() {
    let net = run(&sample()).network;
    let fc = layer(&net, "fc");
    assert_eq!(
        (fc.kind, fc.c, fc.h, fc.w, fc.m),
        (LayerKind::Fc, 32, 1, 1, 10)
    );
}

#[test]
fn matmul_with_2d_initializer() {
    let mut g = Graph::new("mm", &[1, 64]);
    g.init(ones("w", &[64, 32]));
    g.node("MatMul", "", &["x", "w"], &["h"], vec![]);
    g.init(ones("w2", &[32, 5]));
    g.node("MatMul", "head", &["h", "w2"], &["y"], vec![]);
    let net = run(&g).network;
    // A node without a name is named after its output.
    assert_eq!((layer(&net, "h").c, layer(&net, "h").m), (64, 32));
    assert_eq!(layer(&net, "head").macs(1), 32 * 5);
    assert!(net.chain);
}

#[test]
fn pruned_weights_give_density() {
    // 75% zeros, raw_data, and -0.0 counted as zero.
    let mut w = vec![0.0f32; 64];
    for (i, v) in w.iter_mut().enumerate() {
        if i % 4 == 0 {
            *v = 0.5;
        } else if i % 4 == 1 {
            *v = -0.0;
        }
    }
    let mut g = Graph::new("pruned", &[1, 4, 8, 8]);
    g.init(f32_raw("w", &[16, 4, 1, 1], &w));
    g.node("Conv", "c1", &["x", "w"], &["y"], vec![]);
    // float_data storage, half zeros.
    let w2: Vec<f32> = (0..64).map(|i| if i < 32 { 0.0 } else { 1.0 }).collect();
    g.init(f32_data("w2", &[2, 32], &w2));
    g.node("Flatten", "f", &["y"], &["yf"], vec![]);
    g.init(ones("w3", &[1024, 32]));
    g.node("Gemm", "fc", &["yf", "w3"], &["z"], vec![]);
    g.node(
        "Gemm",
        "fc2",
        &["z", "w2"],
        &["out"],
        vec![int("transB", 1)],
    );
    let net = run(&g).network;
    assert_eq!(layer(&net, "c1").weight_density, 0.25);
    assert_eq!(layer(&net, "fc").weight_density, 1.0);
    assert_eq!(layer(&net, "fc2").weight_density, 0.5);
    assert!(write_trace(&net).contains("weight_density = 0.25"));
    round_trip(&net);
}

#[test]
fn all_zero_weights_clamped_with_warning() {
    let mut g = Graph::new("zero", &[1, 2, 4, 4]);
    g.init(f32_raw("w", &[2, 2, 1, 1], &[0.0; 4]));
    g.node("Conv", "c", &["x", "w"], &["y"], vec![]);
    let imp = run(&g);
    // 1/4: the smallest density a layer of four weights can hold.
    assert_eq!(imp.network.layers[0].weight_density, 0.25);
    assert!(imp
        .warnings
        .iter()
        .any(|w| w.contains("every weight is zero")));
}

#[test]
fn unsupported_ops_listed_with_node_names() {
    let mut g = Graph::new("bad", &[1, 3, 8, 8]);
    g.conv("c", "x", "a", [4, 3, 3, 3], vec![]);
    g.node("LSTM", "lstm_1", &["a"], &["b"], vec![]);
    g.node("FancyOp", "fancy_a", &["b"], &["c"], vec![]);
    g.node("FancyOp", "", &["c"], &["d_out"], vec![]);
    let err = import_bytes(&g.bytes(), "bad", None).unwrap_err();
    match &err {
        OnnxError::Unsupported { ops, .. } => {
            assert_eq!(
                ops,
                &[
                    (
                        "FancyOp".to_string(),
                        vec!["fancy_a".to_string(), "d_out".to_string()]
                    ),
                    ("LSTM".to_string(), vec!["lstm_1".to_string()]),
                ]
            );
        }
        other => panic!("wrong error: {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("LSTM (nodes: lstm_1)") && text.contains("FancyOp (nodes: fancy_a, d_out)"),
        "{text}"
    );
}

#[test]
fn foreign_domain_is_unsupported() {
    let mut g = Graph::new("ms", &[1, 3, 8, 8]);
    g.conv("c", "x", "a", [4, 3, 3, 3], vec![]);
    g.node("Relu", "fused", &["a"], &["b"], vec![]);
    g.g.node[1].domain = "com.microsoft".into();
    let err = import_bytes(&g.bytes(), "ms", None).unwrap_err();
    assert!(
        err.to_string()
            .contains("com.microsoft::Relu (nodes: fused)"),
        "{err}"
    );
}

#[test]
fn truncated_and_garbage_bytes_are_errors() {
    let bytes = sample().bytes();
    let mut errors = 0;
    for cut in (1..bytes.len()).step_by(7) {
        if import_bytes(&bytes[..cut], "cut", None).is_err() {
            errors += 1;
        }
    }
    assert!(errors > 0);
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(import_bytes(&garbage, "garbage", None).is_err());
    assert!(matches!(
        import_bytes(&[], "empty", None),
        Err(OnnxError::NoGraph { .. })
    ));
    let half = &bytes[..bytes.len() / 2];
    let err = import_bytes(half, "half", None).unwrap_err();
    // The message names the model it is about.
    assert!(err.to_string().starts_with("half: "), "{err}");
}

#[test]
fn asymmetric_padding_is_exact_in_macs() {
    // TF-style SAME: 3x3 stride 2 on 16x16 pads (0, 1): output 8x8.
    let mut g = Graph::new("asym", &[1, 4, 16, 16]);
    g.conv(
        "a",
        "x",
        "y",
        [8, 4, 3, 3],
        vec![ints("strides", &[2, 2]), ints("pads", &[0, 0, 1, 1])],
    );
    g.conv(
        "b",
        "y",
        "z",
        [8, 8, 3, 3],
        vec![string("auto_pad", "SAME_UPPER")],
    );
    let imp = run(&g);
    let a = layer(&imp.network, "a");
    assert_eq!((a.e(), a.f(), a.pad, a.h), (8, 8, 0, 17));
    assert_eq!(a.macs(1), 8 * 8 * 8 * 4 * 9);
    let b = layer(&imp.network, "b");
    assert_eq!((b.e(), b.pad, b.h), (8, 1, 8));
    assert!(!imp.network.chain);
    assert!(imp.warnings.iter().any(|w| w.contains("not symmetric")));
}

#[test]
fn stride_larger_than_kernel_becomes_subsampled_1x1() {
    let mut g = Graph::new("shortcut", &[1, 64, 15, 15]);
    g.conv(
        "down",
        "x",
        "y",
        [128, 64, 1, 1],
        vec![ints("strides", &[2, 2])],
    );
    let imp = run(&g);
    let l = layer(&imp.network, "down");
    assert_eq!((l.h, l.w, l.stride, l.pad, l.r), (8, 8, 1, 0, 1));
    assert_eq!(l.macs(1), 128 * 8 * 8 * 64);
    round_trip(&imp.network);
}

#[test]
fn dilation_is_an_error() {
    let mut g = Graph::new("dil", &[1, 4, 16, 16]);
    g.conv(
        "d",
        "x",
        "y",
        [4, 4, 3, 3],
        vec![ints("dilations", &[2, 2])],
    );
    let err = import_bytes(&g.bytes(), "dil", None).unwrap_err();
    assert!(
        matches!(&err, OnnxError::Node { node, .. } if node == "d"),
        "{err}"
    );
}

#[test]
fn input_shape_override_and_symbolic_dims() {
    let mut g = Graph::new("sym", &[1, 3, 8, 8]);
    g.g.input[0] = value_info("x", &[None, Some(3), None, None]);
    g.conv("c", "x", "y", [4, 3, 3, 3], vec![]);
    let err = import_bytes(&g.bytes(), "sym", None).unwrap_err();
    assert!(matches!(err, OnnxError::Input { .. }), "{err}");
    let net = import_bytes(&g.bytes(), "sym", Some([2, 3, 32, 24]))
        .unwrap()
        .network;
    assert_eq!(
        (net.layers[0].h, net.layers[0].w, net.layers[0].e()),
        (32, 24, 30)
    );
    // A symbolic batch alone is fine: one image.
    g.g.input[0] = value_info("x", &[None, Some(3), Some(8), Some(8)]);
    let imp = import_bytes(&g.bytes(), "sym", None).unwrap();
    assert!(imp.warnings.iter().any(|w| w.contains("batch")));
}

#[test]
fn ceil_mode_pool_attaches() {
    // 3/2 ceil-mode pooling of 112 -> 56 (55 with floor).
    let mut g = Graph::new("ceil", &[1, 3, 224, 224]);
    g.conv(
        "c",
        "x",
        "a",
        [8, 3, 3, 3],
        vec![ints("strides", &[2, 2]), ints("pads", &[1, 1, 1, 1])],
    );
    g.node(
        "MaxPool",
        "p",
        &["a"],
        &["b"],
        vec![
            ints("kernel_shape", &[3, 3]),
            ints("strides", &[2, 2]),
            int("ceil_mode", 1),
        ],
    );
    g.conv("d", "b", "y", [8, 8, 1, 1], vec![]);
    let net = run(&g).network;
    assert_eq!(net.layers[0].e(), 112);
    assert_eq!(
        net.layers[0].pool,
        Some(Pool {
            kernel: 3,
            stride: 2,
            pad: 0,
            ceil_mode: true
        })
    );
    assert_eq!(net.layers[1].h, 56);
    assert!(net.chain);
    round_trip(&net);
}

#[test]
fn constant_node_and_reshape() {
    let mut g = Graph::new("const", &[1, 2, 4, 4]);
    g.node(
        "Constant",
        "shape",
        &[],
        &["s"],
        vec![tensor_attr("value", i64_tensor("", &[1, 32]))],
    );
    g.node("Reshape", "r", &["x", "s"], &["f"], vec![]);
    g.init(ones("w", &[32, 3]));
    g.node("Gemm", "fc", &["f", "w"], &["y"], vec![]);
    let net = run(&g).network;
    assert_eq!(
        (net.layers[0].c, net.layers[0].h, net.layers[0].w),
        (2, 4, 4)
    );
    // A non-constant target shape is an error naming the node.
    let mut g2 = Graph::new("nonconst", &[1, 2, 4, 4]);
    g2.g.input.push(value_info("s", &[Some(2)]));
    g2.node("Reshape", "r", &["x", "s"], &["f"], vec![]);
    g2.conv("c", "x", "y", [1, 2, 1, 1], vec![]);
    let err = import_bytes(&g2.bytes(), "nonconst", None).unwrap_err();
    assert!(err.to_string().contains("node `r`"), "{err}");
}

#[test]
fn duplicate_node_names_are_made_unique() {
    let mut g = Graph::new("dup", &[1, 2, 4, 4]);
    g.init(ones("w", &[2, 2, 1, 1]));
    g.node("Conv", "conv", &["x", "w"], &["a"], vec![]);
    g.node("Conv", "conv", &["a", "w"], &["b"], vec![]);
    let net = run(&g).network;
    assert_eq!(net.layers[1].name, "conv_2");
    round_trip(&net);
}

#[test]
fn no_layers_and_cycles_are_errors() {
    let mut g = Graph::new("relu", &[1, 2, 4, 4]);
    g.node("Relu", "r", &["x"], &["y"], vec![]);
    assert!(matches!(
        import_bytes(&g.bytes(), "relu", None),
        Err(OnnxError::NoLayers { .. })
    ));
    let mut g = Graph::new("cycle", &[1, 2, 4, 4]);
    g.node("Add", "a", &["x", "b"], &["a"], vec![]);
    g.node("Relu", "b", &["a"], &["b"], vec![]);
    g.conv("c", "a", "y", [1, 2, 1, 1], vec![]);
    assert!(matches!(
        import_bytes(&g.bytes(), "cycle", None),
        Err(OnnxError::Graph { .. })
    ));
}

#[test]
fn nodes_out_of_order_are_sorted() {
    let mut g = Graph::new("order", &[1, 2, 4, 4]);
    g.init(ones("w", &[2, 2, 1, 1]));
    g.node("Conv", "second", &["a", "w"], &["b"], vec![]);
    g.node("Conv", "first", &["x", "w"], &["a"], vec![]);
    let net = run(&g).network;
    assert_eq!(net.layers[0].name, "first");
    assert!(net.chain);
}

#[test]
fn bad_tensor_data_is_a_typed_error() {
    let mut g = Graph::new("short", &[1, 2, 4, 4]);
    g.init(f32_raw("w", &[2, 2, 1, 1], &[1.0; 3]));
    g.node("Conv", "c", &["x", "w"], &["y"], vec![]);
    assert!(matches!(
        import_bytes(&g.bytes(), "short", None),
        Err(OnnxError::Tensor { .. })
    ));
}

#[test]
fn import_from_a_file() {
    let dir = common::scratch_dir();
    let path = dir.path().join("sample.onnx");
    std::fs::write(&path, sample().bytes()).unwrap();
    let net = ember_onnx::import(&path, None).unwrap();
    assert_eq!(net.name, "sample");
    assert!(net.source.contains("sample"));
    let total: u64 = net.layers.iter().map(|l| l.macs(1)).sum();
    // stem 3x3 over 32x32, b1 1x1 and b2 3x3 over the 16x16 pooled stem, dw 3x3 depthwise,
    // fc 32 -> 10 (see `common::sample`).
    let expect =
        16 * 32 * 32 * 3 * 9 + 8 * 16 * 16 * 16 + 8 * 16 * 16 * 16 * 9 + 32 * 16 * 16 * 9 + 32 * 10;
    assert_eq!(total, expect);
    let missing = ember_onnx::import(&dir.path().join("nope.onnx"), None).unwrap_err();
    assert!(matches!(missing, OnnxError::Io { .. }));
}

#[test]
fn input_shape_parsing() {
    assert_eq!(
        ember_onnx::parse_input_shape("1x3x227x227"),
        Some([1, 3, 227, 227])
    );
    assert_eq!(ember_onnx::parse_input_shape("1x3x227"), None);
    assert_eq!(ember_onnx::parse_input_shape("1xax2x2"), None);
}

#[test]
fn control_characters_in_names_still_give_a_valid_trace() {
    let mut g = Graph::new("two\nlines", &[1, 2, 4, 4]);
    g.init(ones("w", &[2, 2, 1, 1]));
    g.node("Conv", "conv\u{7}\nx", &["x", "w"], &["a"], vec![]);
    let net = run(&g).network;
    assert_eq!(net.name, "two lines");
    round_trip(&net);
}
