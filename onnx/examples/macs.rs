//! Import an ONNX model and print its layers and MAC total.
//!
//! `cargo run --release -p ember-onnx --example macs -- FILE.onnx [--input-shape 1x3x224x224]
//! [--trace] [--compare TRACE.toml]`
//!
//! `--trace` prints the trace file instead; `--compare` checks every layer's shape, pool and
//! MACs against a trace file's (names and densities aside) and fails on a difference.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut file: Option<PathBuf> = None;
    let mut shape = None;
    let mut trace = false;
    let mut compare: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--input-shape" => {
                let Some(s) = args
                    .next()
                    .as_deref()
                    .and_then(ember_onnx::parse_input_shape)
                else {
                    eprintln!("--input-shape takes NxCxHxW, e.g. 1x3x224x224");
                    return ExitCode::from(2);
                };
                shape = Some(s);
            }
            "--trace" => trace = true,
            "--compare" => compare = args.next().map(PathBuf::from),
            _ if file.is_none() => file = Some(PathBuf::from(a)),
            _ => {
                eprintln!("usage: macs FILE.onnx [--input-shape NxCxHxW] [--trace]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("usage: macs FILE.onnx [--input-shape NxCxHxW] [--trace]");
        return ExitCode::from(2);
    };
    let imported = match ember_onnx::import_report(&file, shape) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let net = &imported.network;
    if trace {
        print!("{}", ember_onnx::write_trace(net));
        return ExitCode::SUCCESS;
    }
    println!(
        "{} ({} layers, chain = {})",
        net.name,
        net.layers.len(),
        net.chain
    );
    println!(
        "{:<40} {:>4} {:>5} {:>5} {:>4} {:>4} {:>5} {:>3} {:>3} {:>3} {:>4} {:>4} {:>4} {:>6} {:>14}",
        "layer", "kind", "c", "m", "h", "w", "r x s", "u", "p", "g", "e", "f", "pool", "wdens", "MACs"
    );
    let mut total: u64 = 0;
    for l in &net.layers {
        let macs = l.macs(1);
        total += macs;
        let kind = match l.kind {
            ember_sim::LayerKind::Conv => "conv",
            ember_sim::LayerKind::Fc => "fc",
        };
        let pool = l.pool.map_or("-".to_string(), |p| {
            format!(
                "{}/{}{}",
                p.kernel,
                p.stride,
                if p.ceil_mode { "c" } else { "" }
            )
        });
        println!(
            "{:<40} {:>4} {:>5} {:>5} {:>4} {:>4} {:>5} {:>3} {:>3} {:>3} {:>4} {:>4} {:>4} {:>6.3} {:>14}",
            l.name,
            kind,
            l.c,
            l.m,
            l.h,
            l.w,
            format!("{}x{}", l.r, l.s),
            l.stride,
            l.pad,
            l.groups,
            l.e(),
            l.f(),
            pool,
            l.weight_density,
            macs
        );
    }
    for w in &imported.warnings {
        println!("note: {w}");
    }
    println!("total MACs: {total}");
    if let Some(path) = compare {
        let reference = match ember_sim::Network::load(&path) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let key = |l: &ember_sim::Layer| {
            (
                l.kind,
                l.c,
                l.m,
                l.h,
                l.w,
                l.r,
                l.s,
                l.stride,
                l.pad,
                l.groups,
                l.pool,
                l.macs(1),
            )
        };
        let mut same = reference.layers.len() == net.layers.len();
        for (a, b) in net.layers.iter().zip(&reference.layers) {
            if key(a) != key(b) {
                println!(
                    "differs: {} {:?}\n     vs: {} {:?}",
                    a.name,
                    key(a),
                    b.name,
                    key(b)
                );
                same = false;
            }
        }
        println!(
            "compare with {}: {} ({} vs {} layers)",
            path.display(),
            if same {
                "same shapes, pools and MACs"
            } else {
                "DIFFERENT"
            },
            net.layers.len(),
            reference.layers.len()
        );
        if !same {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
