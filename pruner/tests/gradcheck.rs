//! Finite-difference checks of every layer's backward pass.
//!
//! The engine is f32, so the checks are arranged to make f32 central
//! differences trustworthy:
//! * conv, fc and flatten are affine in each single input/weight, so for the
//!   test loss `L = sum(y * G)` (G fixed, random) the central difference is
//!   exact apart from rounding, even with a large step `h = 0.5`; rounding of
//!   L (accumulated in f64 from f32 outputs of size ~1) is ~1e-5, far below
//!   the 2e-3 tolerance.
//! * max-pool and ReLU are piecewise linear: inputs are spaced so that a step
//!   of `h` cannot change an argmax or a sign, which makes them affine too.
//! * softmax cross-entropy is smooth: with `h = 1e-2` the truncation error
//!   (~h^2/6 * |f'''|) and rounding error (~6e-8 * |L| / h) are both ~1e-5.

use ndarray::{Array, ArrayBase, ArrayD, Data, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use ember_pruner::nn::{softmax_cross_entropy, Conv2d, Flatten, Linear, MaxPool2d, Relu, Tensor};

const TOL: f64 = 2e-3;

fn random(shape: &[usize], rng: &mut ChaCha8Rng) -> ArrayD<f32> {
    Array::from_shape_fn(IxDyn(shape), |_| rng.random_range(-1.0f32..1.0))
}

/// An owned array as the engine's shared tensor.
fn t(x: &ArrayD<f32>) -> Tensor {
    x.clone().into_shared()
}

fn dot<S1, S2>(a: &ArrayBase<S1, IxDyn>, b: &ArrayBase<S2, IxDyn>) -> f64
where
    S1: Data<Elem = f32>,
    S2: Data<Elem = f32>,
{
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

fn assert_close(what: &str, i: usize, analytic: f64, numeric: f64) {
    let err = (analytic - numeric).abs();
    assert!(
        err <= TOL * (1.0 + analytic.abs().max(numeric.abs())),
        "{what}[{i}]: analytic {analytic} vs numeric {numeric}"
    );
}

/// Central difference of `loss` with respect to every entry of `x`.
fn numeric_grad(x: &ArrayD<f32>, h: f32, mut loss: impl FnMut(&ArrayD<f32>) -> f64) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let mut p = x.clone();
            p.as_slice_mut().unwrap()[i] += h;
            let mut m = x.clone();
            m.as_slice_mut().unwrap()[i] -= h;
            (loss(&p) - loss(&m)) / (2.0 * f64::from(h))
        })
        .collect()
}

fn check(what: &str, analytic: &ArrayD<f32>, numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len());
    for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        assert_close(what, i, f64::from(a), n);
    }
}

fn conv_case(stride: usize, pad: usize, groups: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (c, m) = (4, 6);
    let mut conv = Conv2d::new("c", c, m, (3, 2), stride, pad, groups, &mut rng);
    conv.bias
        .set_value("c.bias", random(&[m], &mut rng))
        .unwrap();
    let x = random(&[2, 7, 6, c], &mut rng);
    let y = conv.forward(t(&x), true);
    let g = random(y.shape(), &mut rng);
    let dx = conv.backward(g.clone(), true).unwrap();
    let (dw, db) = (conv.weight.grad().clone(), conv.bias.grad().clone());
    let h = 0.5;

    let num = numeric_grad(&x, h, |xp| dot(&conv.clone().forward(t(xp), false), &g));
    check("conv dx", &dx, &num);

    let w0 = conv.weight.value().clone();
    let num = numeric_grad(&w0, h, |wp| {
        let mut c2 = conv.clone();
        c2.weight.set_value("w", wp.clone()).unwrap();
        dot(&c2.forward(t(&x), false), &g)
    });
    check("conv dw", &dw, &num);

    let b0 = conv.bias.value().clone();
    let num = numeric_grad(&b0, h, |bp| {
        let mut c2 = conv.clone();
        c2.bias.set_value("b", bp.clone()).unwrap();
        dot(&c2.forward(t(&x), false), &g)
    });
    check("conv db", &db, &num);
}

#[test]
fn conv_plain() {
    conv_case(1, 0, 1);
}

#[test]
fn conv_stride_padding_groups() {
    conv_case(2, 1, 2);
}

