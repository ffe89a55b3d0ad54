//! The inputs a front end without files hands `ember-explore` (the Python package): shipped
//! configs by name, ONNX bytes, a list of layer tables, measured densities, and validate on
//! loaded inputs. Each is checked against the file-based path the CLI takes.

mod common;

use std::path::{Path, PathBuf};

use common::{ok, s, scratch_dir};
use ember_estimator::{Hardware, Objective};
use ember_explore::{
    hardware_named, import_onnx_bytes, network_from_layers, set_densities, set_sparsity_preset,
    simulate, validate, validate_loaded, Densities, SimOptions, ValidateRequest, Workload,
    SHIPPED_HARDWARE,
};
use ember_sim::Network;

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

#[test]
fn every_shipped_config_is_embedded_byte_for_byte_and_named_by_its_stem() {
    let mut files: Vec<String> = std::fs::read_dir("hw_configs")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut names: Vec<String> = SHIPPED_HARDWARE
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    names.sort();
    assert_eq!(
        names, files,
        "SHIPPED_HARDWARE lists every hw_configs/*.toml"
    );
    let net = Network::load(Path::new("traces/alexnet.toml")).unwrap();
    for (name, text) in SHIPPED_HARDWARE {
        let path = PathBuf::from(format!("hw_configs/{name}.toml"));
        assert_eq!(text, std::fs::read_to_string(&path).unwrap(), "{name}");
        let named = hardware_named(name).unwrap();
        let file = Hardware::load(&path).unwrap();
        let opts = SimOptions::default();
        let a = simulate(net.clone(), named, &opts).unwrap();
        let b = simulate(net.clone(), file, &opts).unwrap();
        assert_eq!(json(&a), json(&b), "{name}");
    }
    // A path is a path; an unknown name is the CLI's missing-file error.
    assert_eq!(
        hardware_named("hw_configs/eyeriss-v1.toml")
            .unwrap()
            .arch
            .name,
        "eyeriss-v1"
    );
    let e = hardware_named("eyeriss-v9").unwrap_err().to_string();
    let cli = common::ember(&["sim", "--hw", "eyeriss-v9"]);
    assert!(
        String::from_utf8_lossy(&cli.stderr).contains(&e),
        "{e} / {}",
        String::from_utf8_lossy(&cli.stderr)
    );
}

#[test]
fn a_list_of_layer_tables_is_the_trace_it_came_from() {
    for trace in [
        "traces/alexnet.toml",
        "traces/mobilenet_v1.toml",
        "traces/googlenet.toml",
    ] {
        let net = Network::load(Path::new(trace)).unwrap();
        // Layers serialise with a trace's keys; chained ofmap densities are explicit here.
        let layers = serde_json::to_string(&net.layers).unwrap();
        let back = network_from_layers(&net.name, &layers).unwrap();
        assert_eq!(back.layers, net.layers, "{trace}");
        assert_eq!(back.name, net.name);
    }
    // The trace's rules and defaults apply: r, s default to an FC's h, w; densities to 1.
    let fc = network_from_layers(
        "tiny",
        r#"[{"name": "fc", "kind": "fc", "c": 4, "h": 3, "w": 3, "m": 10, "weight_density": 0.5}]"#,
    )
    .unwrap();
    let l = &fc.layers[0];
    assert_eq!(
        (l.r, l.s, l.weight_density, l.ifmap_density),
        (3, 3, 0.5, 1.0)
    );
}

