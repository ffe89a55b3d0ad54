//! Mini-batch training and evaluation. The library never prints: progress
//! goes to a caller-supplied callback (the CLI draws a bar from it).

use std::time::Instant;

use ndarray::{s, Array4, Axis};
use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{PrunerError, Result};
use crate::nn::{argmax_rows, softmax_cross_entropy, Network, Optimizer, OptimizerKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    Constant,
    /// Cosine decay from `lr` to 0 over all steps of the run.
    Cosine,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f32,
    pub optimizer: OptimizerKind,
    pub lr_schedule: LrSchedule,
    /// Seeds the shuffling; weight initialisation is seeded in `Network::new`.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 5,
            batch_size: 64,
            lr: 1e-3,
            optimizer: OptimizerKind::adam(),
            lr_schedule: LrSchedule::Cosine,
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochStats {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f32,
    /// Accuracy on the training batches as they were seen (weights moving).
    pub train_accuracy: f32,
    /// `None` when the validation split is empty.
    pub val_accuracy: Option<f32>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// After each optimiser step; `batch` is 1-based.
    Batch {
        epoch: usize,
        batch: usize,
        batches: usize,
        loss: f32,
    },
    Epoch(&'a EpochStats),
}

/// Trains `net` in place on `data.train`, reporting validation accuracy after
/// each epoch. `data.test` is never read.
pub fn train(
    net: &mut Network,
    data: &Dataset,
    cfg: &TrainConfig,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Vec<EpochStats>> {
    if cfg.batch_size == 0 || cfg.epochs == 0 || !(cfg.lr > 0.0 && cfg.lr.is_finite()) {
        return Err(PrunerError::Config(format!(
            "epochs {}, batch size {} and lr {} must be positive",
            cfg.epochs, cfg.batch_size, cfg.lr
        )));
    }
    let n = data.train.len();
    if n == 0 {
        return Err(PrunerError::Config("empty training split".into()));
    }
    let batches = n.div_ceil(cfg.batch_size);
    let total_steps = (batches * cfg.epochs) as f64;
    let mut opt = Optimizer::new(cfg.optimizer, net);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut history = Vec::with_capacity(cfg.epochs);
    let mut step = 0usize;

    for epoch in 1..=cfg.epochs {
        let start = Instant::now();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        for (b, idx) in order.chunks(cfg.batch_size).enumerate() {
            let (x, y) = data.train.gather(idx);
            let logits = net.forward(x, true)?;
            let (loss, dlogits) = softmax_cross_entropy(logits.view(), &y);
            correct += count_correct(&argmax_rows(logits.view()), &y);
            net.backward(dlogits);
            let lr = match cfg.lr_schedule {
                LrSchedule::Constant => cfg.lr,
                LrSchedule::Cosine => {
                    let t = step as f64 / total_steps;
                    (f64::from(cfg.lr) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())) as f32
                }
            };
            opt.step(net, lr);
            step += 1;
            loss_sum += f64::from(loss) * idx.len() as f64;
            progress(Progress::Batch {
                epoch,
                batch: b + 1,
                batches,
                loss,
            });
        }
        let val_accuracy = if data.val.is_empty() {
            None
        } else {
            Some(evaluate(net, &data.val.images, &data.val.labels)?)
        };
        let stats = EpochStats {
            epoch,
            train_loss: (loss_sum / n as f64) as f32,
            train_accuracy: correct as f32 / n as f32,
            val_accuracy,
            seconds: start.elapsed().as_secs_f64(),
        };
        progress(Progress::Epoch(&stats));
        history.push(stats);
    }
    Ok(history)
}

/// Fraction of `images` (NHWC) classified as `labels`.
pub fn evaluate(net: &mut Network, images: &Array4<f32>, labels: &[u8]) -> Result<f32> {
    // Bounds the im2col buffer (vgg-mini conv2: 128 images -> 115 MB).
    const CHUNK: usize = 128;
    let n = images.len_of(Axis(0));
    if n != labels.len() {
        return Err(PrunerError::Tensor {
            name: "labels".into(),
            reason: format!("{} labels for {n} images", labels.len()),
        });
    }
    if n == 0 {
        return Ok(0.0);
    }
    let mut correct = 0;
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let logits = net.forward(images.slice(s![start..end, .., .., ..]).to_owned(), false)?;
        correct += count_correct(&argmax_rows(logits.view()), &labels[start..end]);
    }
    Ok(correct as f32 / n as f32)
}

/// The network's outputs `[N, classes]` for `images` (NHWC), in inference
/// mode, in chunks of 128.
pub fn logits(net: &mut Network, images: &Array4<f32>) -> Result<ndarray::Array2<f32>> {
    const CHUNK: usize = 128;
    let n = images.len_of(Axis(0));
    let mut parts = Vec::new();
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        parts.push(net.forward(images.slice(s![start..end, .., .., ..]).to_owned(), false)?);
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    if views.is_empty() {
        return Ok(ndarray::Array2::zeros((0, net.arch().num_classes)));
    }
    Ok(ndarray::concatenate(Axis(0), &views).expect("same class count"))
}

/// How many predictions equal their label.
pub(crate) fn count_correct(pred: &[usize], labels: &[u8]) -> usize {
    pred.iter()
        .zip(labels)
        .filter(|(&p, &l)| p == l as usize)
        .count()
}
