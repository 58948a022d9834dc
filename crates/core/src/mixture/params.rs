//! The parameters of a Gaussian mixture fit: scikit-learn's names, ranges and defaults, a
//! builder, and the checks that run once before any work.

use std::fmt;
use std::str::FromStr;

use crate::covariance::CovarianceType;
use crate::covariance::convert::precision_cholesky_from_precisions;
use crate::data::Precision;
use crate::error::{Error, Result, invalid};

/// How initial responsibilities are chosen (scikit-learn's `init_params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InitParams {
    /// One k-means run (k-means++ seeding, `n_init = 1`); responsibilities are its labels.
    #[default]
    KMeans,
    /// Greedy k-means++ seeding only; each component starts from one chosen point.
    KMeansPlusPlus,
    /// Uniform random responsibilities, normalised per row.
    Random,
    /// Each component starts from one distinct random point.
    RandomFromData,
}

impl InitParams {
    /// scikit-learn's name.
    pub fn as_str(self) -> &'static str {
        match self {
            InitParams::KMeans => "kmeans",
            InitParams::KMeansPlusPlus => "k-means++",
            InitParams::Random => "random",
            InitParams::RandomFromData => "random_from_data",
        }
    }
}

impl fmt::Display for InitParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InitParams {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "kmeans" => Ok(InitParams::KMeans),
            "k-means++" => Ok(InitParams::KMeansPlusPlus),
            "random" => Ok(InitParams::Random),
            "random_from_data" | "random-from-data" => Ok(InitParams::RandomFromData),
            _ => Err(invalid(
                "init_params",
                format!(
                    "{s:?} is not one of \"kmeans\", \"k-means++\", \"random\", \"random_from_data\""
                ),
            )),
        }
    }
}

/// What to do when a component's covariance cannot be factorised during EM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnDegenerate {
    /// Stop with scikit-learn's ill-defined covariance error (scikit-learn's behaviour).
    #[default]
    Error,
    /// Re-initialise the collapsed component on the row with the lowest likelihood (weight
    /// `1/K`, covariance the data's per-feature variance plus `reg_covar`), record it in
    /// [`GaussianMixtureModel::reseeds`](crate::GaussianMixtureModel::reseeds), and go on. A shared (`tied`) covariance cannot be
    /// re-seeded and still stops with the error.
    Reseed,
}

impl OnDegenerate {
    /// `"error"` or `"reseed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnDegenerate::Error => "error",
            OnDegenerate::Reseed => "reseed",
        }
    }
}

impl FromStr for OnDegenerate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "error" => Ok(OnDegenerate::Error),
            "reseed" => Ok(OnDegenerate::Reseed),
            _ => Err(invalid(
                "on_degenerate",
                format!("{s:?} is not one of \"error\", \"reseed\""),
            )),
        }
    }
}

/// A Gaussian mixture estimator: scikit-learn's `GaussianMixture` parameters.
///
/// ```
/// use gaussmix_core::{CovarianceType, DataRef, GaussianMixture};
/// let x: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64 / 10.0 + (i % 2) as f64 * 20.0).collect();
/// let data = DataRef::new(&x, 100, 2).unwrap();
/// let model = GaussianMixture::new(2).covariance_type(CovarianceType::Diag).seed(0).fit(data).unwrap();
/// assert_eq!(model.weights().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    /// Number of mixture components (`>= 1`).
    pub n_components: usize,
    /// Shape of the covariances.
    pub covariance_type: CovarianceType,
    /// Convergence threshold on the change of the lower bound (`>= 0`).
    pub tol: f64,
    /// Added to the diagonal of every covariance (`>= 0`).
    pub reg_covar: f64,
    /// Maximum EM iterations per run; 0 initialises only.
    pub max_iter: usize,
    /// Number of initialisations; the best run by lower bound is kept (`>= 1`).
    pub n_init: usize,
    /// How to initialise the responsibilities.
    pub init_params: InitParams,
    /// Initial weights `(n_components,)`, non-negative, summing to 1.
    pub weights_init: Option<Vec<f64>>,
    /// Initial means `(n_components, n_features)`.
    pub means_init: Option<Vec<f64>>,
    /// Initial precisions (inverse covariances), in the shape of `covariances` for the type.
    pub precisions_init: Option<Vec<f64>>,
    /// Initial labels `(n_samples,)`, one component per row: the run starts from their one-hot
    /// responsibilities (as scikit-learn's `_initialize(X, resp)` after its k-means), instead
    /// of `init_params`' choice.
    pub init_labels: Option<Vec<usize>>,
    /// With a previous model passed to [`GaussianMixture::fit_with`], continue from it (one run,
    /// starting from its parameters and lower bound) instead of initialising afresh.
    pub warm_start: bool,
    /// Seed of the random number generator (scikit-learn's `random_state`).
    pub seed: u64,
    /// Threads to use; `None` runs on the current rayon pool (all cores by default).
    pub n_threads: Option<usize>,
    /// What to do when a covariance cannot be factorised (beyond scikit-learn, whose behaviour
    /// is the default).
    pub on_degenerate: OnDegenerate,
    /// The arithmetic within a block ([`Precision::Auto`]: float32 for float32 data with full
    /// covariances, as scikit-learn computes float32 input; every other case float64).
    pub precision: Precision,
}

