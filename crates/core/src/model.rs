//! A fitted (or given) Gaussian mixture: its parameters, fit information, and what it computes on
//! new data.

use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::blocks::BLOCK_ROWS;
use crate::covariance::convert::{self, Storage};
use crate::covariance::pass::{Engine, RowFn, normalize};
use crate::covariance::{CovarianceType, Kernel, Params, StepInfo, Weights, estimate, with_kernel};
use crate::data::{DataRef, Float, validate_data};
use crate::error::{Error, Result, try_with_capacity};
use crate::stats::SufficientStats;

/// scikit-learn's `ConvergenceWarning` text for a fit whose best run did not converge.
pub const CONVERGENCE_WARNING: &str = "Best performing initialization did not converge. Try different init parameters, \
     or increase max_iter, tol, or check for degenerate data.";

/// A component re-initialised by [`OnDegenerate::Reseed`](crate::OnDegenerate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reseed {
    /// The EM iteration (1-based) whose M-step collapsed it.
    pub iteration: usize,
    /// The component.
    pub component: usize,
    /// The row its new mean was taken from.
    pub row: usize,
}

/// A Gaussian mixture model with scikit-learn's fitted attributes.
///
/// Arrays are flat and row-major; shapes are given with each accessor.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixtureModel {
    params: Params,
    converged: bool,
    n_iter: usize,
    lower_bound: f64,
    lower_bounds: Vec<f64>,
    reseeds: Vec<Reseed>,
    /// The E-step's per-component constants when they are not `log w_k`: a variational
    /// mixture's expectations (see [`crate::BayesianGaussianMixtureModel`]). Its E-steps also
    /// accumulate the entropy of the responsibilities.
    variational: Option<Vec<f64>>,
}

impl GaussianMixtureModel {
    pub(crate) fn from_fit(
        params: Params,
        converged: bool,
        n_iter: usize,
        lower_bound: f64,
        lower_bounds: Vec<f64>,
    ) -> Self {
        GaussianMixtureModel {
            params,
            converged,
            n_iter,
            lower_bound,
            lower_bounds,
            reseeds: Vec::new(),
            variational: None,
        }
    }

    /// The same model scoring rows with the variational constants `log_weights` instead of
    /// `log w_k`.
    pub(crate) fn with_variational(mut self, log_weights: Vec<f64>) -> Self {
        self.variational = Some(log_weights);
        self
    }

    /// The E-step's per-component constants of a variational model (see
    /// [`BayesianGaussianMixtureModel`](crate::BayesianGaussianMixtureModel)), which replace
    /// `log w_k`; `None` for a plain mixture. A model that carries them has the variational
    /// E-step in `predict`, `score_samples` and [`GaussianMixtureModel::sufficient_statistics`]
    /// (whose statistics then include the entropy of the responsibilities).
    pub fn variational_constants(&self) -> Option<&[f64]> {
        self.variational.as_deref()
    }

    /// The same model with the variational E-step constants `constants` `(n_components,)`
    /// (finite): how a distributed variational fit ships its E-step's model to the workers.
    pub fn with_variational_constants(self, constants: Vec<f64>) -> Result<Self> {
        if constants.len() != self.n_components() || constants.iter().any(|v| !v.is_finite()) {
            return Err(Error::ShapeMismatch {
                what: "the variational constants".into(),
                expected: format!("({},) finite values", self.n_components()),
                found: format!("{} values", constants.len()),
            });
        }
        Ok(self.with_variational(constants))
    }

    /// The E-step's per-component constants: `log w_k`, or the variational expectations.
    pub(crate) fn log_weights(&self) -> Vec<f64> {
        match &self.variational {
            Some(lw) => lw.clone(),
            None => self.params.log_weights(),
        }
    }

    /// Whether the E-step constants are a variational mixture's.
    pub(crate) fn is_variational(&self) -> bool {
        self.variational.is_some()
    }

    pub(crate) fn with_reseeds(mut self, reseeds: Vec<Reseed>) -> Self {
        self.reseeds = reseeds;
        self
    }

