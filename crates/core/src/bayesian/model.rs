//! A fitted (or given) variational Bayesian Gaussian mixture, with scikit-learn's attributes.
//!
//! As in scikit-learn, `predict`, `predict_proba`, `score_samples` and `score` use the
//! variational E-step (the expected log weights and the Wishart terms, not `weights_`), and
//! `sample` draws from `weights_`, `means_` and `covariances_`.

use super::variational::{
    Posterior, Priors, State, WeightConcentration, WeightConcentrationPriorType,
};
use crate::covariance::CovarianceType;
use crate::covariance::wishart::Prior;
use crate::data::{DataRef, Float};
use crate::error::{Error, Result};
use crate::mixture::Fitted;
use crate::model::GaussianMixtureModel;

/// A variational Bayesian Gaussian mixture (scikit-learn's fitted `BayesianGaussianMixture`).
///
/// Its Gaussian attributes and fit information are those of [`BayesianGaussianMixtureModel::mixture`],
/// a [`GaussianMixtureModel`] whose E-step uses the variational constants.
#[derive(Debug, Clone, PartialEq)]
pub struct BayesianGaussianMixtureModel {
    mixture: GaussianMixtureModel,
    priors: Priors,
    posterior: Posterior,
}

/// The arrays of a [`BayesianGaussianMixtureModel`], for model files: every attribute
/// scikit-learn fits, flat and row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct BayesianParts {
    /// Covariance type.
    pub covariance_type: CovarianceType,
    /// `K`.
    pub n_components: usize,
    /// `d`.
    pub n_features: usize,
    /// `weight_concentration_`.
    pub weight_concentration: WeightConcentration,
    /// `mean_precision_` `(K,)`.
    pub mean_precision: Vec<f64>,
    /// `means_` `(K, d)`.
    pub means: Vec<f64>,
    /// `degrees_of_freedom_` `(K,)`, or one value for tied.
    pub degrees_of_freedom: Vec<f64>,
    /// `covariances_`, the type's shape.
    pub covariances: Vec<f64>,
    /// `weight_concentration_prior_`.
    pub weight_concentration_prior: f64,
    /// `mean_precision_prior_`.
    pub mean_precision_prior: f64,
    /// `mean_prior_` `(d,)`.
    pub mean_prior: Vec<f64>,
    /// `degrees_of_freedom_prior_`.
    pub degrees_of_freedom_prior: f64,
    /// `covariance_prior_`: `(d, d)` for full and tied, `(d,)` for diag, one value for spherical.
    pub covariance_prior: Vec<f64>,
    /// `converged_`.
    pub converged: bool,
    /// `n_iter_`.
    pub n_iter: usize,
    /// `lower_bound_`.
    pub lower_bound: f64,
    /// `lower_bounds_`.
    pub lower_bounds: Vec<f64>,
}

impl BayesianGaussianMixtureModel {
    pub(crate) fn from_fit(fitted: Fitted<State>, priors: Priors) -> Self {
        let State { params, posterior } = fitted.state;
        let d = params.n_features;
        let mixture = GaussianMixtureModel::from_fit(
            params,
            fitted.converged,
            fitted.n_iter,
            fitted.lower_bound,
            fitted.lower_bounds,
        )
        .with_variational(posterior.e_step_constants(d));
        BayesianGaussianMixtureModel {
            mixture,
            priors,
            posterior,
        }
    }

    /// The state a warm start continues from.
    pub(crate) fn state(&self) -> State {
        State {
            params: self.mixture.params().clone(),
            posterior: self.posterior.clone(),
        }
    }