impl GaussianMixture {
    /// scikit-learn's defaults with `n_components` components: full covariances, `tol = 1e-3`,
    /// `reg_covar = 1e-6`, `max_iter = 100`, `n_init = 1`, k-means initialisation, seed 0.
    pub fn new(n_components: usize) -> Self {
        GaussianMixture {
            n_components,
            covariance_type: CovarianceType::Full,
            tol: 1e-3,
            reg_covar: 1e-6,
            max_iter: 100,
            n_init: 1,
            init_params: InitParams::KMeans,
            weights_init: None,
            means_init: None,
            precisions_init: None,
            init_labels: None,
            warm_start: false,
            seed: 0,
            n_threads: None,
            on_degenerate: OnDegenerate::Error,
            precision: Precision::Auto,
        }
    }

    /// Sets the arithmetic within a block.
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// Whether a fit of data of type `T` computes its blocks in float32: asked for by the
    /// precision, and a type whose float32 kernels exist (full covariances).
    pub fn single<T: crate::data::Float>(&self) -> bool {
        self.precision.single::<T>() && self.covariance_type == CovarianceType::Full
    }

    /// Sets `on_degenerate`.
    pub fn on_degenerate(mut self, policy: OnDegenerate) -> Self {
        self.on_degenerate = policy;
        self
    }

    /// Sets `covariance_type`.
    pub fn covariance_type(mut self, t: CovarianceType) -> Self {
        self.covariance_type = t;
        self
    }

    /// Sets `tol`.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Sets `reg_covar`.
    pub fn reg_covar(mut self, reg_covar: f64) -> Self {
        self.reg_covar = reg_covar;
        self
    }

    /// Sets `max_iter`.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Sets `n_init`.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }

    /// Sets `init_params`.
    pub fn init_params(mut self, init: InitParams) -> Self {
        self.init_params = init;
        self
    }

    /// Sets `weights_init` `(n_components,)`.
    pub fn weights_init(mut self, w: Vec<f64>) -> Self {
        self.weights_init = Some(w);
        self
    }

    /// Sets `means_init` `(n_components, n_features)`.
    pub fn means_init(mut self, m: Vec<f64>) -> Self {
        self.means_init = Some(m);
        self
    }

    /// Sets `precisions_init` (shape of `covariances` for the covariance type).
    pub fn precisions_init(mut self, p: Vec<f64>) -> Self {
        self.precisions_init = Some(p);
        self
    }

    /// Sets `init_labels` `(n_samples,)`.
    pub fn init_labels(mut self, labels: Vec<usize>) -> Self {
        self.init_labels = Some(labels);
        self
    }

    /// Sets `warm_start`.
    pub fn warm_start(mut self, warm_start: bool) -> Self {
        self.warm_start = warm_start;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the number of threads (`None`: the current rayon pool).
    pub fn n_threads(mut self, n_threads: Option<usize>) -> Self {
        self.n_threads = n_threads;
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
        )
    }

