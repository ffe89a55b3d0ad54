//! What a row-stationary PE's storage can hold: three spads of fixed sizes (the Eyeriss chip:
//! filter 224, ifmap 12, psum 24 words; JSSC 2017 §V-C), or one register file whose split among
//! the data types the mapper chooses per layer (the ISCA 2016 study's 512 B RF per PE, §VI-A;
//! nn_dataflow models its RF so too).
//!
//! A PE running p filters on q channels of an S-column filter row holds q·S ifmap words, p·q·S
//! filter words and p psums (JSSC 2017 §IV-A). With separate spads each must fit its own; with a
//! unified RF of U words their sum must fit: q·S + p·q·S + p <= U.

use super::PeSpec;
use crate::csc::{csc_ratio, CSC_WEIGHT_ADDRESS_BITS};

/// The most dense weights a compressed filter spad is taken to hold (a density near zero
/// would make it unbounded; the ifmap and psum spads bound the mapping long before).
const MOST_DENSE_WEIGHTS: usize = 1 << 20;

impl PeSpec {
    /// This PE with its filter spad holding compressed columns of weights at `weight_density`:
    /// the dense weights whose expected non-zeros fit its entries, ⌊entries / density⌋. As it
    /// is without `compressed_weights` or with a unified RF (which stores dense).
    pub fn for_density(&self, weight_density: f64) -> PeSpec {
        if !self.compressed_weights || self.rf_words.is_some() {
            return *self;
        }
        let d = weight_density.clamp(0.0, 1.0);
        let words = match d > 0.0 {
            true => (self.filter_spad_words as f64 / d)
                .floor()
                .min(MOST_DENSE_WEIGHTS as f64),
            false => MOST_DENSE_WEIGHTS as f64,
        };
        PeSpec {
            filter_spad_words: (words as usize).max(self.filter_spad_words),
            ..*self
        }
    }

    /// This PE for `p` filters of a layer of `weight_density` in `word_bits`-bit words: its
    /// filter spad holds them compressed when the weights move compressed, i.e. when
    /// (count, value) pairs with one address per column of `p` would shrink them (the `csc`
    /// rule, `csc::csc_ratio`); otherwise each weight, zero or not, takes an entry.
    pub fn for_weights(&self, weight_density: f64, p: usize, word_bits: usize) -> PeSpec {
        let ratio = csc_ratio(weight_density, p as u64, CSC_WEIGHT_ADDRESS_BITS, word_bits);
        match ratio < 1.0 {
            true => self.for_density(weight_density),
            false => *self,
        }
    }

    /// Can a PE hold `p` filters of `q` channels on `cols`-column rows at `weight_density`?
    /// Dense, or else compressed at `p` (`for_weights`; the CSC rule is only asked beyond the
    /// dense limit).
    pub fn holds_filters(
        &self,
        p: usize,
        q: usize,
        cols: usize,
        weight_density: f64,
        word_bits: usize,
    ) -> bool {
        self.max_p(q, cols) >= p
            || self
                .for_weights(weight_density, p, word_bits)
                .max_p(q, cols)
                >= p
    }

    /// Is the PE's storage one register file (`rf_words`) rather than three spads?
    pub fn unified(&self) -> bool {
        self.rf_words.is_some()
    }

    /// Words of storage per PE, all data types together.
    pub fn rf_total(&self) -> usize {
        match self.rf_words {
            Some(u) => u,
            None => self.filter_spad_words + self.ifmap_spad_words + self.psum_spad_words,
        }
    }

    /// The most channels q a PE can interleave on filter rows of `cols` columns (with at least
    /// one filter and its psum beside them).
    pub fn max_q(&self, cols: usize) -> usize {
        let cols = cols.max(1);
        match self.rf_words {
            // q·S ifmaps + q·S weights of one filter + 1 psum.
            Some(u) => u.saturating_sub(1) / (2 * cols),
            None => (self.ifmap_spad_words / cols).min(self.filter_spad_words / cols),
        }
    }

    /// The most filters p a PE can interleave with q channels of `cols`-column rows; 0 when even
    /// one does not fit. Never larger for a larger q, so `max_p(1, cols)` bounds every q.
    pub fn max_p(&self, q: usize, cols: usize) -> usize {
        let row = q.max(1) * cols.max(1);
        match self.rf_words {
            // q·S ifmaps, then each filter costs q·S weights and one psum.
            Some(u) => u.saturating_sub(row) / (row + 1),
            None if row > self.ifmap_spad_words => 0,
            None => (self.filter_spad_words / row).min(self.psum_spad_words),
        }
    }

