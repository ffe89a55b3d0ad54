//! Seeded weight initialisation.

use ndarray::{ArrayD, IxDyn};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// He (Kaiming) uniform: keeps activation variance roughly constant through
/// ReLU layers, which lets the deeper vgg-mini train with plain Adam/SGD.
pub fn he_uniform(shape: &[usize], fan_in: usize, rng: &mut ChaCha8Rng) -> ArrayD<f32> {
    let bound = (6.0 / fan_in.max(1) as f64).sqrt() as f32;
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..bound)).collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).expect("length matches shape")
}
