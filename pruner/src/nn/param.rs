//! A trainable tensor with its gradient and an optional 0/1 pruning mask.
//!
//! Invariant: wherever the mask is 0 the value is exactly `+0.0`. Every
//! mutator re-establishes it, so the forward pass can use the value as is and
//! a pruned weight contributes nothing.

use ndarray::{ArrayD, ArrayView, Dimension, Zip};

use crate::error::{PrunerError, Result};

#[derive(Debug, Clone)]
pub struct Param {
    value: ArrayD<f32>,
    grad: ArrayD<f32>,
    mask: Option<ArrayD<f32>>,
}

impl Param {
    pub fn new(value: ArrayD<f32>) -> Self {
        let grad = ArrayD::zeros(value.raw_dim());
        Param {
            value,
            grad,
            mask: None,
        }
    }

    pub fn value(&self) -> &ArrayD<f32> {
        &self.value
    }

    /// Gradient of the last backward pass, already zero where masked.
    pub fn grad(&self) -> &ArrayD<f32> {
        &self.grad
    }

    /// The value with the rank its layer gives it (bias 1-D, fc weight 2-D).
    pub(crate) fn view<D: Dimension>(&self) -> ArrayView<'_, f32, D> {
        self.value
            .view()
            .into_dimensionality::<D>()
            .expect("rank fixed by the layer")
    }

    pub fn mask(&self) -> Option<&ArrayD<f32>> {
        self.mask.as_ref()
    }

    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }

    /// Number of weights the mask keeps (all of them without a mask).
    pub fn live_count(&self) -> usize {
        match &self.mask {
            Some(m) => m.iter().filter(|&&v| v != 0.0).count(),
            None => self.value.len(),
        }
    }

    /// Replaces the value; masked positions are forced back to zero.
    pub fn set_value(&mut self, name: &str, value: ArrayD<f32>) -> Result<()> {
        check_shape(name, self.value.shape(), value.shape())?;
        self.value = value;
        self.apply_mask();
        Ok(())
    }

    /// Installs (or with `None` removes) a mask of 0.0/1.0 entries and zeroes
    /// the pruned weights. Removing a mask does not bring weights back.
    pub fn set_mask(&mut self, name: &str, mask: Option<ArrayD<f32>>) -> Result<()> {
        if let Some(m) = &mask {
            check_shape(name, self.value.shape(), m.shape())?;
            if let Some(bad) = m.iter().find(|&&v| v != 0.0 && v != 1.0) {
                return Err(PrunerError::Tensor {
                    name: name.to_string(),
                    reason: format!("mask entries must be 0 or 1, found {bad}"),
                });
            }
        }
        self.mask = mask;
        self.apply_mask();
        Ok(())
    }

    /// Stores a freshly computed gradient, dropping the masked entries so
    /// optimiser state (momentum, Adam moments) never builds up for them.
    pub(crate) fn set_grad(&mut self, grad: ArrayD<f32>) {
        debug_assert_eq!(grad.shape(), self.value.shape());
        self.grad = grad;
        if let Some(m) = &self.mask {
            Zip::from(&mut self.grad).and(m).for_each(|g, &k| {
                if k == 0.0 {
                    *g = 0.0;
                }
            });
        }
    }

    /// Value and gradient for an optimiser step; the caller must call
    /// [`Param::apply_mask`] afterwards (done by the optimisers).
    pub(crate) fn value_and_grad_mut(&mut self) -> (&mut ArrayD<f32>, &ArrayD<f32>) {
        (&mut self.value, &self.grad)
    }

    /// Assigning rather than multiplying keeps pruned weights at `+0.0`
    /// bit for bit (`-w * 0.0` would give `-0.0`).
    pub(crate) fn apply_mask(&mut self) {
        if let Some(m) = &self.mask {
            Zip::from(&mut self.value).and(m).for_each(|w, &k| {
                if k == 0.0 {
                    *w = 0.0;
                }
            });
        }
    }
}

fn check_shape(name: &str, expected: &[usize], got: &[usize]) -> Result<()> {
    if expected != got {
        return Err(PrunerError::Tensor {
            name: name.to_string(),
            reason: format!("expected shape {expected:?}, got {got:?}"),
        });
    }
    Ok(())
}
