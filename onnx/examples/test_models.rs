//! Write the ONNX models the tests build (`tests/common`: an inception-style sample and a
//! LeNet-style model whose first fully connected layer covers a 6x14x14 map) into a folder, to
//! try them with `ember sim --net`:
//!
//! ```sh
//! cargo run -p ember-onnx --example test_models -- models/
//! ember sim --net models/lenet.onnx --batch 1
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: test_models DIR");
        std::process::exit(2);
    };
    let dir = std::path::Path::new(&dir);
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: {}: {e}", dir.display());
        std::process::exit(1);
    }
    for (name, g) in common::models() {
        let p = dir.join(format!("{name}.onnx"));
        if let Err(e) = std::fs::write(&p, g.bytes()) {
            eprintln!("error: {}: {e}", p.display());
            std::process::exit(1);
        }
        println!("{}", p.display());
    }
}
