//! Explicit vectors and runtime instruction-set dispatch: the bottom of the stack.
//!
//! [`V8<I>`] is eight `f64` lanes held in the registers of instruction set `I`: one AVX-512
//! register, two AVX2 registers, or a plain array for the baseline. The hot per-block functions
//! are compiled once per instruction set by [`dispatch!`], and the best one the processor
//! supports runs ([`level`]). Within one machine the same variant always runs, so results stay
//! bit-identical across thread counts; across machines, FMA changes the last bits.
//!
//! # Safety: tokens
//!
//! An instruction set is a value, a *token*: [`Base`] (always available), [`Avx2`] and
//! [`Avx512`]. The AVX tokens have private fields; the only way to get one is
//! [`Avx2::detect`] / [`Avx512::detect`], which check at run time every target feature in the
//! token's list. Every vector carries its token and creating a vector needs one, so code that
//! never saw a detected token cannot reach an AVX intrinsic: calling an AVX-512 path without
//! detection does not compile. [`dispatch!`] compiles each variant with the features of the same
//! list ([`variant!`]), so it enables exactly what detection checked. The `unsafe` blocks of the
//! AVX implementations rely on this invariant alone (and on slice lengths, checked before each
//! load and store).

mod base;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

pub(crate) use base::Base;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

