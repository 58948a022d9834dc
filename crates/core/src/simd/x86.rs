//! The AVX instruction sets: their tokens, created only by run-time detection, and their
//! operations.

use core::arch::x86_64::*;

use super::Isa;
use super::base::{MANTISSA, ONE_BITS, ROUND_MAGIC_BITS, TWO52_BITS};

/// `crate::simd::$m!([features] $($rest)*)` with AVX2's target features: the one list that
/// both [`Avx2::detect`] checks and [`dispatch!`](super::dispatch) compiles with.
macro_rules! avx2_features {
    ($m:ident, $($rest:tt)*) => {
        $crate::simd::$m!(["avx2" "fma" "bmi1" "bmi2" "lzcnt" "popcnt"] $($rest)*)
    };
}
pub(crate) use avx2_features;

/// `crate::simd::$m!([features] $($rest)*)` with AVX-512's target features (a superset of
/// AVX2's).
macro_rules! avx512_features {
    ($m:ident, $($rest:tt)*) => {
        $crate::simd::$m!(["avx512f" "avx512dq" "avx512vl" "avx2" "fma" "bmi1" "bmi2" "lzcnt" "popcnt"] $($rest)*)
    };
}
pub(crate) use avx512_features;

/// `true` when the processor has every listed feature.
macro_rules! detected {
    ([$($f:tt)*]) => {
        true $(&& std::is_x86_feature_detected!($f))*
    };
}
pub(crate) use detected;

/// AVX2 with FMA (x86-64-v3): two 256-bit registers. A token: see the module documentation of
/// `simd`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2 {
    _detected: (),
}

impl Avx2 {
    /// The token, when the processor has every feature of [`avx2_features!`].
    pub(crate) fn detect() -> Option<Self> {
        avx2_features!(detected,).then_some(Avx2 { _detected: () })
    }
}

/// AVX-512 (x86-64-v4): one 512-bit register. A token, like [`Avx2`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512 {
    _detected: (),
}

impl Avx512 {
    /// The token, when the processor has every feature of [`avx512_features!`].
    pub(crate) fn detect() -> Option<Self> {
        avx512_features!(detected,).then_some(Avx512 { _detected: () })
    }
}

