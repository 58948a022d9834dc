//! The Gaussian mixture estimator: parameters (scikit-learn's names, ranges and defaults),
//! initialisation, and the EM driver.
//!
//! The driver knows nothing of covariance types: it is generic over [`Kernel`], chosen once per
//! call by [`with_kernel!`]. Its semantics are scikit-learn's `BaseMixture.fit_predict`:
//! `n_init` runs, each freshly initialised from one random stream; per iteration one fused pass
//! (E-step and statistics) and an M-step; the lower bound of an iteration is the mean
//! log-likelihood under the parameters *before* its M-step; a run stops when
//! `|lower_bound - previous| < tol`; the run with the highest final lower bound is kept.

use std::fmt;
use std::str::FromStr;

use rand::{Rng, RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::blocks::BLOCK_ROWS;
use crate::covariance::{CovarianceType, Kernel, Params, Shift, StepInfo, estimate};
use crate::data::{DataRef, Float, validate_data};
use crate::engine::{Engine, e_step_stats};
use crate::error::{Error, Result, invalid};
use crate::kmeans::{KMeans, Lloyd, NearestCentre};
use crate::linalg;
use crate::model::GaussianMixtureModel;
use crate::monitor::{self, Monitor, Progress};

/// Runs `$body` with `$K` bound to the kernel type of a [`CovarianceType`]: the one place where
/// the covariance type is matched.
macro_rules! with_kernel {
    ($t:expr, $K:ident => $body:expr) => {
        match $t {
            $crate::covariance::CovarianceType::Full => {
                type $K = $crate::covariance::full::Full;
                $body
            }
            $crate::covariance::CovarianceType::Tied => {
                type $K = $crate::covariance::tied::Tied;
                $body
            }
            $crate::covariance::CovarianceType::Diag => {
                type $K = $crate::covariance::diag::Diag;
                $body
            }
            $crate::covariance::CovarianceType::Spherical => {
                type $K = $crate::covariance::spherical::Spherical;
                $body
            }
        }
    };
}
pub(crate) use with_kernel;

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
    /// [`GaussianMixtureModel::reseeds`], and go on. A shared (`tied`) covariance cannot be
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

/// A component re-initialised by [`OnDegenerate::Reseed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reseed {
    /// The EM iteration (1-based) whose M-step collapsed it.
    pub iteration: usize,
    /// The component.
    pub component: usize,
    /// The row its new mean was taken from.
    pub row: usize,
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
            warm_start: false,
            seed: 0,
            n_threads: None,
            on_degenerate: OnDegenerate::Error,
        }
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
        if self.n_components < 1 {
            return Err(invalid("n_components", "must be at least 1, got 0"));
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(invalid(
                "tol",
                format!("must be a finite number >= 0, got {}", self.tol),
            ));
        }
        if !(self.reg_covar >= 0.0 && self.reg_covar.is_finite()) {
            return Err(invalid(
                "reg_covar",
                format!("must be a finite number >= 0, got {}", self.reg_covar),
            ));
        }
        if self.n_init < 1 {
            return Err(invalid("n_init", "must be at least 1, got 0"));
        }
        if self.n_threads == Some(0) {
            return Err(invalid("n_threads", "must be at least 1, got 0"));
        }
        Ok(())
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
            let shape = t.covariances_shape(k, d);
            let shape_str = format!(
                "({})",
                shape
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            check_len(
                "precisions_init",
                p.len(),
                t.covariances_len(k, d),
                &shape_str,
            )?;
            precision_cholesky_from_precisions(t, p, k, d)?;
        }
        Ok(())
    }

    /// Fits a mixture to `x` `(n_samples, n_features)`.
    pub fn fit<T: Float>(&self, x: DataRef<'_, T>) -> Result<GaussianMixtureModel> {
        self.fit_with(x, None, None)
    }

    /// Fits and returns the labels of the final E-step (scikit-learn's `fit_predict`).
    pub fn fit_predict<T: Float>(
        &self,
        x: DataRef<'_, T>,
    ) -> Result<(GaussianMixtureModel, Vec<usize>)> {
        let model = self.fit(x)?;
        let labels = with_threads(self.n_threads, || model.predict(x))??;
        Ok((model, labels))
    }

    /// Fits with a previous model (used when `warm_start` is set) and a [`Monitor`] (a
    /// per-iteration progress callback, and a way to stop the fit between passes).
    pub fn fit_with<T: Float>(
        &self,
        x: DataRef<'_, T>,
        previous: Option<&GaussianMixtureModel>,
        monitor: Option<&mut dyn Monitor>,
    ) -> Result<GaussianMixtureModel> {
        self.check()?;
        validate_data(&x)?;
        let (n, d) = (x.n_samples(), x.n_features());
        if n < 2 {
            return Err(Error::TooFewSamples {
                n_samples: n,
                needed: 2,
                what: "a mixture needs at least 2 samples",
            });
        }
        if n < self.n_components {
            return Err(Error::TooFewSamples {
                n_samples: n,
                needed: self.n_components,
                what: "n_samples must be at least n_components",
            });
        }
        self.check_init(d)?;
        let warm = match previous {
            Some(m) if self.warm_start => {
                if m.covariance_type() != self.covariance_type
                    || m.n_components() != self.n_components
                    || m.n_features() != d
                {
                    return Err(Error::ShapeMismatch {
                        what: "the warm-start model".into(),
                        expected: format!(
                            "{} covariances, {} components, {d} features",
                            self.covariance_type, self.n_components
                        ),
                        found: format!(
                            "{} covariances, {} components, {} features",
                            m.covariance_type(),
                            m.n_components(),
                            m.n_features()
                        ),
                    });
                }
                Some(m)
            }
            _ => None,
        };
        let mut unwatched = ();
        let monitor = monitor.unwrap_or(&mut unwatched);
        with_threads(
            self.n_threads,
            || with_kernel!(self.covariance_type, K => run::<K, T>(self, x, warm, monitor)),
        )?
    }
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

