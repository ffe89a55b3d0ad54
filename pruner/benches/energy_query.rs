//! One whole-model energy query (every conv/fc layer mapped and priced on
//! eyeriss-v1 with the `eap` preset). Target: under 1 ms.

use criterion::{criterion_group, criterion_main, Criterion};

use ember_estimator::Hardware;
use ember_pruner::energy::{Densities, EnergyModel};
use ember_pruner::model::zoo;

fn bench(c: &mut Criterion) {
    let model = EnergyModel::eap(Hardware::eyeriss_v1());
    for arch in [zoo::lenet5(), zoo::vgg_mini()] {
        let shapes = arch.layer_shapes().expect("zoo models are valid");
        let d: Vec<Densities> = (0..shapes.len())
            .map(|i| Densities {
                weight: 0.3 + 0.1 * i as f64,
                ifmap: if i == 0 { 1.0 } else { 0.5 },
                ofmap: 0.5,
            })
            .collect();
        c.bench_function(&format!("energy_query/{}", arch.name), |b| {
            b.iter(|| model.energy_of(&shapes, &d).expect("maps"))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
