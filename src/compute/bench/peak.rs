//! The machine's measured peak of f32 multiply-adds: the ceiling the per-operation table
//! compares every convolution's GFLOP/s against. Each thread runs independent chains of fused
//! multiply-adds in the widest vectors the CPU has (enough chains to cover the instruction's
//! latency on both FMA ports), so the rate is what the cores can issue, not a data sheet's.

use std::time::Instant;

/// Peak GFLOP/s of all threads of the current rayon pool together, and the instruction set
/// it used (`None` where no FMA vectors are available).
pub fn fma_peak() -> Option<(f64, &'static str)> {
    let (per_call, isa) = widest()?;
    const CALLS: usize = 4_000;
    // Every thread of the pool at once (`broadcast`: one job per thread, so no thread runs
    // another's share), each timing itself; one warm-up round (clock ramp), then the best.
    let mut best = 0.0f64;
    for _ in 0..3 {
        let rates = rayon::broadcast(|ctx| {
            let start = Instant::now();
            let seed = ctx.index() as f32;
            // `black_box`: the same call with the same seed would be computed once.
            let sink: f32 = (0..CALLS)
                .map(|_| run(isa, std::hint::black_box(seed)))
                .sum();
            std::hint::black_box(sink);
            CALLS as f64 * per_call / start.elapsed().as_secs_f64() / 1e9
        });
        best = best.max(rates.iter().sum());
    }
    Some((best, isa))
}

/// Chains per thread and multiply-adds per chain in one call.
const CHAINS: usize = 12;
const STEPS: usize = 1_000;

/// FLOPs of one call and the instruction set name.
fn widest() -> Option<(f64, &'static str)> {
    #[cfg(target_arch = "x86_64")]
    {
        let flops = |lanes: usize| (CHAINS * STEPS * lanes * 2) as f64;
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Some((flops(16), "avx512f"));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Some((flops(8), "avx2+fma"));
        }
    }
    None
}

fn run(isa: &str, seed: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `widest` chose the instruction set from what the CPU reports.
        unsafe {
            match isa {
                "avx512f" => return x86::chains_avx512(seed),
                "avx2+fma" => return x86::chains_avx2(seed),
                _ => {}
            }
        }
    }
    let _ = (isa, seed);
    0.0
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{CHAINS, STEPS};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub unsafe fn chains_avx512(seed: f32) -> f32 {
        let a = _mm512_set1_ps(0.999_9);
        let b = _mm512_set1_ps(1e-4);
        let mut acc = [_mm512_set1_ps(seed); CHAINS];
        for _ in 0..STEPS {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        let mut s = _mm512_setzero_ps();
        for v in acc {
            s = _mm512_add_ps(s, v);
        }
        _mm512_reduce_add_ps(s)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn chains_avx2(seed: f32) -> f32 {
        let a = _mm256_set1_ps(0.999_9);
        let b = _mm256_set1_ps(1e-4);
        let mut acc = [_mm256_set1_ps(seed); CHAINS];
        for _ in 0..STEPS {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut s = _mm256_setzero_ps();
        for v in acc {
            s = _mm256_add_ps(s, v);
        }
        let mut lanes = [0f32; 8];
        // SAFETY: `lanes` holds the 8 floats the store writes.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), s) };
        lanes.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_peak_is_positive_where_the_cpu_has_fma_vectors() {
        match super::fma_peak() {
            Some((gflops, isa)) => assert!(gflops > 1.0, "{isa}: {gflops} GFLOP/s"),
            None => println!("skipped: no FMA vectors on this CPU"),
        }
    }
}