/// Runs `f` on a pool of `n` threads, or on the current pool.
pub(crate) fn with_threads<R: Send>(n: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    match n {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| invalid("n_threads", format!("cannot start {n} threads: {e}")))?;
            Ok(pool.install(f))
        }
    }
}

/// Precision Cholesky factors (upper triangular, scikit-learn's layout) from precisions, checking
/// them as scikit-learn's `_check_precisions` does.
pub(crate) fn precision_cholesky_from_precisions(
    t: CovarianceType,
    p: &[f64],
    k: usize,
    d: usize,
) -> Result<Vec<f64>> {
    let bad = |m: &str| invalid("precisions_init", m.to_string());
    if p.iter().any(|v| !v.is_finite()) {
        return Err(bad("contains NaN or infinity"));
    }
    match t {
        CovarianceType::Full | CovarianceType::Tied => {
            let m = if t == CovarianceType::Full { k } else { 1 };
            let mut out = Vec::with_capacity(m * d * d);
            for c in 0..m {
                let pc = &p[c * d * d..(c + 1) * d * d];
                if !linalg::is_symmetric(pc, d, 1e-8) {
                    return Err(bad(&format!(
                        "{t} precision {c} should be symmetric, positive-definite"
                    )));
                }
                let u = linalg::precision_cholesky_from_precision(pc, d).ok_or_else(|| {
                    bad(&format!(
                        "{t} precision {c} should be symmetric, positive-definite"
                    ))
                })?;
                out.extend_from_slice(&u);
            }
            Ok(out)
        }
        CovarianceType::Diag | CovarianceType::Spherical => {
            if p.iter().any(|&v| v <= 0.0) {
                return Err(bad(&format!("{t} precision should be positive")));
            }
            Ok(p.iter().map(|v| v.sqrt()).collect())
        }
    }
}

/// Covariances from precision Cholesky factors.
pub(crate) fn covariances_from_precision_cholesky(
    t: CovarianceType,
    u: &[f64],
    k: usize,
    d: usize,
) -> Vec<f64> {
    match t {
        CovarianceType::Full => (0..k)
            .flat_map(|c| {
                linalg::covariance_from_precision_cholesky(&u[c * d * d..(c + 1) * d * d], d)
            })
            .collect(),
        CovarianceType::Tied => linalg::covariance_from_precision_cholesky(u, d),
        CovarianceType::Diag | CovarianceType::Spherical => {
            u.iter().map(|v| 1.0 / (v * v)).collect()
        }
    }
}

