//! Magnitude pruning as Han et al. (NIPS 2015) made it: the baseline
//! energy-aware pruning is compared with, in its authors' strongest form.
//!
//! A round first runs a sensitivity analysis: each layer alone is pruned by
//! a layer-wide magnitude threshold at increasing rates (fractions of its
//! remaining weights) and the search split is scored. A tolerance τ turns
//! the analysis into per-layer rates: each layer gets the highest rate up to
//! which pruning it alone never cost more than τ. A binary search finds the
//! largest τ whose rates, applied to all layers at once, keep the network
//! above the round's floor. Rounds of prune and retrain repeat (iterative
//! pruning), each with a fresh analysis of the retrained network. No energy
//! is read and no weight is refitted.

use super::layer::{LayerView, SuffixScorer};
use super::{LayerStep, PruneEvent, Round, RoundMethod};
use crate::error::Result;
use crate::nn::Network;

pub(crate) struct Sensitivity;

/// Accuracy lost (search split) when each layer alone loses each rate.
pub(crate) struct Analysis {
    /// `drops[layer][rate index]`.
    pub drops: Vec<Vec<f32>>,
}

impl Analysis {
    /// Per layer, the index of the highest rate whose drop and every lower
    /// rate's drop are within `tol`; `None`: not even the lowest.
    pub fn rates_within(&self, tol: f32) -> Vec<Option<usize>> {
        self.drops
            .iter()
            .map(|d| d.iter().take_while(|&&x| x <= tol).count().checked_sub(1))
            .collect()
    }

    /// The distinct drops, ascending: every tolerance that changes the rates.
    pub fn tolerances(&self) -> Vec<f32> {
        let mut t: Vec<f32> = self.drops.iter().flatten().copied().collect();
        t.sort_by(f32::total_cmp);
        t.dedup();
        t
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

        let whole = SuffixScorer::new(rc.current, rc.search, 0);
        let tols = analysis.tolerances();
        let apply = |net: &mut Network, tol: f32| -> Result<()> {
            for ((v, o), r) in views.iter().zip(&orders).zip(analysis.rates_within(tol)) {
                match r {
                    Some(i) => {
                        v.install(net, &v.threshold(o, keep(v, rc.cfg.sensitivity_rates[i])))?
                    }
                    None => v.restore(net)?,
                }
            }
            Ok(())
        };
        // Largest tolerance index that passes; -1 = prune nothing.
        let (mut lo, mut hi) = (-1isize, tols.len() as isize);
        let mut acc_at_lo = whole.accuracy(rc.current);
        for _ in 0..rc.cfg.search_steps.max(1) * 2 {
            if hi - lo <= 1 {
                break;
            }
            let mid = (lo + hi) / 2;
            apply(rc.current, tols[mid as usize])?;
            let acc = whole.accuracy(rc.current);
            let ok = acc >= rc.floor;
            (rc.progress)(PruneEvent::Candidate {
                fraction: f64::from(tols[mid as usize]),
                accuracy: acc,
                accepted: ok,
            });
            if ok {
                (lo, acc_at_lo) = (mid, acc);
            } else {
                hi = mid;
            }
        }
        for v in &views {
            v.restore(rc.current)?;
        }
        // Install the chosen rates layer by layer, recording each layer's
        // share of the energy saved.
        let rates = match lo {
            -1 => vec![None; n],
            i => analysis.rates_within(tols[i as usize]),
        };
        let mut steps = Vec::with_capacity(n);
        for ((v, o), r) in views.iter().zip(&orders).zip(rates) {
            let mut step = LayerStep::unchanged(rc.round, v, acc_at_lo);
            step.energy_before = rc.energy.model_energy(rc.current, rc.calib)?.total;
            if let Some(i) = r {
                v.install(
                    rc.current,
                    &v.threshold(o, keep(v, rc.cfg.sensitivity_rates[i])),
                )?;
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
    for (v, o) in views.iter().zip(orders) {
        let scorer = SuffixScorer::new(rc.current, rc.search, v.li);
        let base = scorer.accuracy(rc.current);
        let mut d = Vec::with_capacity(rc.cfg.sensitivity_rates.len());
        for &rate in &rc.cfg.sensitivity_rates {
            v.install(rc.current, &v.threshold(o, keep(v, rate)))?;
            let acc = scorer.accuracy(rc.current);
            (rc.progress)(PruneEvent::Candidate {
                fraction: 1.0 - rate,
                accuracy: acc,
                accepted: true,
            });
            d.push(base - acc);
        }
        v.restore(rc.current)?;
        drops.push(d);
    }
    Ok(Analysis { drops })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_that_hurts_more_gets_a_lower_rate() {
        // Layer 0 loses accuracy fast, layer 1 slowly (drops per rate).
        let a = Analysis {
            drops: vec![vec![0.0, 0.02, 0.10, 0.30], vec![0.0, 0.0, 0.005, 0.01]],
        };
        // At a 1-point tolerance: layer 0 up to rate index 0, layer 1 to 3.
        assert_eq!(a.rates_within(0.01), vec![Some(0), Some(3)]);
        // A non-monotone curve stops at its first excess.
        let b = Analysis {
            drops: vec![vec![0.0, 0.05, 0.0]],
        };
        assert_eq!(b.rates_within(0.01), vec![Some(0)]);
        // Below every drop: nothing.
        assert_eq!(a.rates_within(-0.01), vec![None, None]);
        assert_eq!(a.tolerances(), vec![0.0, 0.005, 0.01, 0.02, 0.10, 0.30]);
    }
}
