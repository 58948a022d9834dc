//! `spherical`: each component has covariance `σ_k² I`, held as `1 / σ_k`.
//!
//! E-step: `‖(x - μ_k) U_k‖² = ‖x - μ_k‖² / σ_k²`, computed centred. Statistics are those of
//! `diag`; the M-step's variance is the mean over features of the diagonal variances (with
//! `reg_covar`), as in scikit-learn.

use super::convert::log_det_precision_cholesky;
use super::diag::{accumulate_diagonal, diagonal_variances};
use super::{CovarianceType, Kernel, Params, Shift, Sums, log_constants};
use crate::blocks::{BLOCK_ROWS, Block};
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
    const TYPE: CovarianceType = CovarianceType::Spherical;
    type Prepared = Prepared;

    fn prepare(p: &Params, log_weights: &[f64]) -> Prepared {
        let (k, d) = (p.n_components, p.n_features);
        let log_det = log_det_precision_cholesky(Self::TYPE, &p.precisions_cholesky, k, d);
        Prepared {
            k,
            d,
            precision: p.precisions_cholesky.iter().map(|v| v * v).collect(),
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
        for c in 0..k {
            let mu = &prep.means[c * d..(c + 1) * d];
            let half_prec = V8::splat(isa, -0.5 * prep.precision[c]);
            let cst = V8::splat(isa, prep.cst[c]);
            for r0 in (0..x.rows_p()).step_by(LANES) {
                let mut acc = V8::zero(isa);
                for j in 0..d {
                    let v = x.lanes(isa, j, r0).sub(V8::splat(isa, mu[j]));
                    acc = v.madd(v, acc);
                }
                acc.madd(half_prec, cst)
                    .store(&mut out[c * BLOCK_ROWS + r0..]);
            }
        }
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
        let (k, d) = (shift.k(), shift.d());
        let v = diagonal_variances(sums, shift, nk, e, reg_covar);
        (0..k)
            .map(|c| v[c * d..(c + 1) * d].iter().sum::<f64>() / d as f64)
            .collect()
    }
}
