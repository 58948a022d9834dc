//! The variational Bayesian Gaussian mixture: scikit-learn's `BayesianGaussianMixture`, on the
//! mixture's engine and driver. [`variational`] holds its mathematics, [`model`] the fitted
//! model; here are the estimator, its parameters and priors, and the fit.
//!
//! Each iteration is one fused pass over the data, as for [`GaussianMixture`](crate::GaussianMixture):
//! the E-step's Gaussian log-densities with the variational constants added (and the entropy of
//! the responsibilities summed), the statistics, then the variational M-step from them.

pub(crate) mod model;
pub(crate) mod variational;

use std::marker::PhantomData;

use crate::blocks::with_threads;
use crate::covariance::wishart::Prior;
use crate::covariance::{CovarianceType, Kernel, StepInfo, with_kernel};
use crate::data::{DataRef, Float};
use crate::error::{Error, Result, invalid};
use crate::linalg;
use crate::mixture::InitParams;
use crate::mixture::params::{check_common, check_data};
use crate::mixture::{Em, External, InMemory, Init, Runs, Source, StatsSource, drive};
use crate::monitor::Monitor;
use model::BayesianGaussianMixtureModel;
use variational::{Priors, State, WeightConcentrationPriorType, lower_bound, update};

/// A variational Bayesian Gaussian mixture: scikit-learn's `BayesianGaussianMixture`
/// parameters, with its defaults (the priors left `None` are computed from the data as
/// scikit-learn computes them).
///
/// ```
/// use gaussmix_core::{BayesianGaussianMixture, DataRef};
/// // Two small groups of points far apart.
/// let mut x = Vec::new();
/// for i in 0..400 {
///     let (a, b) = (((i * 37) % 100) as f64 / 100.0, ((i * 61) % 100) as f64 / 100.0);
///     x.extend_from_slice(&[a + 20.0 * (i % 2) as f64, b]);
/// }
/// let model = BayesianGaussianMixture::new(6).fit(DataRef::new(&x, 400, 2).unwrap()).unwrap();
/// // A Dirichlet process keeps a few of the six components and leaves the rest near zero.
/// assert!(model.effective_components(0.01) < 6);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BayesianGaussianMixture {
    /// Upper bound on the number of components (`>= 1`).
    pub n_components: usize,
    /// Shape of the covariances.
    pub covariance_type: CovarianceType,
    /// Convergence threshold on the change of the lower bound (`>= 0`).
    pub tol: f64,
    /// Added to the diagonal of the estimated covariances (`>= 0`).
    pub reg_covar: f64,
    /// Maximum iterations per run; 0 initialises only.
    pub max_iter: usize,
    /// Number of initialisations; the run with the highest lower bound is kept (`>= 1`).
    pub n_init: usize,
    /// How to initialise the responsibilities.
    pub init_params: InitParams,
    /// The prior on the weights.
    pub weight_concentration_prior_type: WeightConcentrationPriorType,
    /// `α₀ > 0`; `None`: `1 / n_components`.
    pub weight_concentration_prior: Option<f64>,
    /// `β₀ > 0`; `None`: 1.
    pub mean_precision_prior: Option<f64>,
    /// `m₀ (n_features,)`; `None`: the data's mean.
    pub mean_prior: Option<Vec<f64>>,
    /// `ν₀ > n_features - 1`; `None`: `n_features`.
    pub degrees_of_freedom_prior: Option<f64>,
    /// `Ψ₀`: full and tied `(n_features, n_features)` symmetric positive definite, diag
    /// `(n_features,)` positive, spherical one positive value; `None`: the data's covariance
    /// (`numpy.cov`, its diagonal, or that diagonal's mean).
    pub covariance_prior: Option<Vec<f64>>,
    /// Initial labels `(n_samples,)`: start from their one-hot responsibilities.
    pub init_labels: Option<Vec<usize>>,
    /// With a previous model passed to [`BayesianGaussianMixture::fit_with`], continue from it.
    pub warm_start: bool,
    /// Seed of the random number generator (scikit-learn's `random_state`).
    pub seed: u64,
    /// Threads to use; `None` runs on the current rayon pool.
    pub n_threads: Option<usize>,
}