    /// The widest filter row (columns S) one PE can hold with one channel and one filter:
    /// wider rows are split into column segments.
    pub fn max_row(&self) -> usize {
        match self.rf_words {
            Some(u) => u.saturating_sub(1) / 2,
            None => self.ifmap_spad_words.min(self.filter_spad_words),
        }
    }

    /// Does a PE hold q channels of p filters on rows of `sk` columns? The error names the
    /// storage that overflows.
    pub fn fits(&self, p: usize, q: usize, sk: usize) -> Result<(), String> {
        let (ifmaps, filters, psums) = (q * sk, p * q * sk, p);
        if let Some(u) = self.rf_words {
            let need = ifmaps + filters + psums;
            if need > u {
                return Err(format!("RF {u} < q·S + p·q·S + p = {need}"));
            }
            return Ok(());
        }
        if ifmaps > self.ifmap_spad_words {
            return Err(format!(
                "ifmap spad {} < q·S = {ifmaps}",
                self.ifmap_spad_words
            ));
        }
        if filters > self.filter_spad_words {
            return Err(format!(
                "filter spad {} < p·q·S = {filters}",
                self.filter_spad_words
            ));
        }
        if psums > self.psum_spad_words {
            return Err(format!("psum spad {} < p = {psums}", self.psum_spad_words));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unified(u: usize) -> PeSpec {
        PeSpec {
            filter_spad_words: 0,
            ifmap_spad_words: 0,
            psum_spad_words: 0,
            rf_words: Some(u),
            pipeline_stages: 1,
            skip_zero_cycles: false,
            simd: 1,
            sync: Default::default(),
            compressed_weights: false,
        }
    }

    /// By hand for the study's 256-word RF and a 3-column row: q <= 255 / 6 = 42 (42·3 ifmaps +
    /// 42·3 weights + 1 psum = 253); with q = 4 (12 ifmaps), p <= 244 / 13 = 18
    /// (12 + 216 + 18 = 246, and p = 19 needs 259).
    #[test]
    fn unified_limits_by_hand() {
        let pe = unified(256);
        assert_eq!(pe.max_q(3), 42);
        assert!(pe.fits(1, 42, 3).is_ok() && pe.fits(1, 43, 3).is_err());
        assert_eq!(pe.max_p(4, 3), 18);
        assert!(pe.fits(18, 4, 3).is_ok() && pe.fits(19, 4, 3).is_err());
        assert_eq!(pe.max_row(), 127);
        assert_eq!(pe.rf_total(), 256);
    }

    /// The limits agree with `fits` for every (p, q, S) of small RFs and spad sets: max_q and
    /// max_p are the largest values that fit, and max_p falls with q.
    #[test]
    fn limits_are_the_largest_that_fit() {
        let mut pes: Vec<PeSpec> = (1..40).map(unified).collect();
        for (f, i, p) in [(224, 12, 24), (5, 7, 3), (1, 1, 1), (30, 4, 2)] {
            pes.push(PeSpec {
                filter_spad_words: f,
                ifmap_spad_words: i,
                psum_spad_words: p,
                ..unified(0)
            });
            pes.last_mut().unwrap().rf_words = None;
        }
        for pe in &pes {
            for s in 1..6 {
                let qmax = pe.max_q(s);
                assert!(qmax == 0 || pe.fits(1, qmax, s).is_ok(), "{pe:?} s {s}");
                assert!(pe.fits(1, qmax + 1, s).is_err(), "{pe:?} s {s}");
                for q in 1..=qmax + 1 {
                    let pmax = pe.max_p(q, s);
                    assert!(
                        pmax == 0 || pe.fits(pmax, q, s).is_ok(),
                        "{pe:?} q {q} s {s}"
                    );
                    assert!(pe.fits(pmax + 1, q, s).is_err(), "{pe:?} q {q} s {s}");
                    assert!(pmax <= pe.max_p(1, s));
                }
            }
            let w = pe.max_row();
            assert!(w == 0 || pe.fits(1, 1, w).is_ok());
            assert!(pe.fits(1, 1, w + 1).is_err());
        }
    }
}
