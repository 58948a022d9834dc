//! `diag`: each component has a diagonal covariance `diag(σ_k²)`, held as `1 / σ_k`.
//!
//! E-step: `‖(x - μ_k) U_k‖² = Σ_j ((x_j - μ_kj) / σ_kj)²`, computed centred (scikit-learn expands
//! it into `x² p - 2 x μ p + μ² p`, which cancels for data far from the origin).
//!
//! Statistics: `S1_k = Σ r (x - s_k)`, `S2_k = Σ r (x - s_k)²` per feature. M-step:
//! `σ²_kj = (S2 - 2 S1 e + N e²) / N' + reg_covar` with `e = μ' - s`.

use super::convert::log_det_precision_cholesky;
use super::{CovarianceType, Kernel, Params, Shift, Sums, log_constants};
use crate::blocks::{BLOCK_ROWS, Block, with_dim};
use crate::math;
use crate::math::LANES;
use crate::simd::{Isa, V8};

pub(crate) struct Diag;

pub(crate) struct Prepared {
    k: usize,
    d: usize,
    /// `1 / σ`: `(K, d)`.
    p: Vec<f64>,
    means: Vec<f64>,
    cst: Vec<f64>,
}

/// Adds `Σ r (x - s_k)` and `Σ r (x - s_k)²` per component and feature: the statistics of the
/// diagonal and spherical types.
#[inline(always)]
pub(crate) fn accumulate_diagonal<I: Isa>(
    isa: I,
    shift: &Shift,
    x: Block<'_>,
    resp: &[f64],
    sums: &mut Sums,
) {
    let (k, d) = (shift.k(), shift.d());
    let rows_p = x.rows_p();
    for c in 0..k {
        let rk = &resp[c * BLOCK_ROWS..c * BLOCK_ROWS + rows_p];
        sums.nk[c] += math::sum(rk);
        let mut j = 0;
        while j + 4 <= d {
            diagonal_features::<I, 4>(isa, shift, x, rk, c, j, sums);
            j += 4;
        }
        while j < d {
            diagonal_features::<I, 1>(isa, shift, x, rk, c, j, sums);
            j += 1;
        }
    }
}

/// Features `j0..j0 + J` of [`accumulate_diagonal`] for component `c`, advancing together row
/// group by row group so that their `2 J` sums are independent chains in flight at once (one
/// feature at a time waits on one addition's latency per row group); each sum still adds the
/// row groups in order, so the bits are those of one feature at a time.
#[inline(always)]
fn diagonal_features<I: Isa, const J: usize>(
    isa: I,
    shift: &Shift,
    x: Block<'_>,
    rk: &[f64],
    c: usize,
    j0: usize,
    sums: &mut Sums,
) {
    let d = shift.d();
    let mut s = [V8::zero(isa); J];
    for j in 0..J {
        s[j] = V8::splat(isa, shift.shift[c * d + j0 + j]);
    }
    let mut a1 = [V8::zero(isa); J];
    let mut a2 = [V8::zero(isa); J];
    for r0 in (0..x.rows_p()).step_by(LANES) {
        let r = V8::load(isa, &rk[r0..]);
        for j in 0..J {
            let v = x.lanes(isa, j0 + j, r0).sub(s[j]);
            let w = r.mul(v);
            a1[j] = a1[j].add(w);
            a2[j] = w.madd(v, a2[j]);
        }
    }
    for j in 0..J {
        sums.s1[c * d + j0 + j] += a1[j].sum();
        sums.s2[c * d + j0 + j] += a2[j].sum();
    }
}

/// Per-feature variances `(K, d)` about the new means, with `reg_covar` added.
pub(crate) fn diagonal_variances(
    sums: &Sums,
    shift: &Shift,
    nk: &[f64],
    e: &[f64],
    reg_covar: f64,
) -> Vec<f64> {
    let (k, d) = (shift.k(), shift.d());
    let mut v = vec![0.0; k * d];
    for c in 0..k {
        let n = sums.nk[c];
        for j in 0..d {
            let i = c * d + j;
            let (s1, s2, ec) = (sums.s1[i], sums.s2[i], e[i]);
            v[i] = (s2 - 2.0 * s1 * ec + n * ec * ec) / nk[c] + reg_covar;
        }
    }
    v
}

/// The E-step for a small constant dimension: a lane group's rows stay in registers while every
/// component is scored.
#[inline(always)]
fn log_prob_small<const D: usize, I: Isa>(isa: I, prep: &Prepared, x: Block<'_>, out: &mut [f64]) {
    let mut r0 = 0;
    while r0 < x.rows_p() {
        let mut xv = [V8::zero(isa); D];
        for j in 0..D {
            xv[j] = x.lanes(isa, j, r0);
        }
        for c in 0..prep.k {
            let mu = &prep.means[c * D..(c + 1) * D];
            let p = &prep.p[c * D..(c + 1) * D];
            let mut acc = V8::zero(isa);
            for j in 0..D {
                let v = xv[j].sub(V8::splat(isa, mu[j])).mul(V8::splat(isa, p[j]));
                acc = v.madd(v, acc);
            }
            acc.madd(V8::splat(isa, -0.5), V8::splat(isa, prep.cst[c]))
                .store(&mut out[c * BLOCK_ROWS + r0..]);
        }
        r0 += LANES;
    }
}

