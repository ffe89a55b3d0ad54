//! Single-threaded f32 matrix products on slices, over the `gemm` crate
//! (the kernels under faer and candle: AVX-512, AVX2 or NEON, picked at run
//! time).
//!
//! Every call is single-threaded on purpose: the layers split their work into
//! blocks whose size depends only on the layer's shape and run the blocks on
//! rayon's pool, so no floating-point sum is ever split by thread count and
//! results are the same bytes whatever the number of threads.

/// A read-only matrix view: `rows x cols` at `data[i * rs + j * cs]`.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> MatRef<'a> {
    /// Row-major `rows x cols` with `row_stride` elements between rows
    /// (`cols` for a dense matrix, more for a column slice of a wider one).
    pub fn strided(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        let m = MatRef {
            data,
            rows,
            cols,
            rs: row_stride,
            cs: 1,
        };
        assert!(
            m.fits(),
            "matrix {rows}x{cols} (row stride {row_stride}) exceeds its slice"
        );
        m
    }

    /// Dense row-major `rows x cols`.
    pub fn dense(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols)
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        MatRef {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// A mutable row-major matrix view (see [`MatRef::strided`]).
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
}

impl<'a> MatMut<'a> {
    pub fn strided(data: &'a mut [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        let fits = rows == 0 || cols == 0 || (rows - 1) * row_stride + cols - 1 < data.len();
        assert!(
            fits,
            "matrix {rows}x{cols} (row stride {row_stride}) exceeds its slice"
        );
        MatMut {
            data,
            rows,
            cols,
            rs: row_stride,
        }
    }

    pub fn dense(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols)
    }
}

/// `dst = a * b`, or `dst += a * b` with `accumulate`.
pub fn matmul(dst: MatMut<'_>, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions differ");
    assert_eq!(
        (dst.rows, dst.cols),
        (a.rows, b.cols),
        "output shape differs"
    );
    let (m, n, k) = (dst.rows, dst.cols, a.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                dst.data[i * dst.rs..][..n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: the constructors checked that every element addressed by the
    // shapes and strides lies inside its slice; `dst` is borrowed mutably and
    // cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            1,
            dst.rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The triple loop, in f64.
    fn naive(a: MatRef, b: MatRef) -> Vec<f64> {
        let mut out = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for p in 0..a.cols {
                    out[i * b.cols + j] += f64::from(a.data[i * a.rs + p * a.cs])
                        * f64::from(b.data[p * b.rs + j * b.cs]);
                }
            }
        }
        out
    }

    #[test]
    fn strided_and_transposed_products_match_the_triple_loop() {
        // A 5x3 slice (row stride 4) of a 5x4 matrix, times the transpose of
        // a dense 2x3: the shapes conv and linear layers use.
        let a_data: Vec<f32> = (0..20).map(|v| v as f32 * 0.5 - 3.0).collect();
        let b_data: Vec<f32> = (0..6).map(|v| 1.0 - v as f32 * 0.25).collect();
        let a = MatRef::strided(&a_data[1..], 5, 3, 4);
        let b = MatRef::dense(&b_data, 2, 3).t();
        let want = naive(a, b);
        let mut out = vec![7.0f32; 10];
        matmul(MatMut::dense(&mut out, 5, 2), a, b, false);
        for (o, w) in out.iter().zip(&want) {
            assert!((f64::from(*o) - w).abs() < 1e-5, "{o} vs {w}");
        }
        // Accumulating adds the same product again.
        matmul(MatMut::dense(&mut out, 5, 2), a, b, true);
        for (o, w) in out.iter().zip(&want) {
            assert!((f64::from(*o) - 2.0 * w).abs() < 1e-5, "{o} vs 2 x {w}");
        }
    }

    #[test]
    #[should_panic(expected = "exceeds its slice")]
    fn a_view_larger_than_its_slice_is_refused() {
        let data = [0.0f32; 10]; // the last element, (3 - 1) * 4 + 2 = 10, is one past it
        let _ = MatRef::strided(&data, 3, 3, 4);
    }
}