/// Operations on eight `f64` lanes for one instruction set; `self` is the token.
pub(crate) trait Isa: Copy + Send + Sync + 'static {
    /// The register(s) holding eight lanes.
    type R: Copy;
    /// How many eight-lane vectors the register file holds: what register tiles are sized by.
    const REGISTERS: usize;
    fn splat(self, v: f64) -> Self::R;
    /// The first eight values of `s` (which must hold at least eight).
    fn load(self, s: &[f64]) -> Self::R;
    /// The first eight `f32` values of `s`, widened.
    fn load_f32(self, s: &[f32]) -> Self::R;
    /// Writes the lanes to the first eight values of `s`.
    fn store(self, r: Self::R, s: &mut [f64]);
    fn add(self, a: Self::R, b: Self::R) -> Self::R;
    fn sub(self, a: Self::R, b: Self::R) -> Self::R;
    fn mul(self, a: Self::R, b: Self::R) -> Self::R;
    fn div(self, a: Self::R, b: Self::R) -> Self::R;
    fn max(self, a: Self::R, b: Self::R) -> Self::R;
    fn min(self, a: Self::R, b: Self::R) -> Self::R;
    /// `a * b + c`, fused where the instruction set has FMA.
    fn madd(self, a: Self::R, b: Self::R, c: Self::R) -> Self::R;
    /// Lanes of `x` where `a < b`, of `y` elsewhere (NaN compares false).
    fn lt_select(self, a: Self::R, b: Self::R, x: Self::R, y: Self::R) -> Self::R;
    /// Bit `l` set where lane `l` of `a` is below that of `b` (NaN compares false).
    fn lt_mask(self, a: Self::R, b: Self::R) -> u8;
    fn to_array(self, r: Self::R) -> [f64; 8];
    /// Sum of the lanes, in exactly this order: `((a0+a4)+(a1+a5)) + ((a2+a6)+(a3+a7))`.
    #[inline(always)]
    fn sum(self, r: Self::R) -> f64 {
        let a = self.to_array(r);
        ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
    }
    /// `2^n` where `t = n + 1.5·2^52` holds the integer `n` in its low mantissa bits.
    fn exp2_from_rounded(self, t: Self::R) -> Self::R;
    /// For positive normal lanes, the biased exponent field (as `f64`) and the mantissa in
    /// `[1, 2)`.
    fn split_exponent(self, x: Self::R) -> (Self::R, Self::R);
    /// Transposes eight rows of eight lanes.
    fn transpose8(self, r: [Self::R; 8]) -> [Self::R; 8];

    /// The register(s) holding sixteen `f32` lanes: the float32 kernels' vectors.
    type F: Copy;
    fn fsplat(self, v: f32) -> Self::F;
    /// The first sixteen values of `s` (which must hold at least sixteen).
    fn fload(self, s: &[f32]) -> Self::F;
    fn fstore(self, r: Self::F, s: &mut [f32]);
    fn fadd(self, a: Self::F, b: Self::F) -> Self::F;
    fn fsub(self, a: Self::F, b: Self::F) -> Self::F;
    fn fmul(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a * b + c` in `f32`, fused where the instruction set has FMA.
    fn fmadd(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F;
    /// Lanes of `x` where `a < b`, of `y` elsewhere (NaN compares false).
    fn flt_select(self, a: Self::F, b: Self::F, x: Self::F, y: Self::F) -> Self::F;
    /// Lanes 0-7 and 8-15, widened to `f64` (exactly).
    fn fwiden(self, r: Self::F) -> (Self::R, Self::R);
    /// Sixteen lanes from two groups of eight, each rounded to the nearest `f32`.
    fn fnarrow(self, lo: Self::R, hi: Self::R) -> Self::F;
    /// Lane `p` is the sum of the lanes of `v[p]` in `f32`, added in halves in exactly this
    /// order: lane `i` and `i + 8`, then `i` and `i + 4`, `i` and `i + 2`, and the last two.
    /// The vector instruction sets add sixteen vectors at a time (a transposing tree: fifteen
    /// vector additions and thirty shuffles, where sixteen separate sums take sixty-four of
    /// each).
    #[inline(always)]
    fn fsums16(self, v: [Self::F; 16]) -> Self::F {
        let mut out = [0.0f32; 16];
        for (o, r) in out.iter_mut().zip(v) {
            let mut a = [0.0f32; 16];
            self.fstore(r, &mut a);
            let mut n = 16;
            while n > 1 {
                n /= 2;
                for i in 0..n {
                    a[i] += a[i + n];
                }
            }
            *o = a[0];
        }
        self.fload(&out)
    }
    /// Transposes sixteen rows of sixteen `f32` lanes: lane `j` of row `i` becomes lane `i` of
    /// row `j`.
    #[inline(always)]
    fn ftranspose16(self, r: [Self::F; 16]) -> [Self::F; 16] {
        let mut m = [[0.0f32; 16]; 16];
        for (m, r) in m.iter_mut().zip(r) {
            self.fstore(r, m);
        }
        std::array::from_fn(|j| {
            let col: [f32; 16] = std::array::from_fn(|i| m[i][j]);
            self.fload(&col)
        })
    }
}

/// Eight `f64` lanes, with the token of the instruction set that holds them.
#[derive(Clone, Copy)]
pub(crate) struct V8<I: Isa> {
    r: I::R,
    isa: I,
}

impl<I: Isa> V8<I> {
    #[inline(always)]
    fn wrap(self, r: I::R) -> Self {
        V8 { r, isa: self.isa }
    }

    /// The token of this vector's instruction set.
    #[inline(always)]
    pub(crate) fn isa(self) -> I {
        self.isa
    }

    #[inline(always)]
    pub(crate) fn zero(isa: I) -> Self {
        Self::splat(isa, 0.0)
    }

    #[inline(always)]
    pub(crate) fn splat(isa: I, v: f64) -> Self {
        V8 {
            r: isa.splat(v),
            isa,
        }
    }

    /// The first eight values of `s`.
    #[inline(always)]
    pub(crate) fn load(isa: I, s: &[f64]) -> Self {
        V8 {
            r: isa.load(s),
            isa,
        }
    }

    /// The first eight values of `s`, widened to `f64`.
    #[inline(always)]
    pub(crate) fn load_f32(isa: I, s: &[f32]) -> Self {
        V8 {
            r: isa.load_f32(s),
            isa,
        }
    }

    #[inline(always)]
    pub(crate) fn store(self, s: &mut [f64]) {
        self.isa.store(self.r, s)
    }

    #[inline(always)]
    pub(crate) fn add(self, o: Self) -> Self {
        self.wrap(self.isa.add(self.r, o.r))
    }

    #[inline(always)]
    pub(crate) fn sub(self, o: Self) -> Self {
        self.wrap(self.isa.sub(self.r, o.r))
    }

    #[inline(always)]
    pub(crate) fn mul(self, o: Self) -> Self {
        self.wrap(self.isa.mul(self.r, o.r))
    }

    #[inline(always)]
    pub(crate) fn div(self, o: Self) -> Self {
        self.wrap(self.isa.div(self.r, o.r))
    }

    #[inline(always)]
    pub(crate) fn max(self, o: Self) -> Self {
        self.wrap(self.isa.max(self.r, o.r))
    }

    #[inline(always)]
    pub(crate) fn min(self, o: Self) -> Self {
        self.wrap(self.isa.min(self.r, o.r))
    }

    /// `self * b + c`, fused where the instruction set has FMA.
    #[inline(always)]
    pub(crate) fn madd(self, b: Self, c: Self) -> Self {
        self.wrap(self.isa.madd(self.r, b.r, c.r))
    }

    /// Lanes of `x` where `self < b`, of `y` elsewhere.
    #[inline(always)]
    pub(crate) fn lt_select(self, b: Self, x: Self, y: Self) -> Self {
        self.wrap(self.isa.lt_select(self.r, b.r, x.r, y.r))
    }

    /// Bit `l` set where lane `l` is below that of `b`.
    #[inline(always)]
    pub(crate) fn lt_mask(self, b: Self) -> u8 {
        self.isa.lt_mask(self.r, b.r)
    }

    /// Sum of the lanes, in a fixed order: `((a0+a4)+(a1+a5)) + ((a2+a6)+(a3+a7))`.
    #[inline(always)]
    pub(crate) fn sum(self) -> f64 {
        self.isa.sum(self.r)
    }

    #[cfg(test)]
    pub(crate) fn to_array(self) -> [f64; 8] {
        self.isa.to_array(self.r)
    }

    #[inline(always)]
    pub(crate) fn exp2_from_rounded(self) -> Self {
        self.wrap(self.isa.exp2_from_rounded(self.r))
    }

    /// Transposes eight vectors: lane `j` of output `i` is lane `i` of input `j`.
    #[inline(always)]
    pub(crate) fn transpose8(v: [Self; 8]) -> [Self; 8] {
        let isa = v[0].isa;
        isa.transpose8(v.map(|x| x.r)).map(|r| V8 { r, isa })
    }

    #[inline(always)]
    pub(crate) fn split_exponent(self) -> (Self, Self) {
        let (e, m) = self.isa.split_exponent(self.r);
        (self.wrap(e), self.wrap(m))
    }
}

/// Sixteen `f32` lanes, with the token of the instruction set that holds them (one AVX-512
/// register, two AVX2 registers, or a plain array): the vectors of the float32 kernels. Like
/// [`V8`], creating one needs a token.
#[derive(Clone, Copy)]
pub(crate) struct V16<I: Isa> {
    r: I::F,
    isa: I,
}

impl<I: Isa> V16<I> {
    #[inline(always)]
    fn wrap(self, r: I::F) -> Self {
        V16 { r, isa: self.isa }
    }

    #[inline(always)]
    pub(crate) fn splat(isa: I, v: f32) -> Self {
        V16 {
            r: isa.fsplat(v),
            isa,
        }
    }

    /// The first sixteen values of `s`.
    #[inline(always)]
    pub(crate) fn load(isa: I, s: &[f32]) -> Self {
        V16 {
            r: isa.fload(s),
            isa,
        }
    }

    #[inline(always)]
    pub(crate) fn store(self, s: &mut [f32]) {
        self.isa.fstore(self.r, s)
    }

    #[inline(always)]
    pub(crate) fn zero(isa: I) -> Self {
        Self::splat(isa, 0.0)
    }

    #[inline(always)]
    pub(crate) fn add(self, o: Self) -> Self {
        self.wrap(self.isa.fadd(self.r, o.r))
    }

    #[inline(always)]
    pub(crate) fn sub(self, o: Self) -> Self {
        self.wrap(self.isa.fsub(self.r, o.r))
    }

    #[inline(always)]
    pub(crate) fn mul(self, o: Self) -> Self {
        self.wrap(self.isa.fmul(self.r, o.r))
    }

    /// `self * b + c` in `f32`, fused where the instruction set has FMA.
    #[inline(always)]
    pub(crate) fn madd(self, b: Self, c: Self) -> Self {
        self.wrap(self.isa.fmadd(self.r, b.r, c.r))
    }

    /// The sum of the lanes in `f64`, in a fixed order: the two halves widened and added lane
    /// by lane, then [`V8::sum`].
    #[inline(always)]
    pub(crate) fn sum(self) -> f64 {
        let (lo, hi) = self.widen();
        lo.add(hi).sum()
    }

    /// Lanes of `x` where `self < b`, of `y` elsewhere.
    #[inline(always)]
    pub(crate) fn lt_select(self, b: Self, x: Self, y: Self) -> Self {
        self.wrap(self.isa.flt_select(self.r, b.r, x.r, y.r))
    }

    /// Lane `p`: the sum of the lanes of `v[p]`, in `f32`, in the fixed order of
    /// [`Isa::fsums16`] (the same bits on every instruction set).
    #[inline(always)]
    pub(crate) fn sums16(v: [Self; 16]) -> Self {
        let isa = v[0].isa;
        let mut r = [isa.fsplat(0.0); 16];
        for (r, v) in r.iter_mut().zip(v) {
            *r = v.r;
        }
        V16 {
            r: isa.fsums16(r),
            isa,
        }
    }

    /// Sixteen rows of sixteen lanes transposed: lane `j` of row `i` becomes lane `i` of
    /// row `j`.
    #[inline(always)]
    pub(crate) fn transpose16(v: [Self; 16]) -> [Self; 16] {
        let isa = v[0].isa;
        let mut r = [isa.fsplat(0.0); 16];
        for (r, v) in r.iter_mut().zip(v) {
            *r = v.r;
        }
        let t = isa.ftranspose16(r);
        let mut out = v;
        for (o, t) in out.iter_mut().zip(t) {
            o.r = t;
        }
        out
    }

    /// Lanes 0-7 and 8-15 as `f64` (exactly).
    #[inline(always)]
    pub(crate) fn widen(self) -> (V8<I>, V8<I>) {
        let (lo, hi) = self.isa.fwiden(self.r);
        let isa = self.isa;
        (V8 { r: lo, isa }, V8 { r: hi, isa })
    }

    /// Sixteen lanes from two vectors of eight, each rounded to the nearest `f32`.
    #[inline(always)]
    pub(crate) fn narrow(lo: V8<I>, hi: V8<I>) -> Self {
        let isa = lo.isa;
        V16 {
            r: isa.fnarrow(lo.r, hi.r),
            isa,
        }
    }

    #[cfg(test)]
    pub(crate) fn to_array(self) -> [f32; 16] {
        let mut o = [0.0; 16];
        self.store(&mut o);
        o
    }
}

/// The instruction set the dispatched functions use on this machine, with its token.
#[derive(Clone, Copy)]
pub(crate) enum Level {
    Base(Base),
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2),
    #[cfg(target_arch = "x86_64")]
    Avx512(Avx512),
}

/// Detects (once) the best supported level. `GAUSSMIX_SIMD=base|avx2` caps it, for testing the
/// other variants on a machine that has more.
pub(crate) fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cap = std::env::var("GAUSSMIX_SIMD").ok();
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = Avx2::detect();
            let avx512 = Avx512::detect();
            match (cap.as_deref(), avx512, avx2) {
                (Some("base"), _, _) => Level::Base(Base),
                (Some("avx2"), _, Some(t)) => Level::Avx2(t),
                (_, Some(t), _) => Level::Avx512(t),
                (_, None, Some(t)) => Level::Avx2(t),
                _ => Level::Base(Base),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = cap;
            Level::Base(Base)
        }
    })
}

/// `$(#[target_feature(enable = $f)])* $item` for the features of a token's list: how
/// [`dispatch!`] compiles a variant and how the token's `detect` checks the processor, from the
/// same list (see `x86.rs`).
macro_rules! variant {
    ([$($f:tt)*] $item:item) => {
        $(#[target_feature(enable = $f)])*
        $item
    };
}
pub(crate) use variant;

/// Defines `$name` that runs `$imp::<..., I>(isa, args)` with the token of the best
/// [`Level`], each variant compiled with its token's target features.
macro_rules! dispatch {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<$($g:ident: $bound:path),*>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $imp:ident
    ) => {
        $(#[$meta])*
        #[inline]
        $vis fn $name<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            match $crate::simd::level() {
                #[cfg(target_arch = "x86_64")]
                $crate::simd::Level::Avx512(isa) => {
                    $crate::simd::avx512_features!(variant,
                        fn v4<$($g: $bound),*>(isa: $crate::simd::Avx512, $($arg: $ty),*) $(-> $ret)? {
                            $imp::<$($g,)* $crate::simd::Avx512>(isa, $($arg),*)
                        }
                    );
                    // SAFETY: `isa` exists, so `Avx512::detect` found every feature `v4` is
                    // compiled with.
                    unsafe { v4::<$($g),*>(isa, $($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                $crate::simd::Level::Avx2(isa) => {
                    $crate::simd::avx2_features!(variant,
                        fn v3<$($g: $bound),*>(isa: $crate::simd::Avx2, $($arg: $ty),*) $(-> $ret)? {
                            $imp::<$($g,)* $crate::simd::Avx2>(isa, $($arg),*)
                        }
                    );
                    // SAFETY: as above, for `Avx2::detect`.
                    unsafe { v3::<$($g),*>(isa, $($arg),*) }
                }
                $crate::simd::Level::Base(isa) => $imp::<$($g,)* $crate::simd::Base>(isa, $($arg),*),
            }
        }
    };
}
pub(crate) use dispatch;

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{avx2_features, avx512_features, detected};

#[cfg(test)]
mod tests {
    use super::*;

    fn check<I: Isa>(isa: I) {
        let a = V8::load(isa, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let b = V8::splat(isa, 2.0);
        assert_eq!(a.mul(b).to_array()[7], 16.0);
        assert_eq!(a.madd(b, a).to_array()[2], 9.0);
        assert_eq!(a.sub(b).max(V8::zero(isa)).to_array()[..2], [0.0, 0.0]);
        assert_eq!(a.min(b).to_array()[..3], [1.0, 2.0, 2.0]);
        assert_eq!(a.div(b).to_array()[1], 1.0);
        assert_eq!(a.lt_select(b, a, b).to_array()[..3], [1.0, 2.0, 2.0]);
        assert_eq!(a.sum(), 36.0);
        // The order of the lane sum is part of the contract (results must not depend on the
        // instruction set): these lanes give a different total in any other pairing.
        let lanes = [1e16, 1.0, -1e16, 3.0, 1.0, -1.0, 1e-3, 2.0];
        let want = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
            + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
        assert_eq!(V8::load(isa, &lanes).sum().to_bits(), want.to_bits());
        assert_ne!(lanes.iter().sum::<f64>(), want);
        let mut s = [0.0; 9];
        a.store(&mut s[1..]);
        assert_eq!(V8::load(isa, &s[1..]).to_array(), a.to_array());
        let (e, m) = V8::splat(isa, 12.0).split_exponent();
        assert_eq!((e.to_array()[0], m.to_array()[0]), (1026.0, 1.5));
        let t = V8::splat(isa, f64::from_bits(base::ROUND_MAGIC_BITS) + 3.0);
        assert_eq!(t.exp2_from_rounded().to_array()[4], 8.0);
        let w: Vec<f32> = (0..10).map(|i| i as f32 * 0.5).collect();
        assert_eq!(
            V8::load_f32(isa, &w[2..]).to_array(),
            [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]
        );
        let m: Vec<f64> = (0..64).map(|i| i as f64).collect();
        let mut rows = [V8::zero(isa); 8];
        for (i, r) in rows.iter_mut().enumerate() {
            *r = V8::load(isa, &m[i * 8..]);
        }
        let t = V8::transpose8(rows);
        for i in 0..8 {
            for j in 0..8 {
                assert_eq!(t[i].to_array()[j], m[j * 8 + i], "({i}, {j})");
            }
        }
        // Sixteen f32 lanes.
        let v: Vec<f32> = (0..17).map(|i| i as f32 * 0.5 - 2.0).collect();
        let a = V16::load(isa, &v[1..]);
        let two = V16::splat(isa, 2.0);
        assert_eq!(a.madd(two, a).to_array()[3], 3.0 * v[4]);
        assert_eq!(a.mul(two).sub(a).to_array(), a.to_array());
        assert_eq!(a.add(a).to_array()[12], 2.0 * v[13]);
        assert_eq!(a.sum(), v[1..].iter().map(|&x| x as f64).sum::<f64>());
        assert_eq!(a.madd(two, a).to_array()[15], 3.0 * v[16]);
        let (lo, hi) = a.widen();
        assert_eq!(lo.to_array()[7], v[8] as f64);
        assert_eq!(hi.to_array()[0], v[9] as f64);
        assert_eq!(V16::narrow(lo, hi).to_array(), a.to_array());
        let third = V8::splat(isa, 1.0 / 3.0);
        assert_eq!(V16::narrow(third, third).to_array()[9], 1.0f32 / 3.0);
        let sel = a.lt_select(V16::splat(isa, 0.0), two, a).to_array();
        for (i, &s) in sel.iter().enumerate() {
            assert_eq!(s, if v[i + 1] < 0.0 { 2.0 } else { v[i + 1] }, "lane {i}");
        }
        let mut out = [0.0f32; 17];
        a.store(&mut out[1..]);
        assert_eq!(out[1..], v[1..]);
        let m: Vec<f32> = (0..256).map(|i| i as f32).collect();
        let t = V16::transpose16(std::array::from_fn(|i| V16::load(isa, &m[i * 16..])));
        for (i, t) in t.iter().enumerate() {
            let want: [f32; 16] = std::array::from_fn(|j| m[j * 16 + i]);
            assert_eq!(t.to_array(), want, "row {i}");
        }
        // Sixteen sums at once, each in the halving order, whatever the instruction set does to
        // add them together: lanes of mixed magnitudes make any other order visible.
        let lanes = |p: usize| -> [f32; 16] {
            std::array::from_fn(|i| match (i == p % 8, i == p % 8 + 8) {
                (true, _) => 1e8,
                (_, true) => -1e8,
                _ => 0.1 * (i + 1) as f32 + p as f32,
            })
        };
        let halving = |mut a: [f32; 16]| {
            for n in [8, 4, 2, 1] {
                for i in 0..n {
                    a[i] += a[i + n];
                }
            }
            a[0]
        };
        let sums = V16::sums16(std::array::from_fn(|p| V16::load(isa, &lanes(p)))).to_array();
        for (p, &s) in sums.iter().enumerate() {
            assert_eq!(s.to_bits(), halving(lanes(p)).to_bits(), "sum {p}");
            assert_ne!(
                s,
                lanes(p).iter().rev().sum::<f32>(),
                "sum {p}: order not visible"
            );
        }
    }

    #[test]
    fn every_variant_computes_the_same_lanes() {
        check(Base);
        #[cfg(target_arch = "x86_64")]
        {
            avx2_features!(
                variant,
                fn avx2(isa: Avx2) {
                    check(isa);
                }
            );
            avx512_features!(
                variant,
                fn avx512(isa: Avx512) {
                    check(isa);
                }
            );
            if let Some(isa) = Avx2::detect() {
                // SAFETY: the token proves the features `avx2` is compiled with.
                unsafe { avx2(isa) };
            }
            if let Some(isa) = Avx512::detect() {
                // SAFETY: as above.
                unsafe { avx512(isa) };
            }
        }
    }
}
