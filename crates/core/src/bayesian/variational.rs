//! The variational mathematics of scikit-learn's `BayesianGaussianMixture` (Bishop, ch. 10):
//! the posterior of the weights (a Dirichlet process in stick-breaking form, or a Dirichlet
//! distribution), of the means (Gaussian) and of the precisions (Wishart), the M-step that
//! updates it from the E-step's statistics, the constants the E-step adds to each component's
//! log-density, and the lower bound.
//!
//! - M-step (`_estimate_weights/_means/_precisions`): from `N'_k`, `x̄_k`, `S_k` (the mixture's
//!   own estimate, [`estimate`]): Dirichlet process `α_k = 1 + N'_k`,
//!   `β_k = α₀ + Σ_{j>k} N'_j`, or Dirichlet `α_k = α₀ + N'_k`; `β_k = β₀ + N'_k`,
//!   `μ_k = (β₀ m₀ + N'_k x̄_k) / β_k`; the Wishart posterior per type
//!   ([`wishart::posterior`]); the precision Cholesky factors of its covariances.
//! - E-step constants (`_estimate_log_weights` and `_estimate_log_prob`): the Gaussian
//!   log-density under the posterior's precisions, plus
//!   `E[log π_k] - d/2 log ν_k + ½ (d log 2 + Σ_j ψ((ν_k - j)/2) - d/β_k)`, with
//!   `E[log π_k] = ψ(α_k) - ψ(α_k + β_k) + Σ_{j<k} (ψ(β_j) - ψ(α_j + β_j))` for the Dirichlet
//!   process and `ψ(α_k) - ψ(Σ α)` for the Dirichlet.
//! - Lower bound (`_compute_lower_bound`, after the M-step, with the E-step's responsibilities):
//!   `-Σ_i w_i Σ_k r_ik log r_ik - Σ_k log B(ν_k) - log C(α) - d/2 Σ_k log β_k`, where
//!   `log B` is the Wishart normalisation with `log |U_k| - d/2 log ν_k` (times `K` for tied)
//!   and `log C(α)` is `-Σ_k ln B(α_k, β_k)` (process) or `ln Γ(Σ α) - Σ ln Γ(α_k)`.
//!   Not divided by the number of rows: its changes are compared with `tol` as they are.

use crate::covariance::convert::{log_det_precision_cholesky, precision_cholesky};
use crate::covariance::wishart::{self, Moments, Prior};
use crate::covariance::{CovarianceType, Kernel, Params, Shift, StepInfo, Sums, Weights, estimate};
use crate::error::Result;
use crate::math::{digamma, ln_beta, ln_gamma};

/// The prior on the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WeightConcentrationPriorType {
    /// A Dirichlet process (stick-breaking): unneeded components get weights near zero.
    #[default]
    DirichletProcess,
    /// A Dirichlet distribution.
    DirichletDistribution,
}

impl WeightConcentrationPriorType {
    /// scikit-learn's name: `"dirichlet_process"` or `"dirichlet_distribution"`.
    pub fn as_str(self) -> &'static str {
        match self {
            WeightConcentrationPriorType::DirichletProcess => "dirichlet_process",
            WeightConcentrationPriorType::DirichletDistribution => "dirichlet_distribution",
        }
    }
}

impl std::fmt::Display for WeightConcentrationPriorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for WeightConcentrationPriorType {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dirichlet_process" | "dirichlet-process" => Ok(Self::DirichletProcess),
            "dirichlet_distribution" | "dirichlet-distribution" => Ok(Self::DirichletDistribution),
            _ => Err(crate::error::invalid(
                "weight_concentration_prior_type",
                format!("{s:?} is not one of \"dirichlet_process\", \"dirichlet_distribution\""),
            )),
        }
    }
}

/// The posterior of the weights (scikit-learn's `weight_concentration_`).
#[derive(Debug, Clone, PartialEq)]
pub enum WeightConcentration {
    /// The Dirichlet process' Beta parameters of each stick: scikit-learn's pair of arrays
    /// `(K,)` and `(K,)`.
    DirichletProcess {
        /// `1 + N'_k`.
        alpha: Vec<f64>,
        /// `α₀ + Σ_{j>k} N'_j`.
        beta: Vec<f64>,
    },
    /// The Dirichlet's parameters `α₀ + N'_k`, `(K,)`.
    DirichletDistribution(Vec<f64>),
}

