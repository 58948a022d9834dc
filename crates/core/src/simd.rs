//! Explicit vectors and runtime instruction-set dispatch.
//!
//! [`V8<I>`] is eight `f64` lanes held in the registers of instruction set `I`: one AVX-512
//! register, two AVX2 registers, or a plain array for the baseline. The hot per-block functions
//! are compiled three times (AVX-512, AVX2 with FMA, baseline) by [`dispatch!`], and the best
//! variant the processor supports is chosen at run time ([`level`]).
//!
//! Within one machine the same variant always runs, so results stay bit-identical across thread
//! counts; across machines, FMA changes the last bits.
//!
//! # Safety
//!
//! [`Avx512`] and [`Avx2`] implement their operations with `core::arch` intrinsics. They are
//! crate-private marker types, and the only code that instantiates anything with them is the
//! `dispatch!` macro, inside functions compiled with the matching target features and called only
//! after [`level`] detected those features on the running processor. Every `unsafe` block below
//! relies on that invariant.

use std::marker::PhantomData;
use std::sync::OnceLock;

/// Operations on eight `f64` lanes for one instruction set.
pub trait Isa: Copy + Send + Sync + 'static {
    /// The register(s) holding eight lanes.
    type R: Copy;
    fn splat(v: f64) -> Self::R;
    /// The first eight values of `s` (which must hold at least eight).
    fn load(s: &[f64]) -> Self::R;
    /// Writes the lanes to the first eight values of `s`.
    fn store(r: Self::R, s: &mut [f64]);
    fn add(a: Self::R, b: Self::R) -> Self::R;
    fn sub(a: Self::R, b: Self::R) -> Self::R;
    fn mul(a: Self::R, b: Self::R) -> Self::R;
    fn div(a: Self::R, b: Self::R) -> Self::R;
    fn max(a: Self::R, b: Self::R) -> Self::R;
    fn min(a: Self::R, b: Self::R) -> Self::R;
    /// `a * b + c`, fused where the instruction set has FMA.
    fn madd(a: Self::R, b: Self::R, c: Self::R) -> Self::R;
    /// Lanes of `x` where `a < b`, of `y` elsewhere (NaN compares false).
    fn lt_select(a: Self::R, b: Self::R, x: Self::R, y: Self::R) -> Self::R;
    fn to_array(r: Self::R) -> [f64; 8];
    /// Sum of the lanes, in exactly this order: `((a0+a4)+(a1+a5)) + ((a2+a6)+(a3+a7))`.
    #[inline(always)]
    fn sum(r: Self::R) -> f64 {
        let a = Self::to_array(r);
        ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
    }
    /// `2^n` where `t = n + 1.5·2^52` holds the integer `n` in its low mantissa bits.
    fn exp2_from_rounded(t: Self::R) -> Self::R;
    /// For positive normal lanes, the biased exponent field (as `f64`) and the mantissa in
    /// `[1, 2)`.
    fn split_exponent(x: Self::R) -> (Self::R, Self::R);
    /// The first eight `f32` values of `s`, widened.
    fn load_f32(s: &[f32]) -> Self::R;
    /// Transposes eight rows of eight lanes.
    fn transpose8(r: [Self::R; 8]) -> [Self::R; 8];
}

/// Eight `f64` lanes.
#[derive(Clone, Copy)]
pub(crate) struct V8<I: Isa>(pub I::R, PhantomData<I>);

impl<I: Isa> V8<I> {
    #[inline(always)]
    fn wrap(r: I::R) -> Self {
        V8(r, PhantomData)
    }

    #[inline(always)]
    pub(crate) fn zero() -> Self {
        Self::splat(0.0)
    }

    #[inline(always)]
    pub(crate) fn splat(v: f64) -> Self {
        Self::wrap(I::splat(v))
    }

    #[inline(always)]
    pub(crate) fn load(s: &[f64]) -> Self {
        Self::wrap(I::load(s))
    }

    #[inline(always)]
    pub(crate) fn store(self, s: &mut [f64]) {
        I::store(self.0, s)
    }