#[test]
fn conv_depthwise_padding() {
    // groups == channels: the depthwise case of MobileNet-like layers (its
    // own kernel); 11 images span two of its 8-image gradient blocks.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut conv = Conv2d::new("d", 4, 4, (3, 3), 2, 2, 4, &mut rng);
    conv.bias.set_value("b", random(&[4], &mut rng)).unwrap();
    let x = random(&[11, 5, 5, 4], &mut rng);
    let y = conv.forward(t(&x), true);
    let g = random(y.shape(), &mut rng);
    let dx = conv.backward(g.clone(), true).unwrap();
    let dw = conv.weight.grad().clone();
    let num = numeric_grad(&x, 0.5, |xp| dot(&conv.clone().forward(t(xp), false), &g));
    check("dw-conv dx", &dx, &num);
    let w0 = conv.weight.value().clone();
    let num = numeric_grad(&w0, 0.5, |wp| {
        let mut c2 = conv.clone();
        c2.weight.set_value("w", wp.clone()).unwrap();
        dot(&c2.forward(t(&x), false), &g)
    });
    check("dw-conv dw", &dw, &num);
    let db = conv.bias.grad().clone();
    let b0 = conv.bias.value().clone();
    let num = numeric_grad(&b0, 0.5, |bp| {
        let mut c2 = conv.clone();
        c2.bias.set_value("b", bp.clone()).unwrap();
        dot(&c2.forward(t(&x), false), &g)
    });
    check("dw-conv db", &db, &num);
}

#[test]
fn linear() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut fc = Linear::new("f", 7, 5, &mut rng);
    fc.bias.set_value("b", random(&[5], &mut rng)).unwrap();
    let x = random(&[3, 7], &mut rng);
    let y = fc.forward(t(&x), true);
    let g = random(y.shape(), &mut rng);
    let dx = fc.backward(g.clone(), true).unwrap();
    let (dw, db) = (fc.weight.grad().clone(), fc.bias.grad().clone());
    check(
        "fc dx",
        &dx,
        &numeric_grad(&x, 0.5, |xp| dot(&fc.clone().forward(t(xp), false), &g)),
    );
    let w0 = fc.weight.value().clone();
    let num = numeric_grad(&w0, 0.5, |wp| {
        let mut f2 = fc.clone();
        f2.weight.set_value("w", wp.clone()).unwrap();
        dot(&f2.forward(t(&x), false), &g)
    });
    check("fc dw", &dw, &num);
    let b0 = fc.bias.value().clone();
    let num = numeric_grad(&b0, 0.5, |bp| {
        let mut f2 = fc.clone();
        f2.bias.set_value("b", bp.clone()).unwrap();
        dot(&f2.forward(t(&x), false), &g)
    });
    check("fc db", &db, &num);
}

/// Distinct values 1 apart, shuffled: a step of 0.25 never changes a winner
/// or the sign of a value.
fn spaced(shape: &[usize], rng: &mut ChaCha8Rng) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 - (n / 2) as f32 + 0.5).collect();
    rand::seq::SliceRandom::shuffle(&mut v[..], rng);
    ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
}

#[test]
fn max_pool() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (k, s) in [(2, 2), (3, 2)] {
        let mut pool = MaxPool2d::new(k, s, 0);
        let x = spaced(&[2, 7, 7, 3], &mut rng);
        let y = pool.forward(t(&x), true);
        let g = random(y.shape(), &mut rng);
        let dx = pool.backward(g.clone());
        let num = numeric_grad(&x, 0.25, |xp| dot(&pool.clone().forward(t(xp), false), &g));
        check("pool dx", &dx, &num);
    }
}

#[test]
fn relu_and_flatten() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x = spaced(&[2, 3, 4, 5], &mut rng);
    let mut relu = Relu::default();
    let y = relu.forward(t(&x), true);
    let g = random(y.shape(), &mut rng);
    let dx = relu.backward(g.clone());
    check(
        "relu dx",
        &dx,
        &numeric_grad(&x, 0.25, |xp| {
            dot(&Relu::default().forward(t(xp), false), &g)
        }),
    );

    let mut flat = Flatten::default();
    let y = flat.forward(t(&x));
    assert_eq!(y.shape(), &[2, 60]);
    let g = random(y.shape(), &mut rng);
    let dx = flat.backward(g.clone());
    check(
        "flatten dx",
        &dx,
        &numeric_grad(&x, 0.5, |xp| dot(&Flatten::default().forward(t(xp)), &g)),
    );
}

