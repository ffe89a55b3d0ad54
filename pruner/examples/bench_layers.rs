//! Times forward and backward of each layer of a built-in model on one
//! random batch, to see where training time goes.
//!
//! cargo run --release -p ember-pruner --example bench_layers -- vgg-mini 64

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use ember_pruner::model::zoo;
use ember_pruner::nn::Layer;
use ndarray::{ArrayD, IxDyn};

fn main() {
    let mut args = std::env::args().skip(1);
    let model = args.next().unwrap_or_else(|| "vgg-mini".into());
    let batch: usize = args.next().and_then(|b| b.parse().ok()).unwrap_or(64);
    let Some(arch) = zoo::by_name(&model) else {
        eprintln!("unknown model {model}");
        std::process::exit(2);
    };
    let net = ember_pruner::Network::new(arch, 0).expect("built-in model");
    let chain = (0..net.layers().len()).all(|i| {
        net.sources(i)
            == [if i == 0 {
                ember_pruner::model::Src::Input
            } else {
                ember_pruner::model::Src::Node(i - 1)
            }]
    });
    if !chain {
        eprintln!("{model} is not a chain of layers; this example times chains only");
        std::process::exit(2);
    }
    let mut layers: Vec<Layer> = net.layers().to_vec();
    let reps = 5;
    let mut fwd = vec![0.0; layers.len()];
    let mut bwd = vec![0.0; layers.len()];
    for _ in 0..reps {
        let mut a = ArrayD::from_elem(IxDyn(&[batch, 28, 28, 1]), 0.5f32).into_shared();
        for (i, l) in layers.iter_mut().enumerate() {
            let t = Instant::now();
            a = l.forward(vec![a], true);
            fwd[i] += t.elapsed().as_secs_f64();
        }
        let mut g = Some(a.mapv(|v| v * 1e-3));
        for (i, l) in layers.iter_mut().enumerate().rev() {
            let dy = g.take().expect("gradient");
            let t = Instant::now();
            g = l.backward(dy, true).pop().flatten();
            bwd[i] += t.elapsed().as_secs_f64();
        }
    }
    for (i, l) in layers.iter().enumerate() {
        let name = match l {
            Layer::Conv2d(c) => c.name.clone(),
            Layer::Linear(c) => c.name.clone(),
            other => format!("{other:?}")
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect(),
        };
        println!(
            "{i:2} {name:8} fwd {:7.2} ms  bwd {:7.2} ms",
            fwd[i] * 1e3 / reps as f64,
            bwd[i] * 1e3 / reps as f64
        );
    }
    let total: f64 = fwd.iter().chain(&bwd).sum::<f64>() / reps as f64;
    println!("total {:.1} ms per batch of {batch}", total * 1e3);
}
