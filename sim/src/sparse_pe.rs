//! The sparse PE's time from densities alone (Eyeriss v2, JETCAS 2019 §IV-C): the expected MAC
//! cycles of a pass's busiest PE per ofmap column, when only the layer's densities are known
//! (with real masks, `masks::column_costs` counts them).
//!
//! Per ifmap of its window a PE spends nothing on a zero (compressed columns never read it:
//! "if the iact is zero, the CSC format will ensure that it is not read", p. 302), and on a
//! non-zero one cycle per `simd` non-zero weights of its column of `p` filters, at least one
//! (the iact is fetched and its column's weight address read even when the column holds no
//! non-zero; `masks::column_costs` takes the same rule). With zeros placed independently at the
//! layer's densities, one ifmap costs Y = Z·max(1, ⌈B/simd⌉), Z ~ Bernoulli(d_i),
//! B ~ Binomial(p, d_w), and a PE's column the sum of n = q·S such terms, whose distribution is
//! computed exactly by convolution. The array waits for its busiest PE ("the throughput of the
//! entire DNN accelerator will be bounded by the PE that has the most non-zero MACs", p. 295),
//! so a column takes the expected maximum over the pass's PEs, Σ_k P(max ≥ k) =
//! Σ_k (1 − F(k−1)^A). Independent zeros are the model's one approximation, and it errs both
//! ways: PEs that share an ifmap (filter sets) or a weight row (ofmap rows) are alike, which
//! makes the true maximum smaller, while zeros that cluster (a dead channel, a pruned filter)
//! make PEs differ more, which makes it larger; on real masks of a pruned CNN the latter wins
//! (README, "Prune for energy, then run on v2").

use std::cell::RefCell;
use std::collections::HashMap;

/// Densities of the data types the PE skips (1 for a type it processes zeros and all).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparsePe {
    pub ifmap_density: f64,
    pub weight_density: f64,
}

impl SparsePe {
    /// The distribution of one ifmap's cycles on a PE holding `p` filters:
    /// `out[k]` = P(Y = k), k = 0..=⌈p/simd⌉.
    fn per_ifmap(&self, p: usize, simd: usize) -> Vec<f64> {
        let steps = p.div_ceil(simd);
        let mut out = vec![0.0; steps + 1];
        let (di, dw) = (
            self.ifmap_density.clamp(0.0, 1.0),
            self.weight_density.clamp(0.0, 1.0),
        );
        out[0] = 1.0 - di;
        for (b, pb) in binomial(p, dw).into_iter().enumerate() {
            out[b.div_ceil(simd).max(1)] += di * pb;
        }
        out
    }

    /// The mean cycles of one ifmap on a PE holding `p` filters.
    pub fn ifmap_mean(&self, p: usize, simd: usize) -> f64 {
        let d = self.per_ifmap(p, simd);
        d.iter().enumerate().map(|(k, &pk)| k as f64 * pk).sum()
    }

    /// The distribution of one PE's cycles on a column of `n` ifmaps (`out[k]` = P(X = k)).
    pub fn column(&self, n: usize, p: usize, simd: usize) -> Vec<f64> {
        let one = self.per_ifmap(p, simd);
        let mut dist = vec![1.0];
        for _ in 0..n {
            let mut next = vec![0.0; dist.len() + one.len() - 1];
            for (a, &pa) in dist.iter().enumerate().filter(|(_, &pa)| pa > 0.0) {
                for (b, &pb) in one.iter().enumerate() {
                    next[a + b] += pa * pb;
                }
            }
            dist = next;
        }
        dist
    }

    /// The expected cycles of the busiest of `pes` PEs on a column of `n` ifmaps, each PE
    /// holding `p` filters.
    pub fn busiest_column(&self, n: usize, p: usize, simd: usize, pes: usize) -> f64 {
        let dist = self.column(n, p, simd);
        let mut below = 0.0; // F(k - 1) = P(X < k)
        let mut expected = 0.0;
        for &pk in &dist[..dist.len() - 1] {
            below += pk;
            expected += 1.0 - below.min(1.0).powi(pes.max(1) as i32);
        }
        expected
    }

    /// The expected cycles of the busiest of `pes` PEs over a pass of `columns` columns of `n`
    /// ifmaps each, when PEs wait for one another only at the pass's end (`PeSync::Pass`): the
    /// maximum of the PEs' totals. Exact (by convolution) while a total's range is small;
    /// beyond it a total of so many independent terms is taken as normal, with the exact mean
    /// and variance and the expected maximum of `pes` standard normals (`normal_max`).
    pub fn busiest_pass(&self, n: usize, columns: usize, p: usize, simd: usize, pes: usize) -> f64 {
        let terms = n * columns;
        let steps = p.div_ceil(simd).max(1);
        if terms * steps <= EXACT_RANGE {
            return self.busiest_column(terms, p, simd, pes);
        }
        let one = self.per_ifmap(p, simd);
        let mean: f64 = one.iter().enumerate().map(|(k, &q)| k as f64 * q).sum();
        let square: f64 = one
            .iter()
            .enumerate()
            .map(|(k, &q)| (k * k) as f64 * q)
            .sum();
        let sd = (terms as f64 * (square - mean * mean).max(0.0)).sqrt();
        let most = (terms * steps) as f64;
        (terms as f64 * mean + sd * normal_max(pes)).min(most)
    }

