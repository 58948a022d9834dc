//! `diag`: each component has a diagonal covariance `diag(σ_k²)`, held as `1 / σ_k`.
//!
//! E-step: `‖(x - μ_k) U_k‖² = Σ_j ((x_j - μ_kj) / σ_kj)²`, computed centred (scikit-learn expands
//! it into `x² p - 2 x μ p + μ² p`, which cancels for data far from the origin).
//!
//! Statistics: `S1_k = Σ r (x - s_k)`, `S2_k = Σ r (x - s_k)²` per feature. M-step:
//! `σ²_kj = (S2 - 2 S1 e + N e²) / N' + reg_covar` with `e = μ' - s`.

use super::{Kernel, LN_2PI, Params, Shift, StepInfo, Sums, with_dim};
use crate::error::Result;
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
    shift: &Shift,
    xt: &[f64],
    ld: usize,
    rows: usize,
    resp: &[f64],
    sums: &mut Sums,
    k: usize,
    d: usize,
) {
    let rows_p = crate::blocks::padded(rows);
    for c in 0..k {
        let rk = &resp[c * ld..c * ld + rows_p];
        sums.nk[c] += math::sum(rk);
        for j in 0..d {
            let s = V8::<I>::splat(shift.shift[c * d + j]);
            let mut a1 = V8::<I>::zero();
            let mut a2 = V8::<I>::zero();
            for r0 in (0..rows_p).step_by(LANES) {
                let v = V8::<I>::load(&xt[j * ld + r0..]).sub(s);
                let w = V8::<I>::load(&rk[r0..]).mul(v);
                a1 = a1.add(w);
                a2 = w.madd(v, a2);
            }
            sums.s1[c * d + j] += a1.sum();
            sums.s2[c * d + j] += a2.sum();
        }
    }
}

/// Per-feature variances `(K, d)` about the new means, with `reg_covar` added.
pub(crate) fn diagonal_variances(
    sums: &Sums,
    nk: &[f64],
    e: &[f64],
    reg_covar: f64,
    k: usize,
    d: usize,
) -> Vec<f64> {
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

/// `1 / σ` for variances `σ²`, refusing any that is not positive; `per` values per component.
pub(crate) fn inverse_sqrt(var: &[f64], per: usize, info: StepInfo) -> Result<Vec<f64>> {
    var.iter()
        .enumerate()
        .map(|(i, &v)| {
            // NaN fails this test too.
            if v > 0.0 && v.is_finite() {
                Ok(1.0 / v.sqrt())
            } else {
                Err(info.ill_defined(Some(i / per)))
            }
        })
        .collect()
}

/// The E-step for a small constant dimension: a lane group's rows stay in registers while every
/// component is scored.
#[inline(always)]
fn log_prob_small<const D: usize, I: Isa>(
    prep: &Prepared,
    xt: &[f64],
    ld: usize,
    rows_p: usize,
    out: &mut [f64],
) {
    let mut r0 = 0;
    while r0 < rows_p {
        let mut x = [V8::<I>::zero(); D];
        for j in 0..D {
            x[j] = V8::load(&xt[j * ld + r0..]);
        }
        for c in 0..prep.k {
            let mu = &prep.means[c * D..(c + 1) * D];
            let p = &prep.p[c * D..(c + 1) * D];
            let mut acc = V8::<I>::zero();
            for j in 0..D {
                let v = x[j].sub(V8::splat(mu[j])).mul(V8::splat(p[j]));
                acc = v.madd(v, acc);
            }
            acc.madd(V8::splat(-0.5), V8::splat(prep.cst[c]))
                .store(&mut out[c * ld + r0..]);
        }
        r0 += LANES;
    }
}

impl Kernel for Diag {
    const TYPE: super::CovarianceType = super::CovarianceType::Diag;
    type Prepared = Prepared;

    fn prepare(p: &Params) -> Prepared {
        let (k, d) = (p.n_components, p.n_features);
        let cst = (0..k)
            .map(|c| {
                let log_det: f64 = p.precisions_cholesky[c * d..(c + 1) * d]
                    .iter()
                    .map(|v| v.ln())
                    .sum();
                p.weights[c].ln() - 0.5 * d as f64 * LN_2PI + log_det
            })
            .collect();
        Prepared {
            k,
            d,
            p: p.precisions_cholesky.clone(),
            means: p.means.clone(),
            cst,
        }
    }

    fn work_len(_k: usize, _d: usize) -> usize {
        0
    }

    #[inline(always)]
    fn weighted_log_prob<I: Isa>(
        prep: &Prepared,
        xt: &[f64],
        ld: usize,
        rows: usize,
        out: &mut [f64],
        _work: &mut [f64],
    ) {
        let (k, d) = (prep.k, prep.d);
        let rows_p = crate::blocks::padded(rows);
        if with_dim!(d, D => { log_prob_small::<D, I>(prep, xt, ld, rows_p, out); true }, _ => false)
        {
            return;
        }
        for c in 0..k {
            let mu = &prep.means[c * d..(c + 1) * d];
            let p = &prep.p[c * d..(c + 1) * d];
            let cst = V8::<I>::splat(prep.cst[c]);
            for r0 in (0..rows_p).step_by(LANES) {
                let mut acc = V8::<I>::zero();
                for j in 0..d {
                    let v = V8::<I>::load(&xt[j * ld + r0..])
                        .sub(V8::<I>::splat(mu[j]))
                        .mul(V8::<I>::splat(p[j]));
                    acc = v.madd(v, acc);
                }
                acc.madd(V8::<I>::splat(-0.5), cst)
                    .store(&mut out[c * ld + r0..]);
            }
        }
    }

    #[inline(always)]
    fn accumulate<I: Isa>(
        shift: &Shift,
        xt: &[f64],
        ld: usize,
        rows: usize,
        resp: &[f64],
        sums: &mut Sums,
        _work: &mut [f64],
        k: usize,
        d: usize,
    ) {
        accumulate_diagonal::<I>(shift, xt, ld, rows, resp, sums, k, d);
    }

    fn covariances(
        sums: &Sums,
        _shift: &Shift,
        nk: &[f64],
        e: &[f64],
        reg_covar: f64,
        k: usize,
        d: usize,
    ) -> Vec<f64> {
        diagonal_variances(sums, nk, e, reg_covar, k, d)
    }

    fn precisions_cholesky(cov: &[f64], _k: usize, d: usize, info: StepInfo) -> Result<Vec<f64>> {
        inverse_sqrt(cov, d, info)
    }
}