impl Kernel for Diag {
    const TYPE: CovarianceType = CovarianceType::Diag;
    type Prepared = Prepared;

    fn prepare(p: &Params, log_weights: &[f64]) -> Prepared {
        let (k, d) = (p.n_components, p.n_features);
        let log_det = log_det_precision_cholesky(Self::TYPE, &p.precisions_cholesky, k, d);
        Prepared {
            k,
            d,
            p: p.precisions_cholesky.clone(),
            means: p.means.clone(),
            cst: log_constants(log_weights, &log_det, d),
        }
    }

    fn work_len(_k: usize, _d: usize) -> usize {
        0
    }

    #[inline(always)]
    fn weighted_log_prob<I: Isa>(
        isa: I,
        prep: &Prepared,
        x: Block<'_>,
        out: &mut [f64],
        _work: &mut [f64],
    ) {
        let (k, d) = (prep.k, prep.d);
        with_dim!(d, D => log_prob_small::<D, I>(isa, prep, x, out), _ => {
            for c in 0..k {
                let mu = &prep.means[c * d..(c + 1) * d];
                let p = &prep.p[c * d..(c + 1) * d];
                let cst = V8::splat(isa, prep.cst[c]);
                for r0 in (0..x.rows_p()).step_by(LANES) {
                    let mut acc = V8::zero(isa);
                    for j in 0..d {
                        let v = x
                            .lanes(isa, j, r0)
                            .sub(V8::splat(isa, mu[j]))
                            .mul(V8::splat(isa, p[j]));
                        acc = v.madd(v, acc);
                    }
                    acc.madd(V8::splat(isa, -0.5), cst)
                        .store(&mut out[c * BLOCK_ROWS + r0..]);
                }
            }
        })
    }

    #[inline(always)]
    fn accumulate<I: Isa>(
        isa: I,
        shift: &Shift,
        x: Block<'_>,
        resp: &[f64],
        _weights: Option<&[f64]>,
        sums: &mut Sums,
        _work: &mut [f64],
    ) {
        accumulate_diagonal(isa, shift, x, resp, sums);
    }

    fn covariances(sums: &Sums, shift: &Shift, nk: &[f64], e: &[f64], reg_covar: f64) -> Vec<f64> {
        diagonal_variances(sums, shift, nk, e, reg_covar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::{CovarianceType, Shift, Sums};
    use crate::simd::Base;

    #[test]
    fn diagonal_statistics_have_the_bits_of_one_feature_at_a_time() {
        let isa = Base;
        let ld = BLOCK_ROWS;
        for (k, d) in [(3, 1), (2, 5), (3, 8), (2, 11)] {
            for rows_p in [8, 48, ld] {
                let xt: Vec<f64> = (0..d * ld)
                    .map(|i| ((i * 7919 % 1009) as f64) / 89.0 - 5.0)
                    .collect();
                let resp: Vec<f64> = (0..k * ld).map(|i| ((i * 37 % 23) as f64) / 22.0).collect();
                let means: Vec<f64> = (0..k * d).map(|i| 0.3 * i as f64 - 1.0).collect();
                let shift = Shift::new(&means, k, d);
                let x = Block::new(&xt, rows_p);
                let mut got = Sums::zeros(CovarianceType::Diag, k, d);
                accumulate_diagonal(isa, &shift, x, &resp, &mut got);
                // One feature at a time, each sum over the lane groups in order.
                let (mut s1, mut s2) = (vec![0.0; k * d], vec![0.0; k * d]);
                for c in 0..k {
                    for j in 0..d {
                        let s = V8::splat(isa, means[c * d + j]);
                        let (mut a1, mut a2) = (V8::zero(isa), V8::zero(isa));
                        for r0 in (0..rows_p).step_by(LANES) {
                            let v = x.lanes(isa, j, r0).sub(s);
                            let w = V8::load(isa, &resp[c * ld + r0..]).mul(v);
                            a1 = a1.add(w);
                            a2 = w.madd(v, a2);
                        }
                        s1[c * d + j] = a1.sum();
                        s2[c * d + j] = a2.sum();
                    }
                }
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got.s1), bits(&s1), "k={k} d={d} rows={rows_p}");
                assert_eq!(bits(&got.s2), bits(&s2), "k={k} d={d} rows={rows_p}");
                // And they are the statistics: Σ r (x - μ)² for the last feature.
                let (c, j) = (k - 1, d - 1);
                let direct: f64 = (0..rows_p)
                    .map(|r| resp[c * ld + r] * (xt[j * ld + r] - means[c * d + j]).powi(2))
                    .sum();
                assert!((got.s2[c * d + j] - direct).abs() < 1e-9 * direct.max(1.0));
            }
        }
    }
}
