//! `spherical`: each component has covariance `σ_k² I`, held as `1 / σ_k`.
//!
//! E-step: `‖(x - μ_k) U_k‖² = ‖x - μ_k‖² / σ_k²`, computed centred. Statistics are those of
//! `diag`; the M-step's variance is the mean over features of the diagonal variances (with
//! `reg_covar`), as in scikit-learn.

use super::diag::{accumulate_diagonal, diagonal_variances, inverse_sqrt};
use super::{Kernel, LN_2PI, Params, Shift, StepInfo, Sums};
use crate::error::Result;
use crate::math::LANES;
use crate::simd::{Isa, V8};

pub(crate) struct Spherical;

pub(crate) struct Prepared {
    k: usize,
    d: usize,
    /// `1 / σ_k²`.
    precision: Vec<f64>,
    means: Vec<f64>,
    cst: Vec<f64>,
}

impl Kernel for Spherical {
    const TYPE: super::CovarianceType = super::CovarianceType::Spherical;
    type Prepared = Prepared;

    fn prepare(p: &Params) -> Prepared {
        let (k, d) = (p.n_components, p.n_features);
        let cst = (0..k)
            .map(|c| {
                p.weights[c].ln() - 0.5 * d as f64 * LN_2PI
                    + d as f64 * p.precisions_cholesky[c].ln()
            })
            .collect();
        Prepared {
            k,
            d,
            precision: p.precisions_cholesky.iter().map(|v| v * v).collect(),
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
        for c in 0..k {
            let mu = &prep.means[c * d..(c + 1) * d];
            let half_prec = V8::<I>::splat(-0.5 * prep.precision[c]);
            let cst = V8::<I>::splat(prep.cst[c]);
            for r0 in (0..rows_p).step_by(LANES) {
                let mut acc = V8::<I>::zero();
                for j in 0..d {
                    let v = V8::<I>::load(&xt[j * ld + r0..]).sub(V8::<I>::splat(mu[j]));
                    acc = v.madd(v, acc);
                }
                acc.madd(half_prec, cst).store(&mut out[c * ld + r0..]);
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
        let v = diagonal_variances(sums, nk, e, reg_covar, k, d);
        (0..k)
            .map(|c| v[c * d..(c + 1) * d].iter().sum::<f64>() / d as f64)
            .collect()
    }

    fn precisions_cholesky(cov: &[f64], _k: usize, _d: usize, info: StepInfo) -> Result<Vec<f64>> {
        inverse_sqrt(cov, 1, info)
    }
}
