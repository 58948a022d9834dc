//! Explicit lanes and runtime instruction-set dispatch.
//!
//! [`V8`] is eight `f64` lanes. Every operation is a loop over the eight lanes, `#[inline(always)]`,
//! which LLVM turns into one AVX-512 instruction or two AVX2 ones when the caller is compiled for
//! those instruction sets. The hot per-block functions are compiled three times (AVX-512, AVX2 with
//! FMA, and the baseline) and the best one the processor supports is chosen at run time
//! ([`level`]). The [`Isa`] parameter decides whether `a * b + c` is one fused multiply-add.
//!
//! Within one machine the same variant always runs, so results stay bit-identical across thread
//! counts; across machines, FMA changes the last bits.

use std::sync::OnceLock;

/// An instruction-set variant, as a type parameter of the kernels.
pub(crate) trait Isa: Copy + Send + Sync + 'static {
    /// Whether fused multiply-add is available (and used).
    const FMA: bool;
}

/// The baseline target (SSE2 on x86-64): no FMA.
#[derive(Clone, Copy)]
pub(crate) struct Base;
impl Isa for Base {
    const FMA: bool = false;
}

/// AVX2 with FMA (x86-64-v3).
#[derive(Clone, Copy)]
pub(crate) struct Avx2;
impl Isa for Avx2 {
    const FMA: bool = true;
}

/// AVX-512 (x86-64-v4).
#[derive(Clone, Copy)]
pub(crate) struct Avx512;
impl Isa for Avx512 {
    const FMA: bool = true;
}

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
            let avx2 = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
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

/// `a * b + c`, fused when the instruction set has FMA.
#[inline(always)]
pub(crate) fn madd<I: Isa>(a: f64, b: f64, c: f64) -> f64 {
    if I::FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Eight `f64` lanes.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
pub(crate) struct V8(pub [f64; 8]);

macro_rules! lanewise {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
        let (a, b) = ($a, $b);
        let mut o = [0.0; 8];
        for i in 0..8 {
            let ($x, $y) = (a.0[i], b.0[i]);
            o[i] = $e;
        }
        V8(o)
    }};
}

impl V8 {
    pub(crate) const ZERO: V8 = V8([0.0; 8]);

    #[inline(always)]
    pub(crate) fn splat(v: f64) -> V8 {
        V8([v; 8])
    }

    /// The first eight values of `s`.
    #[inline(always)]
    pub(crate) fn load(s: &[f64]) -> V8 {
        let a: &[f64; 8] = s[..8].try_into().unwrap();
        V8(*a)
    }

    /// Writes the lanes to the first eight values of `s`.
    #[inline(always)]
    pub(crate) fn store(self, s: &mut [f64]) {
        let a: &mut [f64; 8] = (&mut s[..8]).try_into().unwrap();
        *a = self.0;
    }

    #[inline(always)]
    pub(crate) fn add(self, o: V8) -> V8 {
        lanewise!(self, o, |x, y| x + y)
    }

    #[inline(always)]
    pub(crate) fn sub(self, o: V8) -> V8 {
        lanewise!(self, o, |x, y| x - y)
    }

    #[inline(always)]
    pub(crate) fn mul(self, o: V8) -> V8 {
        lanewise!(self, o, |x, y| x * y)
    }

    #[inline(always)]
    pub(crate) fn max(self, o: V8) -> V8 {
        lanewise!(self, o, |x, y| if x > y { x } else { y })
    }

    #[inline(always)]
    pub(crate) fn min(self, o: V8) -> V8 {
        lanewise!(self, o, |x, y| if x < y { x } else { y })
    }

    /// Lanes of `a` where `self < b`, of `c` elsewhere.
    #[inline(always)]
    pub(crate) fn lt_select(self, b: V8, a: V8, c: V8) -> V8 {
        let mut o = [0.0; 8];
        for i in 0..8 {
            o[i] = if self.0[i] < b.0[i] { a.0[i] } else { c.0[i] };
        }
        V8(o)
    }

    /// `self * b + c`, fused when the instruction set has FMA.
    #[inline(always)]
    pub(crate) fn madd<I: Isa>(self, b: V8, c: V8) -> V8 {
        let mut o = [0.0; 8];
        for i in 0..8 {
            o[i] = madd::<I>(self.0[i], b.0[i], c.0[i]);
        }
        V8(o)
    }

    /// Sum of the lanes, in a fixed order.
    #[inline(always)]
    pub(crate) fn sum(self) -> f64 {
        let a = self.0;
        ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_compute_elementwise() {
        let a = V8([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let b = V8::splat(2.0);
        assert_eq!(a.mul(b).0[7], 16.0);
        assert_eq!(a.madd::<Base>(b, a).0[2], 9.0);
        assert_eq!(a.madd::<Avx2>(b, a).0[2], 9.0);
        assert_eq!(a.sub(b).max(V8::ZERO).0[..2], [0.0, 0.0]);
        assert_eq!(a.sum(), 36.0);
        let mut s = [0.0; 9];
        a.store(&mut s[1..]);
        assert_eq!(V8::load(&s[1..]), a);
    }
}
