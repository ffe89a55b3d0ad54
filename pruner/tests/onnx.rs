//! ONNX export and import of executable networks: every built-in model goes
//! out and back with the same outputs, and the accelerator model's importer
//! reads the exported file with the same layer shapes.

use std::path::Path;

use ember_pruner::model::onnx::{export, import};
use ember_pruner::model::zoo;
use ember_pruner::{Network, PrunerError};
use ndarray::Array4;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn images(n: usize, seed: u64) -> Array4<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array4::from_shape_fn((n, 28, 28, 1), |_| rng.random_range(0.0f32..1.0))
}

#[test]
fn every_built_in_model_round_trips() {
    for name in zoo::MODEL_NAMES {
        let mut net = Network::new(zoo::by_name(name).unwrap(), 5).unwrap();
        // Non-trivial batch-norm statistics and a pruned weight.
        for bn in net.batch_norms_mut() {
            bn.running_mean.mapv_inplace(|_| 0.1);
            bn.running_var.mapv_inplace(|_| 2.0);
        }
        let first = net.layer_shapes()[0].name.clone();
        let w = net
            .param(&format!("{first}.weight"))
            .unwrap()
            .value()
            .clone();
        let mut mask = w.mapv(|_| 1.0f32);
        mask.as_slice_mut().unwrap()[0] = 0.0;
        net.set_mask(&format!("{first}.weight"), Some(mask))
            .unwrap();

        let bytes = export(&net);
        let back = import(&bytes, Path::new("m.onnx")).unwrap();
        assert!(!back.softmax);
        let mut net2 = back.network().unwrap();
        let x = images(5, 1);
        assert_eq!(
            net.forward(x.clone(), false).unwrap(),
            net2.forward(x, false).unwrap(),
            "{name}: outputs after export and import"
        );
        // Parameter names stay PyTorch's state-dict names.
        let names = |n: &Network| n.params().into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(names(&net), names(&net2), "{name}");
        // The simulator's importer sees the same conv/fc layers.
        let sim = ember_onnx::import_bytes(&bytes, name, None)
            .unwrap()
            .network;
        let shapes = net.layer_shapes();
        assert_eq!(sim.layers.len(), shapes.len(), "{name}");
        for (l, s) in sim.layers.iter().zip(&shapes) {
            assert_eq!(l.macs(1), s.macs() as u64, "{name} {}", s.name);
        }
        // Writing the pruned model back into the imported graph keeps it.
        let again = import(&back.write_pruned(&net2), Path::new("m.onnx")).unwrap();
        assert_eq!(again.tensors, back.tensors, "{name}");
    }
}

#[test]
fn unsupported_operators_are_listed_by_node() {
    use ember_onnx::proto::{Message, NodeProto};
    let net = Network::new(zoo::lenet5(), 1).unwrap();
    let mut model = ember_onnx::proto::ModelProto::decode(export(&net).as_slice()).unwrap();
    let g = model.graph.as_mut().unwrap();
    g.node[1].op_type = "Tanh".into();
    g.node[1].name = "act1".into();
    g.node.push(NodeProto {
        op_type: "LRN".into(),
        name: "norm9".into(),
        ..NodeProto::default()
    });
    let err = import(&model.encode_to_vec(), Path::new("x.onnx")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PrunerError::Onnx { .. }));
    assert!(
        msg.contains("x.onnx")
            && msg.contains("LRN (nodes norm9)")
            && msg.contains("Tanh (nodes act1)"),
        "{msg}"
    );
}