    /// Components re-initialised during the kept run (with [`OnDegenerate::Reseed`](crate::OnDegenerate)).
    pub fn reseeds(&self) -> &[Reseed] {
        &self.reseeds
    }

    pub(crate) fn params(&self) -> &Params {
        &self.params
    }

    /// A model from weights `(K,)`, means `(K, d)` and covariances (the type's shape), checked:
    /// finite values, weights in `[0, 1]` with a positive sum (scikit-learn's initialisation from
    /// single points leaves them unnormalised), symmetric positive
    /// definite covariances. The precision Cholesky factors are computed.
    pub fn from_covariances(
        covariance_type: CovarianceType,
        n_components: usize,
        n_features: usize,
        weights: Vec<f64>,
        means: Vec<f64>,
        covariances: Vec<f64>,
    ) -> Result<Self> {
        let (k, d) = (n_components, n_features);
        check_common(
            covariance_type,
            k,
            d,
            &weights,
            &means,
            covariances.len(),
            "covariances",
        )?;
        if covariances.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidModel(
                "the covariances contain NaN or infinity".into(),
            ));
        }
        let t = covariance_type;
        let matrices = matches!(t.storage(k, d), Storage::Matrices(_));
        let what = |c: Option<usize>| match c {
            Some(c) => format!("the covariance of component {c}"),
            None => "the tied covariance".to_string(),
        };
        if let Some(c) = convert::first_asymmetric(t, &covariances, k, d) {
            return Err(Error::InvalidModel(format!("{} is not symmetric", what(c))));
        }
        let precisions_cholesky =
            convert::precision_cholesky(t, &covariances, k, d).map_err(|e| {
                Error::InvalidModel(if matrices {
                    format!("{} is not positive definite", what(e.component))
                } else {
                    let i = covariances.iter().position(|&v| v <= 0.0).unwrap_or(0);
                    format!(
                        "the variance {} of component {} is not positive",
                        covariances[i],
                        e.component.unwrap_or(0)
                    )
                })
            })?;
        Ok(Self::from_fit(
            Params {
                covariance_type,
                n_components: k,
                n_features: d,
                weights,
                means,
                covariances,
                precisions_cholesky,
            },
            false,
            0,
            f64::NEG_INFINITY,
            Vec::new(),
        ))
    }

    /// A model from weights, means and precision Cholesky factors (scikit-learn's
    /// `precisions_cholesky_`: for `full`/`tied`, `U` with `U Uᵀ` the precision and a positive
    /// diagonal; for `diag`/`spherical`, `1 / σ`). Covariances are computed from them.
    pub fn from_precisions_cholesky(
        covariance_type: CovarianceType,
        n_components: usize,
        n_features: usize,
        weights: Vec<f64>,
        means: Vec<f64>,
        precisions_cholesky: Vec<f64>,
    ) -> Result<Self> {
        let (k, d) = (n_components, n_features);
        check_common(
            covariance_type,
            k,
            d,
            &weights,
            &means,
            precisions_cholesky.len(),
            "precisions_cholesky",
        )?;
        if precisions_cholesky.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidModel(
                "precisions_cholesky contains NaN or infinity".into(),
            ));
        }
        if !convert::is_precision_cholesky(covariance_type, &precisions_cholesky, k, d) {
            return Err(Error::InvalidModel(
                "precisions_cholesky must be upper triangular with a positive diagonal (or positive for diag/spherical)"
                    .into(),
            ));
        }
        let covariances = convert::covariances_from_precision_cholesky(
            covariance_type,
            &precisions_cholesky,
            k,
            d,
        );
        Ok(Self::from_fit(
            Params {
                covariance_type,
                n_components: k,
                n_features: d,
                weights,
                means,
                covariances,
                precisions_cholesky,
            },
            false,
            0,
            f64::NEG_INFINITY,
            Vec::new(),
        ))
    }

    /// Attaches fit information (for models read back from a file).
    pub fn with_fit_info(
        mut self,
        converged: bool,
        n_iter: usize,
        lower_bound: f64,
        lower_bounds: Vec<f64>,
    ) -> Self {
        self.converged = converged;
        self.n_iter = n_iter;
        self.lower_bound = lower_bound;
        self.lower_bounds = lower_bounds;
        self
    }

    /// The covariance type.
    pub fn covariance_type(&self) -> CovarianceType {
        self.params.covariance_type
    }

    /// Number of components `K`.
    pub fn n_components(&self) -> usize {
        self.params.n_components
    }

    /// Number of features `d`.
    pub fn n_features(&self) -> usize {
        self.params.n_features
    }

    /// Mixture weights `(n_components,)` (`weights_`).
    pub fn weights(&self) -> &[f64] {
        &self.params.weights
    }

    /// Means `(n_components, n_features)` (`means_`).
    pub fn means(&self) -> &[f64] {
        &self.params.means
    }

    /// Covariances (`covariances_`): full `(K, d, d)`, tied `(d, d)`, diag `(K, d)`,
    /// spherical `(K,)`.
    pub fn covariances(&self) -> &[f64] {
        &self.params.covariances
    }

    /// Precision Cholesky factors (`precisions_cholesky_`), same shape as the covariances.
    pub fn precisions_cholesky(&self) -> &[f64] {
        &self.params.precisions_cholesky
    }

    /// Precisions (`precisions_`): `U Uᵀ` for full/tied, `(1/σ)²` for diag/spherical.
    pub fn precisions(&self) -> Vec<f64> {
        let (k, d) = (self.n_components(), self.n_features());
        convert::precisions(
            self.covariance_type(),
            &self.params.precisions_cholesky,
            k,
            d,
        )
    }

    /// Whether the kept run converged (`converged_`).
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// EM iterations of the kept run (`n_iter_`).
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Lower bound of the kept run: the mean log-likelihood computed in its last E-step
    /// (`lower_bound_`); `-inf` if no iteration ran.
    pub fn lower_bound(&self) -> f64 {
        self.lower_bound
    }

    /// The lower bound of every iteration of the kept run (`lower_bounds_`).
    pub fn lower_bounds(&self) -> &[f64] {
        &self.lower_bounds
    }

    /// scikit-learn's warning text when the kept run did not converge (and iterations ran).
    pub fn convergence_warning(&self) -> Option<&'static str> {
        (!self.converged && self.n_iter > 0).then_some(CONVERGENCE_WARNING)
    }

    /// Number of free parameters.
    pub fn n_parameters(&self) -> usize {
        self.covariance_type()
            .n_parameters(self.n_components(), self.n_features())
    }

    fn check_data<T: Float>(&self, x: &DataRef<'_, T>) -> Result<()> {
        validate_data(x)?;
        if x.n_features() != self.n_features() {
            return Err(Error::ShapeMismatch {
                what: "the data's number of features".into(),
                expected: self.n_features().to_string(),
                found: x.n_features().to_string(),
            });
        }
        Ok(())
    }

    /// Runs `f` on each block's weighted log-probabilities, collecting `width` outputs per row.
    fn per_row<T: Float, O: Send + Copy + Default>(
        &self,
        x: DataRef<'_, T>,
        width: usize,
        f: &RowFn<'_, O>,
    ) -> Result<Vec<O>> {
        self.check_data(&x)?;
        let k = self.n_components();
        Ok(with_kernel!(self.covariance_type(), K => {
            let engine = Engine::new::<K>(x, k);
            let prep = K::prepare(&self.params, &self.log_weights());
            engine.per_row::<K, O>(&prep, width, f)
        }))
    }

    /// Label of the most probable component for each row (`predict`); ties go to the lower index.
    pub fn predict<T: Float>(&self, x: DataRef<'_, T>) -> Result<Vec<usize>> {
        let k = self.n_components();
        self.per_row(x, 1, &|comp, _lse, rows, out| {
            for r in 0..rows {
                let mut best = 0;
                let mut bv = comp[r];
                for c in 1..k {
                    let v = comp[c * BLOCK_ROWS + r];
                    if v > bv {
                        bv = v;
                        best = c;
                    }
                }
                out[r] = best;
            }
        })
    }

    /// Posterior probability of each component for each row, `(n_samples, n_components)`
    /// (`predict_proba`). A row that no component can have produced (its likelihood is zero
    /// under every one, as for a point at 1e300) has NaN probabilities, as in scikit-learn.
    pub fn predict_proba<T: Float>(&self, x: DataRef<'_, T>) -> Result<Vec<f64>> {
        let k = self.n_components();
        self.per_row(x, k, &|comp, lse, rows, out| {
            normalize(comp, lse, k, rows);
            for r in 0..rows {
                let impossible = lse[r] == f64::NEG_INFINITY;
                for c in 0..k {
                    out[r * k + c] = if impossible {
                        f64::NAN
                    } else {
                        comp[c * BLOCK_ROWS + r]
                    };
                }
            }
        })
    }

    /// Log-likelihood of each row, `log Σ_k w_k N(x | μ_k, Σ_k)` (`score_samples`).
    pub fn score_samples<T: Float>(&self, x: DataRef<'_, T>) -> Result<Vec<f64>> {
        let k = self.n_components();
        self.per_row(x, 1, &|comp, lse, rows, out| {
            normalize(comp, lse, k, rows);
            out[..rows].copy_from_slice(&lse[..rows]);
        })
    }

    /// Mean log-likelihood of the rows (`score`); with sample weights the weighted mean
    /// `Σ_i w_i log p(x_i) / Σ_i w_i`.
    pub fn score<T: Float>(&self, x: DataRef<'_, T>) -> Result<f64> {
        let s = self.score_samples(x)?;
        Ok(match x.weights() {
            None => s.iter().sum::<f64>() / s.len() as f64,
            Some(w) => {
                let total: f64 = s
                    .iter()
                    .zip(w)
                    .filter(|(_, w)| **w != 0.0)
                    .map(|(v, w)| w * v)
                    .sum();
                total / x.total_weight()
            }
        })
    }

    /// Bayesian information criterion: `-2 · score · n + n_parameters · ln n`, with `n` the
    /// number of rows (their total weight, with sample weights).
    pub fn bic<T: Float>(&self, x: DataRef<'_, T>) -> Result<f64> {
        let n = x.total_weight();
        Ok(-2.0 * self.score(x)? * n + self.n_parameters() as f64 * n.ln())
    }

    /// Akaike information criterion: `-2 · score · n + 2 · n_parameters`, `n` as in
    /// [`GaussianMixtureModel::bic`].
    pub fn aic<T: Float>(&self, x: DataRef<'_, T>) -> Result<f64> {
        let n = x.total_weight();
        Ok(-2.0 * self.score(x)? * n + 2.0 * self.n_parameters() as f64)
    }

    /// Draws `n_samples` points `(n_samples, n_features)` and their component labels: counts per
    /// component from the weights, then Gaussian draws, grouped by component in order (as
    /// scikit-learn's `sample`).
    pub fn sample(&self, n_samples: usize, seed: u64) -> Result<(Vec<f64>, Vec<usize>)> {
        if n_samples < 1 {
            return Err(crate::error::invalid(
                "n_samples",
                "the sampling requires at least one sample",
            ));
        }
        let (k, d) = (self.n_components(), self.n_features());
        // The memory first: a size that cannot be had is refused before any work.
        let what = || format!("sampling n_samples = {n_samples} points of {d} features");
        let mut points = try_with_capacity::<f64>(n_samples as u128 * d as u128, what)?;
        let mut labels = try_with_capacity::<usize>(n_samples as u128, what)?;
        // A factor A with A Aᵀ = Σ: the Cholesky factor for full/tied, σ for diag/spherical.
        let t = self.covariance_type();
        let storage = t.storage(k, d);
        let factors = convert::sampling_factors(t, self.covariances(), k, d).map_err(|e| {
            Error::InvalidModel(match e.component {
                Some(c) => format!("the covariance of component {c} is not positive definite"),
                None => "the tied covariance is not positive definite".into(),
            })
        })?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let total: f64 = self.weights().iter().sum();
        let mut counts = vec![0usize; k];
        for _ in 0..n_samples {
            let u: f64 = rng.random::<f64>() * total;
            let mut acc = 0.0;
            let mut c = k - 1;
            for (i, &w) in self.weights().iter().enumerate() {
                acc += w;
                if u < acc {
                    c = i;
                    break;
                }
            }
            counts[c] += 1;
        }
        let mut z = vec![0.0; d];
        for c in 0..k {
            let mu = &self.means()[c * d..(c + 1) * d];
            let a = match storage {
                Storage::Matrices(m) => &factors[(c % m) * d * d..(c % m + 1) * d * d],
                Storage::Values(per) => &factors[c * per..(c + 1) * per],
            };
            for _ in 0..counts[c] {
                for v in z.iter_mut() {
                    *v = rng.sample(StandardNormal);
                }
                for j in 0..d {
                    let dev = match storage {
                        Storage::Matrices(_) => (0..=j).map(|i| a[j * d + i] * z[i]).sum::<f64>(),
                        Storage::Values(per) => a[j % per] * z[j],
                    };
                    points.push(mu[j] + dev);
                }
                labels.push(c);
            }
        }
        Ok((points, labels))
    }

    /// Sufficient statistics of `x` under this model (one E-step), centred on the model's means:
    /// the piece to compute per chunk of data, merge, and turn into a new model with
    /// [`GaussianMixtureModel::m_step`].
    pub fn sufficient_statistics<T: Float>(&self, x: DataRef<'_, T>) -> Result<SufficientStats> {
        self.check_data(&x)?;
        let k = self.n_components();
        Ok(with_kernel!(self.covariance_type(), K => {
            let engine = Engine::new::<K>(x, k);
            let (sums, shift) =
                engine.e_step_stats::<K>(&self.params, &self.log_weights(), self.is_variational());
            SufficientStats::new(K::TYPE, k, x.n_features(), shift, sums)
        }))
    }

    /// The M-step: a new model from merged statistics, as one EM iteration computes it. The fit
    /// information is left empty; the statistics' [`SufficientStats::mean_log_likelihood`] is
    /// the iteration's lower bound.
    pub fn m_step(stats: &SufficientStats, reg_covar: f64) -> Result<Self> {
        if !(reg_covar >= 0.0 && reg_covar.is_finite()) {
            return Err(crate::error::invalid(
                "reg_covar",
                format!("must be a finite number >= 0, got {reg_covar}"),
            ));
        }
        let info = StepInfo {
            iteration: 1,
            f32_input: false,
        };
        let params = with_kernel!(stats.covariance_type(), K => {
            estimate::<K>(stats.sums(), stats.shift(), reg_covar, Weights::Normalized).factorize(info)?
        });
        Ok(Self::from_fit(
            params,
            false,
            0,
            f64::NEG_INFINITY,
            Vec::new(),
        ))
    }
}

