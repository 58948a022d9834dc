//! `diag`: each component has a diagonal covariance `diag(σ_k²)`, held as `1 / σ_k`.
//!
//! E-step: `‖(x - μ_k) U_k‖² = Σ_j ((x_j - μ_kj) / σ_kj)²`, computed centred (scikit-learn expands
//! it into `x² p - 2 x μ p + μ² p`, which cancels for data far from the origin).
//!
//! Statistics: `S1_k = Σ r (x - s_k)`, `S2_k = Σ r (x - s_k)²` per feature. M-step:
//! `σ²_kj = (S2 - 2 S1 e + N e²) / N' + reg_covar` with `e = μ' - s`.

use super::{CHUNK, Kernel, LN_2PI, Params, Shift, StepInfo, Sums};
use crate::error::Result;
use crate::math;

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
pub(crate) fn accumulate_diagonal(
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
            let s = shift.shift[c * d + j];
            let xj = &xt[j * ld..j * ld + rows_p];
            let mut a1 = [0.0; CHUNK];
            let mut a2 = [0.0; CHUNK];
            for (rc, xc) in rk.chunks_exact(CHUNK).zip(xj.chunks_exact(CHUNK)) {
                for t in 0..CHUNK {
                    let v = xc[t] - s;
                    let w = rc[t] * v;
                    a1[t] += w;
                    a2[t] += w * v;
                }
            }
            sums.s1[c * d + j] += math::sum(&a1);
            sums.s2[c * d + j] += math::sum(&a2);
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

    fn weighted_log_prob(
        prep: &Prepared,
        xt: &[f64],
        ld: usize,
        rows: usize,
        out: &mut [f64],
        _work: &mut [f64],
    ) {
        let (k, d) = (prep.k, prep.d);
        let rows_p = crate::blocks::padded(rows);
        for c in 0..k {
            let mu = &prep.means[c * d..(c + 1) * d];
            let p = &prep.p[c * d..(c + 1) * d];
            let cst = prep.cst[c];
            let mut r0 = 0;
            while r0 < rows_p {
                let mut acc = [0.0; CHUNK];
                for j in 0..d {
                    let xj: &[f64; CHUNK] =
                        xt[j * ld + r0..j * ld + r0 + CHUNK].try_into().unwrap();
                    for t in 0..CHUNK {
                        let v = (xj[t] - mu[j]) * p[j];
                        acc[t] += v * v;
                    }
                }
                for t in 0..CHUNK {
                    out[c * ld + r0 + t] = cst - 0.5 * acc[t];
                }
                r0 += CHUNK;
            }
        }
    }

    fn accumulate(
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
        accumulate_diagonal(shift, xt, ld, rows, resp, sums, k, d);
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
