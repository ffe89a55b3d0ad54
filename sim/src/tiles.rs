//! Splitting one loop dimension into chunks: `full` chunks of `size` and one of `rem` (if > 0).
//! Every analytic sum over passes factorises into per-dimension sums over these chunks.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tiles {
    pub full: u64,
    pub size: u64,
    pub rem: u64,
}

impl Tiles {
    pub fn new(dim: usize, size: usize) -> Tiles {
        let size = size.min(dim).max(1);
        Tiles {
            full: (dim / size) as u64,
            size: size as u64,
            rem: (dim % size) as u64,
        }
    }
    pub fn count(&self) -> u64 {
        self.full + u64::from(self.rem > 0)
    }
    /// Σ f(chunk size) over all chunks.
    pub fn sum(&self, f: impl Fn(u64) -> u64) -> u64 {
        self.full * f(self.size) + if self.rem > 0 { f(self.rem) } else { 0 }
    }
    /// The chunk sizes in loop order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.full)
            .map(|_| self.size)
            .chain((self.rem > 0).then_some(self.rem))
    }
}

/// The distinct chunk sizes ceil(dim / k), k = 1..=dim, in decreasing order: for a given
/// number of chunks the smallest chunk is never worse, so a search needs only these.
pub fn balanced(dim: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut k = 1;
    while k <= dim {
        let v = dim.div_ceil(k);
        out.push(v);
        if v == 1 {
            break;
        }
        // Smallest k' with ceil(dim / k') < v.
        k = dim.div_ceil(v - 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_matches_brute_force() {
        for dim in 1usize..300 {
            let mut brute: Vec<usize> = (1..=dim).map(|k| dim.div_ceil(k)).collect();
            brute.dedup();
            assert_eq!(balanced(dim), brute, "dim {dim}");
        }
    }

    #[test]
    fn tiles_cover_dimension() {
        for dim in 1usize..50 {
            for size in 1..=dim {
                let t = Tiles::new(dim, size);
                assert_eq!(t.sum(|s| s) as usize, dim);
                assert_eq!(t.iter().count() as u64, t.count());
                assert_eq!(t.count() as usize, dim.div_ceil(size));
            }
        }
    }
}
