//! What the element-wise kernels need to know of the CPU. The crate is built for baseline
//! x86-64 so that it runs everywhere; the kernels' loops are compiled once per instruction
//! set by `pulp::Arch::dispatch` (AVX-512, AVX2 + FMA, baseline) and run on the best the CPU
//! has. Each loop sits in a `pulp::WithSimd` kernel's `with_simd` (inlined), not in a
//! closure: a closure LLVM does not inline into pulp's per-instruction-set function is
//! compiled for baseline x86-64. The one kernel written in intrinsics (`masked_dot_sums`)
//! asks `has_avx2_fma`.

/// Whether this CPU runs the AVX2 + FMA versions.
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `d` where `y > 0`, else 0.
#[inline(always)]
pub fn relu_mask(d: f32, y: f32) -> f32 {
    if y > 0.0 { d } else { 0.0 }
}
