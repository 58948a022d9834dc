//! The Wishart posterior of a variational mixture's precisions, one formula per covariance type
//! (scikit-learn's `_estimate_wishart_full/tied/diag/spherical` and `_log_wishart_norm`), and
//! the expectation `E[log |Λ|]` the E-step adds.
//!
//! With prior `(ν₀, Ψ₀)` on the precisions and `(β₀, m₀)` on the means, and a component's
//! statistics `N'_k`, mean `x̄_k` and covariance `S_k` (scikit-learn's
//! `_estimate_gaussian_parameters`, `reg_covar` included), `β_k = β₀ + N'_k` and:
//! - full: `ν_k = ν₀ + N'_k`, `Σ_k = (Ψ₀ + N'_k S_k + N'_k β₀/β_k (x̄_k - m₀)(x̄_k - m₀)ᵀ) / ν_k`;
//! - tied: `ν = ν₀ + Σ N'/K`, `Σ = (Ψ₀ + S Σ N'/K + β₀/K Σ_k N'_k/β_k (x̄_k - m₀)(…)ᵀ) / ν`;
//! - diag: `ν_k = ν₀ + N'_k`, `σ²_kj = (Ψ₀_j + N'_k (S_kj + β₀/β_k (x̄_kj - m₀_j)²)) / ν_k`;
//! - spherical: as diag with the mean over features of the squared distance, one `σ²_k`.

use super::CovarianceType;
use crate::math::{digamma, ln_gamma};

/// The priors of the means and precisions: `ν₀`, `Ψ₀` (the type's covariance shape: `(d, d)`
/// for full and tied, `(d,)` for diag, one value for spherical), `β₀` and `m₀ (d,)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prior {
    pub degrees_of_freedom: f64,
    pub covariance: Vec<f64>,
    pub mean_precision: f64,
    pub mean: Vec<f64>,
}

/// The statistics of an M-step: `N'_k (K,)`, means `x̄ (K, d)` and covariances `S` (the type's
/// shape), with the posterior mean precisions `β (K,)`.
pub(crate) struct Moments<'a> {
    pub nk: &'a [f64],
    pub means: &'a [f64],
    pub covariances: &'a [f64],
    pub mean_precision: &'a [f64],
}

/// The posterior degrees of freedom (`(K,)`, or one value for tied) and covariances (the type's
/// shape).
pub(crate) fn posterior(t: CovarianceType, prior: &Prior, m: &Moments<'_>) -> (Vec<f64>, Vec<f64>) {
    let k = m.nk.len();
    let d = prior.mean.len();
    let (nu0, b0) = (prior.degrees_of_freedom, prior.mean_precision);
    let diff = |c: usize, j: usize| m.means[c * d + j] - prior.mean[j];
    match t {
        CovarianceType::Full => {
            let dof: Vec<f64> = m.nk.iter().map(|n| nu0 + n).collect();
            let mut cov = vec![0.0; k * d * d];
            for c in 0..k {
                let (n, f) = (m.nk[c], m.nk[c] * b0 / m.mean_precision[c]);
                for i in 0..d {
                    for j in 0..d {
                        let v = prior.covariance[i * d + j]
                            + n * m.covariances[c * d * d + i * d + j]
                            + f * (diff(c, i) * diff(c, j));
                        cov[c * d * d + i * d + j] = v / dof[c];
                    }
                }
            }
            (dof, cov)
        }
        CovarianceType::Tied => {
            let sum_nk: f64 = m.nk.iter().sum();
            let dof = nu0 + sum_nk / k as f64;
            let mut cov = vec![0.0; d * d];
            for i in 0..d {
                for j in 0..d {
                    let mut s = 0.0;
                    for c in 0..k {
                        s += m.nk[c] / m.mean_precision[c] * diff(c, i) * diff(c, j);
                    }
                    let v = prior.covariance[i * d + j]
                        + m.covariances[i * d + j] * sum_nk / k as f64
                        + b0 / k as f64 * s;
                    cov[i * d + j] = v / dof;
                }
            }
            (vec![dof], cov)
        }
        CovarianceType::Diag => {
            let dof: Vec<f64> = m.nk.iter().map(|n| nu0 + n).collect();
            let mut cov = vec![0.0; k * d];
            for c in 0..k {
                let r = b0 / m.mean_precision[c];
                for j in 0..d {
                    let v = prior.covariance[j]
                        + m.nk[c] * (m.covariances[c * d + j] + r * (diff(c, j) * diff(c, j)));
                    cov[c * d + j] = v / dof[c];
                }
            }
            (dof, cov)
        }
        CovarianceType::Spherical => {
            let dof: Vec<f64> = m.nk.iter().map(|n| nu0 + n).collect();
            let cov = (0..k)
                .map(|c| {
                    let sq = (0..d).map(|j| diff(c, j) * diff(c, j)).sum::<f64>() / d as f64;
                    let r = b0 / m.mean_precision[c];
                    (prior.covariance[0] + m.nk[c] * (m.covariances[c] + r * sq)) / dof[c]
                })
                .collect();
            (dof, cov)
        }
    }
}