    /// The least share of its dense MAC steps (`⌈p/simd⌉` per ifmap) a PE holding from 1 to
    /// `p_most` filters spends, on average: a floor on any such pass's MAC cycles (the busiest
    /// PE's expected work is at least one PE's mean), for the latency bounds.
    pub fn floor_fraction(&self, p_most: usize, simd: usize) -> f64 {
        (1..=p_most.max(1))
            .map(|p| self.ifmap_mean(p, simd) / p.div_ceil(simd) as f64)
            .fold(1.0, f64::min)
    }
}

/// The largest range of a PE's total computed exactly (a convolution costs about its square).
const EXACT_RANGE: usize = 512;

/// The expected maximum of `a` independent standard normals, ∫ x · d(Φ(x)^a), by the midpoint
/// rule on [-8, 8] (Φ^a is 0 to double precision below and 1 above for a up to millions).
pub fn normal_max(a: usize) -> f64 {
    if a <= 1 {
        return 0.0;
    }
    // The edp search times thousands of passes of a few PE counts: integrate each once.
    thread_local! {
        static KNOWN: RefCell<HashMap<usize, f64>> = RefCell::new(HashMap::new());
    }
    KNOWN.with(|k| {
        *k.borrow_mut()
            .entry(a)
            .or_insert_with(|| integrate_normal_max(a))
    })
}

fn integrate_normal_max(a: usize) -> f64 {
    let (lo, hi, steps) = (-8.0_f64, 8.0_f64, 4000);
    let h = (hi - lo) / steps as f64;
    // E[max] = ∫ (1 - Φ^a) dx over x > 0 minus ∫ Φ^a dx over x < 0.
    (0..steps)
        .map(|i| {
            let x = lo + (i as f64 + 0.5) * h;
            let fa = normal_cdf(x).powi(a as i32);
            if x > 0.0 {
                (1.0 - fa) * h
            } else {
                -fa * h
            }
        })
        .sum()
}

/// Φ(x) from the complementary error function (W. J. Cody's rational approximations are what
/// libm uses; this is Numerical Recipes' erfc Chebyshev fit, fractional error below 1.2e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = -x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z.abs());
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let erfc = if z >= 0.0 { erfc } else { 2.0 - erfc };
    0.5 * erfc
}

/// P(B = b), b = 0..=n, for B ~ Binomial(n, d), by the recurrence on b (no factorials).
fn binomial(n: usize, d: f64) -> Vec<f64> {
    let mut out = vec![0.0; n + 1];
    if d <= 0.0 {
        out[0] = 1.0;
        return out;
    }
    if d >= 1.0 {
        out[n] = 1.0;
        return out;
    }
    out[0] = (1.0 - d).powi(n as i32);
    for b in 1..=n {
        out[b] = out[b - 1] * (n - b + 1) as f64 / b as f64 * d / (1.0 - d);
    }
    out
}

/// Column `i`'s share of `columns` columns of `mean` cycles each, in whole cycles: the columns
/// add up to ⌈columns·mean⌉ exactly (a per-column ⌈mean⌉ would add up to a cycle per column).
pub fn spread(mean: f64, i: u64) -> u64 {
    let at = |k: u64| (k as f64 * mean - 1e-9).ceil().max(0.0) as u64;
    at(i + 1) - at(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_sums_to_one_and_has_its_mean() {
        for (n, d) in [(1, 0.3), (7, 0.5), (32, 0.12), (5, 0.0), (5, 1.0)] {
            let b = binomial(n, d);
            let total: f64 = b.iter().sum();
            let mean: f64 = b.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
            assert!((total - 1.0).abs() < 1e-12, "{n} {d}");
            assert!((mean - n as f64 * d).abs() < 1e-12, "{n} {d}");
        }
    }

    #[test]
    fn normal_max_matches_tables() {
        // Expected largest of a standard normals (Harter 1961, Table of expected normal order
        // statistics): a = 2: 1/√π = 0.5642, a = 10: 1.5388, a = 100: 2.5076.
        for (a, want) in [(2, 0.564_19), (10, 1.538_75), (100, 2.507_59)] {
            assert!(
                (normal_max(a) - want).abs() < 1e-3,
                "{a}: {}",
                normal_max(a)
            );
        }
        assert_eq!(normal_max(1), 0.0);
    }

    #[test]
    fn spread_adds_up_to_the_ceiling() {
        for mean in [0.0, 0.4, 1.0, 1.7, 12.25] {
            let total: u64 = (0..37).map(|i| spread(mean, i)).sum();
            assert_eq!(total, (37.0 * mean - 1e-9_f64).ceil().max(0.0) as u64);
        }
    }
}
