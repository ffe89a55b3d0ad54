//! Architecture TOML and safetensors model files.

use ember_pruner::model::{
    load_model, save_model, zoo, Architecture, LayerKind, ARCH_FILE, MASKS_FILE, WEIGHTS_FILE,
};
use ember_pruner::{Network, PrunerError};
use ndarray::ArrayD;

#[test]
fn architecture_toml_round_trip_and_strictness() {
    for name in zoo::MODEL_NAMES {
        let arch = zoo::by_name(name).unwrap();
        let text = arch.to_toml().unwrap();
        assert_eq!(
            Architecture::from_toml(&text, "x.toml".as_ref()).unwrap(),
            arch
        );
    }
    let text = zoo::lenet5()
        .to_toml()
        .unwrap()
        .replace("padding = 2", "padding = 2\nbogus = 1");
    let err = Architecture::from_toml(&text, "x.toml".as_ref()).unwrap_err();
    assert!(
        matches!(err, PrunerError::ArchFile { .. }) && err.to_string().contains("bogus"),
        "{err}"
    );

    // Parses, but the shapes do not chain.
    let text = zoo::lenet5()
        .to_toml()
        .unwrap()
        .replace("in_features = 400", "in_features = 401");
    let err = Architecture::from_toml(&text, "x.toml".as_ref()).unwrap_err();
    assert!(err.to_string().contains("in_features 401"), "{err}");
}

#[test]
fn layer_shapes_of_lenet5() {
    let shapes = Network::new(zoo::lenet5(), 0).unwrap().layer_shapes();
    let names: Vec<&str> = shapes.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["conv1", "conv2", "fc1", "fc2", "fc3"]);
    let c2 = &shapes[1];
    assert_eq!(
        (c2.kind, c2.c_in, c2.m_out, c2.h_in, c2.w_in, c2.r, c2.s),
        (LayerKind::Conv, 6, 16, 14, 14, 5, 5)
    );
    assert_eq!((c2.h_out(), c2.w_out()), (10, 10));
    assert_eq!(shapes[0].h_out(), 28); // padding 2 keeps 28x28
                                       // A fully connected layer is a convolution over its whole input map:
                                       // fc1 reads the flattened 16 x 5 x 5 map with a 5 x 5 filter (400 MACs
                                       // per output), fc2 reads 120 features on a 1 x 1 map.
    let f1 = &shapes[2];
    assert_eq!(
        (f1.kind, f1.c_in, f1.m_out, f1.h_in, f1.w_in, f1.r, f1.s),
        (LayerKind::Fc, 16, 120, 5, 5, 5, 5)
    );
    assert_eq!(
        (f1.h_out(), f1.w_out(), f1.macs(), f1.weights()),
        (1, 1, 48_000, 48_000)
    );
    let f2 = &shapes[3];
    assert_eq!(
        (f2.kind, f2.c_in, f2.m_out, f2.h_in, f2.r),
        (LayerKind::Fc, 120, 84, 1, 1)
    );
}

#[test]
fn safetensors_round_trip_with_masks() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = Network::new(zoo::lenet5(), 3).unwrap();
    let w = net.param("conv2.weight").unwrap().value().clone();
    let mask = ArrayD::from_shape_fn(w.raw_dim(), |i| {
        ((i[0] + i[1] + i[2]) % 3 != 0) as u8 as f32
    });
    net.set_mask("conv2.weight", Some(mask.clone())).unwrap();
    save_model(&net, dir.path()).unwrap();
    for f in [ARCH_FILE, WEIGHTS_FILE, MASKS_FILE] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let back = load_model(dir.path()).unwrap();
    assert_eq!(back.arch(), net.arch());
    for ((n1, p1), (n2, p2)) in net.params().iter().zip(back.params().iter()) {
        assert_eq!(n1, n2);
        assert_eq!(p1.value(), p2.value(), "{n1}");
        assert_eq!(p1.mask(), p2.mask(), "{n1}");
    }
    assert_eq!(
        back.param("conv2.weight").unwrap().value().shape(),
        &[16, 6, 5, 5]
    ); // OIHW

    // Saving without masks removes the stale mask file.
    net.set_mask("conv2.weight", None).unwrap();
    save_model(&net, dir.path()).unwrap();
    assert!(!dir.path().join(MASKS_FILE).exists());
    assert!(load_model(dir.path())
        .unwrap()
        .params()
        .iter()
        .all(|(_, p)| p.mask().is_none()));
}