/// The EM driver for one covariance type.
fn run<K: Kernel, T: Float>(
    p: &GaussianMixture,
    x: DataRef<'_, T>,
    warm: Option<&GaussianMixtureModel>,
    monitor: &mut dyn Monitor,
) -> Result<GaussianMixtureModel> {
    let (k, d) = (p.n_components, x.n_features());
    let n = x.n_samples() as f64;
    let engine = Engine::new::<K>(x, k);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(p.seed);
    let n_init = if warm.is_some() { 1 } else { p.n_init };

    let mut max_lower_bound = f64::NEG_INFINITY;
    #[allow(clippy::type_complexity)]
    let mut best: Option<(Params, usize, Vec<f64>, bool, Vec<Reseed>)> = None;
    for init in 0..n_init {
        let (mut params, mut lower_bound) = match warm {
            Some(m) => (m.params().clone(), m.lower_bound()),
            None => (
                initialize::<K, T>(p, &engine, &mut rng, monitor)?,
                f64::NEG_INFINITY,
            ),
        };
        if p.max_iter == 0 {
            best = Some((params, 0, Vec::new(), false, Vec::new()));
            continue;
        }
        let mut lower_bounds = Vec::new();
        let mut converged = false;
        let mut n_iter = 0;
        let mut reseeds = Vec::new();
        for it in 1..=p.max_iter {
            monitor::check(monitor)?;
            n_iter = it;
            let prev = lower_bound;
            let (sums, shift) = e_step_stats::<K, T>(&engine, &params);
            let info = StepInfo {
                iteration: it,
                f32_input: T::IS_F32,
            };
            params = match p.on_degenerate {
                OnDegenerate::Error => {
                    estimate::<K>(&sums, &shift, p.reg_covar, k, d, true, true, info)?
                }
                OnDegenerate::Reseed => {
                    let next = estimate::<K>(&sums, &shift, p.reg_covar, k, d, true, false, info)?;
                    reseed::<K, T>(&engine, &params, next, p.reg_covar, info, &mut reseeds)?
                }
            };
            lower_bound = sums.log_likelihood / n;
            lower_bounds.push(lower_bound);
            let change = lower_bound - prev;
            monitor.progress(&Progress {
                init,
                iteration: it,
                lower_bound,
                change,
            });
            if change.abs() < p.tol {
                converged = true;
                break;
            }
        }
        if lower_bound > max_lower_bound || max_lower_bound == f64::NEG_INFINITY {
            max_lower_bound = lower_bound;
            best = Some((params, n_iter, lower_bounds, converged, reseeds));
        }
    }
    let (params, n_iter, lower_bounds, converged, reseeds) = best.expect("n_init >= 1");
    Ok(
        GaussianMixtureModel::from_fit(params, converged, n_iter, max_lower_bound, lower_bounds)
            .with_reseeds(reseeds),
    )
}