    #[inline(always)]
    pub(crate) fn add(self, o: Self) -> Self {
        Self::wrap(I::add(self.0, o.0))
    }

    #[inline(always)]
    pub(crate) fn sub(self, o: Self) -> Self {
        Self::wrap(I::sub(self.0, o.0))
    }

    #[inline(always)]
    pub(crate) fn mul(self, o: Self) -> Self {
        Self::wrap(I::mul(self.0, o.0))
    }

    #[inline(always)]
    pub(crate) fn div(self, o: Self) -> Self {
        Self::wrap(I::div(self.0, o.0))
    }

    #[inline(always)]
    pub(crate) fn max(self, o: Self) -> Self {
        Self::wrap(I::max(self.0, o.0))
    }

    #[inline(always)]
    pub(crate) fn min(self, o: Self) -> Self {
        Self::wrap(I::min(self.0, o.0))
    }

    /// `self * b + c`, fused where the instruction set has FMA.
    #[inline(always)]
    pub(crate) fn madd(self, b: Self, c: Self) -> Self {
        Self::wrap(I::madd(self.0, b.0, c.0))
    }

    /// Lanes of `x` where `self < b`, of `y` elsewhere.
    #[inline(always)]
    pub(crate) fn lt_select(self, b: Self, x: Self, y: Self) -> Self {
        Self::wrap(I::lt_select(self.0, b.0, x.0, y.0))
    }

    /// Sum of the lanes, in a fixed order: `((a0+a4)+(a1+a5)) + ((a2+a6)+(a3+a7))`.
    #[inline(always)]
    pub(crate) fn sum(self) -> f64 {
        I::sum(self.0)
    }

    #[cfg(test)]
    pub(crate) fn to_array(self) -> [f64; 8] {
        I::to_array(self.0)
    }

    #[inline(always)]
    pub(crate) fn exp2_from_rounded(self) -> Self {
        Self::wrap(I::exp2_from_rounded(self.0))
    }

    /// The first eight values of `s`, widened to `f64`.
    #[inline(always)]
    pub(crate) fn load_from<T: crate::data::Float>(s: &[T]) -> Self {
        Self::wrap(<T as crate::data::sealed::Sealed>::load8::<I>(s))
    }

    /// Transposes eight vectors: lane `j` of output `i` is lane `i` of input `j`.
    #[inline(always)]
    pub(crate) fn transpose8(v: [Self; 8]) -> [Self; 8] {
        I::transpose8(v.map(|x| x.0)).map(Self::wrap)
    }

    #[inline(always)]
    pub(crate) fn split_exponent(self) -> (Self, Self) {
        let (e, m) = I::split_exponent(self.0);
        (Self::wrap(e), Self::wrap(m))
    }
}

const ROUND_MAGIC_BITS: u64 = 0x4338_0000_0000_0000; // 1.5 * 2^52
const MANTISSA: u64 = 0x000f_ffff_ffff_ffff;
const ONE_BITS: u64 = 0x3ff0_0000_0000_0000;
const TWO52_BITS: u64 = 0x4330_0000_0000_0000; // 2^52

/// The baseline target (SSE2 on x86-64): plain arrays, no FMA.
#[derive(Clone, Copy)]
pub(crate) struct Base;

macro_rules! base_op {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
        let (a, b) = ($a, $b);
        let mut o = [0.0; 8];
        for i in 0..8 {
            let ($x, $y) = (a[i], b[i]);
            o[i] = $e;
        }
        o
    }};
}