impl WeightConcentration {
    /// The weights' prior type.
    pub fn prior_type(&self) -> WeightConcentrationPriorType {
        match self {
            WeightConcentration::DirichletProcess { .. } => {
                WeightConcentrationPriorType::DirichletProcess
            }
            WeightConcentration::DirichletDistribution(_) => {
                WeightConcentrationPriorType::DirichletDistribution
            }
        }
    }

    /// `E[log π_k]` `(K,)`.
    fn expected_log_weights(&self) -> Vec<f64> {
        match self {
            WeightConcentration::DirichletProcess { alpha, beta } => {
                let mut out = Vec::with_capacity(alpha.len());
                let mut before = 0.0;
                for (a, b) in alpha.iter().zip(beta) {
                    let dsum = digamma(a + b);
                    out.push(digamma(*a) - dsum + before);
                    before += digamma(*b) - dsum;
                }
                out
            }
            WeightConcentration::DirichletDistribution(a) => {
                let dsum = digamma(a.iter().sum());
                a.iter().map(|v| digamma(*v) - dsum).collect()
            }
        }
    }

    /// The expected weights (scikit-learn's `weights_`): stick lengths
    /// `α_k / (α_k + β_k) Π_{j<k} β_j / (α_j + β_j)`, or `α_k / Σ α`, normalised.
    pub(crate) fn weights(&self) -> Vec<f64> {
        let w: Vec<f64> = match self {
            WeightConcentration::DirichletProcess { alpha, beta } => {
                let mut rest = 1.0;
                let mut out = Vec::with_capacity(alpha.len());
                for (a, b) in alpha.iter().zip(beta) {
                    let s = a + b;
                    out.push(a / s * rest);
                    rest *= b / s;
                }
                out
            }
            WeightConcentration::DirichletDistribution(a) => a.clone(),
        };
        let total: f64 = w.iter().sum();
        w.iter().map(|v| v / total).collect()
    }

    /// `log C(α)`, the weights' part of the lower bound.
    fn log_norm(&self) -> f64 {
        match self {
            WeightConcentration::DirichletProcess { alpha, beta } => -alpha
                .iter()
                .zip(beta)
                .map(|(a, b)| ln_beta(*a, *b))
                .sum::<f64>(),
            WeightConcentration::DirichletDistribution(a) => {
                ln_gamma(a.iter().sum()) - a.iter().map(|v| ln_gamma(*v)).sum::<f64>()
            }
        }
    }
}

/// The effective priors of a fit (scikit-learn's `*_prior_` attributes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Priors {
    pub weight_concentration_type: WeightConcentrationPriorType,
    /// `α₀`.
    pub weight_concentration: f64,
    /// `β₀`, `m₀`, `ν₀`, `Ψ₀`.
    pub wishart: Prior,
}

/// The posterior besides the Gaussian parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Posterior {
    pub weight_concentration: WeightConcentration,
    /// `β_k` `(K,)`.
    pub mean_precision: Vec<f64>,
    /// `ν_k` `(K,)`, or one value for tied.
    pub degrees_of_freedom: Vec<f64>,
}

impl Posterior {
    /// The per-component constants the E-step adds to the Gaussian log-density (in place of
    /// `log w_k`).
    pub(crate) fn e_step_constants(&self, d: usize) -> Vec<f64> {
        let elw = self.weight_concentration.expected_log_weights();
        let df = d as f64;
        elw.iter()
            .enumerate()
            .map(|(c, lw)| {
                let nu = self.degrees_of_freedom[c.min(self.degrees_of_freedom.len() - 1)];
                let log_lambda = wishart::log_lambda(nu, d);
                lw + (-0.5 * df * nu.ln() + 0.5 * (log_lambda - df / self.mean_precision[c]))
            })
            .collect()
    }
}

/// A variational fit's state: the Gaussian parameters (means, covariances and their precision
/// Cholesky factors, expected weights) and the rest of the posterior.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub params: Params,
    pub posterior: Posterior,
}

