//! The baseline instruction set: eight lanes as a plain array, compiled for the target's
//! default features (SSE2 on x86-64), no FMA.

use super::Isa;

pub(super) const ROUND_MAGIC_BITS: u64 = 0x4338_0000_0000_0000; // 1.5 * 2^52
pub(super) const MANTISSA: u64 = 0x000f_ffff_ffff_ffff;
pub(super) const ONE_BITS: u64 = 0x3ff0_0000_0000_0000;
pub(super) const TWO52_BITS: u64 = 0x4330_0000_0000_0000; // 2^52

/// The baseline target (SSE2 on x86-64): plain arrays, no FMA. Always available: anyone may
/// make this token.
#[derive(Clone, Copy, Debug)]
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
    const REGISTERS: usize = 4;
    #[inline(always)]
    fn splat(self, v: f64) -> Self::R {
        [v; 8]
    }
    #[inline(always)]
    fn load(self, s: &[f64]) -> Self::R {
        s[..8].try_into().unwrap()
    }
    #[inline(always)]
    fn store(self, r: Self::R, s: &mut [f64]) {
        s[..8].copy_from_slice(&r);
    }
    #[inline(always)]
    fn add(self, a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| x + y)
    }
    #[inline(always)]
    fn sub(self, a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| x - y)
    }
    #[inline(always)]
    fn mul(self, a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| x * y)
    }
    #[inline(always)]
    fn div(self, a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| x / y)
    }
    #[inline(always)]
    fn max(self, a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| if x > y { x } else { y })
    }
    #[inline(always)]
    fn min(self, a: Self::R, b: Self::R) -> Self::R {
        base_op!(a, b, |x, y| if x < y { x } else { y })
    }
    #[inline(always)]
    fn madd(self, a: Self::R, b: Self::R, c: Self::R) -> Self::R {
        let mut o = [0.0; 8];
        for i in 0..8 {
            o[i] = a[i] * b[i] + c[i];
        }
        o
    }
    #[inline(always)]
    fn lt_select(self, a: Self::R, b: Self::R, x: Self::R, y: Self::R) -> Self::R {
        let mut o = [0.0; 8];
        for i in 0..8 {
            o[i] = if a[i] < b[i] { x[i] } else { y[i] };
        }
        o
    }
    #[inline(always)]
    fn lt_mask(self, a: Self::R, b: Self::R) -> u8 {
        let mut m = 0;
        for i in 0..8 {
            m |= u8::from(a[i] < b[i]) << i;
        }
        m
    }
    #[inline(always)]
    fn to_array(self, r: Self::R) -> [f64; 8] {
        r
    }
    #[inline(always)]
    fn exp2_from_rounded(self, t: Self::R) -> Self::R {
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
    fn split_exponent(self, x: Self::R) -> (Self::R, Self::R) {
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
    fn load_f32(self, s: &[f32]) -> Self::R {
        let s = &s[..8];
        std::array::from_fn(|i| s[i] as f64)
    }
    #[inline(always)]
    fn transpose8(self, r: [Self::R; 8]) -> [Self::R; 8] {
        std::array::from_fn(|i| std::array::from_fn(|j| r[j][i]))
    }
    type F = [f32; 16];
    #[inline(always)]
    fn fsplat(self, v: f32) -> Self::F {
        [v; 16]
    }
    #[inline(always)]
    fn fload(self, s: &[f32]) -> Self::F {
        s[..16].try_into().unwrap()
    }
    #[inline(always)]
    fn fstore(self, r: Self::F, s: &mut [f32]) {
        s[..16].copy_from_slice(&r);
    }
    #[inline(always)]
    fn fadd(self, a: Self::F, b: Self::F) -> Self::F {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    fn fsub(self, a: Self::F, b: Self::F) -> Self::F {
        std::array::from_fn(|i| a[i] - b[i])
    }
    #[inline(always)]
    fn fmul(self, a: Self::F, b: Self::F) -> Self::F {
        std::array::from_fn(|i| a[i] * b[i])
    }
    #[inline(always)]
    fn fmadd(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F {
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }
    #[inline(always)]
    fn flt_select(self, a: Self::F, b: Self::F, x: Self::F, y: Self::F) -> Self::F {
        std::array::from_fn(|i| if a[i] < b[i] { x[i] } else { y[i] })
    }
    #[inline(always)]
    fn fwiden(self, r: Self::F) -> (Self::R, Self::R) {
        (
            std::array::from_fn(|i| r[i] as f64),
            std::array::from_fn(|i| r[i + 8] as f64),
        )
    }
    #[inline(always)]
    fn fnarrow(self, lo: Self::R, hi: Self::R) -> Self::F {
        std::array::from_fn(|i| {
            if i < 8 {
                lo[i] as f32
            } else {
                hi[i - 8] as f32
            }
        })
    }
}
