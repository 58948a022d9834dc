//! Scalar kernels written so that LLVM vectorises the loops that call them: `exp` and `ln` without
//! branches or libm calls, and reductions with a fixed number of independent lanes (a fixed
//! summation order, so results do not depend on how the work is scheduled).

/// Number of independent accumulators in the reductions below. A fixed constant: changing it
/// changes the summation order and so the last bits of every result.
pub(crate) const LANES: usize = 8;

const LOG2E: f64 = std::f64::consts::LOG2_E;
// fdlibm's split of ln 2: `LN2_HI` has trailing zero bits, so `n * LN2_HI` is exact for |n| < 2^11.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
// 1.5 * 2^52: adding it rounds to the nearest integer and leaves that integer in the low bits.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// `e^x`, accurate to about 1 ulp, for any `x`; results below `f64::MIN_POSITIVE` (x < -708.39)
/// flush to zero. Branch-free so that loops over it vectorise.
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    // Clamp to the range where 2^n is a normal number; underflow is applied by the select below.
    let xc = x.clamp(-708.0, 709.0);
    let t = xc * LOG2E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    // Taylor series of e^r on |r| <= ln2/2: the 14th term is below 5e-18.
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let ni = (t.to_bits() as i64).wrapping_sub(ROUND_MAGIC.to_bits() as i64);
    let scale = f64::from_bits(((ni + 1023) as u64) << 52);
    let y = p * scale;
    let y = if x < -708.0 { 0.0 } else { y };
    if x > 709.0 { f64::INFINITY } else { y }
}

/// `ln x` for finite `x > 0` (normal numbers), accurate to about 1 ulp. Branch-free.
#[inline(always)]
pub(crate) fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    // Split x = 2^e * m with m in [sqrt(1/2), sqrt(2)).
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += big as i64;
    // ln m = 2 atanh(f), f = (m - 1) / (m + 1), |f| <= 0.1716.
    let f = (m - 1.0) / (m + 1.0);
    let f2 = f * f;
    let mut s = 1.0 / 21.0;
    s = s * f2 + 1.0 / 19.0;
    s = s * f2 + 1.0 / 17.0;
    s = s * f2 + 1.0 / 15.0;
    s = s * f2 + 1.0 / 13.0;
    s = s * f2 + 1.0 / 11.0;
    s = s * f2 + 1.0 / 9.0;
    s = s * f2 + 1.0 / 7.0;
    s = s * f2 + 1.0 / 5.0;
    s = s * f2 + 1.0 / 3.0;
    let lnm = 2.0 * f + 2.0 * f * f2 * s;
    let ef = e as f64;
    ef * LN2_HI + (lnm + ef * LN2_LO)
}

/// `sum_i a[i]`, in [`LANES`] interleaved partial sums combined in a fixed order.
#[inline(always)]
pub(crate) fn sum(a: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let chunks = a.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    for (l, &v) in rest.iter().enumerate() {
        acc[l] += v;
    }
    combine(acc)
}

/// `sum_i a[i] * b[i]`, with [`sum`]'s fixed order.
#[inline(always)]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    for l in 0..ra.len() {
        acc[l] += ra[l] * rb[l];
    }
    combine(acc)
}

#[inline(always)]
fn combine(acc: [f64; LANES]) -> f64 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// `ln(sum_k exp(v[k]))` computed stably; `-inf` when every entry is `-inf`.
#[cfg(test)]
pub(crate) fn logsumexp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY || !m.is_finite() {
        return m;
    }
    let s: f64 = v.iter().map(|&x| exp(x - m)).sum();
    m + ln(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn exp_matches_std_to_two_ulps() {
        let mut worst = 0;
        let mut x = -708.0;
        while x < 709.0 {
            worst = worst.max(ulps(exp(x), x.exp()));
            x += 0.0137;
        }
        for i in 0..20000 {
            let x = -1.0 + i as f64 * 1e-4;
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 2, "worst error {worst} ulps");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(800.0), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn ln_matches_std_to_two_ulps() {
        let mut worst = 0;
        let mut x = 1e-300;
        while x < 1e300 {
            worst = worst.max(ulps(ln(x), x.ln()));
            x *= 1.013;
        }
        for i in 1..40000 {
            let x = i as f64 * 1e-3;
            worst = worst.max(ulps(ln(x), x.ln()));
        }
        assert!(worst <= 2, "worst error {worst} ulps");
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn reductions_agree_with_naive_sums() {
        let a: Vec<f64> = (0..37).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..37).map(|i| (i as f64 * 0.11).cos()).collect();
        let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-13);
        assert!((sum(&a) - a.iter().sum::<f64>()).abs() < 1e-13);
        assert_eq!(sum(&[]), 0.0);
    }

    #[test]
    fn logsumexp_is_stable() {
        assert!((logsumexp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(
            logsumexp(&[f64::NEG_INFINITY, f64::NEG_INFINITY]),
            f64::NEG_INFINITY
        );
        assert!((logsumexp(&[-1.0, -2.0]) - ((-1f64).exp() + (-2f64).exp()).ln()).abs() < 1e-15);
    }
}
