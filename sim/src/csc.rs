//! The compressed-sparse-column format of Eyeriss v2 (JETCAS 2019 §IV-C): how many words a
//! segment of values takes as (count, value) pairs with its address. The estimator prices
//! the traffic with it; the mapper sizes a compressed weight spad with it (`arch::PeSpec`).

/// Bits of the zero count in a CSC count-data pair: "setting each count at 4b yields the best
/// compression rate for the 8b iact and weights" (Eyeriss v2, JETCAS 2019 §IV-C).
pub const CSC_COUNT_BITS: usize = 4;
/// Bits of a CSC address entry: iact address spad 9 x 4 b, weight address spad 16 x 7 b
/// (JETCAS 2019 Table II as quoted in the text, §IV-C).
pub const CSC_IFMAP_ADDRESS_BITS: usize = 4;
pub const CSC_WEIGHT_ADDRESS_BITS: usize = 7;

/// Words of `word_bits` that compressed sparse column coding moves per dense word, for i.i.d.
/// zeros at `density`, in segments of `segment` values, each with one address entry of
/// `address_bits` (no address when `segment` is 0). A pair covers a run of up to 15 zeros and
/// the value after it, so a pair spans (1 - z^16) / (1 - z) values (z = 1 - density), as for
/// run-length coding. When coding would not shrink the data the PE takes it uncompressed
/// ("the count in the CSC format is fixed to zero", §IV-C), so the ratio never exceeds 1.
pub fn csc_ratio(density: f64, segment: u64, address_bits: usize, word_bits: usize) -> f64 {
    let d = density.clamp(0.0, 1.0);
    let span = 1u32 << CSC_COUNT_BITS;
    let pairs_per_value = if d == 0.0 {
        1.0 / span as f64
    } else {
        d / (1.0 - (1.0 - d).powi(span as i32))
    };
    let address = if segment == 0 {
        0.0
    } else {
        address_bits as f64 / segment as f64
    };
    let bits = pairs_per_value * (CSC_COUNT_BITS + word_bits) as f64 + address;
    (bits / word_bits as f64).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand: density 0.5 in segments of 4 with 4-bit addresses, 8-bit data: 0.5 / (1 -
    /// 0.5^16) = 0.500008 pairs of 12 bits per value, plus 4 / 4 address bits: 7.0001 bits,
    /// 0.875 of a word. Dense data is sent uncompressed (12 > 8 bits a value).
    #[test]
    fn csc_ratio_by_hand() {
        let r = csc_ratio(0.5, 4, 4, 8);
        assert!((r - 7.0001 / 8.0).abs() < 1e-4, "{r}");
        assert_eq!(csc_ratio(1.0, 4, 4, 8), 1.0);
        assert_eq!(csc_ratio(0.6, 1, 7, 8), 1.0);
        // Nothing but zeros: one pair per 16 values.
        assert!((csc_ratio(0.0, 0, 4, 8) - 12.0 / 16.0 / 8.0).abs() < 1e-12);
        let mut last = 0.0;
        for i in 0..=100 {
            let r = csc_ratio(i as f64 / 100.0, 8, 7, 8);
            assert!(r >= last, "not monotone at {i}");
            last = r;
        }
    }
}
