//! Runtime selection of AVX2 + FMA code for the elementwise kernels. The crate is built for
//! baseline x86-64 so that it runs everywhere; `multiversion!` compiles a function twice,
//! once with AVX2 + FMA enabled, and calls that version when the CPU has them.

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

/// `multiversion! { fn name(args) -> Ret { body } }` defines `name`, whose body is compiled
/// both for baseline x86-64 and for AVX2 + FMA, choosing at run time.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn fast($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if $crate::compute::ops::simd::has_avx2_fma() {
                    // SAFETY: the CPU supports AVX2 and FMA.
                    return unsafe { fast($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

pub(crate) use multiversion;

/// `d` where `y > 0`, else 0.
#[inline(always)]
pub fn relu_mask(d: f32, y: f32) -> f32 {
    if y > 0.0 { d } else { 0.0 }
}
