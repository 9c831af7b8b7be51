//! Output buffers that are written in full before being read, so they need no zeroing, and
//! per-thread scratch space reused across calls.

use std::cell::RefCell;
use std::mem::MaybeUninit;

use rayon::prelude::*;

/// A vector of `n` elements, each set by `fill(chunk_index, chunk)` on chunks of `chunk`
/// elements in parallel.
///
/// # Safety
/// `fill` must write every element of every chunk it is given: the vector is returned as
/// initialised without checking, and an element left unwritten would be read as
/// uninitialised memory.
pub unsafe fn par_filled(
    n: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync,
) -> Vec<f32> {
    let mut v: Vec<f32> = Vec::with_capacity(n);
    v.spare_capacity_mut()[..n]
        .par_chunks_mut(chunk.max(1))
        .enumerate()
        .for_each(|(i, c)| fill(i, c));
    // SAFETY: `fill` initialised every element of every chunk, which together cover 0..n.
    unsafe { v.set_len(n) };
    v
}

thread_local! {
    // Per-thread scratch reused across calls, so hot loops neither zero nor page-fault fresh
    // buffers. Every element a caller reads it has written first. One key per use, so that
    // nested uses never borrow the same buffer twice.
    /// Column matrices of the convolution.
    pub static COLS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// Products and gathered gradients of the convolution.
    pub static TMP: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// An image with each row split into its stride's phases (strided convolution).
    pub static PHASES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// One feature-map plane (fused batch norm + pooling).
    pub static PLANE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on the first `len` elements of this thread's scratch buffer `key`.
pub fn with_scratch<R>(
    key: &'static std::thread::LocalKey<RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    key.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_is_filled_in_order() {
        let fill = |ci: usize, c: &mut [MaybeUninit<f32>]| {
            for (j, d) in c.iter_mut().enumerate() {
                d.write((ci * 3 + j) as f32);
            }
        };
        // SAFETY: `fill` writes every element of its chunk.
        let v = unsafe { par_filled(10, 3, fill) };
        assert_eq!(v, (0..10).map(|i| i as f32).collect::<Vec<_>>());
    }
}
