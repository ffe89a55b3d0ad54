//! The layer-by-layer method of energy-aware pruning, with its three ideas
//! as options (for ablations): the visiting order (most energy first), the
//! choice of kept weights (output-feature-map error), and the least-squares
//! refit of the kept weights.
//!
//! A round visits every conv/fc layer once. For the visited layer a binary
//! search on the kept count finds the fewest weights that keep the search
//! split's accuracy above the round's floor.

use ndarray::{Array2, Array4, Axis, Ix2, Ix4};
use rayon::prelude::*;

use super::config::{LayerOrder, PruneConfig};
use super::layer::{chunks, Candidate, LayerView, SuffixScorer};
use super::lsq::LayerStats;
use super::{LayerStep, Objective, PruneEvent, Round, RoundMethod};
use crate::energy::ModelEnergy;
use crate::error::{PrunerError, Result};
use crate::nn::im2col::im2col;
use crate::nn::{Layer, Network, Tensor};

pub(crate) struct Greedy;

impl RoundMethod for Greedy {
    fn prune_round(&self, rc: &mut Round<'_>) -> Result<bool> {
        let n_layers = rc.current.param_layer_indices().len();
        while rc.done().len() < n_layers {
            let e_now = rc.energy.model_energy(rc.current, rc.calib)?;
            let k = next_layer(rc.cfg.order, &e_now, rc.current, rc.done());
            let index = rc.done().len() + 1;
            (rc.progress)(PruneEvent::LayerStart {
                round: rc.round,
                index,
                of: n_layers,
                name: &e_now.layers[k].name,
            });
            let started = std::time::Instant::now();
            let view = LayerView::read(rc.current, k);
            let mut step = prune_layer(rc, &view)?;
            step.energy_before = e_now.total;
            step.energy_after = rc.energy.model_energy(rc.current, rc.calib)?.total;
            if step.energy_after > step.energy_before {
                // Fewer weights can cost more energy: a refitted layer may
                // leave denser activations for the layers after it. An
                // energy-aware method keeps the layer as it was.
                view.restore(rc.current)?;
                step.energy_rise_undone = true;
                step.density_after = step.density_before;
                step.energy_after = step.energy_before;
            }
            step.seconds = started.elapsed().as_secs_f64();
            if !rc.record(vec![step])? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn objective(&self, _: &PruneConfig) -> Objective {
        Objective::Energy
    }
}

/// The unvisited layer to prune next.
fn next_layer(order: LayerOrder, e: &ModelEnergy, net: &Network, done: &[String]) -> usize {
    let open: Vec<usize> = (0..e.layers.len())
        .filter(|&i| !done.contains(&e.layers[i].name))
        .collect();
    // Ties go to the earlier layer.
    let most = |key: &dyn Fn(usize) -> f64| {
        open.iter()
            .copied()
            .max_by(|&a, &b| key(a).total_cmp(&key(b)).then(b.cmp(&a)))
    };
    match order {
        LayerOrder::Network => open.first().copied(),
        LayerOrder::Energy => most(&|i| e.layers[i].energy.total),
        LayerOrder::Weights => {
            let live: Vec<f64> = net
                .params()
                .iter()
                .filter(|(n, _)| n.ends_with(".weight"))
                .map(|(_, p)| p.live_count() as f64)
                .collect();
            most(&|i| live[i])
        }
    }
    .expect("called with a layer left")
}

/// Builds candidates for one layer: a layer-wide magnitude threshold, then
/// per output channel the criterion's choice and, optionally, the refit.
struct Builder<'a> {
    view: &'a LayerView,
    order: Vec<(usize, usize)>,
    stats: Option<GroupStats>,
    restore: f64,
    ridge: f64,
}

impl Builder<'_> {
    /// Keeps `keep` weights; `refit`: refit them (needs statistics).
    fn build(&self, keep: usize, refit: bool) -> Candidate {
        let plain = self.view.threshold(&self.order, keep);
        let Some(st) = &self.stats else {
            return plain;
        };
        let (m, kk) = self.view.dims();
        let rows: Vec<(Vec<f64>, Vec<f64>)> = (0..m)
            .into_par_iter()
            .map(|c| {
                let kc = plain.mask.row(c).iter().filter(|&&v| v != 0.0).count();
                let mut wa: Vec<f64> = self.view.w.row(c).to_vec();
                wa.push(self.view.bias[c]);
                let alive_c: Vec<bool> = self.view.alive.row(c).iter().map(|&v| v != 0.0).collect();
                let restore = (self.restore * kc as f64).floor() as usize;
                let (st, cl) = st.channel(c);
                let kept = st.select(cl, &wa, &alive_c, kc, restore);
                let out = if refit {
                    st.refit(cl, &kept, &wa, self.ridge)
                } else {
                    let mut v = vec![0.0; kk + 1];
                    for &j in &kept {
                        v[j] = wa[j];
                    }
                    v[kk] = wa[kk];
                    v
                };
                let mut mrow = vec![0.0; kk];
                for &j in &kept {
                    mrow[j] = 1.0;
                }
                (out, mrow)
            })
            .collect();
        let mut cand = Candidate {
            w: Array2::zeros((m, kk)),
            mask: Array2::zeros((m, kk)),
            bias: vec![0.0; m],
        };
        for (c, (out, mrow)) in rows.into_iter().enumerate() {
            for j in 0..kk {
                cand.w[[c, j]] = out[j] * mrow[j];
                cand.mask[[c, j]] = mrow[j];
            }
            cand.bias[c] = out[kk];
        }
        cand
    }

