//! Fits over statistics computed elsewhere (`gaussmix.dask`): the engine's driver
//! (`GaussianMixture::fit_source`, `BayesianGaussianMixture::fit_source`) runs the fit (its
//! `n_init` runs, M-steps, initial estimate and `weights_init`/`means_init`/`precisions_init`,
//! stopping rule, best run, warm start), and Python callables compute each statistic it asks
//! for wherever the data are:
//!
//! - `initial_statistics(init) -> stats`: the statistics of all rows under run `init`'s initial
//!   responsibilities (`gaussmix.stats` layout, merged);
//! - `e_step(model) -> stats`: the statistics of all rows under `model`, a mixture dict (with
//!   `variational_constants` for a Bayesian fit, which the per-chunk statistics must be
//!   computed with: `_core.sufficient_statistics(model, chunk)` does);
//! - `data_statistics(covariance_type, shift) -> stats` (Bayesian fits without `mean_prior` and
//!   `covariance_prior`): the statistics of all rows as one component of that type, centred
//!   on `shift` `(n_features,)`;
//! - `progress(init, iteration, lower_bound, change)`, optional, after each iteration;
//! - `phase(what, run)`, optional, as each run begins its initialisation (`"initializing"`) and
//!   its iterations (`"iterating"`).
//!
//! The driver runs without the GIL; a callback takes it for its Python code only. An exception a
//! callback raises (KeyboardInterrupt included) stops the fit and is raised as it is; Ctrl-C
//! between callbacks stops it before the next statistic is asked for.

use std::sync::{Arc, Mutex};

use gaussmix_core::{
    CovarianceType, Error, GaussianMixture, GaussianMixtureModel, InitParams, Monitor,
    OnDegenerate, Phase, Progress, StatsSource, SufficientStats,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::bayes::{bayes_dict, bayes_from_dict, estimator};
use crate::convert::{array, f64_array, value_err};
use crate::gmm::{Source as Stored, model_dict, model_from_dict, stats_from_dict};

/// The first exception a callback raised, shared by the source and the monitor.
type Raised = Arc<Mutex<Option<PyErr>>>;

/// Runs a callback with the GIL; its exception is kept in `raised` (the first one only) and
/// the engine is told to stop.
fn call<R>(raised: &Raised, f: impl FnOnce(Python<'_>) -> PyResult<R>) -> gaussmix_core::Result<R> {
    Python::attach(|py| match f(py) {
        Ok(v) => Ok(v),
        Err(e) => {
            let mut slot = raised.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(e);
            }
            Err(Error::Interrupted)
        }
    })
}

/// Python callables as the engine's [`StatsSource`].
struct PySource {
    initial: Py<PyAny>,
    e_step: Py<PyAny>,
    data: Option<Py<PyAny>>,
    raised: Raised,
}

fn stats_of(py: Python<'_>, v: Bound<'_, PyAny>, what: &str) -> PyResult<SufficientStats> {
    let d = v.cast_into::<PyDict>().map_err(|e| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "the {what} callback must return a statistics dict, got {}",
            e.into_inner().get_type()
        ))
    })?;
    let _ = py;
    stats_from_dict(&d)
}

impl StatsSource for PySource {
    fn initial_statistics(&mut self, init: usize) -> gaussmix_core::Result<SufficientStats> {
        call(&self.raised, |py| {
            let v = self.initial.bind(py).call1((init,))?;
            stats_of(py, v, "initial_statistics")
        })
    }

    fn e_step(&mut self, model: &GaussianMixtureModel) -> gaussmix_core::Result<SufficientStats> {
        call(&self.raised, |py| {
            let d = model_dict(py, model)?;
            // An initial estimate's weights are N_k / Σw, which rounding can put a few ulps above
            // 1 (one component); a model dict may not hold that, and the difference is below
            // what a log-likelihood can see.
            let w = d.get_item("weights")?.expect("a model dict has weights");
            let np = py.import("numpy")?;
            d.set_item("weights", np.call_method1("minimum", (w, 1.0))?)?;
            let v = self.e_step.bind(py).call1((d,))?;
            stats_of(py, v, "e_step")
        })
    }