#[test]
fn a_bad_layer_list_names_the_layer_key_and_fix() {
    let e = network_from_layers(
        "tiny",
        r#"[{"name": "a", "c": 3, "h": 8, "w": 8, "m": 4, "r": 3}, {"name": "b", "c": 4, "h": 6, "w": 6, "m": 0, "r": 3}]"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("layer[1].m (`b`)"), "{e}");
    assert!(e.contains("every dimension must be at least 1"), "{e}");
    assert!(e.contains("fix:"), "{e}");
    let e = network_from_layers(
        "tiny",
        r#"[{"name": "a", "c": 3, "h": 8, "w": 8, "m": 4, "colour": 1}]"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("tiny: layer[0]: unknown field `colour`"),
        "{e}"
    );
    assert!(e.contains("fix:"), "{e}");
    let e = network_from_layers("tiny", "{}").unwrap_err().to_string();
    assert!(e.starts_with("tiny: invalid type"), "{e}");
}

#[test]
fn densities_set_one_layer_and_are_checked() {
    let mut net = Network::load(Path::new("traces/alexnet.toml")).unwrap();
    let before = net.clone();
    let d = Densities {
        weight: Some(0.5),
        ifmap: Some(0.25),
        ofmap: None,
    };
    set_densities(&mut net, "CONV2", &d).unwrap();
    let i = net.layers.iter().position(|l| l.name == "CONV2").unwrap();
    assert_eq!(net.layers[i].weight_density, 0.5);
    assert_eq!(net.layers[i].ifmap_density, 0.25);
    assert_eq!(net.layers[i].ofmap_density, before.layers[i].ofmap_density);
    for (j, l) in net.layers.iter().enumerate() {
        if j != i {
            assert_eq!(l, &before.layers[j]);
        }
    }
    // Setting a trace's own densities changes nothing: the same network as loaded.
    let mut same = before.clone();
    let l = &before.layers[i];
    let own = Densities {
        weight: Some(l.weight_density),
        ifmap: Some(l.ifmap_density),
        ofmap: Some(l.ofmap_density),
    };
    set_densities(&mut same, "CONV2", &own).unwrap();
    assert_eq!(same, before);

    let e = set_densities(&mut net, "conv9", &d)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no such layer") && e.contains("CONV1, CONV2"),
        "{e}"
    );
    for bad in [0.0, 1.5, f64::NAN] {
        let e = set_densities(
            &mut net,
            "CONV1",
            &Densities {
                weight: Some(bad),
                ..Densities::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`weight_density`") && e.contains("outside (0, 1]"),
            "{e}"
        );
    }
}

#[test]
fn onnx_bytes_import_as_the_file_does() {
    let tmp = scratch_dir("onnx-bytes");
    let onnx = tmp.path().join("lenet5.onnx");
    let model = tmp.path().join("lenet5");
    let data = "pruner/tests/fixtures/fashion-mnist-small";
    ok(&[
        "train",
        "--model",
        "lenet5",
        "--epochs",
        "1",
        "--data",
        data,
        "--out",
        s(&model),
    ]);
    ok(&["export", "--model", s(&model), "--out", s(&onnx)]);
    let bytes = std::fs::read(&onnx).unwrap();
    let from_bytes = import_onnx_bytes(&bytes, "lenet5", None).unwrap();
    let from_file = Workload::file(&onnx).load(None).unwrap();
    assert_eq!(from_bytes.network.layers, from_file.network.layers);
    let shaped = import_onnx_bytes(&bytes, "lenet5", Some("1x28x28")).unwrap();
    assert_eq!(shaped.network.layers, from_file.network.layers);
    let e = import_onnx_bytes(b"not a model", "junk", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("junk"), "{e}");
    let e = import_onnx_bytes(&bytes, "lenet5", Some("2x1x28x28"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("N is not a batch size"), "{e}");
}

#[test]
fn validate_on_loaded_inputs_is_validate() {
    let req = ValidateRequest {
        objective: Objective::Energy,
        ..ValidateRequest::default()
    };
    let a = validate(&req).unwrap();
    let hw = hardware_named("eyeriss-v1").unwrap();
    let net = Workload::default().load(None).unwrap().network;
    let b = validate_loaded(&hw, &net, None, Objective::Energy).unwrap();
    assert_eq!(json(&a), json(&b));
}

#[test]
fn a_sparsity_preset_is_the_config_written_with_it() {
    let text = std::fs::read_to_string("hw_configs/eyeriss-v1.toml").unwrap();
    let edited = text.replace("preset = \"chip\"", "preset = \"eap\"");
    assert_ne!(edited, text);
    let want = Hardware::parse(Path::new("hw_configs/eyeriss-v1.toml"), &edited).unwrap();
    let mut hw = hardware_named("eyeriss-v1").unwrap();
    set_sparsity_preset(&mut hw, "eap").unwrap();
    assert_eq!(hw.sparsity, want.sparsity);
    let net = Network::load(Path::new("traces/alexnet.toml")).unwrap();
    let opts = SimOptions::default();
    assert_eq!(
        json(&simulate(net.clone(), hw.clone(), &opts).unwrap()),
        json(&simulate(net, want, &opts).unwrap())
    );
    let e = set_sparsity_preset(&mut hw, "sparse")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`sparse`") && e.contains("fix: give `none`, `chip`, `eap` or `csc`"),
        "{e}"
    );
}
