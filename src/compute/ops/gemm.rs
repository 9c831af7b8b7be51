//! A safe front for the `gemm` crate's f32 matrix product on strided views.

/// A read-only strided matrix view: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of this view (no copy).
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    fn span(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.rs + (self.cols - 1) * self.cs + 1
        }
    }
}

/// `dst = lhs · rhs` into memory not yet initialised; afterwards the `rows × cols` block
/// (row stride `dst_rs`) is initialised.
pub fn matmul_uninit(dst: &mut [std::mem::MaybeUninit<f32>], dst_rs: usize, lhs: Mat, rhs: Mat) {
    let (m, n) = (lhs.rows, rhs.cols);
    assert!(m == 0 || n == 0 || dst.len() >= (m - 1) * dst_rs + n);
    if lhs.cols == 0 {
        for i in 0..m {
            for d in &mut dst[i * dst_rs..i * dst_rs + n] {
                d.write(0.0);
            }
        }
        return;
    }
    // SAFETY: with `read_dst = false` the kernel only writes `dst`, never reads it.
    unsafe { raw(dst.as_mut_ptr().cast(), dst_rs, lhs, rhs, false) }
}

/// `dst = lhs · rhs` (or `dst += lhs · rhs` with `accumulate`), dst row-major with row
/// stride `dst_rs`. Single-threaded: callers parallelise over independent products.
pub fn matmul(dst: &mut [f32], dst_rs: usize, lhs: Mat, rhs: Mat, accumulate: bool) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "inner dimensions differ");
    assert!(lhs.data.len() >= lhs.span() && rhs.data.len() >= rhs.span());
    assert!(m == 0 || n == 0 || dst.len() >= (m - 1) * dst_rs + n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                dst[i * dst_rs..i * dst_rs + n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: the asserts above keep every index the kernel touches inside the slices;
    // `dst` is borrowed mutably so it cannot alias `lhs` or `rhs`.
    unsafe { raw(dst.as_mut_ptr(), dst_rs, lhs, rhs, accumulate) }
}

/// # Safety
/// `dst` must be valid for writes (and reads, with `accumulate`) of the `m × n` block with
/// row stride `dst_rs`, and must not overlap the operands.
unsafe fn raw(dst: *mut f32, dst_rs: usize, lhs: Mat, rhs: Mat, accumulate: bool) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "inner dimensions differ");
    assert!(lhs.data.len() >= lhs.span() && rhs.data.len() >= rhs.span());
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // SAFETY: the caller guarantees `dst`; the asserts cover the operands.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
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

    fn naive(a: Mat, b: Mat) -> Vec<f32> {
        let mut out = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for k in 0..a.cols {
                    out[i * b.cols + j] +=
                        a.data[i * a.rs + k * a.cs] * b.data[k * b.rs + j * b.cs];
                }
            }
        }
        out
    }

    #[test]
    fn products_of_strided_views_match_the_naive_product() {
        let a: Vec<f32> = (0..15).map(|v| v as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..20).map(|v| (v % 7) as f32 - 2.0).collect();
        let am = Mat::rows(&a, 3, 5);
        let bm = Mat::rows(&b, 5, 4);
        let mut out = vec![0.0; 12];
        matmul(&mut out, 4, am, bm, false);
        assert_eq!(out, naive(am, bm));
        // Transposed operands: (bᵀ)ᵀ with b stored 4×5.
        let bt = Mat::rows(&b, 4, 5).t();
        let mut out2 = vec![1.0; 12];
        matmul(&mut out2, 4, am, bt, true);
        let want: Vec<f32> = naive(am, bt).iter().map(|v| v + 1.0).collect();
        assert_eq!(out2, want);
    }
}