#[test]
fn flatten_uses_pytorch_chw_order() {
    // NHWC element (h=1, w=2, c=3) of a 1x2x3x4 tensor lands at c*H*W + h*W + w.
    let x = ArrayD::from_shape_fn(IxDyn(&[1, 2, 3, 4]), |i| {
        (i[1] * 100 + i[2] * 10 + i[3]) as f32
    });
    let y = Flatten::default().forward(x.into_shared());
    assert_eq!(y[[0, 3 * 6 + 3 + 2]], 123.0);
}

#[test]
fn softmax_cross_entropy_gradient() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let z = random(&[4, 10], &mut rng).mapv(|v| 3.0 * v);
    let labels = [3u8, 0, 9, 3];
    let z2 = z.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
    let (_, grad) = softmax_cross_entropy(z2.view(), &labels);
    let num = numeric_grad(&z, 1e-2, |zp| {
        let zp = zp.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
        f64::from(softmax_cross_entropy(zp.view(), &labels).0)
    });
    check("ce dz", &grad.into_dyn(), &num);
}

#[test]
fn softmax_cross_entropy_is_stable_for_huge_logits() {
    let z = ndarray::array![[1000.0f32, 0.0], [0.0, -1000.0]];
    let (loss, grad) = softmax_cross_entropy(z.view(), &[0, 0]);
    assert!(loss.is_finite() && grad.iter().all(|g| g.is_finite()));
    assert!(loss < 1e-6);
}

/// The forward pass against the textbook definition with PyTorch's OIHW
/// weight semantics (the gradient checks only prove backward matches forward).
#[test]
fn conv_matches_direct_definition() {
    // Grouped (the im2col path) and depthwise (its own kernel).
    conv_definition_case(6, 4, 2, 3, 2, 2, 1);
    conv_definition_case(5, 5, 5, 3, 3, 2, 1);
}

#[allow(clippy::too_many_arguments)]
fn conv_definition_case(c: usize, m: usize, g: usize, r: usize, s: usize, st: usize, p: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let mut conv = Conv2d::new("c", c, m, (r, s), st, p, g, &mut rng);
    conv.bias.set_value("b", random(&[m], &mut rng)).unwrap();
    let (n, h, w) = (2, 6, 7);
    let x = random(&[n, h, w, c], &mut rng);
    let y = conv.forward(t(&x), false);
    let (oh, ow) = ((h + 2 * p - r) / st + 1, (w + 2 * p - s) / st + 1);
    assert_eq!(y.shape(), &[n, oh, ow, m]);
    let (wt, b) = (conv.weight.value(), conv.bias.value());
    let (cg, mg) = (c / g, m / g);
    for ni in 0..n {
        for mo in 0..m {
            let gi = mo / mg;
            for yo in 0..oh {
                for xo in 0..ow {
                    let mut acc = f64::from(b[[mo]]);
                    for ci in 0..cg {
                        for i in 0..r {
                            for j in 0..s {
                                let (yy, xx) = (
                                    (yo * st + i) as isize - p as isize,
                                    (xo * st + j) as isize - p as isize,
                                );
                                if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                                    continue;
                                }
                                let xv = x[[ni, yy as usize, xx as usize, gi * cg + ci]];
                                acc += f64::from(wt[[mo, ci, i, j]]) * f64::from(xv);
                            }
                        }
                    }
                    let got = f64::from(y[[ni, yo, xo, mo]]);
                    assert!(
                        (got - acc).abs() < 1e-5,
                        "y[{ni},{yo},{xo},{mo}] = {got}, expected {acc}"
                    );
                }
            }
        }
    }
}

