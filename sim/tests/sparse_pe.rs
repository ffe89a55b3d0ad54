//! The sparse PE's density-only time (`ember_sim::sparse_pe`) against two independent methods:
//! exhaustive enumeration of every zero pattern of a small column, and a Monte Carlo draw of the
//! busiest of several PEs from raw random bits.

use ember_sim::sparse_pe::SparsePe;

/// The per-ifmap rule written out for one pattern: a zero ifmap costs nothing, a non-zero one
/// ⌈its non-zero weights / simd⌉ cycles, at least one (JETCAS 2019 p. 302, as in the module).
fn cycles_of(iacts: &[bool], weights: &[u32], simd: u32) -> usize {
    iacts
        .iter()
        .zip(weights)
        .filter(|(z, _)| **z)
        .map(|(_, w)| w.count_ones().div_ceil(simd).max(1) as usize)
        .sum()
}

#[test]
fn column_distribution_equals_enumeration() {
    // n = 2 ifmaps of p = 3 filters: 2^(2 + 6) = 256 patterns, each weighted by its probability.
    let (n, p, simd) = (2usize, 3usize, 2u32);
    for (di, dw) in [(0.6, 0.3), (1.0, 0.5), (0.25, 1.0), (0.5, 0.0)] {
        let sp = SparsePe {
            ifmap_density: di,
            weight_density: dw,
        };
        let mut exact = vec![0.0; n * p.div_ceil(simd as usize) + 1];
        for bits in 0u32..1 << (n + n * p) {
            let iacts: Vec<bool> = (0..n).map(|j| bits >> j & 1 == 1).collect();
            let weights: Vec<u32> = (0..n)
                .map(|j| (bits >> (n + j * p)) & ((1 << p) - 1))
                .collect();
            let on_i = iacts.iter().filter(|&&z| z).count() as i32;
            let on_w = weights.iter().map(|w| w.count_ones()).sum::<u32>() as i32;
            let prob = di.powi(on_i)
                * (1.0 - di).powi(n as i32 - on_i)
                * dw.powi(on_w)
                * (1.0 - dw).powi((n * p) as i32 - on_w);
            exact[cycles_of(&iacts, &weights, simd)] += prob;
        }
        let model = sp.column(n, p, simd as usize);
        assert_eq!(model.len(), exact.len());
        for (k, (m, e)) in model.iter().zip(&exact).enumerate() {
            assert!((m - e).abs() < 1e-12, "d=({di},{dw}) P(X={k}): {m} vs {e}");
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a fixed, dependency-free stream of random bits.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn bernoulli(&mut self, d: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < d
    }

    /// One PE's cycles over `iacts` ifmaps of `p` filters, zeros drawn at the densities, by
    /// the rule of `cycles_of`.
    fn pe_cycles(&mut self, iacts: usize, p: usize, simd: usize, (di, dw): (f64, f64)) -> usize {
        let mut total = 0;
        for _ in 0..iacts {
            if self.bernoulli(di) {
                let k = (0..p).filter(|_| self.bernoulli(dw)).count();
                total += k.div_ceil(simd).max(1);
            }
        }
        total
    }
}

/// The mean of `trials` draws of the busiest of `pes` PEs, each drawing `pe()`, and its
/// standard error.
fn busiest_mean(trials: usize, pes: usize, mut pe: impl FnMut() -> usize) -> (f64, f64) {
    let (mut sum, mut sq) = (0.0, 0.0);
    for _ in 0..trials {
        let busiest = (0..pes).map(|_| pe()).max().unwrap_or(0) as f64;
        sum += busiest;
        sq += busiest * busiest;
    }
    let mean = sum / trials as f64;
    (
        mean,
        ((sq / trials as f64 - mean * mean) / trials as f64).sqrt(),
    )
}

#[test]
fn busiest_pe_matches_monte_carlo() {
    // A PEs, each n = q·S ifmaps of p filters, zeros drawn independently: the mean of the
    // busiest PE's cycles over many draws. The tolerance is 5 standard errors of that mean
    // (the draws' own spread), so the test fails only if the model is wrong.
    let mut rng = SplitMix(16);
    for (n, p, simd, pes, di, dw) in [
        (12, 8, 2, 192, 0.45, 0.35),
        (3, 32, 2, 48, 0.6, 0.1),
        (16, 1, 1, 12, 0.3, 1.0),
    ] {
        let sp = SparsePe {
            ifmap_density: di,
            weight_density: dw,
        };
        let (mean, se) = busiest_mean(4000, pes, || rng.pe_cycles(n, p, simd, (di, dw)));
        let model = sp.busiest_column(n, p, simd, pes);
        assert!(
            (model - mean).abs() <= 5.0 * se.max(1e-3),
            "n={n} p={p} simd={simd} A={pes}: model {model:.4}, Monte Carlo {mean:.4} ± {se:.4}"
        );
    }
}

#[test]
fn busiest_pass_matches_monte_carlo() {
    // PEs that wait only at the pass's end: the busiest total over `columns` columns. The
    // first case is small enough to be exact (5 standard errors, as above); the second is past
    // the exact range, where a total of 2,640 independent terms is taken as normal: that
    // approximation is held to 1 % of the mean on top of the draws' 5 standard errors (a
    // tolerance from the model's purpose: imbalance is a few per cent of a layer's time, and
    // the validation band is ±30 %).
    let mut rng = SplitMix(1016);
    for (n, columns, p, simd, pes, di, dw, approx) in [
        (3, 20, 8, 2, 48, 0.45, 0.35, 0.0),
        (12, 55, 8, 2, 24, 0.45, 0.35, 0.01),
    ] {
        let sp = SparsePe {
            ifmap_density: di,
            weight_density: dw,
        };
        let draw = || rng.pe_cycles(n * columns, p, simd, (di, dw));
        let (mean, se) = busiest_mean(600, pes, draw);
        let model = sp.busiest_pass(n, columns, p, simd, pes);
        assert!(
            (model - mean).abs() <= 5.0 * se + approx * mean,
            "n={n} columns={columns}: model {model:.2}, Monte Carlo {mean:.2} ± {se:.2}"
        );
    }
}

#[test]
fn dense_is_the_dense_column_and_floor_is_a_floor() {
    // Densities 1: every ifmap costs ⌈p/simd⌉ (at least 1) on every PE, whatever their number.
    let dense = SparsePe {
        ifmap_density: 1.0,
        weight_density: 1.0,
    };
    for (n, p, simd) in [(12usize, 8usize, 2usize), (3, 5, 2), (16, 1, 1), (4, 32, 1)] {
        let want = (n * p.div_ceil(simd)) as f64;
        assert!((dense.busiest_column(n, p, simd, 192) - want).abs() < 1e-9);
        assert!((dense.floor_fraction(p, simd) - 1.0).abs() < 1e-12);
    }
    // The floor never exceeds one PE's mean share at any p it covers, and a PE's mean never
    // exceeds the busiest of several.
    let sp = SparsePe {
        ifmap_density: 0.5,
        weight_density: 0.9,
    };
    let floor = sp.floor_fraction(32, 2);
    for p in 1..=32 {
        let mean = sp.ifmap_mean(p, 2);
        assert!(floor * p.div_ceil(2) as f64 <= mean + 1e-12, "p={p}");
        assert!(sp.busiest_column(4, p, 2, 1) <= sp.busiest_column(4, p, 2, 24) + 1e-12);
        assert!(
            (sp.busiest_column(4, p, 2, 1) - 4.0 * mean).abs() < 1e-9,
            "p={p}"
        );
    }
    // By hand, p = 3 on two lanes at d_w = 0.9: max(1, ⌈B/2⌉) is 2 only when B = 3
    // (0.729), else 1, so a non-zero ifmap averages 1.729 steps of the dense 2, below d_w.
    assert!((sp.ifmap_mean(3, 2) - 0.5 * 1.729).abs() < 1e-12);
}