    fn data_statistics(
        &mut self,
        covariance_type: CovarianceType,
        shift: &[f64],
    ) -> gaussmix_core::Result<SufficientStats> {
        let Some(f) = &self.data else {
            return Err(Error::InvalidParameter {
                name: "mean_prior",
                message: "no data_statistics callback was given: give mean_prior and \
                          covariance_prior"
                    .into(),
            });
        };
        call(&self.raised, |py| {
            let s = array(py, shift.to_vec(), &[shift.len()])?;
            let v = f.bind(py).call1((covariance_type.as_str(), s))?;
            stats_of(py, v, "data_statistics")
        })
    }
}

/// The monitor: progress to a Python callable, and a stop on Ctrl-C (or an exception a callback
/// raised).
struct PyMonitor {
    progress: Option<Py<PyAny>>,
    phase: Option<Py<PyAny>>,
    raised: Raised,
}

impl Monitor for PyMonitor {
    fn progress(&mut self, p: &Progress) {
        if let Some(f) = &self.progress {
            let _ = call(&self.raised, |py| {
                f.bind(py)
                    .call1((p.init, p.iteration, p.lower_bound, p.change))
                    .map(|_| ())
            });
        }
    }

    fn phase(&mut self, phase: Phase) {
        if let Some(f) = &self.phase {
            let (what, run) = match phase {
                Phase::Initializing { run } => ("initializing", run),
                Phase::Iterating { run } => ("iterating", run),
            };
            let _ = call(&self.raised, |py| f.bind(py).call1((what, run)).map(|_| ()));
        }
    }

    fn interrupted(&mut self) -> bool {
        if self
            .raised
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            return true;
        }
        call(&self.raised, |py| py.check_signals()).is_err()
    }
}

/// Runs `fit` without the GIL over the callbacks; a callback's exception wins over the engine's
/// error it caused.
fn run<R: Send>(
    py: Python<'_>,
    source: &mut PySource,
    monitor: &mut PyMonitor,
    fit: impl FnOnce(&mut PySource, &mut PyMonitor) -> gaussmix_core::Result<R> + Send,
) -> PyResult<R> {
    let result = py.detach(|| fit(source, monitor));
    if let Some(e) = source
        .raised
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(e);
    }
    result.map_err(value_err)
}

fn sources(
    initial_statistics: Py<PyAny>,
    e_step: Py<PyAny>,
    data_statistics: Option<Py<PyAny>>,
    progress: Option<Py<PyAny>>,
    phase: Option<Py<PyAny>>,
) -> (PySource, PyMonitor) {
    let raised: Raised = Arc::new(Mutex::new(None));
    (
        PySource {
            initial: initial_statistics,
            e_step,
            data: data_statistics,
            raised: raised.clone(),
        },
        PyMonitor {
            progress,
            phase,
            raised,
        },
    )
}

/// A Gaussian mixture fitted by the engine's driver over statistics the callbacks compute (see
/// the module docs). Parameters as `gmm_fit` (without the data's: `on_degenerate` is "error");
/// `warm_start` is the previous model's dict. Returns the model dict.
#[pyfunction]
#[pyo3(signature = (n_features, initial_statistics, e_step, *, n_components,
    covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1,
    init_params="kmeans", weights_init=None, means_init=None, precisions_init=None,
    warm_start=None, progress=None, phase=None))]