    /// A model from its arrays (as a model file holds them), checked: shapes, positive
    /// concentrations and mean precisions, degrees of freedom above `d - 1`, covariances that
    /// factorise, and priors of the right shapes.
    pub fn from_parts(p: BayesianParts) -> Result<Self> {
        let (t, k, d) = (p.covariance_type, p.n_components, p.n_features);
        let bad = |m: String| Error::InvalidModel(m);
        let positive = |name: &str, v: &[f64], len: usize| -> Result<()> {
            if v.len() != len {
                return Err(Error::ShapeMismatch {
                    what: name.to_string(),
                    expected: format!("{len} values"),
                    found: format!("{} values", v.len()),
                });
            }
            if v.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
                return Err(bad(format!("{name} must hold finite positive values")));
            }
            Ok(())
        };
        match &p.weight_concentration {
            WeightConcentration::DirichletProcess { alpha, beta } => {
                positive("weight_concentration[0]", alpha, k)?;
                positive("weight_concentration[1]", beta, k)?;
            }
            WeightConcentration::DirichletDistribution(a) => {
                positive("weight_concentration", a, k)?
            }
        }
        positive("mean_precision", &p.mean_precision, k)?;
        let n_dof = if t == CovarianceType::Tied { 1 } else { k };
        positive("degrees_of_freedom", &p.degrees_of_freedom, n_dof)?;
        if let Some(nu) = p
            .degrees_of_freedom
            .iter()
            .find(|&&nu| nu <= d as f64 - 1.0)
        {
            return Err(bad(format!(
                "a degree of freedom of {nu} is not above n_features - 1"
            )));
        }
        positive(
            "weight_concentration_prior",
            &[p.weight_concentration_prior],
            1,
        )?;
        positive("mean_precision_prior", &[p.mean_precision_prior], 1)?;
        if !(p.degrees_of_freedom_prior > d as f64 - 1.0 && p.degrees_of_freedom_prior.is_finite())
        {
            return Err(bad(
                "degrees_of_freedom_prior must be above n_features - 1".into()
            ));
        }
        let prior_len = match t {
            CovarianceType::Full | CovarianceType::Tied => d * d,
            CovarianceType::Diag => d,
            CovarianceType::Spherical => 1,
        };
        if p.mean_prior.len() != d || p.covariance_prior.len() != prior_len {
            return Err(Error::ShapeMismatch {
                what: "the priors".into(),
                expected: format!("mean_prior ({d},), covariance_prior of {prior_len} values"),
                found: format!(
                    "{} and {} values",
                    p.mean_prior.len(),
                    p.covariance_prior.len()
                ),
            });
        }
        if p.mean_prior
            .iter()
            .chain(&p.covariance_prior)
            .any(|v| !v.is_finite())
        {
            return Err(bad("the priors contain NaN or infinity".into()));
        }
        let posterior = Posterior {
            weight_concentration: p.weight_concentration,
            mean_precision: p.mean_precision,
            degrees_of_freedom: p.degrees_of_freedom,
        };
        let weights = posterior.weight_concentration.weights();
        let mixture =
            GaussianMixtureModel::from_covariances(t, k, d, weights, p.means, p.covariances)?
                .with_fit_info(p.converged, p.n_iter, p.lower_bound, p.lower_bounds)
                .with_variational(posterior.e_step_constants(d));
        Ok(BayesianGaussianMixtureModel {
            mixture,
            priors: Priors {
                weight_concentration_type: posterior.weight_concentration.prior_type(),
                weight_concentration: p.weight_concentration_prior,
                wishart: Prior {
                    degrees_of_freedom: p.degrees_of_freedom_prior,
                    covariance: p.covariance_prior,
                    mean_precision: p.mean_precision_prior,
                    mean: p.mean_prior,
                },
            },
            posterior,
        })
    }

    /// The arrays of the model.
    pub fn to_parts(&self) -> BayesianParts {
        let m = &self.mixture;
        let w = &self.priors.wishart;
        BayesianParts {
            covariance_type: m.covariance_type(),
            n_components: m.n_components(),
            n_features: m.n_features(),
            weight_concentration: self.posterior.weight_concentration.clone(),
            mean_precision: self.posterior.mean_precision.clone(),
            means: m.means().to_vec(),
            degrees_of_freedom: self.posterior.degrees_of_freedom.clone(),
            covariances: m.covariances().to_vec(),
            weight_concentration_prior: self.priors.weight_concentration,
            mean_precision_prior: w.mean_precision,
            mean_prior: w.mean.clone(),
            degrees_of_freedom_prior: w.degrees_of_freedom,
            covariance_prior: w.covariance.clone(),
            converged: m.converged(),
            n_iter: m.n_iter(),
            lower_bound: m.lower_bound(),
            lower_bounds: m.lower_bounds().to_vec(),
        }
    }

    /// The Gaussian view: weights, means, covariances, precision Cholesky factors and the fit
    /// information, with the variational E-step.
    pub fn mixture(&self) -> &GaussianMixtureModel {
        &self.mixture
    }

    /// The expected weights (`weights_`) `(n_components,)`.
    pub fn weights(&self) -> &[f64] {
        self.mixture.weights()
    }

    /// Means (`means_`) `(n_components, n_features)`.
    pub fn means(&self) -> &[f64] {
        self.mixture.means()
    }

    /// Covariances (`covariances_`), the type's shape.
    pub fn covariances(&self) -> &[f64] {
        self.mixture.covariances()
    }

    /// Precision Cholesky factors (`precisions_cholesky_`).
    pub fn precisions_cholesky(&self) -> &[f64] {
        self.mixture.precisions_cholesky()
    }

    /// `weight_concentration_`.
    pub fn weight_concentration(&self) -> &WeightConcentration {
        &self.posterior.weight_concentration
    }

    /// `mean_precision_` `(n_components,)`.
    pub fn mean_precision(&self) -> &[f64] {
        &self.posterior.mean_precision
    }

    /// `degrees_of_freedom_` `(n_components,)` (one value for tied).
    pub fn degrees_of_freedom(&self) -> &[f64] {
        &self.posterior.degrees_of_freedom
    }

    /// The weights' prior type.
    pub fn weight_concentration_prior_type(&self) -> WeightConcentrationPriorType {
        self.priors.weight_concentration_type
    }

    /// `weight_concentration_prior_` (`α₀`).
    pub fn weight_concentration_prior(&self) -> f64 {
        self.priors.weight_concentration
    }

    /// `mean_precision_prior_` (`β₀`).
    pub fn mean_precision_prior(&self) -> f64 {
        self.priors.wishart.mean_precision
    }

    /// `mean_prior_` (`m₀`) `(n_features,)`.
    pub fn mean_prior(&self) -> &[f64] {
        &self.priors.wishart.mean
    }

    /// `degrees_of_freedom_prior_` (`ν₀`).
    pub fn degrees_of_freedom_prior(&self) -> f64 {
        self.priors.wishart.degrees_of_freedom
    }

    /// `covariance_prior_` (`Ψ₀`): `(d, d)`, `(d,)` or one value, by type.
    pub fn covariance_prior(&self) -> &[f64] {
        &self.priors.wishart.covariance
    }

    /// Whether the kept run converged (`converged_`).
    pub fn converged(&self) -> bool {
        self.mixture.converged()
    }

    /// Iterations of the kept run (`n_iter_`).
    pub fn n_iter(&self) -> usize {
        self.mixture.n_iter()
    }

    /// The kept run's lower bound on the evidence (`lower_bound_`; a total, not a mean).
    pub fn lower_bound(&self) -> f64 {
        self.mixture.lower_bound()
    }

    /// Every iteration's lower bound (`lower_bounds_`).
    pub fn lower_bounds(&self) -> &[f64] {
        self.mixture.lower_bounds()
    }

    /// The number of components with a weight above `threshold`: the components the fit kept.
    pub fn effective_components(&self, threshold: f64) -> usize {
        self.weights().iter().filter(|&&w| w > threshold).count()
    }

    /// The most probable component of each row under the variational E-step (`predict`).
    pub fn predict<T: Float>(&self, x: DataRef<'_, T>) -> Result<Vec<usize>> {
        self.mixture.predict(x)
    }

    /// Responsibilities `(n_samples, n_components)` (`predict_proba`).
    pub fn predict_proba<T: Float>(&self, x: DataRef<'_, T>) -> Result<Vec<f64>> {
        self.mixture.predict_proba(x)
    }

    /// `log Σ_k exp(variational log-density)` of each row (`score_samples`).
    pub fn score_samples<T: Float>(&self, x: DataRef<'_, T>) -> Result<Vec<f64>> {
        self.mixture.score_samples(x)
    }

    /// The mean of [`BayesianGaussianMixtureModel::score_samples`] (weighted with weights).
    pub fn score<T: Float>(&self, x: DataRef<'_, T>) -> Result<f64> {
        self.mixture.score(x)
    }

    /// Draws `n_samples` points from `weights_`, `means_` and `covariances_` (`sample`).
    pub fn sample(&self, n_samples: usize, seed: u64) -> Result<(Vec<f64>, Vec<usize>)> {
        self.mixture.sample(n_samples, seed)
    }
}
