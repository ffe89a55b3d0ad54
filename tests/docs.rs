//! The README against the code: every hardware key is documented, every file its examples name
//! is shipped, every flag of `train` and `prune` is in its synopsis, and no crate is still
//! described as unfinished (issue 11, item 11).

mod common;

use std::path::Path;

use common::ok;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The lines of the README's hardware table (`| [table] | keys |`).
fn hw_table(text: &str) -> Vec<&str> {
    let start = text.find("| table | keys |").expect("the hardware table");
    text[start..]
        .lines()
        .take_while(|l| l.starts_with('|'))
        .collect()
}

/// Every key a hardware config accepts appears in the README's table, in the row of its
/// section. The keys come from the config types themselves (serialised with every optional
/// field set), so a new key cannot be forgotten.
#[test]
fn every_hardware_key_is_documented() {
    let text = readme();
    let rows = hw_table(&text);
    let hw = ember_estimator::Hardware::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("hw_configs/eyeriss-v1.toml"),
    )
    .unwrap();
    let mut arch = toml::Value::try_from(&hw.arch).unwrap();
    arch["noc"]["psum_out_bus_bits"] = toml::Value::Integer(64);
    // The level list is documented by its own row (below); the Eyeriss levels the sections
    // imply are not serialised.
    assert!(arch.get("levels").is_none());
    let energy = toml::Value::try_from(&hw.energy).unwrap();
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for (name, v) in arch.as_table().unwrap() {
        match v.as_table() {
            Some(t) => sections.push((name.clone(), t.keys().cloned().collect())),
            None => sections.push((String::new(), vec![name.clone()])),
        }
    }
    // The fixed keys and one price per level, by the level's name (serialised as keys of the
    // table), each a number or a table of actions.
    let mut energy_keys: Vec<String> = energy.as_table().unwrap().keys().cloned().collect();
    energy_keys.extend(["read", "write", "gated_read", "gated_write"].map(String::from));
    sections.push(("energy".into(), energy_keys.clone()));
    sections.push(("energy_pj".into(), vec![]));
    sections.push((String::new(), vec!["description".into()]));
    sections.push((
        "[level]".into(),
        ["name", "label", "kind", "dram", "buffer", "network", "pe"]
            .map(String::from)
            .to_vec(),
    ));
    let mut missing = Vec::new();
    for (section, keys) in &sections {
        let row = if section.is_empty() {
            rows.iter().find(|r| r.starts_with("| top level"))
        } else {
            rows.iter()
                .find(|r| r.starts_with(&format!("| `[{section}]`")))
        };
        let Some(row) = row else {
            missing.push(format!("[{section}] (no row)"));
            continue;
        };
        for k in keys {
            if !row.contains(&format!("`{k}`")) {
                missing.push(format!("[{section}] {k}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "undocumented hardware keys: {missing:?}"
    );
}

/// Every `--hw`, `--net`, `--space` and `--measured` path an example command gives is shipped
/// (placeholders in capitals and files the example itself writes aside).
#[test]
fn files_named_by_examples_exist() {
    let text = readme();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut written = std::collections::HashSet::new();
    let mut missing = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("ember ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            let (flag, arg) = (pair[0], pair[1].trim_end_matches('\\'));
            if ["--out", "--trace-out", "--plot", "--trace"].contains(&flag) {
                written.insert(arg.to_string());
            }
            let input = ["--hw", "--net", "--space", "--measured"].contains(&flag);
            let placeholder = arg.chars().any(|c| c.is_ascii_uppercase()) || arg.contains('$');
            if input && !placeholder && !written.contains(arg) && !root.join(arg).exists() {
                missing.push(format!("{flag} {arg}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "README examples name files that are not shipped: {missing:?}"
    );
}

/// Every flag `train --help` and `prune --help` list appears in the README's synopsis.
#[test]
fn train_and_prune_synopses_list_every_flag() {
    let text = readme();
    let start = text.find("ember train --model").expect("synopsis");
    let synopsis = &text[start..start + text[start..].find("```").unwrap()];
    let mut missing = Vec::new();
    for cmd in ["train", "prune"] {
        for w in ok(&[cmd, "--help"]).split_whitespace() {
            let flag = w.trim_end_matches([',', '.']);
            if flag.starts_with("--") && flag != "--help" && !synopsis.contains(flag) {
                missing.push(format!("{cmd} {flag}"));
            }
        }
    }
    missing.dedup();
    assert!(
        missing.is_empty(),
        "flags missing from the README synopsis: {missing:?}"
    );
}

/// The intro describes what ships: no crate is "in progress".
#[test]
fn intro_describes_no_crate_as_unfinished() {
    let text = readme();
    let intro = &text[..text.find("## Two commands").unwrap()];
    assert!(!intro.contains("in progress"), "{intro}");
}

/// `--net` takes a trace or an ONNX model in every command that has it, and its help says so.
#[test]
fn net_help_mentions_onnx_everywhere() {
    for cmd in ["sim", "compare", "sweep", "validate"] {
        let help = ok(&[cmd, "--help"]);
        let at = help.find("--net").expect("--net");
        let desc = &help[at..at + help[at..].find("\n      --").unwrap_or(200)];
        assert!(desc.contains("ONNX"), "{cmd} --net: {desc}");
    }
}