// SAFETY (every `unsafe` block below): these operations take the token as `self`, and a token
// exists only when `detect` found every feature of its list on this processor, which includes
// every feature the intrinsics below need. Loads and stores check the slice length first.
impl Isa for Avx2 {
    type R = (__m256d, __m256d);
    const REGISTERS: usize = 8;
    #[inline(always)]
    fn sum(self, r: Self::R) -> f64 {
        sum4(unsafe { _mm256_add_pd(r.0, r.1) })
    }
    #[inline(always)]
    fn splat(self, v: f64) -> Self::R {
        unsafe { (_mm256_set1_pd(v), _mm256_set1_pd(v)) }
    }
    #[inline(always)]
    fn load(self, s: &[f64]) -> Self::R {
        let s = &s[..8];
        unsafe {
            (
                _mm256_loadu_pd(s.as_ptr()),
                _mm256_loadu_pd(s.as_ptr().add(4)),
            )
        }
    }
    #[inline(always)]
    fn store(self, r: Self::R, s: &mut [f64]) {
        let s = &mut s[..8];
        unsafe {
            _mm256_storeu_pd(s.as_mut_ptr(), r.0);
            _mm256_storeu_pd(s.as_mut_ptr().add(4), r.1);
        }
    }
    #[inline(always)]
    fn add(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { (_mm256_add_pd(a.0, b.0), _mm256_add_pd(a.1, b.1)) }
    }
    #[inline(always)]
    fn sub(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { (_mm256_sub_pd(a.0, b.0), _mm256_sub_pd(a.1, b.1)) }
    }
    #[inline(always)]
    fn mul(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { (_mm256_mul_pd(a.0, b.0), _mm256_mul_pd(a.1, b.1)) }
    }
    #[inline(always)]
    fn div(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { (_mm256_div_pd(a.0, b.0), _mm256_div_pd(a.1, b.1)) }
    }
    #[inline(always)]
    fn max(self, a: Self::R, b: Self::R) -> Self::R {
        // `a > b ? a : b`, as the baseline (the intrinsic returns `b` on NaN: the same).
        unsafe { (_mm256_max_pd(a.0, b.0), _mm256_max_pd(a.1, b.1)) }
    }
    #[inline(always)]
    fn min(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { (_mm256_min_pd(a.0, b.0), _mm256_min_pd(a.1, b.1)) }
    }
    #[inline(always)]
    fn madd(self, a: Self::R, b: Self::R, c: Self::R) -> Self::R {
        unsafe {
            (
                _mm256_fmadd_pd(a.0, b.0, c.0),
                _mm256_fmadd_pd(a.1, b.1, c.1),
            )
        }
    }
    #[inline(always)]
    fn lt_select(self, a: Self::R, b: Self::R, x: Self::R, y: Self::R) -> Self::R {
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
    fn lt_mask(self, a: Self::R, b: Self::R) -> u8 {
        unsafe {
            let m0 = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_LT_OQ>(a.0, b.0));
            let m1 = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_LT_OQ>(a.1, b.1));
            (m0 | m1 << 4) as u8
        }
    }
    #[inline(always)]
    fn to_array(self, r: Self::R) -> [f64; 8] {
        let mut o = [0.0; 8];
        self.store(r, &mut o);
        o
    }
    #[inline(always)]
    fn exp2_from_rounded(self, t: Self::R) -> Self::R {
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
    fn split_exponent(self, x: Self::R) -> (Self::R, Self::R) {
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
    fn load_f32(self, s: &[f32]) -> Self::R {
        let s = &s[..8];
        unsafe {
            (
                _mm256_cvtps_pd(_mm_loadu_ps(s.as_ptr())),
                _mm256_cvtps_pd(_mm_loadu_ps(s.as_ptr().add(4))),
            )
        }
    }
    #[inline(always)]
    fn transpose8(self, r: [Self::R; 8]) -> [Self::R; 8] {
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
    type F = (__m256, __m256);
    #[inline(always)]
    fn fsplat(self, v: f32) -> Self::F {
        unsafe { (_mm256_set1_ps(v), _mm256_set1_ps(v)) }
    }
    #[inline(always)]
    fn fload(self, s: &[f32]) -> Self::F {
        let s = &s[..16];
        unsafe {
            (
                _mm256_loadu_ps(s.as_ptr()),
                _mm256_loadu_ps(s.as_ptr().add(8)),
            )
        }
    }
    #[inline(always)]
    fn fstore(self, r: Self::F, s: &mut [f32]) {
        let s = &mut s[..16];
        unsafe {
            _mm256_storeu_ps(s.as_mut_ptr(), r.0);
            _mm256_storeu_ps(s.as_mut_ptr().add(8), r.1);
        }
    }
    #[inline(always)]
    fn fadd(self, a: Self::F, b: Self::F) -> Self::F {
        unsafe { (_mm256_add_ps(a.0, b.0), _mm256_add_ps(a.1, b.1)) }
    }
    #[inline(always)]
    fn fsub(self, a: Self::F, b: Self::F) -> Self::F {
        unsafe { (_mm256_sub_ps(a.0, b.0), _mm256_sub_ps(a.1, b.1)) }
    }
    #[inline(always)]
    fn fmul(self, a: Self::F, b: Self::F) -> Self::F {
        unsafe { (_mm256_mul_ps(a.0, b.0), _mm256_mul_ps(a.1, b.1)) }
    }
    #[inline(always)]
    fn fmadd(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F {
        unsafe {
            (
                _mm256_fmadd_ps(a.0, b.0, c.0),
                _mm256_fmadd_ps(a.1, b.1, c.1),
            )
        }
    }
    #[inline(always)]
    fn flt_select(self, a: Self::F, b: Self::F, x: Self::F, y: Self::F) -> Self::F {
        unsafe {
            let m0 = _mm256_cmp_ps::<_CMP_LT_OQ>(a.0, b.0);
            let m1 = _mm256_cmp_ps::<_CMP_LT_OQ>(a.1, b.1);
            (
                _mm256_blendv_ps(y.0, x.0, m0),
                _mm256_blendv_ps(y.1, x.1, m1),
            )
        }
    }
    #[inline(always)]
    fn fwiden(self, r: Self::F) -> (Self::R, Self::R) {
        unsafe {
            (
                (
                    _mm256_cvtps_pd(_mm256_castps256_ps128(r.0)),
                    _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(r.0)),
                ),
                (
                    _mm256_cvtps_pd(_mm256_castps256_ps128(r.1)),
                    _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(r.1)),
                ),
            )
        }
    }
    #[inline(always)]
    fn fnarrow(self, lo: Self::R, hi: Self::R) -> Self::F {
        unsafe {
            let join = |a: __m256d, b: __m256d| {
                _mm256_insertf128_ps::<1>(
                    _mm256_castps128_ps256(_mm256_cvtpd_ps(a)),
                    _mm256_cvtpd_ps(b),
                )
            };
            (join(lo.0, lo.1), join(hi.0, hi.1))
        }
    }
    #[inline(always)]
    fn fsums16(self, v: [Self::F; 16]) -> Self::F {
        // Loops, not closures: a closure would not inherit the target features. The tree
        // leaves slot `8k + h + 2e` in lane `8k + 4h + e`: the inputs go in so that lane `p`
        // gets `v[p]`.
        unsafe {
            let mut w = [_mm256_setzero_ps(); 16];
            for (s, w) in w.iter_mut().enumerate() {
                let (k, r) = (s / 8, s % 8);
                let x = v[8 * k + 4 * (r % 2) + r / 2];
                *w = _mm256_add_ps(x.0, x.1); // lanes i + (i + 8)
            }
            let mut u = [_mm256_setzero_ps(); 8];
            for (m, u) in u.iter_mut().enumerate() {
                let (a, b) = (w[2 * m], w[2 * m + 1]);
                *u = _mm256_add_ps(
                    _mm256_permute2f128_ps::<0x20>(a, b),
                    _mm256_permute2f128_ps::<0x31>(a, b),
                );
            }
            let mut x = [_mm256_setzero_ps(); 4];
            for (n, x) in x.iter_mut().enumerate() {
                let (a, b) = (u[2 * n], u[2 * n + 1]);
                *x = _mm256_add_ps(
                    _mm256_shuffle_ps::<0x44>(a, b),
                    _mm256_shuffle_ps::<0xEE>(a, b),
                );
            }
            let mut z = [_mm256_setzero_ps(); 2];
            for (k, z) in z.iter_mut().enumerate() {
                let (a, b) = (x[2 * k], x[2 * k + 1]);
                *z = _mm256_add_ps(
                    _mm256_shuffle_ps::<0x88>(a, b),
                    _mm256_shuffle_ps::<0xDD>(a, b),
                );
            }
            (z[0], z[1])
        }
    }
    #[inline(always)]
    fn ftranspose16(self, r: [Self::F; 16]) -> [Self::F; 16] {
        // Four 8 × 8 transposes (rows 0-7 and 8-15, lanes 0-7 and 8-15), each in three rounds
        // of shuffles. Loops, not closures (a closure would not inherit the target features).
        unsafe {
            let mut blocks = [[_mm256_setzero_ps(); 8]; 4];
            for (b, out) in blocks.iter_mut().enumerate() {
                let (rows, high) = (8 * (b % 2), b >= 2);
                let mut x = [_mm256_setzero_ps(); 8];
                for (i, x) in x.iter_mut().enumerate() {
                    let v = r[rows + i];
                    *x = if high { v.1 } else { v.0 };
                }
                // t[2p]: a0 b0 a1 b1 | a4 b4 a5 b5, t[2p + 1]: a2 b2 a3 b3 | a6 b6 a7 b7 (rows
                // a, b = 2p, 2p + 1).
                let mut t = [_mm256_setzero_ps(); 8];
                for p in 0..4 {
                    t[2 * p] = _mm256_unpacklo_ps(x[2 * p], x[2 * p + 1]);
                    t[2 * p + 1] = _mm256_unpackhi_ps(x[2 * p], x[2 * p + 1]);
                }
                // s[4h + m]: rows 4h..4h + 4, lane m then lane m + 4.
                let mut s = [_mm256_setzero_ps(); 8];
                for h in 0..2 {
                    for q in 0..2 {
                        let (a, c) = (t[4 * h + q], t[4 * h + q + 2]);
                        s[4 * h + 2 * q] = _mm256_shuffle_ps::<0x44>(a, c);
                        s[4 * h + 2 * q + 1] = _mm256_shuffle_ps::<0xEE>(a, c);
                    }
                }
                for m in 0..4 {
                    out[m] = _mm256_permute2f128_ps::<0x20>(s[m], s[4 + m]);
                    out[m + 4] = _mm256_permute2f128_ps::<0x31>(s[m], s[4 + m]);
                }
            }
            let mut out = [(_mm256_setzero_ps(), _mm256_setzero_ps()); 16];
            for j in 0..8 {
                out[j] = (blocks[0][j], blocks[1][j]);
                out[8 + j] = (blocks[2][j], blocks[3][j]);
            }
            out
        }
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
    const REGISTERS: usize = 32;
    #[inline(always)]
    fn sum(self, r: Self::R) -> f64 {
        sum4(unsafe { _mm256_add_pd(_mm512_castpd512_pd256(r), _mm512_extractf64x4_pd(r, 1)) })
    }
    #[inline(always)]
    fn splat(self, v: f64) -> Self::R {
        unsafe { _mm512_set1_pd(v) }
    }
    #[inline(always)]
    fn load(self, s: &[f64]) -> Self::R {
        let s = &s[..8];
        unsafe { _mm512_loadu_pd(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, r: Self::R, s: &mut [f64]) {
        let s = &mut s[..8];
        unsafe { _mm512_storeu_pd(s.as_mut_ptr(), r) }
    }
    #[inline(always)]
    fn add(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { _mm512_add_pd(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { _mm512_sub_pd(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { _mm512_mul_pd(a, b) }
    }
    #[inline(always)]
    fn div(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { _mm512_div_pd(a, b) }
    }
    #[inline(always)]
    fn max(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { _mm512_max_pd(a, b) }
    }
    #[inline(always)]
    fn min(self, a: Self::R, b: Self::R) -> Self::R {
        unsafe { _mm512_min_pd(a, b) }
    }
    #[inline(always)]
    fn madd(self, a: Self::R, b: Self::R, c: Self::R) -> Self::R {
        unsafe { _mm512_fmadd_pd(a, b, c) }
    }
    #[inline(always)]
    fn lt_select(self, a: Self::R, b: Self::R, x: Self::R, y: Self::R) -> Self::R {
        unsafe { _mm512_mask_blend_pd(_mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, b), y, x) }
    }
    #[inline(always)]
    fn lt_mask(self, a: Self::R, b: Self::R) -> u8 {
        unsafe { _mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    fn to_array(self, r: Self::R) -> [f64; 8] {
        let mut o = [0.0; 8];
        self.store(r, &mut o);
        o
    }
    #[inline(always)]
    fn exp2_from_rounded(self, t: Self::R) -> Self::R {
        unsafe {
            let off = _mm512_set1_epi64(ROUND_MAGIC_BITS.wrapping_sub(1023) as i64);
            let i = _mm512_sub_epi64(_mm512_castpd_si512(t), off);
            _mm512_castsi512_pd(_mm512_slli_epi64::<52>(i))
        }
    }
    #[inline(always)]
    fn split_exponent(self, x: Self::R) -> (Self::R, Self::R) {
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
    fn load_f32(self, s: &[f32]) -> Self::R {
        let s = &s[..8];
        unsafe { _mm512_cvtps_pd(_mm256_loadu_ps(s.as_ptr())) }
    }
    #[inline(always)]
    fn transpose8(self, r: [Self::R; 8]) -> [Self::R; 8] {
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
    type F = __m512;
    #[inline(always)]
    fn fsplat(self, v: f32) -> Self::F {
        unsafe { _mm512_set1_ps(v) }
    }
    #[inline(always)]
    fn fload(self, s: &[f32]) -> Self::F {
        let s = &s[..16];
        unsafe { _mm512_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn fstore(self, r: Self::F, s: &mut [f32]) {
        let s = &mut s[..16];
        unsafe { _mm512_storeu_ps(s.as_mut_ptr(), r) }
    }
    #[inline(always)]
    fn fadd(self, a: Self::F, b: Self::F) -> Self::F {
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn fsub(self, a: Self::F, b: Self::F) -> Self::F {
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn fmul(self, a: Self::F, b: Self::F) -> Self::F {
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn fmadd(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn flt_select(self, a: Self::F, b: Self::F, x: Self::F, y: Self::F) -> Self::F {
        unsafe { _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b), y, x) }
    }
    #[inline(always)]
    fn fwiden(self, r: Self::F) -> (Self::R, Self::R) {
        unsafe {
            (
                _mm512_cvtps_pd(_mm512_castps512_ps256(r)),
                _mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(r)),
            )
        }
    }
    #[inline(always)]
    fn fnarrow(self, lo: Self::R, hi: Self::R) -> Self::F {
        unsafe {
            _mm512_insertf32x8::<1>(
                _mm512_castps256_ps512(_mm512_cvtpd_ps(lo)),
                _mm512_cvtpd_ps(hi),
            )
        }
    }
    #[inline(always)]
    fn fsums16(self, v: [Self::F; 16]) -> Self::F {
        // Loops, not closures: a closure would not inherit the target features. The tree
        // leaves slot `c + 4e` in lane `4c + e`: the inputs go in so that lane `p` gets `v[p]`.
        unsafe {
            // Lanes i + (i + 8) of two vectors in one.
            let mut u = [_mm512_setzero_ps(); 8];
            for (m, u) in u.iter_mut().enumerate() {
                let (s, t) = (2 * m, 2 * m + 1);
                let (a, b) = (v[4 * (s % 4) + s / 4], v[4 * (t % 4) + t / 4]);
                *u = _mm512_add_ps(
                    _mm512_shuffle_f32x4::<0x44>(a, b),
                    _mm512_shuffle_f32x4::<0xEE>(a, b),
                );
            }
            // i + (i + 4): four vectors' partial sums, one per 128-bit lane.
            let mut x = [_mm512_setzero_ps(); 4];
            for (n, x) in x.iter_mut().enumerate() {
                let (a, b) = (u[2 * n], u[2 * n + 1]);
                *x = _mm512_add_ps(
                    _mm512_shuffle_f32x4::<0x88>(a, b),
                    _mm512_shuffle_f32x4::<0xDD>(a, b),
                );
            }
            // i + (i + 2), then the last two.
            let mut z = [_mm512_setzero_ps(); 2];
            for (k, z) in z.iter_mut().enumerate() {
                let (a, b) = (x[2 * k], x[2 * k + 1]);
                *z = _mm512_add_ps(
                    _mm512_shuffle_ps::<0x44>(a, b),
                    _mm512_shuffle_ps::<0xEE>(a, b),
                );
            }
            _mm512_add_ps(
                _mm512_shuffle_ps::<0x88>(z[0], z[1]),
                _mm512_shuffle_ps::<0xDD>(z[0], z[1]),
            )
        }
    }
    #[inline(always)]
    fn ftranspose16(self, r: [Self::F; 16]) -> [Self::F; 16] {
        // Pairs, then quads interleaved within 128-bit lanes, then 128-bit lanes gathered in
        // two rounds (as `transpose8`, one round more). Loops, not closures (a closure would not
        // inherit the target features).
        unsafe {
            // t[2p]: a0 b0 a1 b1 | a4 b4 a5 b5 | …, t[2p + 1]: a2 b2 a3 b3 | … (rows 2p, 2p + 1).
            let mut t = [_mm512_setzero_ps(); 16];
            for p in 0..8 {
                t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
                t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
            }
            // u[4k + m]: rows 4k..4k + 4 in lanes m, m + 4, m + 8, m + 12, one per 128-bit lane.
            let mut u = [_mm512_setzero_ps(); 16];
            for k in 0..4 {
                for q in 0..2 {
                    let a = _mm512_castps_pd(t[4 * k + q]);
                    let c = _mm512_castps_pd(t[4 * k + q + 2]);
                    u[4 * k + 2 * q] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
                    u[4 * k + 2 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
                }
            }
            let mut out = [_mm512_setzero_ps(); 16];
            for m in 0..4 {
                let v0 = _mm512_shuffle_f32x4::<0x88>(u[m], u[4 + m]);
                let v1 = _mm512_shuffle_f32x4::<0xDD>(u[m], u[4 + m]);
                let w0 = _mm512_shuffle_f32x4::<0x88>(u[8 + m], u[12 + m]);
                let w1 = _mm512_shuffle_f32x4::<0xDD>(u[8 + m], u[12 + m]);
                out[m] = _mm512_shuffle_f32x4::<0x88>(v0, w0);
                out[4 + m] = _mm512_shuffle_f32x4::<0x88>(v1, w1);
                out[8 + m] = _mm512_shuffle_f32x4::<0xDD>(v0, w0);
                out[12 + m] = _mm512_shuffle_f32x4::<0xDD>(v1, w1);
            }
            out
        }
    }
}