    /// Squared output error relative to ‖Y‖² of a candidate.
    fn output_error(&self, cand: &Candidate) -> Option<f64> {
        let st = self.stats.as_ref()?;
        let yy: f64 = st
            .groups
            .iter()
            .map(|g| g.yy.sum())
            .sum::<f64>()
            .max(1e-300);
        let (m, _) = self.view.dims();
        let e: f64 = (0..m)
            .map(|ch| {
                let mut v: Vec<f64> = cand.w.row(ch).to_vec();
                v.push(cand.bias[ch]);
                let (g, cl) = st.channel(ch);
                g.error(cl, &v)
            })
            .sum();
        Some(e / yy)
    }
}

/// Binary search on the kept count of layer `k`: the fewest weights that
/// keep the search split above the round's floor.
fn prune_layer(rc: &mut Round<'_>, view: &LayerView) -> Result<LayerStep> {
    let cfg: &PruneConfig = rc.cfg;
    let needs_stats = cfg.refit || cfg.restore() > 0.0;
    let stats = if needs_stats {
        Some(layer_stats(
            rc.current,
            rc.original,
            view.li,
            rc.refit_images,
            cfg.refit_max_rows,
        )?)
    } else {
        None
    };
    let b = Builder {
        view,
        order: view.magnitude_order(),
        stats,
        restore: cfg.restore(),
        ridge: cfg.ridge,
    };
    let scorer = SuffixScorer::new(rc.current, rc.search, view.li);
    let n_alive = view.n_alive();
    let mut step = LayerStep::unchanged(rc.round, view, scorer.accuracy(rc.current));

    // `hi` always passes (the current weights), `lo` fails or is zero.
    let (mut lo, mut hi) = (0usize, n_alive);
    let mut best: Option<(usize, f32)> = None;
    for _ in 0..cfg.search_steps {
        if hi - lo <= 1 {
            break;
        }
        let mid = (lo + hi) / 2;
        view.install(rc.current, &b.build(mid, cfg.refit))?;
        let acc = scorer.accuracy(rc.current);
        let ok = acc >= rc.floor;
        (rc.progress)(PruneEvent::Candidate {
            fraction: mid as f64 / view.total() as f64,
            accuracy: acc,
            accepted: ok,
        });
        if ok {
            hi = mid;
            best = Some((mid, acc));
        } else {
            lo = mid;
        }
    }
    let Some((keep, acc)) = best else {
        view.restore(rc.current)?;
        return Ok(step);
    };
    let cand = b.build(keep, cfg.refit);
    if cfg.refit {
        // The refit's effect at the chosen amount: the same support
        // without the refit.
        let plain = b.build(keep, false);
        view.install(rc.current, &plain)?;
        step.val_accuracy_no_refit = Some(scorer.accuracy(rc.current));
        step.output_error_pruned = b.output_error(&plain);
        step.output_error_refit = b.output_error(&cand);
    } else {
        step.output_error_pruned = b.output_error(&cand);
    }
    view.install(rc.current, &cand)?;
    step.val_accuracy = acc;
    step.density_after = view.live_in(rc.current) as f64 / view.total() as f64;
    Ok(step)
}