/// End to end through a small network (conv with groups, ReLU, pool, fc, CE):
/// the directional derivative along a random direction of all parameters.
/// The ReLU/max kinks make this only approximately affine, hence h = 1e-3
/// (a kink crossed within h changes the slope over a stretch of at most h)
/// and the looser 1e-2 relative tolerance.
#[test]
fn whole_network_directional_derivative() {
    use ember_pruner::model::{Architecture, InputShape, LayerSpec};
    use ember_pruner::Network;
    let arch = Architecture {
        name: "tiny".into(),
        num_classes: 3,
        input: InputShape {
            channels: 2,
            height: 8,
            width: 8,
        },
        layers: vec![
            LayerSpec::Conv2d {
                name: "conv1".into(),
                input: None,
                in_channels: 2,
                out_channels: 4,
                kernel_size: [3, 3],
                stride: 1,
                padding: 1,
                groups: 2,
            },
            LayerSpec::Relu {
                name: None,
                input: None,
            },
            LayerSpec::MaxPool2d {
                name: None,
                input: None,
                kernel_size: 2,
                stride: 2,
                padding: 0,
            },
            LayerSpec::Conv2d {
                name: "conv2".into(),
                input: None,
                in_channels: 4,
                out_channels: 4,
                kernel_size: [3, 3],
                stride: 2,
                padding: 1,
                groups: 1,
            },
            LayerSpec::Relu {
                name: None,
                input: None,
            },
            LayerSpec::Flatten {
                name: None,
                input: None,
            },
            LayerSpec::Linear {
                name: "fc".into(),
                input: None,
                in_features: 16,
                out_features: 3,
            },
        ],
    };
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut net = Network::new(arch, 1).unwrap();
    let x = random(&[3, 8, 8, 2], &mut rng)
        .into_dimensionality::<ndarray::Ix4>()
        .unwrap();
    let labels = [0u8, 2, 1];
    let (analytic, numeric) = directional_derivative(&mut net, &x, &labels, &mut rng, 1e-3, false);
    assert!(
        (analytic - numeric).abs() <= 1e-2 * (1.0 + analytic.abs()),
        "directional derivative: analytic {analytic} vs numeric {numeric}"
    );
}

/// The loss's derivative along a random direction in parameter space: the
/// backward pass's (analytic) and a central difference of the forward pass
/// (numeric). `train`: the forward mode of the perturbed evaluations (batch
/// norm with batch statistics, as in the backward pass's forward).
fn directional_derivative(
    net: &mut ember_pruner::Network,
    x: &ndarray::Array4<f32>,
    labels: &[u8],
    rng: &mut ChaCha8Rng,
    h: f32,
    train: bool,
) -> (f64, f64) {
    let logits = net.forward(x.clone(), true).unwrap();
    let (_, dl) = softmax_cross_entropy(logits.view(), labels);
    net.backward(dl);
    let names: Vec<String> = net.params().into_iter().map(|(n, _)| n).collect();
    let dirs: Vec<ArrayD<f32>> = net
        .params()
        .iter()
        .map(|(_, p)| random(p.shape(), rng))
        .collect();
    let analytic: f64 = net
        .params()
        .iter()
        .zip(&dirs)
        .map(|((_, p), d)| dot(p.grad(), d))
        .sum();
    let base: Vec<ArrayD<f32>> = net
        .params()
        .iter()
        .map(|(_, p)| p.value().clone())
        .collect();
    let loss_at = |t: f32| {
        let mut n2 = net.clone();
        for ((name, b), d) in names.iter().zip(&base).zip(&dirs) {
            n2.param_mut(name)
                .unwrap()
                .set_value(name, b + &d.mapv(|v| v * t))
                .unwrap();
        }
        let z = n2.forward(x.clone(), train).unwrap();
        f64::from(softmax_cross_entropy(z.view(), labels).0)
    };
    let numeric = (loss_at(h) - loss_at(-h)) / (2.0 * f64::from(h));
    (analytic, numeric)
}

/// Forward, input gradient and weight/bias gradients of `conv` on `x`.
fn conv_pass(conv: &Conv2d, x: &ArrayD<f32>, g: &ArrayD<f32>) -> [ArrayD<f32>; 4] {
    let mut c = conv.clone();
    let y = c.forward(t(x), true).into_owned();
    let dx = c.backward(g.clone(), true).unwrap();
    [y, dx, c.weight.grad().clone(), c.bias.grad().clone()]
}