    /// Checks the user-supplied initial values against the number of features, as
    /// scikit-learn's `_check_parameters` does.
    pub fn check_init(&self, n_features: usize) -> Result<()> {
        let (k, d) = (self.n_components, n_features);
        if let Some(w) = &self.weights_init {
            check_len("weights_init", w.len(), k, &format!("({k},)"))?;
            if w.iter().any(|&v| !(0.0..=1.0).contains(&v)) {
                return Err(invalid("weights_init", "every weight must lie in [0, 1]"));
            }
            let s: f64 = w.iter().sum();
            if (1.0 - s).abs() > 1e-8 {
                return Err(invalid(
                    "weights_init",
                    format!("the weights should be normalized, but sum(weights) = {s:.5}"),
                ));
            }
        }
        if let Some(m) = &self.means_init {
            check_len("means_init", m.len(), k * d, &format!("({k}, {d})"))?;
            if m.iter().any(|v| !v.is_finite()) {
                return Err(invalid("means_init", "contains NaN or infinity"));
            }
        }
        if let Some(p) = &self.precisions_init {
            let t = self.covariance_type;
            check_len(
                "precisions_init",
                p.len(),
                t.covariances_len(k, d),
                &t.shape_str(k, d),
            )?;
            precision_cholesky_from_precisions(t, p, k, d)?;
        }
        Ok(())
    }

    /// The initialisation this fit asks for.
    pub(crate) fn init(&self) -> super::init::Init {
        super::init::Init {
            n_components: self.n_components,
            init_params: self.init_params,
            init_labels: self.init_labels.clone(),
            precision: self.precision,
        }
    }
}

/// The checks every mixture estimator shares, with scikit-learn's ranges: `n_components >= 1`,
/// `tol >= 0`, `reg_covar >= 0` (finite), `n_init >= 1`, `n_threads` not 0.
pub(crate) fn check_common(
    n_components: usize,
    tol: f64,
    reg_covar: f64,
    n_init: usize,
    n_threads: Option<usize>,
) -> Result<()> {
    if n_components < 1 {
        return Err(invalid("n_components", "must be at least 1, got 0"));
    }
    for (name, v) in [("tol", tol), ("reg_covar", reg_covar)] {
        if !(v >= 0.0 && v.is_finite()) {
            return Err(invalid(
                name,
                format!("must be a finite number >= 0, got {v}"),
            ));
        }
    }
    if n_init < 1 {
        return Err(invalid("n_init", "must be at least 1, got 0"));
    }
    if n_threads == Some(0) {
        return Err(invalid("n_threads", "must be at least 1, got 0"));
    }
    Ok(())
}

/// The data checks every mixture fit shares: finite and not empty, at least 2 rows and
/// `n_components`, and initial labels (if any) that fit them.
pub(crate) fn check_data<T: crate::data::Float>(
    x: &crate::data::DataRef<'_, T>,
    n_components: usize,
    init_labels: Option<&[usize]>,
) -> Result<()> {
    crate::data::validate_data(x)?;
    let n = x.n_samples();
    if n < 2 {
        return Err(Error::TooFewSamples {
            n_samples: n,
            needed: 2,
            what: "a mixture needs at least 2 samples",
        });
    }
    if n < n_components {
        return Err(Error::TooFewSamples {
            n_samples: n,
            needed: n_components,
            what: "n_samples must be at least n_components",
        });
    }
    if let Some(l) = init_labels {
        check_labels(l, n, n_components)?;
    }
    Ok(())
}

/// Checks initial labels against the rows and the components.
pub(crate) fn check_labels(labels: &[usize], n_samples: usize, k: usize) -> Result<()> {
    check_len(
        "init_labels",
        labels.len(),
        n_samples,
        &format!("({n_samples},)"),
    )?;
    if let Some(i) = labels.iter().position(|&l| l >= k) {
        return Err(invalid(
            "init_labels",
            format!(
                "init_labels[{i}] = {} is not a component: labels must lie in [0, {k})",
                labels[i]
            ),
        ));
    }
    Ok(())
}

fn check_len(name: &'static str, len: usize, want: usize, shape: &str) -> Result<()> {
    if len != want {
        return Err(Error::ShapeMismatch {
            what: name.into(),
            expected: format!("{shape} ({want} values)"),
            found: format!("{len} values"),
        });
    }
    Ok(())
}