macro_rules! setters {
    ($($(#[$m:meta])* $name:ident: $ty:ty),* $(,)?) => {$(
        $(#[$m])*
        pub fn $name(mut self, $name: $ty) -> Self {
            self.$name = $name;
            self
        }
    )*};
}

impl BayesianGaussianMixture {
    /// scikit-learn's defaults with `n_components` components: full covariances, a Dirichlet
    /// process prior, `tol = 1e-3`, `reg_covar = 1e-6`, `max_iter = 100`, `n_init = 1`, k-means
    /// initialisation, priors from the data, seed 0.
    pub fn new(n_components: usize) -> Self {
        BayesianGaussianMixture {
            n_components,
            covariance_type: CovarianceType::Full,
            tol: 1e-3,
            reg_covar: 1e-6,
            max_iter: 100,
            n_init: 1,
            init_params: InitParams::KMeans,
            weight_concentration_prior_type: WeightConcentrationPriorType::DirichletProcess,
            weight_concentration_prior: None,
            mean_precision_prior: None,
            mean_prior: None,
            degrees_of_freedom_prior: None,
            covariance_prior: None,
            init_labels: None,
            warm_start: false,
            seed: 0,
            n_threads: None,
        }
    }

    setters! {
        /// Sets `covariance_type`.
        covariance_type: CovarianceType,
        /// Sets `tol`.
        tol: f64,
        /// Sets `reg_covar`.
        reg_covar: f64,
        /// Sets `max_iter`.
        max_iter: usize,
        /// Sets `n_init`.
        n_init: usize,
        /// Sets `init_params`.
        init_params: InitParams,
        /// Sets the weights' prior type.
        weight_concentration_prior_type: WeightConcentrationPriorType,
        /// Sets `warm_start`.
        warm_start: bool,
        /// Sets the seed.
        seed: u64,
        /// Sets the number of threads.
        n_threads: Option<usize>,
    }

    /// Sets `weight_concentration_prior` (`α₀`).
    pub fn weight_concentration_prior(mut self, v: f64) -> Self {
        self.weight_concentration_prior = Some(v);
        self
    }

    /// Sets `mean_precision_prior` (`β₀`).
    pub fn mean_precision_prior(mut self, v: f64) -> Self {
        self.mean_precision_prior = Some(v);
        self
    }

    /// Sets `mean_prior` (`m₀`).
    pub fn mean_prior(mut self, v: Vec<f64>) -> Self {
        self.mean_prior = Some(v);
        self
    }

    /// Sets `degrees_of_freedom_prior` (`ν₀`).
    pub fn degrees_of_freedom_prior(mut self, v: f64) -> Self {
        self.degrees_of_freedom_prior = Some(v);
        self
    }

    /// Sets `covariance_prior` (`Ψ₀`).
    pub fn covariance_prior(mut self, v: Vec<f64>) -> Self {
        self.covariance_prior = Some(v);
        self
    }

    /// Sets `init_labels`.
    pub fn init_labels(mut self, labels: Vec<usize>) -> Self {
        self.init_labels = Some(labels);
        self
    }

    /// Checks the parameters that do not depend on the data, with scikit-learn's ranges.
    pub fn check(&self) -> Result<()> {
        check_common(
            self.n_components,
            self.tol,
            self.reg_covar,
            self.n_init,
            self.n_threads,
        )?;
        for (name, v) in [
            (
                "weight_concentration_prior",
                self.weight_concentration_prior,
            ),
            ("mean_precision_prior", self.mean_precision_prior),
        ] {
            if let Some(v) = v
                && !(v > 0.0 && v.is_finite())
            {
                return Err(invalid(
                    name,
                    format!("must be a finite number > 0, got {v}"),
                ));
            }
        }
        Ok(())
    }

    /// Checks the given priors against the number of features (scikit-learn's
    /// `_check_parameters`).
    pub fn check_priors(&self, d: usize) -> Result<()> {
        if let Some(m) = &self.mean_prior
            && (m.len() != d || m.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::ShapeMismatch {
                what: "mean_prior".into(),
                expected: format!("({d},) finite values"),
                found: format!("{} values", m.len()),
            });
        }
        if let Some(nu) = self.degrees_of_freedom_prior
            && !(nu > d as f64 - 1.0 && nu.is_finite())
        {
            return Err(invalid(
                "degrees_of_freedom_prior",
                format!("should be greater than {}, but got {nu:.3}", d as i64 - 1),
            ));
        }
        if let Some(c) = &self.covariance_prior {
            let t = self.covariance_type;
            let want = match t {
                CovarianceType::Full | CovarianceType::Tied => d * d,
                CovarianceType::Diag => d,
                CovarianceType::Spherical => 1,
            };
            if c.len() != want {
                return Err(Error::ShapeMismatch {
                    what: format!("the {t} covariance_prior"),
                    expected: format!("{want} values"),
                    found: format!("{} values", c.len()),
                });
            }
            let ok = c.iter().all(|v| v.is_finite())
                && match t {
                    CovarianceType::Full | CovarianceType::Tied => {
                        linalg::is_symmetric(c, d, 1e-8) && linalg::cholesky_lower(c, d).is_some()
                    }
                    _ => c.iter().all(|&v| v > 0.0),
                };
            if !ok {
                return Err(invalid(
                    "covariance_prior",
                    format!(
                        "the {t} covariance_prior should be symmetric, positive-definite (positive values for diag and spherical)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Fits to `x` `(n_samples, n_features)` (with its sample weights, if any).
    pub fn fit<T: Float>(&self, x: DataRef<'_, T>) -> Result<BayesianGaussianMixtureModel> {
        self.fit_with(x, None, None)
    }

    /// Fits and returns the labels of the final E-step (scikit-learn's `fit_predict`).
    pub fn fit_predict<T: Float>(
        &self,
        x: DataRef<'_, T>,
    ) -> Result<(BayesianGaussianMixtureModel, Vec<usize>)> {
        let model = self.fit(x)?;
        let labels = with_threads(self.n_threads, || model.predict(x))??;
        Ok((model, labels))
    }

    /// Fits with a previous model (used when `warm_start` is set) and a [`Monitor`].
    pub fn fit_with<T: Float>(
        &self,
        x: DataRef<'_, T>,
        previous: Option<&BayesianGaussianMixtureModel>,
        monitor: Option<&mut dyn Monitor>,
    ) -> Result<BayesianGaussianMixtureModel> {
        self.check()?;
        check_data(&x, self.n_components, self.init_labels.as_deref())?;
        let d = x.n_features();
        self.check_priors(d)?;
        let warm = self.warm_model(previous, d)?;
        let mut unwatched = ();
        let monitor = monitor.unwrap_or(&mut unwatched);
        with_threads(self.n_threads, || {
            with_kernel!(self.covariance_type, K => {
                let source = InMemory::new::<K>(x, self.init(), self.reg_covar, self.seed);
                self.run::<K, _>(source, warm, monitor)
            })
        })?
    }

    /// Fits to data the engine does not hold, of `n_features` features, through `source`
    /// (see [`StatsSource`]; without `mean_prior` and `covariance_prior`, the source's
    /// [`StatsSource::data_statistics`] gives the data's moments).
    pub fn fit_source(
        &self,
        n_features: usize,
        source: &mut dyn StatsSource,
        previous: Option<&BayesianGaussianMixtureModel>,
        monitor: Option<&mut dyn Monitor>,
    ) -> Result<BayesianGaussianMixtureModel> {
        self.check()?;
        if n_features == 0 {
            return Err(Error::EmptyData {
                n_samples: 0,
                n_features,
            });
        }
        self.check_priors(n_features)?;
        let warm = self.warm_model(previous, n_features)?;
        let mut unwatched = ();
        let monitor = monitor.unwrap_or(&mut unwatched);
        let ext = External {
            source,
            t: self.covariance_type,
            k: self.n_components,
            d: n_features,
        };
        with_kernel!(self.covariance_type, K => self.run::<K, _>(ext, warm, monitor))
    }

    fn init(&self) -> Init {
        Init {
            // Bayesian mixtures compute in float64 (their float32 kernels are not built).
            precision: crate::data::Precision::F64,
            n_components: self.n_components,
            init_params: self.init_params,
            init_labels: self.init_labels.clone(),
        }
    }

    fn warm_model<'m>(
        &self,
        previous: Option<&'m BayesianGaussianMixtureModel>,
        d: usize,
    ) -> Result<Option<&'m BayesianGaussianMixtureModel>> {
        Ok(match previous {
            Some(m) if self.warm_start => {
                let g = m.mixture();
                if g.covariance_type() != self.covariance_type
                    || g.n_components() != self.n_components
                    || g.n_features() != d
                    || m.weight_concentration().prior_type() != self.weight_concentration_prior_type
                {
                    return Err(Error::ShapeMismatch {
                        what: "the warm-start model".into(),
                        expected: format!(
                            "{} covariances, {} components, {d} features, a {} prior",
                            self.covariance_type,
                            self.n_components,
                            self.weight_concentration_prior_type
                        ),
                        found: format!(
                            "{} covariances, {} components, {} features, a {} prior",
                            g.covariance_type(),
                            g.n_components(),
                            g.n_features(),
                            m.weight_concentration().prior_type()
                        ),
                    });
                }
                Some(m)
            }
            _ => None,
        })
    }

    /// The priors of this fit: the given ones, the rest from the data as scikit-learn's
    /// `_check_parameters` computes them (`numpy.cov` is unbiased: `Σ w (x - x̄)(x - x̄)ᵀ /
    /// (Σ w - 1)`).
    fn priors<K: Kernel>(&self, source: &mut impl Source<K>) -> Result<Priors> {
        let d = source.n_features();
        let t = self.covariance_type;
        let need_mean = self.mean_prior.is_none() || self.covariance_prior.is_none();
        let data_mean = if need_mean {
            let s = source.data_statistics(CovarianceType::Diag, &vec![0.0; d])?;
            Some(s.s1.iter().map(|v| v / s.weight).collect::<Vec<f64>>())
        } else {
            None
        };
        let covariance = match &self.covariance_prior {
            Some(c) => c.clone(),
            None => {
                let mean = data_mean.as_deref().expect("the data's mean is computed");
                let kind = match t {
                    CovarianceType::Full | CovarianceType::Tied => CovarianceType::Full,
                    _ => CovarianceType::Diag,
                };
                let s = source.data_statistics(kind, mean)?;
                let n1 = s.weight - 1.0;
                match t {
                    CovarianceType::Full | CovarianceType::Tied => {
                        let mut c = vec![0.0; d * d];
                        for i in 0..d {
                            for j in 0..=i {
                                c[i * d + j] = s.s2[i * d + j] / n1;
                                c[j * d + i] = c[i * d + j];
                            }
                        }
                        c
                    }
                    CovarianceType::Diag => s.s2.iter().map(|v| v / n1).collect(),
                    CovarianceType::Spherical => {
                        vec![s.s2.iter().map(|v| v / n1).sum::<f64>() / d as f64]
                    }
                }
            }
        };
        Ok(Priors {
            weight_concentration_type: self.weight_concentration_prior_type,
            weight_concentration: self
                .weight_concentration_prior
                .unwrap_or(1.0 / self.n_components as f64),
            wishart: Prior {
                degrees_of_freedom: self.degrees_of_freedom_prior.unwrap_or(d as f64),
                covariance,
                mean_precision: self.mean_precision_prior.unwrap_or(1.0),
                mean: self
                    .mean_prior
                    .clone()
                    .or(data_mean)
                    .expect("the data's mean is computed"),
            },
        })
    }

    /// The fit with kernel `K` over a source of statistics.
    fn run<K: Kernel, S: Source<K>>(
        &self,
        mut source: S,
        warm: Option<&BayesianGaussianMixtureModel>,
        monitor: &mut dyn Monitor,
    ) -> Result<BayesianGaussianMixtureModel> {
        let priors = self.priors::<K>(&mut source)?;
        let mut em = Variational {
            p: self,
            priors,
            source,
            kernel: PhantomData::<K>,
        };
        let runs = Runs {
            n_init: self.n_init,
            max_iter: self.max_iter,
            tol: self.tol,
        };
        let warm = warm.map(|m| (m.state(), m.mixture().lower_bound()));
        let fitted = drive(&mut em, runs, warm, monitor)?;
        Ok(BayesianGaussianMixtureModel::from_fit(fitted, em.priors))
    }
}

/// The variational EM with kernel `K` over a source of statistics.
struct Variational<'p, S, K> {
    p: &'p BayesianGaussianMixture,
    priors: Priors,
    source: S,
    kernel: PhantomData<K>,
}

impl<K: Kernel, S: Source<K>> Em for Variational<'_, S, K> {
    type State = State;

    fn initialize(&mut self, init: usize, monitor: &mut dyn Monitor) -> Result<State> {
        let (sums, shift) = self.source.initial_statistics(init, monitor)?;
        let info = StepInfo {
            iteration: 0,
            f32_input: self.source.f32_input(),
        };
        update::<K>(&self.priors, &sums, &shift, self.p.reg_covar, info)
    }

    fn iterate(&mut self, state: State, iteration: usize) -> Result<(State, f64)> {
        let d = self.source.n_features();
        let constants = state.posterior.e_step_constants(d);
        let (sums, shift) = self.source.e_step(&state.params, Some(&constants))?;
        let info = StepInfo {
            iteration,
            f32_input: self.source.f32_input(),
        };
        let next = update::<K>(&self.priors, &sums, &shift, self.p.reg_covar, info)?;
        let lb = lower_bound(sums.entropy, &next);
        Ok((next, lb))
    }
}