/// The variational M-step from statistics: scikit-learn's `_m_step` (and `_initialize`, from
/// the initial responsibilities' statistics).
pub(crate) fn update<K: Kernel>(
    priors: &Priors,
    sums: &Sums,
    shift: &Shift,
    reg_covar: f64,
    info: StepInfo,
) -> Result<State> {
    let est = estimate::<K>(sums, shift, reg_covar, Weights::Normalized);
    let (k, d, t) = (est.n_components, est.n_features, K::TYPE);
    let nk = &est.nk;
    let a0 = priors.weight_concentration;
    let weight_concentration = match priors.weight_concentration_type {
        WeightConcentrationPriorType::DirichletProcess => {
            let mut beta = vec![0.0; k];
            let mut tail = 0.0;
            for c in (0..k).rev() {
                beta[c] = a0 + tail;
                tail += nk[c];
            }
            WeightConcentration::DirichletProcess {
                alpha: nk.iter().map(|n| 1.0 + n).collect(),
                beta,
            }
        }
        WeightConcentrationPriorType::DirichletDistribution => {
            WeightConcentration::DirichletDistribution(nk.iter().map(|n| a0 + n).collect())
        }
    };
    let prior = &priors.wishart;
    let mean_precision: Vec<f64> = nk.iter().map(|n| prior.mean_precision + n).collect();
    let mut means = vec![0.0; k * d];
    for c in 0..k {
        for j in 0..d {
            means[c * d + j] = (prior.mean_precision * prior.mean[j]
                + nk[c] * est.means[c * d + j])
                / mean_precision[c];
        }
    }
    let (degrees_of_freedom, covariances) = wishart::posterior(
        t,
        prior,
        &Moments {
            nk,
            means: &est.means,
            covariances: &est.covariances,
            mean_precision: &mean_precision,
        },
    );
    let precisions_cholesky =
        precision_cholesky(t, &covariances, k, d).map_err(|e| info.ill_defined(e.component))?;
    Ok(State {
        params: Params {
            covariance_type: t,
            n_components: k,
            n_features: d,
            weights: weight_concentration.weights(),
            means,
            covariances,
            precisions_cholesky,
        },
        posterior: Posterior {
            weight_concentration,
            mean_precision,
            degrees_of_freedom,
        },
    })
}

/// The lower bound of an iteration: `entropy` (`Σ w Σ_k r log r`, from its E-step) and the
/// posterior after its M-step.
pub(crate) fn lower_bound(entropy: f64, state: &State) -> f64 {
    let p = &state.params;
    let (k, d, t) = (p.n_components, p.n_features, p.covariance_type);
    let post = &state.posterior;
    let df = d as f64;
    let log_det = log_det_precision_cholesky(t, &p.precisions_cholesky, k, d);
    let log_wishart = if t == CovarianceType::Tied {
        let nu = post.degrees_of_freedom[0];
        k as f64 * wishart::log_wishart_norm(nu, log_det[0] - 0.5 * df * nu.ln(), d)
    } else {
        post.degrees_of_freedom
            .iter()
            .zip(&log_det)
            .map(|(&nu, ld)| wishart::log_wishart_norm(nu, ld - 0.5 * df * nu.ln(), d))
            .sum()
    };
    let log_beta: f64 = post.mean_precision.iter().map(|b| b.ln()).sum();
    -entropy - log_wishart - post.weight_concentration.log_norm() - 0.5 * df * log_beta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stick_breaking_weights_and_expectations() {
        // Two sticks: E[π_0] = α0/(α0+β0), E[π_1] = β0/(α0+β0) · α1/(α1+β1), normalised.
        let wc = WeightConcentration::DirichletProcess {
            alpha: vec![3.0, 2.0],
            beta: vec![1.0, 0.5],
        };
        let raw = [3.0 / 4.0, 1.0 / 4.0 * (2.0 / 2.5)];
        let total = raw[0] + raw[1];
        let w = wc.weights();
        assert!((w[0] - raw[0] / total).abs() < 1e-15 && (w[1] - raw[1] / total).abs() < 1e-15);
        let e = wc.expected_log_weights();
        let want0 = digamma(3.0) - digamma(4.0);
        let want1 = digamma(2.0) - digamma(2.5) + digamma(1.0) - digamma(4.0);
        assert!((e[0] - want0).abs() < 1e-15 && (e[1] - want1).abs() < 1e-15);
        // A Dirichlet's: ψ(α_k) - ψ(Σα), and weights α / Σα.
        let dd = WeightConcentration::DirichletDistribution(vec![1.0, 3.0]);
        assert_eq!(dd.weights(), vec![0.25, 0.75]);
        assert!((dd.expected_log_weights()[1] - (digamma(3.0) - digamma(4.0))).abs() < 1e-15);
        // log C of a Dirichlet(1, 1) is ln Γ(2) - 2 ln Γ(1) = 0.
        assert!(
            WeightConcentration::DirichletDistribution(vec![1.0, 1.0])
                .log_norm()
                .abs()
                < 1e-15
        );
    }
}
