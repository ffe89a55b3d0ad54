//! Magnitude pruning as Han et al. (NIPS 2015) made it: the baseline
//! energy-aware pruning is compared with, in its authors' strongest form.
//!
//! A round first runs a sensitivity analysis: each layer alone is pruned by
//! a layer-wide magnitude threshold at increasing rates (fractions of its
//! remaining weights) and the search split is scored. Han et al. then chose
//! each layer's threshold from these curves by hand, pruning the large,
//! insensitive layers hardest (AlexNet's fully connected layers to 9 %, its
//! first convolution to 84 %). Here that choice is automatic and checked:
//! starting from no pruning, the next rate step of the layer that removes
//! the most weights per unit of accuracy its curve says it costs is applied
//! to the whole network and kept if the network stays above the round's
//! floor; a layer whose step breaks the floor stops there. Rounds of prune
//! and retrain repeat (iterative pruning), each with a fresh analysis of the
//! retrained network. No weight is refitted, and by default no energy is
//! read; `Allocation::Energy` measures the energy each step saves instead
//! of the weights it removes and buys the most energy per unit of accuracy.

use super::config::Allocation;
use super::config::PruneConfig;
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
    /// `removed[layer][rate]`: what the allocation buys, weights removed
    /// or simulated energy saved (the layer alone at that rate).
    pub removed: Vec<Vec<f64>>,
    /// The smallest accuracy step the search split resolves (one image).
    pub resolution: f32,
}

impl Analysis {
    /// Weights (or energy) gained and accuracy lost (by the layer's own curve) by
    /// moving layer `l` from rate `at` (`None`: unpruned) to the next one.
    fn step(&self, l: usize, at: Option<usize>) -> Option<(f64, f64)> {
        let next = at.map_or(0, |i| i + 1);
        let (d, r) = (&self.drops[l], &self.removed[l]);
        if next >= d.len() {
            return None;
        }
        let (d0, r0) = at.map_or((0.0, 0.0), |i| (d[i], r[i]));
        let gain = (r[next] - r0).max(0.0);
        let cost = f64::from((d[next] - d0).max(self.resolution));
        Some((gain, cost))
    }

    /// The layer whose next step removes the most weights per unit of
    /// accuracy, among those not `stopped` (ties: the earlier layer).
    pub fn cheapest(&self, at: &[Option<usize>], stopped: &[bool]) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for l in 0..self.drops.len() {
            if stopped[l] {
                continue;
            }
            let Some((gain, cost)) = self.step(l, at[l]) else {
                continue;
            };
            let ratio = gain / cost;
            if gain > 0.0 && best.is_none_or(|(_, b)| ratio > b) {
                best = Some((l, ratio));
            }
        }
        best.map(|(l, _)| l)
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

        // Greedy allocation, each step checked on the whole network.
        let whole = SuffixScorer::new(rc.current, rc.search, 0);
        let mut at: Vec<Option<usize>> = vec![None; n];
        let mut stopped = vec![false; n];
        let mut acc = whole.accuracy(rc.current);
        while let Some(l) = analysis.cheapest(&at, &stopped) {
            let mut trial = at.clone();
            trial[l] = Some(at[l].map_or(0, |i| i + 1));
            apply(rc.current, &trial)?;
            let a = whole.accuracy(rc.current);
            let ok = a >= rc.floor;
            (rc.progress)(PruneEvent::Candidate {
                fraction: 1.0 - rates[trial[l].expect("set")],
                accuracy: a,
                accepted: ok,
            });
            if ok {
                (at, acc) = (trial, a);
            } else {
                stopped[l] = true;
            }
        }
        let chosen = (at, acc);
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

