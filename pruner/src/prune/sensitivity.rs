//! Magnitude pruning as Han et al. (NIPS 2015) made it: the baseline
//! energy-aware pruning is compared with, in its authors' strongest form.
//!
//! A round first runs a sensitivity analysis: each layer alone is pruned by
//! a layer-wide magnitude threshold at increasing rates (fractions of its
//! remaining weights) and the search split is scored. Han et al. then chose
//! each layer's threshold from these curves by hand, pruning the large,
//! insensitive layers hardest (AlexNet's fully connected layers to 9 %, its
//! first convolution to 84 %). Here that choice is automatic: for a price λ
//! of accuracy in weights, each layer takes the rate that maximises
//! `weights removed − λ · accuracy lost` on its own curve (a Lagrangian
//! relaxation of "remove the most weights for a total accuracy loss"), and a
//! binary search on λ finds the cheapest price whose rates, applied to all
//! layers at once, keep the network above the round's floor. Rounds of prune
//! and retrain repeat (iterative pruning), each with a fresh analysis of the
//! retrained network. No energy is read and no weight is refitted.

use super::layer::{LayerView, SuffixScorer};
use super::{LayerStep, Objective, PruneEvent, Round, RoundMethod};
use crate::error::Result;
use crate::nn::Network;

pub(crate) struct Sensitivity;

/// What each layer alone loses at each rate.
pub(crate) struct Analysis {
    /// `drops[layer][rate]`: search-split accuracy lost, at least one image
    /// (`1 / n`): a drop measured at or below zero is noise at that
    /// resolution, and a price that admits it would admit every such layer
    /// at once, whose losses add up.
    pub drops: Vec<Vec<f32>>,
    /// `removed[layer][rate]`: weights removed.
    pub removed: Vec<Vec<usize>>,
}

impl Analysis {
    /// Per layer, the rate index maximising `removed − λ · drop` (`None`:
    /// pruning nothing is best). Ties go to the lower rate.
    pub fn rates_at(&self, lambda: f64) -> Vec<Option<usize>> {
        self.drops
            .iter()
            .zip(&self.removed)
            .map(|(d, r)| {
                let mut best: (Option<usize>, f64) = (None, 0.0);
                for (i, (&drop, &rem)) in d.iter().zip(r).enumerate() {
                    let v = rem as f64 - lambda * f64::from(drop);
                    if v > best.1 {
                        best = (Some(i), v);
                    }
                }
                best.0
            })
            .collect()
    }

    /// A price at which no layer is pruned (every drop is positive).
    pub fn max_price(&self) -> f64 {
        let least = self.drops.iter().flatten().copied().fold(f32::MAX, f32::min);
        let most = self.removed.iter().flatten().copied().max().unwrap_or(0);
        (most as f64 + 1.0) / f64::from(least.min(1.0)).max(1e-9)
    }
}

impl RoundMethod for Sensitivity {
    fn prune_round(&self, rc: &mut Round<'_>) -> Result<bool> {
        let started = std::time::Instant::now();
        let n = rc.current.param_layer_indices().len();
        let views: Vec<LayerView> = (0..n).map(|k| LayerView::read(rc.current, k)).collect();
        let orders: Vec<_> = views.iter().map(LayerView::magnitude_order).collect();
        (rc.progress)(PruneEvent::Status("sensitivity analysis"));
        let analysis = analyse(rc, &views, &orders)?;
        let rates = &rc.cfg.sensitivity_rates;
        let apply = |net: &mut Network, choice: &[Option<usize>]| -> Result<()> {
            for ((v, o), r) in views.iter().zip(&orders).zip(choice) {
                match r {
                    Some(i) => v.install(net, &v.threshold(o, keep(v, rates[*i])))?,
                    None => v.restore(net)?,
                }
            }
            Ok(())
        };

        // Binary search on log λ between a price that prunes nothing and one
        // (1 weight per unit of accuracy) that prunes nearly everything.
        let whole = SuffixScorer::new(rc.current, rc.search, 0);
        let (mut pass, mut fail) = (analysis.max_price().ln(), 0.0f64);
        // Until a price passes, nothing is pruned.
        let mut chosen = (vec![None; n], whole.accuracy(rc.current));
        for _ in 0..rc.cfg.search_steps.max(1) * 2 {
            let mid = 0.5 * (pass + fail);
            let choice = analysis.rates_at(mid.exp());
            apply(rc.current, &choice)?;
            let acc = whole.accuracy(rc.current);
            let ok = acc >= rc.floor;
            (rc.progress)(PruneEvent::Candidate {
                fraction: mid.exp(),
                accuracy: acc,
                accepted: ok,
            });
            if ok {
                (pass, chosen) = (mid, (choice, acc));
            } else {
                fail = mid;
            }
        }
        for v in &views {
            v.restore(rc.current)?;
        }
        // Install the chosen rates layer by layer, recording each layer's
        // share of the energy saved.
        let mut steps = Vec::with_capacity(n);
        for ((v, o), r) in views.iter().zip(&orders).zip(&chosen.0) {
            let mut step = LayerStep::unchanged(rc.round, v, chosen.1);
            step.energy_before = rc.energy.model_energy(rc.current, rc.calib)?.total;
            if let Some(i) = r {
                v.install(rc.current, &v.threshold(o, keep(v, rates[*i])))?;
            }
            step.density_after = v.live_in(rc.current) as f64 / v.total() as f64;
            step.energy_after = rc.energy.model_energy(rc.current, rc.calib)?.total;
            steps.push(step);
        }
        if let Some(last) = steps.last_mut() {
            last.seconds = started.elapsed().as_secs_f64();
        }
        rc.record(steps)
    }

