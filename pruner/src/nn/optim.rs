//! SGD with momentum and Adam, both mask-aware: a pruned weight receives no
//! update and is reset to exactly zero after every step.

use ndarray::{ArrayD, Zip};
use serde::{Deserialize, Serialize};

use super::Network;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerKind {
    /// `v = momentum * v + (g + wd * w); w -= lr * v` (PyTorch's form).
    Sgd { momentum: f32, weight_decay: f32 },
    /// Adam with L2 weight decay folded into the gradient (PyTorch's `Adam`).
    Adam {
        beta1: f32,
        beta2: f32,
        eps: f32,
        weight_decay: f32,
    },
}

impl OptimizerKind {
    pub fn adam() -> Self {
        OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// The same optimiser with its L2 weight decay replaced.
    pub fn with_weight_decay(self, wd: f32) -> Self {
        match self {
            OptimizerKind::Sgd { momentum, .. } => OptimizerKind::Sgd {
                momentum,
                weight_decay: wd,
            },
            OptimizerKind::Adam {
                beta1, beta2, eps, ..
            } => OptimizerKind::Adam {
                beta1,
                beta2,
                eps,
                weight_decay: wd,
            },
        }
    }

    pub fn sgd_momentum() -> Self {
        OptimizerKind::Sgd {
            momentum: 0.9,
            weight_decay: 5e-4,
        }
    }
}

/// Optimiser state for one network (one slot per parameter, network order).
#[derive(Debug, Clone)]
pub struct Optimizer {
    kind: OptimizerKind,
    step: u32,
    first: Vec<ArrayD<f32>>,
    second: Vec<ArrayD<f32>>,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, net: &Network) -> Self {
        let zeros: Vec<ArrayD<f32>> = net
            .params()
            .iter()
            .map(|(_, p)| ArrayD::zeros(p.value().raw_dim()))
            .collect();
        let second = match kind {
            OptimizerKind::Adam { .. } => zeros.clone(),
            OptimizerKind::Sgd { .. } => Vec::new(),
        };
        Optimizer {
            kind,
            step: 0,
            first: zeros,
            second,
        }
    }

    /// Applies the gradients left by the last backward pass.
    pub fn step(&mut self, net: &mut Network, lr: f32) {
        self.step += 1;
        let t = self.step as i32;
        for (i, (name, p)) in net.params_mut().into_iter().enumerate() {
            // Decaying biases only hurts small networks.
            let is_weight = name.ends_with(".weight");
            let (w, g) = p.value_and_grad_mut();
            match self.kind {
                OptimizerKind::Sgd {
                    momentum,
                    weight_decay,
                } => {
                    let wd = if is_weight { weight_decay } else { 0.0 };
                    Zip::from(w)
                        .and(g)
                        .and(&mut self.first[i])
                        .for_each(|w, &g, v| {
                            *v = momentum * *v + g + wd * *w;
                            *w -= lr * *v;
                        });
                }
                OptimizerKind::Adam {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                } => {
                    let wd = if is_weight { weight_decay } else { 0.0 };
                    let c1 = 1.0 - beta1.powi(t);
                    let c2 = 1.0 - beta2.powi(t);
                    Zip::from(w)
                        .and(g)
                        .and(&mut self.first[i])
                        .and(&mut self.second[i])
                        .for_each(|w, &g, m, v| {
                            let g = g + wd * *w;
                            *m = beta1 * *m + (1.0 - beta1) * g;
                            *v = beta2 * *v + (1.0 - beta2) * g * g;
                            *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                        });
                }
            }
            p.apply_mask();
        }
    }
}
