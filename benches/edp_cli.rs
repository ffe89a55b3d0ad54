//! Whole `ember sim --objective edp --format json` commands, as a user runs them (process
//! start, loading, every layer's search, JSON out): this build against another one given by
//! `EMBER_OLD_BIN` (e.g. a release build of main), in the same run, after checking that both
//! print the same bytes. Targets (fidelity II issue, item 2): AlexNet batch 4 (the embedded
//! default) < 50 ms, VGG-16 batch 64 < 1 s. Without `EMBER_OLD_BIN` only this build is timed.

use std::path::Path;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};

/// The JSON `bin` prints for `ember sim --objective edp --format json` with `args`.
fn run(bin: &Path, args: &[String]) -> Vec<u8> {
    let out = Command::new(bin)
        .args(["sim", "--objective", "edp", "--format", "json"])
        .args(args)
        .output()
        .expect("ember runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn edp_cli(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let new = Path::new(env!("CARGO_BIN_EXE_ember"));
    let old = std::env::var_os("EMBER_OLD_BIN");
    let vgg = root.join("traces/vgg16.toml").display().to_string();
    let cases = [
        ("alexnet_batch4", vec![]),
        (
            "vgg16_batch64",
            vec!["--net".into(), vgg, "--batch".into(), "64".into()],
        ),
    ];
    for (name, args) in cases {
        let mut g = c.benchmark_group(format!("edp_cli_{name}"));
        g.sample_size(10);
        let old = old.as_ref().map(Path::new);
        if let Some(old) = old {
            assert_eq!(
                run(old, &args),
                run(new, &args),
                "{name}: the outputs differ"
            );
        }
        g.bench_function("new", |b| b.iter(|| run(new, &args)));
        if let Some(old) = old {
            g.bench_function("old", |b| b.iter(|| run(old, &args)));
        }
        g.finish();
    }
}

criterion_group!(benches, edp_cli);
criterion_main!(benches);