/// `E[log |Λ|] - d log 2 = Σ_{j<d} ψ((ν - j)/2)`, plus `d log 2`: scikit-learn's `log_lambda`.
pub(crate) fn log_lambda(dof: f64, d: usize) -> f64 {
    d as f64 * std::f64::consts::LN_2 + (0..d).map(|j| digamma(0.5 * (dof - j as f64))).sum::<f64>()
}

/// The log normalisation of a Wishart with `dof` degrees of freedom whose precision Cholesky
/// factor has log-determinant `log_det_chol` (scikit-learn's `_log_wishart_norm`).
pub(crate) fn log_wishart_norm(dof: f64, log_det_chol: f64, d: usize) -> f64 {
    -(dof * log_det_chol
        + dof * d as f64 * 0.5 * std::f64::consts::LN_2
        + (0..d)
            .map(|j| ln_gamma(0.5 * (dof - j as f64)))
            .sum::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_without_data_keeps_the_prior() {
        // N' = 0: the posterior is the prior (Σ = Ψ₀ / ν₀) for every type.
        let d = 2;
        for (t, cov0, sk) in [
            (
                CovarianceType::Full,
                vec![2.0, 0.5, 0.5, 1.0],
                vec![9.0, 1.0, 1.0, 9.0],
            ),
            (CovarianceType::Diag, vec![2.0, 1.0], vec![9.0, 9.0]),
            (CovarianceType::Spherical, vec![3.0], vec![9.0]),
        ] {
            let prior = Prior {
                degrees_of_freedom: 4.0,
                covariance: cov0.clone(),
                mean_precision: 1.0,
                mean: vec![0.0, 0.0],
            };
            let m = Moments {
                nk: &[0.0],
                means: &[5.0, 5.0],
                covariances: &sk,
                mean_precision: &[1.0],
            };
            let (dof, cov) = posterior(t, &prior, &m);
            assert_eq!(dof, vec![4.0]);
            let want: Vec<f64> = cov0.iter().map(|v| v / 4.0).collect();
            assert_eq!(cov, want, "{t}");
        }
        // A component with all the data and a flat prior: Σ ≈ S.
        let prior = Prior {
            degrees_of_freedom: 0.0,
            covariance: vec![0.0; d * d],
            mean_precision: 1e-12,
            mean: vec![0.0, 0.0],
        };
        let m = Moments {
            nk: &[1e6],
            means: &[1.0, 2.0],
            covariances: &[2.0, 0.3, 0.3, 1.0],
            mean_precision: &[1e6],
        };
        let (_, cov) = posterior(CovarianceType::Full, &prior, &m);
        for (a, b) in cov.iter().zip([2.0, 0.3, 0.3, 1.0]) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn wishart_terms_match_their_definitions() {
        // d = 1: log_lambda = ln 2 + ψ(ν/2); the norm of a Wishart(ν, 1) is
        // -(ν/2 ln 2 + ln Γ(ν/2)) when log det = 0.
        let nu = 5.0;
        assert!((log_lambda(nu, 1) - (2f64.ln() + digamma(2.5))).abs() < 1e-15);
        assert!((log_wishart_norm(nu, 0.0, 1) + (2.5 * 2f64.ln() + ln_gamma(2.5))).abs() < 1e-14);
        // ψ(1) = -γ.
        assert!((digamma(1.0) + 0.577_215_664_901_532_9).abs() < 1e-15);
    }
}
