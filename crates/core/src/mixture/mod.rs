//! The Gaussian mixture estimator and its EM driver.
//!
//! [`params`]: scikit-learn's parameters and their checks; [`init`]: the initial parameters
//! (responsibilities from `init_params`, then one M-step); [`em`]: the driver, generic over the
//! covariance [`Kernel`](crate::covariance::Kernel) and chosen once per call by
//! [`with_kernel!`](crate::covariance::with_kernel); [`reseed`]: the `on_degenerate = "reseed"`
//! policy. The driver's semantics are scikit-learn's `BaseMixture.fit_predict`: `n_init` runs,
//! each freshly initialised from one random stream; per iteration one fused pass (E-step and
//! statistics) and an M-step; the lower bound of an iteration is the mean log-likelihood under
//! the parameters *before* its M-step; a run stops when `|lower_bound - previous| < tol`; the
//! run with the highest final lower bound is kept.

mod em;
mod init;
pub(crate) mod params;
mod reseed;

pub use em::StatsSource;
pub(crate) use em::{Em, External, Fitted, InMemory, Runs, Source, drive};
pub(crate) use init::Init;
pub use params::{GaussianMixture, InitParams, OnDegenerate};

use crate::blocks::with_threads;
use crate::covariance::with_kernel;
use crate::data::{DataRef, Float};
use crate::error::{Error, Result, invalid};
use crate::model::GaussianMixtureModel;
use crate::monitor::Monitor;

impl GaussianMixture {
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
        params::check_data(&x, self.n_components, self.init_labels.as_deref())?;
        let d = x.n_features();
        self.check_init(d)?;
        let warm = self.warm_model(previous, d)?;
        let mut unwatched = ();
        let monitor = monitor.unwrap_or(&mut unwatched);
        with_threads(self.n_threads, || {
            if self.single::<T>() {
                type K = crate::covariance::full32::Full32;
                let source = InMemory::new::<K>(x, self.init(), self.reg_covar, self.seed);
                match em::fit_gaussian::<K, _>(self, source, warm, &mut *monitor) {
                    // A covariance estimated in float32 that cannot be factorised (a component
                    // with fewer rows than features, whose smallest eigenvalues are reg_covar
                    // and within float32's rounding of zero): the fit is redone in float64,
                    // which may factorise it.
                    Err(Error::IllDefinedCovariance(_)) => {}
                    done => return done,
                }
            }
            with_kernel!(self.covariance_type, K => {
                let source = InMemory::new::<K>(x, self.init(), self.reg_covar, self.seed);
                em::fit_gaussian::<K, _>(self, source, warm, monitor)
            })
        })?
    }

    /// Fits a mixture to data the engine does not hold, of `n_features` features: `source`
    /// computes the initial statistics and each E-step's statistics (out of core, or on a
    /// cluster), and the same driver as [`GaussianMixture::fit_with`] runs the rest: `n_init`
    /// runs, the M-steps, the stopping rule, the best run, warm start. `on_degenerate` must be
    /// `Error` (re-seeding needs the rows); `n_threads` is the source's business.
    pub fn fit_source(
        &self,
        n_features: usize,
        source: &mut dyn StatsSource,
        previous: Option<&GaussianMixtureModel>,
        monitor: Option<&mut dyn Monitor>,
    ) -> Result<GaussianMixtureModel> {
        self.check()?;
        if self.on_degenerate != OnDegenerate::Error {
            return Err(invalid(
                "on_degenerate",
                "\"reseed\" needs the rows in memory; fits over a StatsSource support \"error\" only",
            ));
        }
        if n_features == 0 {
            return Err(Error::EmptyData {
                n_samples: 0,
                n_features,
            });
        }
        self.check_init(n_features)?;
        let warm = self.warm_model(previous, n_features)?;
        let mut unwatched = ();
        let monitor = monitor.unwrap_or(&mut unwatched);
        let ext = External {
            source,
            t: self.covariance_type,
            k: self.n_components,
            d: n_features,
        };
        with_kernel!(self.covariance_type, K => em::fit_gaussian::<K, _>(self, ext, warm, monitor))
    }

    /// The previous model to continue from, when `warm_start` is set, checked against this
    /// fit's shape.
    fn warm_model<'m>(
        &self,
        previous: Option<&'m GaussianMixtureModel>,
        d: usize,
    ) -> Result<Option<&'m GaussianMixtureModel>> {
        Ok(match previous {
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
        })
    }
}
