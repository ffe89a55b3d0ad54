//! Accuracy changes measured on the same images, with their uncertainty.
//!
//! Two networks scored on the same split differ on a few images only; the
//! change of accuracy is judged from those (a paired comparison, as
//! McNemar's test does), which is far tighter than comparing two
//! independent binomial accuracies. With `lost` images the baseline got
//! right and the pruned network wrong, `gained` the reverse, and `n` images:
//! drop = (lost − gained) / n, and its standard error is
//! sqrt(lost + gained − (lost − gained)² / n) / n.
//!
//! A budget is meant to hold where the user looks: on a held-out split that
//! played no part in the decisions. The drop measured there is the true drop
//! plus that split's own sampling error, so a round is accepted when the
//! upper end of a one-sided prediction interval for the held-out drop is
//! within the budget: drop + z · SE · sqrt(1 + n / n_holdout), where the
//! held-out split's error is estimated from the validation discordance at
//! the held-out size (only the size of the held-out split is read).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// Per-image correctness of one network on one split.
pub type Correct = Vec<bool>;

/// The accuracy change from a baseline to a candidate on the same images.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub images: usize,
    pub baseline_accuracy: f64,
    pub accuracy: f64,
    /// Images right before and wrong now.
    pub lost: usize,
    /// Images wrong before and right now.
    pub gained: usize,
    /// Baseline minus candidate accuracy (positive: worse).
    pub drop: f64,
    /// Standard error of `drop`.
    pub std_error: f64,
    /// Two-sided 95% interval of `drop` (normal approximation).
    pub drop_low95: f64,
    pub drop_high95: f64,
}

impl Change {
    pub fn new(baseline: &[bool], candidate: &[bool]) -> Self {
        assert_eq!(baseline.len(), candidate.len(), "same images");
        let n = baseline.len();
        let (mut lost, mut gained) = (0usize, 0usize);
        for (&b, &c) in baseline.iter().zip(candidate) {
            lost += usize::from(b && !c);
            gained += usize::from(!b && c);
        }
        let nf = n.max(1) as f64;
        let d = lost as f64 - gained as f64;
        let drop = d / nf;
        let std_error = ((lost + gained) as f64 - d * d / nf).max(0.0).sqrt() / nf;
        let z95 = z_one_sided(0.975);
        let count = |v: &[bool]| v.iter().filter(|&&x| x).count() as f64 / nf;
        Change {
            images: n,
            baseline_accuracy: count(baseline),
            accuracy: count(candidate),
            lost,
            gained,
            drop,
            std_error,
            drop_low95: drop - z95 * std_error,
            drop_high95: drop + z95 * std_error,
        }
    }

    /// Upper end of the one-sided `confidence` prediction interval for the
    /// drop measured on a fresh split of `holdout` images (0: for the true
    /// drop itself).
    pub fn upper(&self, confidence: f64, holdout: usize) -> f64 {
        let spread = if holdout == 0 {
            1.0
        } else {
            (1.0 + self.images as f64 / holdout as f64).sqrt()
        };
        self.drop + z_one_sided(confidence) * self.std_error * spread
    }

    /// Whether the drop is within `budget` at [`Change::upper`].
    pub fn within(&self, budget: f64, confidence: f64, holdout: usize) -> bool {
        // The tolerance absorbs f32-to-f64 rounding of the budget only.
        self.upper(confidence, holdout) <= budget + 1e-9
    }
}

/// The standard normal quantile at `p` (0.95 -> 1.645).
pub fn z_one_sided(p: f64) -> f64 {
    if p <= 0.5 {
        return 0.0;
    }
    Normal::standard().inverse_cdf(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_change_by_hand() {
        // 10 images: the candidate loses images 0 and 1, gains image 9.
        let base = [
            true, true, true, true, true, true, true, false, false, false,
        ];
        let cand = [
            false, false, true, true, true, true, true, false, false, true,
        ];
        let c = Change::new(&base, &cand);
        assert_eq!((c.lost, c.gained), (2, 1));
        assert!((c.drop - 0.1).abs() < 1e-12);
        assert!((c.baseline_accuracy - 0.7).abs() < 1e-12 && (c.accuracy - 0.6).abs() < 1e-12);
        // sqrt(2 + 1 - 1/10) / 10 = sqrt(2.9) / 10
        assert!((c.std_error - 2.9f64.sqrt() / 10.0).abs() < 1e-12);
        // z(0.95) = 1.6449 (normal table): 0.1 + 0.2801 > 0.3, < 0.4.
        assert!((z_one_sided(0.95) - 1.644_853_6).abs() < 1e-6);
        assert!(!c.within(0.3, 0.95, 0) && c.within(0.4, 0.95, 0));
        // For a held-out split of the same size the spread is sqrt(2):
        // 0.1 + 1.6449 * 0.1703 * 1.4142 = 0.4961.
        assert!((c.upper(0.95, 10) - 0.4961).abs() < 1e-4);
        // Without a margin only the point estimate counts.
        assert!(c.within(0.1, 0.5, 10) && !c.within(0.09, 0.5, 10));
    }

    #[test]
    fn identical_predictions_have_no_uncertainty() {
        let v = [true, false, true];
        let c = Change::new(&v, &v);
        assert_eq!((c.drop, c.std_error), (0.0, 0.0));
        assert!(c.within(0.0, 0.99, 3));
    }
}
