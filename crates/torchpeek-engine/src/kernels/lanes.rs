//! Four f32 lanes (`F32x4`): wasm's `v128` when the build has `simd128` (the engine's web build),
//! otherwise an array (native builds and tests, where the compiler vectorises it as it can). The
//! kernels are written once against this type; both forms compute the same values, rounding
//! each product and each sum separately, except in a build with `relaxed-simd` too, where
//! `mul_add` is `f32x4.relaxed_madd` (one fused multiply-add where the CPU has FMA, as tract's
//! matrix kernels in that build).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            F32x4(f32x4_splat(v))
        }

        #[inline(always)]
        pub fn load(s: &[f32; 4]) -> Self {
            // SAFETY: `s` is 16 readable bytes; wasm loads need no alignment.
            F32x4(unsafe { v128_load(s.as_ptr().cast()) })
        }

        #[inline(always)]
        pub fn store(self, s: &mut [f32; 4]) {
            // SAFETY: `s` is 16 writable bytes; wasm stores need no alignment.
            unsafe { v128_store(s.as_mut_ptr().cast(), self.0) }
        }

        /// Values 0, 2, 4 and 6 of `s`.
        #[inline(always)]
        pub fn evens(s: &[f32; 8]) -> Self {
            // SAFETY: `s` is 32 readable bytes; wasm loads need no alignment.
            let (lo, hi) = unsafe { (v128_load(s.as_ptr().cast()), v128_load(s[4..].as_ptr().cast())) };
            F32x4(i32x4_shuffle::<0, 2, 4, 6>(lo, hi))
        }

        #[inline(always)]
        pub fn from_array(a: [f32; 4]) -> Self {
            F32x4(f32x4(a[0], a[1], a[2], a[3]))
        }

        /// `self + a * b`, lane by lane.
        #[cfg(not(target_feature = "relaxed-simd"))]
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            F32x4(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }

        /// `self + a * b`, lane by lane, fused or not as the CPU does it.
        #[cfg(target_feature = "relaxed-simd")]
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            F32x4(f32x4_relaxed_madd(a.0, b.0, self.0))
        }

        /// `if self < o { o } else { self }`, lane by lane (a NaN in `o` is skipped).
        #[inline(always)]
        pub fn pmax(self, o: Self) -> Self {
            F32x4(f32x4_pmax(self.0, o.0))
        }

        /// `if o < self { o } else { self }`, lane by lane (a NaN in `self` is kept).
        #[inline(always)]
        pub fn pmin(self, o: Self) -> Self {
            F32x4(f32x4_pmin(self.0, o.0))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    impl F32x4 {
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            F32x4([v; 4])
        }

        #[inline(always)]
        pub fn load(s: &[f32; 4]) -> Self {
            F32x4(*s)
        }

        #[inline(always)]
        pub fn store(self, s: &mut [f32; 4]) {
            *s = self.0
        }

        /// Values 0, 2, 4 and 6 of `s`.
        #[inline(always)]
        pub fn evens(s: &[f32; 8]) -> Self {
            F32x4([s[0], s[2], s[4], s[6]])
        }

        #[inline(always)]
        pub fn from_array(a: [f32; 4]) -> Self {
            F32x4(a)
        }

        /// `self + a * b`, lane by lane.
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            F32x4(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
        }

        /// `if self < o { o } else { self }`, lane by lane (a NaN in `o` is skipped).
        #[inline(always)]
        pub fn pmax(self, o: Self) -> Self {
            F32x4(std::array::from_fn(|i| if self.0[i] < o.0[i] { o.0[i] } else { self.0[i] }))
        }

        /// `if o < self { o } else { self }`, lane by lane (a NaN in `self` is kept).
        #[inline(always)]
        pub fn pmin(self, o: Self) -> Self {
            F32x4(std::array::from_fn(|i| if o.0[i] < self.0[i] { o.0[i] } else { self.0[i] }))
        }
    }
}

pub use imp::F32x4;

/// The first four values of `s` as an array (`s` must hold four).
#[inline(always)]
pub fn quad(s: &[f32]) -> &[f32; 4] {
    s[..4].try_into().expect("four lanes")
}

/// The first four values of `s` as a mutable array (`s` must hold four).
#[inline(always)]
pub fn quad_mut(s: &mut [f32]) -> &mut [f32; 4] {
    (&mut s[..4]).try_into().expect("four lanes")
}
