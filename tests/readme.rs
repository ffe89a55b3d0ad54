//! The README stays true: its sample of the default run is what `ember` prints now.

use std::process::Command;

#[test]
fn readme_shows_the_current_default_table() {
    let out = Command::new(env!("CARGO_BIN_EXE_ember"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    let table = String::from_utf8(out.stdout).unwrap();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&table),
        "README's sample differs from `cargo run --release`; paste the new output"
    );
    assert!(readme.contains("cargo test --workspace --release"));
}