/// Normal-equation statistics of a layer, one set per group: output
/// channel `c` of a grouped convolution sees only its group's inputs (the
/// group's block of im2col columns), so each group has its own Gram matrix
/// (a depthwise layer: one 10 x 10 per channel, not one over all channels).
struct GroupStats {
    groups: Vec<LayerStats>,
    /// Output channels per group.
    mg: usize,
}

impl GroupStats {
    /// The statistics channel `c` uses and its index within them.
    fn channel(&self, c: usize) -> (&LayerStats, usize) {
        (&self.groups[c / self.mg], c % self.mg)
    }
}

/// Normal-equation statistics of the param layer at `li`: inputs from the
/// current (pruned) network, targets from the original network's output.
fn layer_stats(
    current: &mut Network,
    original: &mut Network,
    li: usize,
    images: &Array4<f32>,
    max_rows: usize,
) -> Result<GroupStats> {
    let groups = match &current.layers()[li] {
        Layer::Conv2d(l) => l.groups,
        _ => 1,
    };
    let mut stats: Vec<LayerStats> = Vec::new();
    let n_images = images.len_of(Axis(0));
    let mut row_at = 0usize; // global index of the next lowered row
    for x in chunks(images, 32) {
        let n_chunk = x.shape()[0];
        let (input, _) = current.node_io(x.clone(), li)?;
        let (_, target) = original.node_io(x, li)?;
        let (lowered, y) = lower_layer_input(&current.layers()[li], input, target);
        // Thin conv rows evenly (every `step`-th row over the whole batch).
        let rows = lowered.nrows();
        let per_image = rows / n_chunk;
        let step = (n_images * per_image).div_ceil(max_rows.max(1)).max(1);
        let (lowered, y) = if step > 1 {
            let idx: Vec<usize> = (0..rows)
                .filter(|r| (row_at + r).is_multiple_of(step))
                .collect();
            (lowered.select(Axis(0), &idx), y.select(Axis(0), &idx))
        } else {
            (lowered, y)
        };
        row_at += rows;
        let (kg, mg) = (lowered.ncols() / groups, y.ncols() / groups);
        if stats.is_empty() {
            stats = (0..groups).map(|_| LayerStats::new(kg, mg)).collect();
        }
        for (gi, st) in stats.iter_mut().enumerate() {
            st.accumulate(
                lowered.slice(ndarray::s![.., gi * kg..(gi + 1) * kg]),
                y.slice(ndarray::s![.., gi * mg..(gi + 1) * mg]),
            );
        }
    }
    if stats.is_empty() {
        return Err(PrunerError::Config("empty calibration batch".into()));
    }
    let mg = stats[0].yy.len();
    Ok(GroupStats { groups: stats, mg })
}

/// The layer's lowered input `[rows, K]` and target output `[rows, M]`.
fn lower_layer_input(layer: &Layer, input: Tensor, target: Tensor) -> (Array2<f32>, Array2<f32>) {
    match layer {
        Layer::Conv2d(l) => {
            let a = input.into_dimensionality::<Ix4>().expect("NHWC");
            let (n, h, w, _) = a.dim();
            let g = l.geom(h, w);
            let a = a.as_standard_layout();
            let mut cols = Array2::<f32>::zeros((n * g.pixels(), g.row_len()));
            im2col(
                a.as_slice().expect("standard"),
                &g,
                cols.as_slice_mut().expect("fresh"),
            );
            let y = target
                .as_standard_layout()
                .into_owned()
                .into_shape_with_order((n * g.pixels(), l.out_channels))
                .expect("output shape");
            (cols, y)
        }
        Layer::Linear(_) => (
            input
                .into_owned()
                .into_dimensionality::<Ix2>()
                .expect("features"),
            target
                .into_owned()
                .into_dimensionality::<Ix2>()
                .expect("features"),
        ),
        _ => unreachable!("param layer"),
    }
}
