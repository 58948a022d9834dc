//! `spherical`: each component has covariance `σ_k² I`, held as `1 / σ_k`.
//!
//! E-step: `‖(x - μ_k) U_k‖² = ‖x - μ_k‖² / σ_k²`, computed centred. Statistics are those of
//! `diag`; the M-step's variance is the mean over features of the diagonal variances (with
//! `reg_covar`), as in scikit-learn.

use super::diag::{accumulate_diagonal, diagonal_variances, inverse_sqrt};
use super::{CHUNK, Kernel, LN_2PI, Params, Shift, StepInfo, Sums};
use crate::error::Result;

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
            let (prec, cst) = (prep.precision[c], prep.cst[c]);
            let mut r0 = 0;
            while r0 < rows_p {
                let mut acc = [0.0; CHUNK];
                for j in 0..d {
                    let xj: &[f64; CHUNK] =
                        xt[j * ld + r0..j * ld + r0 + CHUNK].try_into().unwrap();
                    for t in 0..CHUNK {
                        let v = xj[t] - mu[j];
                        acc[t] += v * v;
                    }
                }
                for t in 0..CHUNK {
                    out[c * ld + r0 + t] = cst - 0.5 * prec * acc[t];
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
        let v = diagonal_variances(sums, nk, e, reg_covar, k, d);
        (0..k)
            .map(|c| v[c * d..(c + 1) * d].iter().sum::<f64>() / d as f64)
            .collect()
    }

    fn precisions_cholesky(cov: &[f64], _k: usize, _d: usize, info: StepInfo) -> Result<Vec<f64>> {
        inverse_sqrt(cov, 1, info)
    }
}