/// Factorises the covariances of `next` (the M-step's estimate, not yet factorised), re-seeding
/// every component whose covariance fails: its mean moves to one of the rows with the lowest
/// likelihood under `prev` (the parameters of this iteration's E-step), its covariance becomes the
/// data's per-feature variance plus `reg_covar`, and its weight `1/K` (weights renormalised).
fn reseed<K: Kernel, T: Float>(
    engine: &Engine<'_, T>,
    prev: &Params,
    mut next: Params,
    reg_covar: f64,
    info: StepInfo,
    log: &mut Vec<Reseed>,
) -> Result<Params> {
    let (k, d) = (next.n_components, next.n_features);
    let mut candidates: Option<Vec<usize>> = None;
    let mut variance: Option<Vec<f64>> = None;
    for _ in 0..=k {
        let err = match K::precisions_cholesky(&next.covariances, k, d, info) {
            Ok(u) => {
                next.precisions_cholesky = u;
                return Ok(next);
            }
            Err(e) => e,
        };
        let c = match &err {
            Error::IllDefinedCovariance(i) => match i.component {
                Some(c) => c,
                None => return Err(err),
            },
            _ => return Err(err),
        };
        let rows =
            candidates.get_or_insert_with(|| lowest_likelihood_rows::<K, T>(engine, prev, k));
        let var = variance.get_or_insert_with(|| column_variances(engine));
        let row = rows
            .get(log.iter().filter(|r| r.iteration == info.iteration).count())
            .copied();
        let Some(row) = row else { return Err(err) };
        let x = engine.x.row(row);
        for j in 0..d {
            next.means[c * d + j] = x[j].to_f64();
        }
        match K::TYPE {
            CovarianceType::Full => {
                let cov = &mut next.covariances[c * d * d..(c + 1) * d * d];
                cov.fill(0.0);
                for j in 0..d {
                    cov[j * d + j] = var[j] + reg_covar;
                }
            }
            CovarianceType::Diag => {
                for j in 0..d {
                    next.covariances[c * d + j] = var[j] + reg_covar;
                }
            }
            CovarianceType::Spherical => {
                next.covariances[c] = var.iter().sum::<f64>() / d as f64 + reg_covar;
            }
            CovarianceType::Tied => return Err(err),
        }
        next.weights[c] = 1.0 / k as f64;
        let total: f64 = next.weights.iter().sum();
        next.weights.iter_mut().for_each(|w| *w /= total);
        log.push(Reseed {
            iteration: info.iteration,
            component: c,
            row,
        });
    }
    Err(info.ill_defined(None))
}