#[test]
fn mismatched_weights_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    save_model(&Network::new(zoo::vgg_mini(), 0).unwrap(), dir.path()).unwrap();
    // lenet5's architecture next to vgg-mini's weights.
    std::fs::write(dir.path().join(ARCH_FILE), zoo::lenet5().to_toml().unwrap()).unwrap();
    let msg = load_model(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains(WEIGHTS_FILE) && msg.contains("conv1.weight") && msg.contains("shape"),
        "{msg}"
    );

    let wpath = dir.path().join(WEIGHTS_FILE);
    let bytes = std::fs::read(&wpath).unwrap();
    std::fs::write(&wpath, &bytes[..bytes.len() - 100]).unwrap();
    let err = load_model(dir.path()).unwrap_err();
    assert!(matches!(err, PrunerError::Safetensors { .. }), "{err}");
    std::fs::write(&wpath, b"garbage").unwrap();
    assert!(load_model(dir.path())
        .unwrap_err()
        .to_string()
        .contains(WEIGHTS_FILE));
}

#[test]
fn bad_masks_are_rejected() {
    let mut net = Network::new(zoo::lenet5(), 0).unwrap();
    let half = ArrayD::from_elem(vec![6, 1, 5, 5], 0.5f32);
    assert!(net.set_mask("conv1.weight", Some(half)).is_err());
    let wrong = ArrayD::from_elem(vec![6, 1, 5], 1.0f32);
    assert!(net.set_mask("conv1.weight", Some(wrong)).is_err());
    assert!(net.set_mask("nope.weight", None).is_err());
}

/// A graph model with batch norm round-trips: parameters, running
/// statistics and the batch counter (as I64, PyTorch's dtype), so the
/// reloaded model infers the same bytes.
#[test]
fn batch_norm_model_round_trip() {
    use ember_pruner::{train, Dataset, TrainConfig};
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fashion-mnist-small");
    let mut data = Dataset::load(&fixture, 0.25).unwrap();
    data.train = data.train.head(64);
    let mut net = Network::new(zoo::resnet_mini(), 4).unwrap();
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: 32,
        ..TrainConfig::default()
    };
    train(&mut net, &data, &cfg, |_| {}).unwrap();
    save_model(&net, dir.path()).unwrap();
    let mut back = load_model(dir.path()).unwrap();
    let x = data.val.head(8).images;
    assert_eq!(
        net.forward(x.clone(), false).unwrap(),
        back.forward(x, false).unwrap()
    );
    let bn = |n: &mut Network| {
        let b = &n.batch_norms_mut()[0];
        (
            b.running_mean.clone(),
            b.running_var.clone(),
            b.batches_tracked,
        )
    };
    let (m, v, k) = bn(&mut net);
    assert_eq!(k, 2, "two batches of 32");
    assert!(m.iter().any(|&x| x != 0.0) && v.iter().any(|&x| x != 1.0));
    assert_eq!(bn(&mut back), (m, v, k));
    let st = safetensors::SafeTensors::deserialize(
        &std::fs::read(dir.path().join("model.safetensors")).unwrap(),
    )
    .unwrap()
    .tensor("bn1.num_batches_tracked")
    .unwrap()
    .dtype();
    assert_eq!(st, safetensors::Dtype::I64);
}

/// Graph mistakes are errors that name the layer and the rule: a source
/// that is no earlier node, a concat of one input, an add of two shapes, a
/// repeated name.
#[test]
fn graph_errors_name_the_layer() {
    let base = zoo::resnet_mini().to_toml().unwrap();
    let cases = [
        (
            base.replacen(
                "inputs = [\"layer1_bn2\", \"pool1\"]",
                "inputs = [\"layer1_bn2\", \"nowhere\"]",
                1,
            ),
            "reads \"nowhere\", which is no earlier node's name",
        ),
        (
            base.replacen(
                "inputs = [\"layer1_bn2\", \"pool1\"]",
                "inputs = [\"layer1_bn2\"]",
                1,
            ),
            "add needs at least two inputs",
        ),
        (
            base.replacen(
                "inputs = [\"layer2_bn2\", \"layer2_shortcut_bn\"]",
                "inputs = [\"layer2_bn2\", \"layer1\"]",
                1,
            ),
            "shapes differ",
        ),
        (
            base.replacen("name = \"bn1\"", "name = \"conv1\"", 1),
            "repeated",
        ),
    ];
    for (text, want) in cases {
        assert_ne!(text, base, "the case edits the file");
        let err = Architecture::from_toml(&text, "m.toml".as_ref())
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.toml") && err.contains(want), "{err}");
    }
}