/// A batch that the convolution cuts into several blocks (a 46x46 map has
/// 2,116 output pixels, over the 2,048 lowered rows of a block: one image a
/// block) equals the images run one by one: outputs and input gradients
/// bit for bit, and the weight gradient is the images' gradients summed in
/// batch order, which is exactly how the blocks are reduced.
#[test]
fn conv_blocks_equal_images_one_by_one() {
    use ndarray::{s, Axis};
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    let conv = Conv2d::new("c", 2, 3, (3, 3), 1, 1, 1, &mut rng);
    let x = random(&[3, 46, 46, 2], &mut rng);
    let g = random(&[3, 46, 46, 3], &mut rng);
    let [y, dx, dw, db] = conv_pass(&conv, &x, &g);
    let mut dw_sum = ArrayD::<f32>::zeros(dw.raw_dim());
    let mut db_sum = ArrayD::<f32>::zeros(db.raw_dim());
    for i in 0..3 {
        let xi = x.slice(s![i..i + 1, .., .., ..]).to_owned().into_dyn();
        let gi = g.slice(s![i..i + 1, .., .., ..]).to_owned().into_dyn();
        let [yi, dxi, dwi, dbi] = conv_pass(&conv, &xi, &gi);
        assert_eq!(yi, y.index_axis(Axis(0), i).insert_axis(Axis(0)));
        assert_eq!(dxi, dx.index_axis(Axis(0), i).insert_axis(Axis(0)));
        dw_sum = dw_sum + dwi;
        db_sum = db_sum + dbi;
    }
    assert_eq!(dw_sum, dw);
    assert_eq!(db_sum, db);
}

/// The same bytes with one thread and with three (blocks run in parallel,
/// but no sum is ever split by thread).
#[test]
fn conv_results_do_not_depend_on_the_thread_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let conv = Conv2d::new("c", 4, 8, (3, 3), 1, 1, 2, &mut rng);
    let x = random(&[64, 12, 12, 4], &mut rng);
    let g = random(&[64, 12, 12, 8], &mut rng);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| conv_pass(&conv, &x, &g))
    };
    assert_eq!(run(1), run(3));
    // The depthwise kernel, over several of its gradient blocks.
    let dw = Conv2d::new("d", 8, 8, (3, 3), 1, 1, 8, &mut rng);
    let g8 = random(&[64, 12, 12, 8], &mut rng);
    let x8 = random(&[64, 12, 12, 8], &mut rng);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| conv_pass(&dw, &x8, &g8))
    };
    assert_eq!(run(1), run(3));
}

/// Batch norm in training mode (batch statistics): dx, dγ, dβ. The loss
/// `sum(y * G)` is smooth but not affine in x (the statistics move), so a
/// small step and the smooth-function tolerance apply: h = 1e-2 in f32 on
/// values of order 1 gives a truncation error ~h² and rounding ~1e-5.
#[test]
fn batch_norm_training() {
    use ember_pruner::nn::BatchNorm2d;
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let mut bn = BatchNorm2d::new("bn", 3);
    bn.weight
        .set_value("w", random(&[3], &mut rng).mapv(|v| v + 1.5))
        .unwrap();
    bn.bias.set_value("b", random(&[3], &mut rng)).unwrap();
    let x = random(&[2, 3, 4, 3], &mut rng).mapv(|v| 2.0 * v + 0.5);
    let y = bn.clone().forward(t(&x), true);
    let g = random(y.shape(), &mut rng);
    let mut b2 = bn.clone();
    b2.forward(t(&x), true);
    let dx = b2.backward(g.clone());
    let (dw, db) = (b2.weight.grad().clone(), b2.bias.grad().clone());
    let loss = |b: &BatchNorm2d, xp: &ArrayD<f32>| dot(&b.clone().forward(t(xp), true), &g);
    check("bn dx", &dx, &numeric_grad(&x, 1e-2, |xp| loss(&bn, xp)));
    let w0 = bn.weight.value().clone();
    let num = numeric_grad(&w0, 1e-2, |wp| {
        let mut b = bn.clone();
        b.weight.set_value("w", wp.clone()).unwrap();
        loss(&b, &x)
    });
    check("bn dgamma", &dw, &num);
    let b0 = bn.bias.value().clone();
    let num = numeric_grad(&b0, 1e-2, |bp| {
        let mut b = bn.clone();
        b.bias.set_value("b", bp.clone()).unwrap();
        loss(&b, &x)
    });
    check("bn dbeta", &db, &num);
}