impl Isa for Base {
    type R = [f64; 8];
    #[inline(always)]
    fn splat(v: f64) -> Self::R {
        [v; 8]
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Self::R {
        s[..8].try_into().unwrap()
    }
    #[inline(always)]
    fn store(r: Self::R, s: &mut [f64]) {
        s[..8].copy_from_slice(&r);
    }
    #[inline(always)]
    fn add(a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| x + y)
    }
    #[inline(always)]
    fn sub(a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| x - y)
    }
    #[inline(always)]
    fn mul(a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| x * y)
    }
    #[inline(always)]
    fn div(a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| x / y)
    }
    #[inline(always)]
    fn max(a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| if x > y { x } else { y })
    }
    #[inline(always)]
    fn min(a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| if x < y { x } else { y })
    }
    #[inline(always)]
    fn madd(a: Self::R, b: Self::R, c: Self::R) -> Self::R {
        let mut o = [0.0; 8];
        for i in 0..8 {
            o[i] = a[i] * b[i] + c[i];
        }
        o
    }
    #[inline(always)]
    fn lt_select(a: Self::R, b: Self::R, x: Self::R, y: Self::R) -> Self::R {
        let mut o = [0.0; 8];
        for i in 0..8 {
            o[i] = if a[i] < b[i] { x[i] } else { y[i] };
        }
        o
    }
    #[inline(always)]
    fn to_array(r: Self::R) -> [f64; 8] {
        r
    }
    #[inline(always)]
    fn exp2_from_rounded(t: Self::R) -> Self::R {
        let mut o = [0.0; 8];
        for i in 0..8 {
            let bits = t[i]
                .to_bits()
                .wrapping_sub(ROUND_MAGIC_BITS)
                .wrapping_add(1023);
            o[i] = f64::from_bits(bits << 52);
        }
        o
    }
    #[inline(always)]
    fn split_exponent(x: Self::R) -> (Self::R, Self::R) {
        let mut e = [0.0; 8];
        let mut m = [0.0; 8];
        for i in 0..8 {
            let bits = x[i].to_bits();
            e[i] = f64::from_bits((bits >> 52) | TWO52_BITS) - f64::from_bits(TWO52_BITS);
            m[i] = f64::from_bits((bits & MANTISSA) | ONE_BITS);
        }
        (e, m)
    }
    #[inline(always)]
    fn load_f32(s: &[f32]) -> Self::R {
        let s = &s[..8];
        std::array::from_fn(|i| s[i] as f64)
    }
    #[inline(always)]
    fn transpose8(r: [Self::R; 8]) -> [Self::R; 8] {
        std::array::from_fn(|i| std::array::from_fn(|j| r[j][i]))
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use core::arch::x86_64::*;

    /// AVX2 with FMA (x86-64-v3): two 256-bit registers.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2;

    /// AVX-512 (x86-64-v4): one 512-bit register.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512;

    // SAFETY (every `unsafe` block in this module): see the module documentation; these
    // implementations only run inside `dispatch!` variants compiled with, and selected after
    // detecting, the features the intrinsics need. Loads and stores check the slice length
    // first.
    impl Isa for Avx2 {
        type R = (__m256d, __m256d);
        #[inline(always)]
        fn sum(r: Self::R) -> f64 {
            sum4(unsafe { _mm256_add_pd(r.0, r.1) })
        }
        #[inline(always)]
        fn splat(v: f64) -> Self::R {
            unsafe { (_mm256_set1_pd(v), _mm256_set1_pd(v)) }
        }
        #[inline(always)]
        fn load(s: &[f64]) -> Self::R {
            let s = &s[..8];
            unsafe {
                (
                    _mm256_loadu_pd(s.as_ptr()),
                    _mm256_loadu_pd(s.as_ptr().add(4)),
                )
            }
        }
        #[inline(always)]
        fn store(r: Self::R, s: &mut [f64]) {
            let s = &mut s[..8];
            unsafe {
                _mm256_storeu_pd(s.as_mut_ptr(), r.0);
                _mm256_storeu_pd(s.as_mut_ptr().add(4), r.1);
            }
        }
        #[inline(always)]
        fn add(a: Self::R, b: Self::R) -> Self::R {
            unsafe { (_mm256_add_pd(a.0, b.0), _mm256_add_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn sub(a: Self::R, b: Self::R) -> Self::R {
            unsafe { (_mm256_sub_pd(a.0, b.0), _mm256_sub_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn mul(a: Self::R, b: Self::R) -> Self::R {
            unsafe { (_mm256_mul_pd(a.0, b.0), _mm256_mul_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn div(a: Self::R, b: Self::R) -> Self::R {
            unsafe { (_mm256_div_pd(a.0, b.0), _mm256_div_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn max(a: Self::R, b: Self::R) -> Self::R {
            // `a > b ? a : b`, as the baseline (the intrinsic returns `b` on NaN: the same).
            unsafe { (_mm256_max_pd(a.0, b.0), _mm256_max_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn min(a: Self::R, b: Self::R) -> Self::R {
            unsafe { (_mm256_min_pd(a.0, b.0), _mm256_min_pd(a.1, b.1)) }
        }
        #[inline(always)]
        fn madd(a: Self::R, b: Self::R, c: Self::R) -> Self::R {
            unsafe {
                (
                    _mm256_fmadd_pd(a.0, b.0, c.0),
                    _mm256_fmadd_pd(a.1, b.1, c.1),
                )
            }
        }
        #[inline(always)]
        fn lt_select(a: Self::R, b: Self::R, x: Self::R, y: Self::R) -> Self::R {
            unsafe {
                let m0 = _mm256_cmp_pd::<_CMP_LT_OQ>(a.0, b.0);
                let m1 = _mm256_cmp_pd::<_CMP_LT_OQ>(a.1, b.1);
                (
                    _mm256_blendv_pd(y.0, x.0, m0),
                    _mm256_blendv_pd(y.1, x.1, m1),
                )
            }
        }
        #[inline(always)]
        fn to_array(r: Self::R) -> [f64; 8] {
            let mut o = [0.0; 8];
            Self::store(r, &mut o);
            o
        }
        #[inline(always)]
        fn exp2_from_rounded(t: Self::R) -> Self::R {
            unsafe {
                let off = _mm256_set1_epi64x(ROUND_MAGIC_BITS.wrapping_sub(1023) as i64);
                let f = |v: __m256d| {
                    let i = _mm256_sub_epi64(_mm256_castpd_si256(v), off);
                    _mm256_castsi256_pd(_mm256_slli_epi64::<52>(i))
                };
                (f(t.0), f(t.1))
            }
        }
        #[inline(always)]
        fn split_exponent(x: Self::R) -> (Self::R, Self::R) {
            unsafe {
                let two52 = _mm256_set1_epi64x(TWO52_BITS as i64);
                let mant = _mm256_set1_epi64x(MANTISSA as i64);
                let one = _mm256_set1_epi64x(ONE_BITS as i64);
                let f = |v: __m256d| {
                    let b = _mm256_castpd_si256(v);
                    let e = _mm256_castsi256_pd(_mm256_or_si256(_mm256_srli_epi64::<52>(b), two52));
                    let e = _mm256_sub_pd(e, _mm256_castsi256_pd(two52));
                    let m = _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(b, mant), one));
                    (e, m)
                };
                let (e0, m0) = f(x.0);
                let (e1, m1) = f(x.1);
                ((e0, e1), (m0, m1))
            }
        }
        #[inline(always)]
        fn load_f32(s: &[f32]) -> Self::R {
            let s = &s[..8];
            unsafe {
                (
                    _mm256_cvtps_pd(_mm_loadu_ps(s.as_ptr())),
                    _mm256_cvtps_pd(_mm_loadu_ps(s.as_ptr().add(4))),
                )
            }
        }
        #[inline(always)]
        fn transpose8(r: [Self::R; 8]) -> [Self::R; 8] {
            // Four 4 × 4 transposes of the halves.
            #[inline(always)]
            fn t4(a: __m256d, b: __m256d, c: __m256d, d: __m256d) -> [__m256d; 4] {
                unsafe {
                    let t0 = _mm256_unpacklo_pd(a, b);
                    let t1 = _mm256_unpackhi_pd(a, b);
                    let t2 = _mm256_unpacklo_pd(c, d);
                    let t3 = _mm256_unpackhi_pd(c, d);
                    [
                        _mm256_permute2f128_pd::<0x20>(t0, t2),
                        _mm256_permute2f128_pd::<0x20>(t1, t3),
                        _mm256_permute2f128_pd::<0x31>(t0, t2),
                        _mm256_permute2f128_pd::<0x31>(t1, t3),
                    ]
                }
            }
            let a = t4(r[0].0, r[1].0, r[2].0, r[3].0); // columns 0-3, rows 0-3
            let b = t4(r[4].0, r[5].0, r[6].0, r[7].0); // columns 0-3, rows 4-7
            let c = t4(r[0].1, r[1].1, r[2].1, r[3].1); // columns 4-7, rows 0-3
            let d = t4(r[4].1, r[5].1, r[6].1, r[7].1); // columns 4-7, rows 4-7
            [
                (a[0], b[0]),
                (a[1], b[1]),
                (a[2], b[2]),
                (a[3], b[3]),
                (c[0], d[0]),
                (c[1], d[1]),
                (c[2], d[2]),
                (c[3], d[3]),
            ]
        }
    }

    /// `(b0+b1) + (b2+b3)` for `b = [b0, b1, b2, b3]`, in registers (`b1+b0` equals `b0+b1`
    /// exactly, so the order is [`Isa::sum`]'s).
    #[inline(always)]
    fn sum4(b: __m256d) -> f64 {
        unsafe {
            let c = _mm256_add_pd(b, _mm256_permute_pd(b, 0b0101));
            _mm_cvtsd_f64(_mm_add_sd(
                _mm256_castpd256_pd128(c),
                _mm256_extractf128_pd(c, 1),
            ))
        }
    }

    impl Isa for Avx512 {
        type R = __m512d;
        #[inline(always)]
        fn sum(r: Self::R) -> f64 {
            sum4(unsafe { _mm256_add_pd(_mm512_castpd512_pd256(r), _mm512_extractf64x4_pd(r, 1)) })
        }
        #[inline(always)]
        fn splat(v: f64) -> Self::R {
            unsafe { _mm512_set1_pd(v) }
        }
        #[inline(always)]
        fn load(s: &[f64]) -> Self::R {
            let s = &s[..8];
            unsafe { _mm512_loadu_pd(s.as_ptr()) }
        }
        #[inline(always)]
        fn store(r: Self::R, s: &mut [f64]) {
            let s = &mut s[..8];
            unsafe { _mm512_storeu_pd(s.as_mut_ptr(), r) }
        }
        #[inline(always)]
        fn add(a: Self::R, b: Self::R) -> Self::R {
            unsafe { _mm512_add_pd(a, b) }
        }
        #[inline(always)]
        fn sub(a: Self::R, b: Self::R) -> Self::R {
            unsafe { _mm512_sub_pd(a, b) }
        }
        #[inline(always)]
        fn mul(a: Self::R, b: Self::R) -> Self::R {
            unsafe { _mm512_mul_pd(a, b) }
        }
        #[inline(always)]
        fn div(a: Self::R, b: Self::R) -> Self::R {
            unsafe { _mm512_div_pd(a, b) }
        }
        #[inline(always)]
        fn max(a: Self::R, b: Self::R) -> Self::R {
            unsafe { _mm512_max_pd(a, b) }
        }
        #[inline(always)]
        fn min(a: Self::R, b: Self::R) -> Self::R {
            unsafe { _mm512_min_pd(a, b) }
        }
        #[inline(always)]
        fn madd(a: Self::R, b: Self::R, c: Self::R) -> Self::R {
            unsafe { _mm512_fmadd_pd(a, b, c) }
        }
        #[inline(always)]
        fn lt_select(a: Self::R, b: Self::R, x: Self::R, y: Self::R) -> Self::R {
            unsafe { _mm512_mask_blend_pd(_mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, b), y, x) }
        }
        #[inline(always)]
        fn to_array(r: Self::R) -> [f64; 8] {
            let mut o = [0.0; 8];
            Self::store(r, &mut o);
            o
        }
        #[inline(always)]
        fn exp2_from_rounded(t: Self::R) -> Self::R {
            unsafe {
                let off = _mm512_set1_epi64(ROUND_MAGIC_BITS.wrapping_sub(1023) as i64);
                let i = _mm512_sub_epi64(_mm512_castpd_si512(t), off);
                _mm512_castsi512_pd(_mm512_slli_epi64::<52>(i))
            }
        }
        #[inline(always)]
        fn split_exponent(x: Self::R) -> (Self::R, Self::R) {
            unsafe {
                let two52 = _mm512_set1_epi64(TWO52_BITS as i64);
                let b = _mm512_castpd_si512(x);
                let e = _mm512_castsi512_pd(_mm512_or_si512(_mm512_srli_epi64::<52>(b), two52));
                let e = _mm512_sub_pd(e, _mm512_castsi512_pd(two52));
                let m = _mm512_or_si512(
                    _mm512_and_si512(b, _mm512_set1_epi64(MANTISSA as i64)),
                    _mm512_set1_epi64(ONE_BITS as i64),
                );
                (e, _mm512_castsi512_pd(m))
            }
        }
        #[inline(always)]
        fn load_f32(s: &[f32]) -> Self::R {
            let s = &s[..8];
            unsafe { _mm512_cvtps_pd(_mm256_loadu_ps(s.as_ptr())) }
        }
        #[inline(always)]
        fn transpose8(r: [Self::R; 8]) -> [Self::R; 8] {
            // Pairs interleaved within 128-bit lanes, then 128-bit lanes gathered in two rounds.
            unsafe {
                let t0 = _mm512_unpacklo_pd(r[0], r[1]);
                let t1 = _mm512_unpackhi_pd(r[0], r[1]);
                let t2 = _mm512_unpacklo_pd(r[2], r[3]);
                let t3 = _mm512_unpackhi_pd(r[2], r[3]);
                let t4 = _mm512_unpacklo_pd(r[4], r[5]);
                let t5 = _mm512_unpackhi_pd(r[4], r[5]);
                let t6 = _mm512_unpacklo_pd(r[6], r[7]);
                let t7 = _mm512_unpackhi_pd(r[6], r[7]);
                let u0 = _mm512_shuffle_f64x2::<0x88>(t0, t2);
                let u1 = _mm512_shuffle_f64x2::<0xDD>(t0, t2);
                let u2 = _mm512_shuffle_f64x2::<0x88>(t1, t3);
                let u3 = _mm512_shuffle_f64x2::<0xDD>(t1, t3);
                let u4 = _mm512_shuffle_f64x2::<0x88>(t4, t6);
                let u5 = _mm512_shuffle_f64x2::<0xDD>(t4, t6);
                let u6 = _mm512_shuffle_f64x2::<0x88>(t5, t7);
                let u7 = _mm512_shuffle_f64x2::<0xDD>(t5, t7);
                [
                    _mm512_shuffle_f64x2::<0x88>(u0, u4),
                    _mm512_shuffle_f64x2::<0x88>(u2, u6),
                    _mm512_shuffle_f64x2::<0x88>(u1, u5),
                    _mm512_shuffle_f64x2::<0x88>(u3, u7),
                    _mm512_shuffle_f64x2::<0xDD>(u0, u4),
                    _mm512_shuffle_f64x2::<0xDD>(u2, u6),
                    _mm512_shuffle_f64x2::<0xDD>(u1, u5),
                    _mm512_shuffle_f64x2::<0xDD>(u3, u7),
                ]
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

/// The instruction set the dispatched functions use on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Base,
    Avx2,
    Avx512,
}

/// Detects (once) the best supported level. `GAUSSMIX_SIMD=base|avx2` caps it, for testing the
/// other variants on a machine that has more.
pub(crate) fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cap = std::env::var("GAUSSMIX_SIMD").ok();
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 =
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
            let avx512 = avx2
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl");
            match cap.as_deref() {
                Some("base") => Level::Base,
                Some("avx2") if avx2 => Level::Avx2,
                _ if avx512 => Level::Avx512,
                _ if avx2 => Level::Avx2,
                _ => Level::Base,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = cap;
            Level::Base
        }
    })
}

/// Defines `$name` that runs `$imp::<..., I>` for the best [`Level`], compiled with the matching
/// target features.
macro_rules! dispatch {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<$($g:ident: $bound:path),*>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $imp:ident
    ) => {
        $(#[$meta])*
        #[inline]
        $vis fn $name<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                fn v4<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    $imp::<$($g,)* $crate::simd::Avx512>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                fn v3<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    $imp::<$($g,)* $crate::simd::Avx2>($($arg),*)
                }
                match $crate::simd::level() {
                    // SAFETY: `level()` returned a level whose features the CPU was detected to
                    // support.
                    $crate::simd::Level::Avx512 => unsafe { v4::<$($g),*>($($arg),*) },
                    // SAFETY: as above.
                    $crate::simd::Level::Avx2 => unsafe { v3::<$($g),*>($($arg),*) },
                    $crate::simd::Level::Base => $imp::<$($g,)* $crate::simd::Base>($($arg),*),
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                $imp::<$($g,)* $crate::simd::Base>($($arg),*)
            }
        }
    };
}
pub(crate) use dispatch;

#[cfg(test)]
mod tests {
    use super::*;

    fn check<I: Isa>() {
        let a = V8::<I>::load(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let b = V8::<I>::splat(2.0);
        assert_eq!(a.mul(b).to_array()[7], 16.0);
        assert_eq!(a.madd(b, a).to_array()[2], 9.0);
        assert_eq!(a.sub(b).max(V8::zero()).to_array()[..2], [0.0, 0.0]);
        assert_eq!(a.min(b).to_array()[..3], [1.0, 2.0, 2.0]);
        assert_eq!(a.div(b).to_array()[1], 1.0);
        assert_eq!(a.lt_select(b, a, b).to_array()[..3], [1.0, 2.0, 2.0]);
        assert_eq!(a.sum(), 36.0);
        // The order of the lane sum is part of the contract (results must not depend on the
        // instruction set): these lanes give a different total in any other pairing.
        let lanes = [1e16, 1.0, -1e16, 3.0, 1.0, -1.0, 1e-3, 2.0];
        let want = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
            + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
        assert_eq!(V8::<I>::load(&lanes).sum().to_bits(), want.to_bits());
        assert_ne!(lanes.iter().sum::<f64>(), want);
        let mut s = [0.0; 9];
        a.store(&mut s[1..]);
        assert_eq!(V8::<I>::load(&s[1..]).to_array(), a.to_array());
        let (e, m) = V8::<I>::splat(12.0).split_exponent();
        assert_eq!((e.to_array()[0], m.to_array()[0]), (1026.0, 1.5));
        let t = V8::<I>::splat(f64::from_bits(ROUND_MAGIC_BITS) + 3.0);
        assert_eq!(t.exp2_from_rounded().to_array()[4], 8.0);
        let w: Vec<f32> = (0..10).map(|i| i as f32 * 0.5).collect();
        assert_eq!(
            V8::<I>::load_from(&w[2..]).to_array(),
            [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]
        );
        let m: Vec<f64> = (0..64).map(|i| i as f64).collect();
        let rows: [V8<I>; 8] = std::array::from_fn(|i| V8::load(&m[i * 8..]));
        let t = V8::transpose8(rows);
        for i in 0..8 {
            for j in 0..8 {
                assert_eq!(t[i].to_array()[j], m[j * 8 + i], "({i}, {j})");
            }
        }
    }

    #[test]
    fn every_variant_computes_the_same_lanes() {
        check::<Base>();
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2,fma")]
            fn avx2() {
                check::<Avx2>();
            }
            #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
            fn avx512() {
                check::<Avx512>();
            }
            if level() != Level::Base {
                // SAFETY: AVX2 and FMA were detected.
                unsafe { avx2() };
            }
            if level() == Level::Avx512 {
                // SAFETY: AVX-512 was detected.
                unsafe { avx512() };
            }
        }
    }
}