fn check_common(
    t: CovarianceType,
    k: usize,
    d: usize,
    weights: &[f64],
    means: &[f64],
    cov_len: usize,
    cov_name: &str,
) -> Result<()> {
    let shape = |want: usize, what: &str, shape: String, got: usize| -> Result<()> {
        if want != got {
            return Err(Error::ShapeMismatch {
                what: what.to_string(),
                expected: format!("{shape} ({want} values)"),
                found: format!("{got} values"),
            });
        }
        Ok(())
    };
    if k == 0 || d == 0 {
        return Err(Error::InvalidModel(format!(
            "a mixture needs at least one component and one feature, got {k} and {d}"
        )));
    }
    shape(k, "weights", format!("({k},)"), weights.len())?;
    shape(k * d, "means", format!("({k}, {d})"), means.len())?;
    shape(
        t.covariances_len(k, d),
        cov_name,
        t.shape_str(k, d),
        cov_len,
    )?;
    if weights.iter().any(|w| !(0.0..=1.0).contains(w)) {
        return Err(Error::InvalidModel(
            "every weight must lie in [0, 1]".into(),
        ));
    }
    // Not necessarily 1: scikit-learn's initialisation from single points leaves weights N_k / n
    // (see `GaussianMixture::max_iter`), and such a model still predicts. Files require 1.
    if weights.iter().sum::<f64>() <= 0.0 {
        return Err(Error::InvalidModel("the weights sum to 0".into()));
    }
    if means.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidModel(
            "the means contain NaN or infinity".into(),
        ));
    }
    Ok(())
}