/// Batch norm against its definition (PyTorch's): training normalises with
/// the biased batch variance and moves the running statistics by 0.1
/// towards the batch mean and the unbiased variance; inference applies the
/// running statistics.
#[test]
fn batch_norm_matches_its_definition() {
    use ember_pruner::nn::BatchNorm2d;
    // One channel, four values 1, 2, 3, 6: mean 3, biased var 3.5,
    // unbiased var 14/3.
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 2, 2, 1]), vec![1.0f32, 2.0, 3.0, 6.0]).unwrap();
    let mut bn = BatchNorm2d::new("bn", 1);
    let y = bn.forward(t(&x), true);
    let sd = (3.5f64 + 1e-5).sqrt();
    for (got, v) in y.iter().zip([1.0, 2.0, 3.0, 6.0]) {
        assert!((f64::from(*got) - (v - 3.0) / sd).abs() < 1e-6);
    }
    assert!((f64::from(bn.running_mean[[0]]) - 0.3).abs() < 1e-6);
    assert!((f64::from(bn.running_var[[0]]) - (0.9 + 0.1 * 14.0 / 3.0)).abs() < 1e-6);
    let y = bn.forward(t(&x), false);
    let (m, v): (f64, f64) = (0.3, 0.9 + 0.1 * 14.0 / 3.0);
    for (got, xv) in y.iter().zip([1.0f64, 2.0, 3.0, 6.0]) {
        assert!((f64::from(*got) - (xv - m) / (v + 1e-5).sqrt()).abs() < 1e-5);
    }
}

#[test]
fn global_avg_pool_concat_add() {
    use ember_pruner::nn::{Add, Concat, GlobalAvgPool};
    let mut rng = ChaCha8Rng::seed_from_u64(43);
    let x = random(&[2, 3, 4, 5], &mut rng);
    let mut gap = GlobalAvgPool::default();
    let y = gap.forward(t(&x));
    assert_eq!(y.shape(), &[2, 5]);
    // The mean of sample 1, channel 2, by hand.
    let mean: f32 = (0..3)
        .flat_map(|h| (0..4).map(move |w| (h, w)))
        .map(|(h, w)| x[[1, h, w, 2]])
        .sum::<f32>()
        / 12.0;
    assert!((y[[1, 2]] - mean).abs() < 1e-6);
    let g = random(y.shape(), &mut rng);
    let dx = gap.backward(g.clone());
    let num = numeric_grad(&x, 0.5, |xp| {
        dot(&GlobalAvgPool::default().forward(t(xp)), &g)
    });
    check("gap dx", &dx, &num);

    let a = random(&[2, 3, 3, 2], &mut rng);
    let b = random(&[2, 3, 3, 4], &mut rng);
    let mut cat = Concat::default();
    let y = cat.forward(vec![t(&a), t(&b)]);
    assert_eq!(y.shape(), &[2, 3, 3, 6]);
    assert_eq!(
        (y[[1, 2, 0, 1]], y[[1, 2, 0, 5]]),
        (a[[1, 2, 0, 1]], b[[1, 2, 0, 3]])
    );
    let g = random(y.shape(), &mut rng);
    let d = cat.backward(g.clone());
    let num = numeric_grad(&a, 0.5, |ap| {
        dot(&Concat::default().forward(vec![t(ap), t(&b)]), &g)
    });
    check("concat da", d[0].as_ref().unwrap(), &num);
    let num = numeric_grad(&b, 0.5, |bp| {
        dot(&Concat::default().forward(vec![t(&a), t(bp)]), &g)
    });
    check("concat db", d[1].as_ref().unwrap(), &num);

    let c = random(&[2, 3, 3, 2], &mut rng);
    let mut add = Add::default();
    let y = add.forward(vec![t(&a), t(&c)]);
    assert_eq!(y[[0, 1, 2, 1]], a[[0, 1, 2, 1]] + c[[0, 1, 2, 1]]);
    let g = random(y.shape(), &mut rng);
    let d = add.backward(g.clone());
    let num = numeric_grad(&a, 0.5, |ap| {
        dot(&Add::default().forward(vec![t(ap), t(&c)]), &g)
    });
    check("add da", d[0].as_ref().unwrap(), &num);
    let num = numeric_grad(&c, 0.5, |cp| {
        dot(&Add::default().forward(vec![t(&a), t(cp)]), &g)
    });
    check("add dc", d[1].as_ref().unwrap(), &num);
}