    fn objective(&self, cfg: &PruneConfig) -> Objective {
        match cfg.allocation {
            Allocation::Weights => Objective::Weights,
            Allocation::Energy => Objective::Energy,
        }
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
    let by_energy = rc.cfg.allocation == Allocation::Energy;
    let energy = |rc: &mut Round<'_>| -> Result<f64> {
        Ok(match by_energy {
            true => rc.energy.model_energy(rc.current, rc.calib)?.total,
            false => 0.0,
        })
    };
    let base_energy = energy(rc)?;
    for (v, o) in views.iter().zip(orders) {
        let scorer = SuffixScorer::new(rc.current, rc.search, v.li);
        let base = scorer.accuracy(rc.current);
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
            d.push(base - acc);
            r.push(match by_energy {
                true => base_energy - energy(rc)?,
                false => (v.n_alive() - k) as f64,
            });
        }
        v.restore(rc.current)?;
        drops.push(d);
        removed.push(r);
    }
    Ok(Analysis {
        drops,
        removed,
        resolution: 1.0 / rc.search.len().max(1) as f32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysis(drops: Vec<Vec<f32>>, removed: Vec<Vec<f64>>) -> Analysis {
        Analysis {
            drops,
            removed,
            resolution: 1e-4,
        }
    }

    #[test]
    fn a_layer_that_hurts_more_gets_a_lower_rate() {
        // Two layers of 1,000 weights at rates 10/50/90 %: layer 0 loses
        // accuracy fast, layer 1 slowly. Weights per unit of accuracy, step
        // by step: layer 1 100/1e-4 (a free step costs one image), 400/0.002,
        // 400/0.008; layer 0 100/0.001, 400/0.019, 400/0.08. So layer 1 goes
        // first, and each layer's steps in order of that ratio.
        let a = analysis(
            vec![vec![0.001, 0.02, 0.10], vec![0.0, 0.002, 0.01]],
            vec![vec![100.0, 500.0, 900.0], vec![100.0, 500.0, 900.0]],
        );
        let mut at = vec![None, None];
        let stopped = [false, false];
        let mut order = Vec::new();
        while let Some(l) = a.cheapest(&at, &stopped) {
            order.push(l);
            at[l] = Some(at[l].map_or(0, |i| i + 1));
        }
        assert_eq!(order, vec![1, 1, 0, 1, 0, 0]);
        // If the whole network stops layer 1 after its first step, layer 0
        // is next; a stopped layer is never offered again.
        assert_eq!(a.cheapest(&[Some(0), None], &[false, true]), Some(0));
        assert_eq!(a.cheapest(&[Some(0), Some(0)], &[true, true]), None);
    }

    #[test]
    fn a_bigger_layer_is_pruned_first_at_the_same_sensitivity() {
        // The same accuracy curve, ten times the weights (Han et al.'s fully
        // connected layers against their convolutions).
        let a = analysis(
            vec![vec![0.005, 0.01, 0.05], vec![0.005, 0.01, 0.05]],
            vec![vec![10.0, 50.0, 90.0], vec![100.0, 500.0, 900.0]],
        );
        assert_eq!(a.cheapest(&[None, None], &[false, false]), Some(1));
        // A drop at or below zero still costs one image's worth.
        let free = analysis(vec![vec![0.0], vec![-0.01]], vec![vec![10.0], vec![5.0]]);
        let (gain, cost) = free.step(1, None).unwrap();
        assert_eq!(gain, 5.0);
        assert!((cost - 1e-4).abs() < 1e-9);
        assert_eq!(free.cheapest(&[None, None], &[false, false]), Some(0));
    }

    #[test]
    fn the_allocation_buys_what_its_gain_counts() {
        // Equal accuracy curves. By weights layer 0 goes first (900 against
        // 100 removed); by energy layer 1 (a convolution whose 100 weights
        // are reused over a large map saves 5e6 against the fc layer's 1e6):
        // the same allocation, a different currency.
        let drops = vec![vec![0.005], vec![0.005]];
        let weights = analysis(drops.clone(), vec![vec![900.0], vec![100.0]]);
        let energy = analysis(drops, vec![vec![1e6], vec![5e6]]);
        assert_eq!(weights.cheapest(&[None, None], &[false, false]), Some(0));
        assert_eq!(energy.cheapest(&[None, None], &[false, false]), Some(1));
    }
}