/// Indices of the `k` rows with the lowest log-likelihood under `params`, lowest first (ties to
/// the lower index).
fn lowest_likelihood_rows<K: Kernel, T: Float>(
    engine: &Engine<'_, T>,
    params: &Params,
    k: usize,
) -> Vec<usize> {
    let prep = K::prepare(params);
    let kk = params.n_components;
    let lse: Vec<f64> = engine.per_row::<K, f64>(&prep, 1, &|comp, lse, rows, out| {
        crate::engine::normalize(comp, lse, kk, rows);
        out[..rows].copy_from_slice(&lse[..rows]);
    });
    let mut idx: Vec<usize> = (0..lse.len()).collect();
    idx.sort_by(|&a, &b| lse[a].total_cmp(&lse[b]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Per-feature variance of the data (two passes: means, then centred squares).
fn column_variances<T: Float>(engine: &Engine<'_, T>) -> Vec<f64> {
    let x = &engine.x;
    let (n, d) = (x.n_samples(), x.n_features());
    let mut mean = vec![0.0; d];
    for i in 0..n {
        for (m, v) in mean.iter_mut().zip(x.row(i)) {
            *m += v.to_f64();
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut var = vec![0.0; d];
    for i in 0..n {
        for ((s, v), m) in var.iter_mut().zip(x.row(i)).zip(&mean) {
            let c = v.to_f64() - m;
            *s += c * c;
        }
    }
    var.iter_mut().for_each(|s| *s /= n as f64);
    var
}

/// Initial parameters: responsibilities from `init_params`, one M-step-like estimate from them
/// (weights `N_k / n`, not normalised, as scikit-learn's `_initialize`), then the user's
/// `weights_init` / `means_init` / `precisions_init` replace what they cover.
fn initialize<K: Kernel, T: Float>(
    p: &GaussianMixture,
    engine: &Engine<'_, T>,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
) -> Result<Params> {
    let (k, d) = (p.n_components, engine.d);
    let info = StepInfo {
        iteration: 0,
        f32_input: T::IS_F32,
    };
    let needs_resp =
        p.weights_init.is_none() || p.means_init.is_none() || p.precisions_init.is_none();
    let estimated = if needs_resp {
        let source = RespSource::new(p, engine, rng, monitor)?;
        let resp = |start: usize, rows: usize, out: &mut [f64]| source.fill(start, rows, out, k);
        // Means first (about the origin), then every statistic about those means.
        let origin = Shift {
            shift: vec![0.0; k * d],
            center: vec![0.0; d],
        };
        let first = engine.stats_from::<K>(&origin, &resp);
        let means: Vec<f64> = (0..k * d)
            .map(|i| first.s1[i] / (first.nk[i / d] + 10.0 * f64::EPSILON))
            .collect();
        let shift = Shift::new(&means, k, d);
        let sums = engine.stats_from::<K>(&shift, &resp);
        let factorize = p.precisions_init.is_none();
        Some(estimate::<K>(
            &sums,
            &shift,
            p.reg_covar,
            k,
            d,
            false,
            factorize,
            info,
        )?)
    } else {
        None
    };
    let t = K::TYPE;
    let weights = match (&p.weights_init, &estimated) {
        (Some(w), _) => w.clone(),
        (None, Some(e)) => e.weights.clone(),
        (None, None) => unreachable!("responsibilities are computed when weights_init is missing"),
    };
    let means = match (&p.means_init, &estimated) {
        (Some(m), _) => m.clone(),
        (None, Some(e)) => e.means.clone(),
        (None, None) => unreachable!("responsibilities are computed when means_init is missing"),
    };
    let (covariances, precisions_cholesky) = match (&p.precisions_init, estimated) {
        (Some(prec), _) => {
            let u = precision_cholesky_from_precisions(t, prec, k, d)?;
            (covariances_from_precision_cholesky(t, &u, k, d), u)
        }
        (None, Some(e)) => (e.covariances, e.precisions_cholesky),
        (None, None) => {
            unreachable!("responsibilities are computed when precisions_init is missing")
        }
    };
    Ok(Params {
        covariance_type: t,
        n_components: k,
        n_features: d,
        weights,
        means,
        covariances,
        precisions_cholesky,
    })
}

/// Initial responsibilities, generated block by block (deterministically, whatever the thread
/// count).
enum RespSource<'a, T> {
    /// One-hot on each row's nearest k-means centre (k-means' own labels, recomputed per block
    /// rather than stored).
    Nearest(NearestCentre<'a, T>),
    /// One-hot on one chosen row per component: `points[c]` is component `c`'s row.
    Points(Vec<usize>),
    /// Uniform random values normalised per row, from a stream keyed by the row index.
    Random(u64),
}

impl<'a, T: Float> RespSource<'a, T> {
    fn new(
        p: &GaussianMixture,
        engine: &Engine<'a, T>,
        rng: &mut Xoshiro256PlusPlus,
        monitor: &mut dyn Monitor,
    ) -> Result<Self> {
        let k = p.n_components;
        let n = engine.x.n_samples();
        Ok(match p.init_params {
            InitParams::KMeans => {
                let mut krng = Xoshiro256PlusPlus::seed_from_u64(rng.next_u64());
                RespSource::Nearest(KMeans::new(k).fit_centres_only(engine.x, &mut krng, monitor)?)
            }
            InitParams::KMeansPlusPlus => {
                RespSource::Points(Lloyd::new(engine.x, k, &[]).plusplus(rng, monitor)?)
            }
            InitParams::Random => RespSource::Random(rng.next_u64()),
            InitParams::RandomFromData => {
                RespSource::Points(rand::seq::index::sample(rng, n, k).into_vec())
            }
        })
    }

    /// Writes `out[c * BLOCK_ROWS + r]` for rows `start..start + rows` (`out` is zeroed).
    fn fill(&self, start: usize, rows: usize, out: &mut [f64], k: usize) {
        match self {
            RespSource::Nearest(nearest) => nearest.one_hot(start, rows, out, BLOCK_ROWS),
            RespSource::Points(points) => {
                for (c, &i) in points.iter().enumerate() {
                    if (start..start + rows).contains(&i) {
                        out[c * BLOCK_ROWS + (i - start)] = 1.0;
                    }
                }
            }
            RespSource::Random(seed) => {
                for r in 0..rows {
                    let row = (start + r) as u64;
                    let mut g = Xoshiro256PlusPlus::seed_from_u64(
                        seed ^ row.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    );
                    let mut s = 0.0;
                    for c in 0..k {
                        let v: f64 = g.random();
                        out[c * BLOCK_ROWS + r] = v;
                        s += v;
                    }
                    for c in 0..k {
                        out[c * BLOCK_ROWS + r] /= s;
                    }
                }
            }
        }
    }
}