/// Max pooling with padding, as inception's 3x3 stride-1 pool branch: the
/// padded border never wins (PyTorch pads with -inf), so a map of negative
/// values keeps its own maxima.
#[test]
fn max_pool_with_padding() {
    let mut rng = ChaCha8Rng::seed_from_u64(47);
    let x = spaced(&[2, 5, 5, 2], &mut rng).mapv(|v| v - 100.0);
    let mut pool = MaxPool2d::new(3, 1, 1);
    let y = pool.forward(t(&x), true);
    assert_eq!(y.shape(), &[2, 5, 5, 2]);
    // Corner (0, 0): the max over input rows 0..2 and columns 0..2.
    let want = (0..2)
        .flat_map(|i| (0..2).map(move |j| (i, j)))
        .map(|(i, j)| x[[0, i, j, 1]])
        .fold(f32::MIN, f32::max);
    assert_eq!(y[[0, 0, 0, 1]], want);
    let g = random(y.shape(), &mut rng);
    let dx = pool.backward(g.clone());
    let num = numeric_grad(&x, 0.25, |xp| {
        dot(&MaxPool2d::new(3, 1, 1).forward(t(xp), false), &g)
    });
    check("padded pool dx", &dx, &num);
}

/// End to end through a graph without kinks (no ReLU or max-pool), so the
/// loss is smooth and the central difference tight: a batch-norm output
/// read by three nodes (two branches and a residual add), the branches
/// joined by concat, global pooling, a classifier. Directional derivative
/// of the loss along a random direction of all parameters; h = 1e-2 and
/// the smooth-function tolerance (truncation ~h², rounding ~1e-5). A
/// branch's gradient lost or counted twice fails by far more.
#[test]
fn graph_network_directional_derivative() {
    use ember_pruner::model::{Architecture, InputShape, LayerSpec};
    use ember_pruner::Network;
    let conv = |name: &str, input: Option<&str>, c: usize, m: usize, k: usize| LayerSpec::Conv2d {
        name: name.into(),
        input: input.map(Into::into),
        in_channels: c,
        out_channels: m,
        kernel_size: [k, k],
        stride: 1,
        padding: k / 2,
        groups: 1,
    };
    let arch = Architecture {
        name: "graph".into(),
        num_classes: 3,
        input: InputShape {
            channels: 2,
            height: 6,
            width: 6,
        },
        layers: vec![
            conv("a", None, 2, 4, 3),
            LayerSpec::BatchNorm2d {
                name: "bn".into(),
                input: None,
                channels: 4,
            },
            conv("b1", Some("bn"), 4, 3, 1),
            conv("b2", Some("bn"), 4, 3, 3),
            LayerSpec::Concat {
                name: Some("cat".into()),
                inputs: vec!["b1".into(), "b2".into()],
            },
            conv("p", None, 6, 4, 1),
            LayerSpec::Add {
                name: None,
                inputs: vec!["p".into(), "bn".into()],
            },
            LayerSpec::GlobalAvgPool {
                name: None,
                input: None,
            },
            LayerSpec::Linear {
                name: "fc".into(),
                input: None,
                in_features: 4,
                out_features: 3,
            },
        ],
    };
    let mut rng = ChaCha8Rng::seed_from_u64(53);
    let mut net = Network::new(arch, 2).unwrap();
    let x = random(&[3, 6, 6, 2], &mut rng)
        .into_dimensionality::<ndarray::Ix4>()
        .unwrap();
    let labels = [1u8, 2, 0];
    // Batch norm in training mode on both sides: the same function.
    let (analytic, numeric) = directional_derivative(&mut net, &x, &labels, &mut rng, 1e-2, true);
    assert_close("graph directional derivative", 0, analytic, numeric);
}

/// Every built-in graph model trains a step: finite loss, a gradient on
/// every parameter tensor.
#[test]
fn built_in_graph_models_have_gradients_everywhere() {
    use ember_pruner::model::zoo;
    use ember_pruner::Network;
    let mut rng = ChaCha8Rng::seed_from_u64(59);
    for name in [
        "inception-mini",
        "squeeze-mini",
        "resnet-mini",
        "mobilenet-mini",
    ] {
        let mut net = Network::new(zoo::by_name(name).unwrap(), 3).unwrap();
        let x = random(&[4, 28, 28, 1], &mut rng)
            .into_dimensionality::<ndarray::Ix4>()
            .unwrap();
        let logits = net.forward(x, true).unwrap();
        let (loss, dl) = softmax_cross_entropy(logits.view(), &[0, 1, 2, 3]);
        assert!(loss.is_finite(), "{name}");
        net.backward(dl);
        for (p, v) in net.params() {
            let w = p.ends_with(".weight");
            assert!(
                !w || v.grad().iter().any(|&g| g != 0.0),
                "{name}: no gradient reached {p}"
            );
        }
    }
}