pub(crate) fn gmm_fit_source<'py>(
    py: Python<'py>,
    n_features: usize,
    initial_statistics: Py<PyAny>,
    e_step: Py<PyAny>,
    n_components: usize,
    covariance_type: &str,
    tol: f64,
    reg_covar: f64,
    max_iter: usize,
    n_init: usize,
    init_params: &str,
    weights_init: Option<&Bound<'py, PyAny>>,
    means_init: Option<&Bound<'py, PyAny>>,
    precisions_init: Option<&Bound<'py, PyAny>>,
    warm_start: Option<&Bound<'py, PyDict>>,
    progress: Option<Py<PyAny>>,
    phase: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let flat = |v: Option<&Bound<'py, PyAny>>, what| -> PyResult<Option<Vec<f64>>> {
        v.map(|v| f64_array(v, what).map(|a| a.0)).transpose()
    };
    let previous = warm_start
        .map(|d| model_from_dict(d, Stored::PrecisionsCholesky))
        .transpose()?;
    let mut gm = GaussianMixture::new(n_components)
        .covariance_type(covariance_type.parse().map_err(value_err)?)
        .tol(tol)
        .reg_covar(reg_covar)
        .max_iter(max_iter)
        .n_init(n_init)
        .init_params(init_params.parse::<InitParams>().map_err(value_err)?)
        .on_degenerate(OnDegenerate::Error)
        .warm_start(previous.is_some());
    gm.weights_init = flat(weights_init, "weights_init")?;
    gm.means_init = flat(means_init, "means_init")?;
    gm.precisions_init = flat(precisions_init, "precisions_init")?;
    gm.check().map_err(value_err)?;
    let (mut source, mut monitor) = sources(initial_statistics, e_step, None, progress, phase);
    let model = run(py, &mut source, &mut monitor, |s, m| {
        gm.fit_source(n_features, s, previous.as_ref(), Some(m))
    })?;
    model_dict(py, &model)
}

/// A variational Bayesian mixture fitted by the engine's driver over statistics the callbacks
/// compute (see the module docs): parameters as `bgmm_fit`; `data_statistics` is needed unless
/// `mean_prior` and `covariance_prior` are given. Returns the Bayesian model dict.
#[pyfunction]
#[pyo3(signature = (n_features, initial_statistics, e_step, data_statistics=None, *,
    n_components, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1,
    init_params="kmeans", weight_concentration_prior_type="dirichlet_process",
    weight_concentration_prior=None, mean_precision_prior=None, mean_prior=None,
    degrees_of_freedom_prior=None, covariance_prior=None, warm_start=None, progress=None,
    phase=None))]
pub(crate) fn bgmm_fit_source<'py>(
    py: Python<'py>,
    n_features: usize,
    initial_statistics: Py<PyAny>,
    e_step: Py<PyAny>,
    data_statistics: Option<Py<PyAny>>,
    n_components: usize,
    covariance_type: &str,
    tol: f64,
    reg_covar: f64,
    max_iter: usize,
    n_init: usize,
    init_params: &str,
    weight_concentration_prior_type: &str,
    weight_concentration_prior: Option<f64>,
    mean_precision_prior: Option<f64>,
    mean_prior: Option<&Bound<'py, PyAny>>,
    degrees_of_freedom_prior: Option<f64>,
    covariance_prior: Option<&Bound<'py, PyAny>>,
    warm_start: Option<&Bound<'py, PyDict>>,
    progress: Option<Py<PyAny>>,
    phase: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut b = estimator(
        n_components,
        covariance_type,
        tol,
        reg_covar,
        max_iter,
        n_init,
        init_params,
        weight_concentration_prior_type,
        weight_concentration_prior,
        mean_precision_prior,
        mean_prior,
        degrees_of_freedom_prior,
        covariance_prior,
        0,
    )?;
    let previous = warm_start.map(bayes_from_dict).transpose()?;
    b.warm_start = previous.is_some();
    let (mut source, mut monitor) =
        sources(initial_statistics, e_step, data_statistics, progress, phase);
    let model = run(py, &mut source, &mut monitor, |s, m| {
        b.fit_source(n_features, s, previous.as_ref(), Some(m))
    })?;
    bayes_dict(py, &model)
}