    fn objective(&self) -> Objective {
        Objective::Weights
    }
}

/// Weights layer `v` keeps after losing `rate` of its remaining ones.
fn keep(v: &LayerView, rate: f64) -> usize {
    let alive = v.n_alive();
    alive - (rate * alive as f64).round() as usize
}

/// Prunes each layer alone at every rate and scores the search split.
fn analyse(
    rc: &mut Round<'_>,
    views: &[LayerView],
    orders: &[Vec<(usize, usize)>],
) -> Result<Analysis> {
    let mut drops = Vec::with_capacity(views.len());
    let mut removed = Vec::with_capacity(views.len());
    for (v, o) in views.iter().zip(orders) {
        let scorer = SuffixScorer::new(rc.current, rc.search, v.li);
        let base = scorer.accuracy(rc.current);
        let one_image = 1.0 / rc.search.len().max(1) as f32;
        let (mut d, mut r) = (Vec::new(), Vec::new());
        for &rate in &rc.cfg.sensitivity_rates {
            let k = keep(v, rate);
            v.install(rc.current, &v.threshold(o, k))?;
            let acc = scorer.accuracy(rc.current);
            (rc.progress)(PruneEvent::Candidate {
                fraction: 1.0 - rate,
                accuracy: acc,
                accepted: true,
            });
            d.push((base - acc).max(one_image));
            r.push(v.n_alive() - k);
        }
        v.restore(rc.current)?;
        drops.push(d);
        removed.push(r);
    }
    Ok(Analysis { drops, removed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_that_hurts_more_gets_a_lower_rate() {
        // Two layers of 1,000 weights at rates 10/50/90 %: layer 0 loses
        // accuracy fast, layer 1 slowly.
        let removed = vec![vec![100, 500, 900], vec![100, 500, 900]];
        let a = Analysis {
            drops: vec![vec![0.001, 0.02, 0.10], vec![0.0001, 0.002, 0.01]],
            removed,
        };
        // At 40,000 weights per unit of accuracy (400 per point): layer 0
        // stops at 10 % (100 - 40 = 60 beats 500 - 800 < 0), layer 1 goes
        // to 90 % (900 - 400 = 500 beats 500 - 80 = 420).
        assert_eq!(a.rates_at(40_000.0), vec![Some(0), Some(2)]);
        // Cheaper accuracy prunes both harder, never less.
        assert_eq!(a.rates_at(1_000.0), vec![Some(2), Some(2)]);
        // At the maximal price nothing is pruned.
        let top = a.max_price();
        assert_eq!(a.rates_at(top), vec![None, None]);
    }

    #[test]
    fn a_bigger_layer_is_pruned_harder_at_the_same_sensitivity() {
        // The same accuracy curve, ten times the weights (Han et al.'s fully
        // connected layers against their convolutions).
        let a = Analysis {
            drops: vec![vec![0.005, 0.01, 0.05], vec![0.005, 0.01, 0.05]],
            removed: vec![vec![10, 50, 90], vec![100, 500, 900]],
        };
        assert_eq!(a.rates_at(10_000.0), vec![None, Some(1)]);
    }
}
