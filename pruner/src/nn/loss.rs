//! Softmax cross-entropy, averaged over the batch.

use ndarray::{Array2, ArrayView2};

/// Returns the mean loss and its gradient with respect to the logits.
/// Computed with the max subtracted so large logits cannot overflow.
pub fn softmax_cross_entropy(logits: ArrayView2<'_, f32>, labels: &[u8]) -> (f32, Array2<f32>) {
    let n = logits.nrows();
    debug_assert_eq!(n, labels.len());
    let mut grad = Array2::<f32>::zeros(logits.raw_dim());
    let mut total = 0.0f64;
    for ((row, mut g), &label) in logits.rows().into_iter().zip(grad.rows_mut()).zip(labels) {
        let max = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let mut sum = 0.0f32;
        for (gv, &z) in g.iter_mut().zip(row.iter()) {
            *gv = (z - max).exp();
            sum += *gv;
        }
        let label = label as usize;
        total += f64::from(sum.ln() - (row[label] - max));
        for gv in g.iter_mut() {
            *gv /= sum * n as f32;
        }
        g[label] -= 1.0 / n as f32;
    }
    ((total / n as f64) as f32, grad)
}

/// Index of the largest logit per row.
pub fn argmax_rows(logits: ArrayView2<'_, f32>) -> Vec<usize> {
    logits
        .rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}
