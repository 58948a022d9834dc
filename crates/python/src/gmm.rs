//! Gaussian mixtures: fit, predictions, sampling, and the sufficient-statistics API.
//!
//! A model crosses the boundary as a dict (`covariance_type`, `weights`, `means`,
//! `precisions_cholesky` and/or `covariances`, optional fit information): the Python estimators
//! keep their fitted attributes as NumPy arrays (picklable, editable as in scikit-learn) and pass
//! them back for every prediction.

use gaussmix_core::{
    CovarianceType, GaussianMixture, GaussianMixtureModel, InitParams, OnDegenerate, Precision,
    StatsParts, SufficientStats,
};
use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::convert::{
    array, f64_array, f64_array_shaped, labels, optional, required, shape_str, value_err,
};
use crate::input::{self, input, weighted, with_view};
use crate::threads::{Threads, interruptible};

fn covariance_type(s: &str) -> PyResult<CovarianceType> {
    s.parse().map_err(value_err)
}

fn covariance_type_of(d: &Bound<'_, PyDict>, what: &str) -> PyResult<CovarianceType> {
    covariance_type(&required(d, "covariance_type", what)?.extract::<String>()?)
}

/// Which stored form a model is rebuilt from.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Source {
    /// `precisions_cholesky` if present (what predictions use, bit for bit as fitted), else
    /// `covariances`.
    PrecisionsCholesky,
    /// `covariances` if present (what sampling uses, as scikit-learn), else
    /// `precisions_cholesky`.
    Covariances,
}

/// A model from its dict, checked by the engine.
pub(crate) fn model_from_dict(
    d: &Bound<'_, PyDict>,
    source: Source,
) -> PyResult<GaussianMixtureModel> {
    let what = "the model";
    let t = covariance_type_of(d, what)?;
    let (means, ms) = f64_array(&required(d, "means", what)?, "means")?;
    if ms.len() != 2 || ms[0] == 0 || ms[1] == 0 {
        return Err(PyValueError::new_err(format!(
            "means has shape {}, expected (n_components, n_features) with both at least 1",
            shape_str(&ms)
        )));
    }
    let (k, nf) = (ms[0], ms[1]);
    let weights = f64_array_shaped(&required(d, "weights", what)?, "weights", &[k])?;
    let shape = t.covariances_shape(k, nf);
    let pc = optional(d, "precisions_cholesky")?;
    let cov = optional(d, "covariances")?;
    let use_pc = match (source, &pc, &cov) {
        (_, Some(_), None) => true,
        (_, None, Some(_)) => false,
        (Source::PrecisionsCholesky, Some(_), Some(_)) => true,
        (Source::Covariances, Some(_), Some(_)) => false,
        (_, None, None) => {
            return Err(PyValueError::new_err(
                "the model needs \"precisions_cholesky\" or \"covariances\"",
            ));
        }
    };
    let model = if use_pc {
        let v = f64_array_shaped(pc.as_ref().unwrap(), "precisions_cholesky", &shape)?;
        GaussianMixtureModel::from_precisions_cholesky(t, k, nf, weights, means, v)
    } else {
        let v = f64_array_shaped(cov.as_ref().unwrap(), "covariances", &shape)?;
        GaussianMixtureModel::from_covariances(t, k, nf, weights, means, v)
    }
    .map_err(value_err)?;
    let converged = match optional(d, "converged")? {
        Some(v) => v.extract::<bool>().map_err(|_| {
            PyValueError::new_err(format!("\"converged\" must be true or false, got {v}"))
        })?,
        None => false,
    };
    let n_iter: usize = match optional(d, "n_iter")? {
        Some(v) => v.extract().map_err(|_| {
            PyValueError::new_err(format!(
                "\"n_iter\" must be an integer from 0 to {}, got {v}",
                usize::MAX
            ))
        })?,
        None => 0,
    };
    let lower_bound: f64 = match optional(d, "lower_bound")? {
        Some(v) => v.extract().map_err(|_| {
            PyValueError::new_err(format!("\"lower_bound\" must be a number, got {v}"))
        })?,
        None => f64::NEG_INFINITY,
    };
    let lower_bounds = match optional(d, "lower_bounds")? {
        Some(v) => f64_array(&v, "lower_bounds")?.0,
        None => Vec::new(),
    };
    let model = model.with_fit_info(converged, n_iter, lower_bound, lower_bounds);
    match optional(d, "variational_constants")? {
        // A variational (Bayesian) mixture's E-step: its constants replace log w_k.
        Some(v) => {
            let (c, _) = f64_array(&v, "variational_constants")?;
            model.with_variational_constants(c).map_err(value_err)
        }
        None => Ok(model),
    }
}

/// The dict of a model: every fitted array with scikit-learn's names (without the trailing
/// underscore) and shapes.
pub(crate) fn model_dict<'py>(
    py: Python<'py>,
    m: &GaussianMixtureModel,
) -> PyResult<Bound<'py, PyDict>> {
    let (k, d, t) = (m.n_components(), m.n_features(), m.covariance_type());
    let shape = t.covariances_shape(k, d);
    let out = PyDict::new(py);
    out.set_item("covariance_type", t.as_str())?;
    out.set_item("n_components", k)?;
    out.set_item("n_features", d)?;
    out.set_item("weights", array(py, m.weights().to_vec(), &[k])?)?;
    out.set_item("means", array(py, m.means().to_vec(), &[k, d])?)?;
    out.set_item("covariances", array(py, m.covariances().to_vec(), &shape)?)?;
    out.set_item(
        "precisions_cholesky",
        array(py, m.precisions_cholesky().to_vec(), &shape)?,
    )?;
    out.set_item("precisions", array(py, m.precisions(), &shape)?)?;
    out.set_item("converged", m.converged())?;
    out.set_item("n_iter", m.n_iter())?;
    out.set_item("lower_bound", m.lower_bound())?;
    out.set_item(
        "lower_bounds",
        array(py, m.lower_bounds().to_vec(), &[m.lower_bounds().len()])?,
    )?;
    out.set_item("convergence_warning", m.convergence_warning())?;
    let reseeds = PyList::empty(py);
    for r in m.reseeds() {
        reseeds.append(PyTuple::new(py, [r.iteration, r.component, r.row])?)?;
    }
    out.set_item("reseeds", reseeds)?;
    if let Some(c) = m.variational_constants() {
        out.set_item("variational_constants", array(py, c.to_vec(), &[k])?)?;
    }
    Ok(out)
}

/// Fits a Gaussian mixture (the GIL is released during the fit).
///
/// Returns the model dict (see `gmm_check`) plus `convergence_warning` (the text of
/// scikit-learn's ConvergenceWarning, or None), `reseeds` (a list of (iteration, component,
/// row)) and, with `return_labels`, `labels` (the final E-step's labels, as `fit_predict`).
/// `warm_start` is the previous model's dict: EM continues from it (one run).
#[pyfunction]
#[pyo3(signature = (x, *, n_components, covariance_type="full", tol=1e-3, reg_covar=1e-6,
    max_iter=100, n_init=1, init_params="kmeans", weights_init=None, means_init=None,
    precisions_init=None, warm_start=None, seed=0, n_threads=None, on_degenerate="error",
    return_labels=false, sample_weight=None, init_labels=None, precision="auto"))]
pub(crate) fn gmm_fit<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
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
    seed: u64,
    n_threads: Option<usize>,
    on_degenerate: &str,
    return_labels: bool,
    sample_weight: Option<&Bound<'py, PyAny>>,
    init_labels: Option<&Bound<'py, PyAny>>,
    precision: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let t = self::covariance_type(covariance_type)?;
    let precision: Precision = precision.parse().map_err(value_err)?;
    let init: InitParams = init_params.parse().map_err(value_err)?;
    let policy: OnDegenerate = on_degenerate.parse().map_err(value_err)?;
    let flat = |v: Option<&Bound<'py, PyAny>>, what| -> PyResult<Option<Vec<f64>>> {
        v.map(|v| f64_array(v, what).map(|a| a.0)).transpose()
    };
    let previous = warm_start
        .map(|d| model_from_dict(d, Source::PrecisionsCholesky))
        .transpose()?;
    let mut gm = GaussianMixture::new(n_components)
        .covariance_type(t)
        .tol(tol)
        .reg_covar(reg_covar)
        .max_iter(max_iter)
        .n_init(n_init)
        .init_params(init)
        .seed(seed)
        .on_degenerate(policy)
        .precision(precision)
        .warm_start(previous.is_some());
    gm.weights_init = flat(weights_init, "weights_init")?;
    gm.means_init = flat(means_init, "means_init")?;
    gm.precisions_init = flat(precisions_init, "precisions_init")?;
    gm.init_labels = input::init_labels(init_labels)?;
    gm.check().map_err(value_err)?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let w = input::sample_weight(sample_weight, data.n_samples())?;
    let (model, labels_out) = with_view!(data, v => {
        let v = weighted(v, w.as_deref())?;
        interruptible(py, &threads, |monitor| {
            let model = gm.fit_with(v, previous.as_ref(), Some(monitor))?;
            let labels = if return_labels { Some(model.predict(v)?) } else { None };
            Ok((model, labels))
        })
    })?;
    let out = model_dict(py, &model)?;
    if let Some(l) = labels_out {
        out.set_item("labels", labels(py, l))?;
    }
    Ok(out)
}

/// Checks a model dict and returns it complete: `covariance_type` and `means` `(K, d)`,
/// `weights` `(K,)`, and `precisions_cholesky` or `covariances` (both computed from whichever
/// is given; `precisions_cholesky` is preferred when both are), with fit information
/// (`converged`, `n_iter`, `lower_bound`, `lower_bounds`) carried over.
#[pyfunction]
#[pyo3(signature = (model, prefer="precisions_cholesky"))]
pub(crate) fn gmm_check<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    prefer: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let source = match prefer {
        "precisions_cholesky" => Source::PrecisionsCholesky,
        "covariances" => Source::Covariances,
        _ => {
            return Err(PyValueError::new_err(
                "prefer must be \"precisions_cholesky\" or \"covariances\"",
            ));
        }
    };
    model_dict(py, &model_from_dict(model, source)?)
}

/// What a prediction computes.
#[derive(Clone, Copy)]
enum Output {
    Labels,
    Proba,
    ScoreSamples,
}

fn predict_any<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    x: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
    what: Output,
) -> PyResult<Bound<'py, PyAny>> {
    let m = model_from_dict(model, Source::PrecisionsCholesky)?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    enum Out {
        L(Vec<usize>),
        F(Vec<f64>),
    }
    let out = with_view!(data, v => {
        py.detach(|| {
            threads.run(|| -> gaussmix_core::Result<Out> {
                Ok(match what {
                    Output::Labels => Out::L(m.predict(v)?),
                    Output::Proba => {
                        let mut p = m.predict_proba(v)?;
                        nan_rows_without_mass(&mut p, m.n_components());
                        Out::F(p)
                    }
                    Output::ScoreSamples => Out::F(m.score_samples(v)?),
                })
            })
        })
    })
    .map_err(value_err)?;
    let n = data.n_samples();
    match out {
        Out::L(l) => Ok(labels(py, l)),
        Out::F(f) => match what {
            Output::Proba => array(py, f, &[n, m.n_components()]),
            _ => array(py, f, &[n]),
        },
    }
}

/// Sets to NaN each row of `proba` (`k` per row) whose probabilities do not sum to about 1.
///
/// The engine gives a row of zeros for a row whose likelihood is 0 under every component (its
/// log-likelihood `-inf`: an extreme row such as `[-1e300, 1e300, 0]`); scikit-learn's rows
/// are NaN there (`exp(-inf - -inf)`), and a row of probabilities must sum to 1 or say that it
/// cannot.
fn nan_rows_without_mass(proba: &mut [f64], k: usize) {
    for row in proba.chunks_exact_mut(k) {
        let total: f64 = row.iter().sum();
        if total.is_nan() || (total - 1.0).abs() > 1e-6 {
            row.fill(f64::NAN);
        }
    }
}

/// Label of the most probable component of each row, int64 `(n_samples,)`.
#[pyfunction]
#[pyo3(signature = (model, x, n_threads=None))]
pub(crate) fn gmm_predict<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    x: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    predict_any(py, model, x, n_threads, Output::Labels)
}

/// Posterior probability of each component, float64 `(n_samples, n_components)`.
#[pyfunction]
#[pyo3(signature = (model, x, n_threads=None))]
pub(crate) fn gmm_predict_proba<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    x: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    predict_any(py, model, x, n_threads, Output::Proba)
}

/// Log-likelihood of each row, float64 `(n_samples,)`.
#[pyfunction]
#[pyo3(signature = (model, x, n_threads=None))]
pub(crate) fn gmm_score_samples<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    x: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    predict_any(py, model, x, n_threads, Output::ScoreSamples)
}

/// `(score, n)`: the (weighted) mean log-likelihood of the rows and their number (their total
/// weight with `sample_weight`), from which BIC and AIC follow.
#[pyfunction]
#[pyo3(signature = (model, x, sample_weight=None, n_threads=None))]
pub(crate) fn gmm_score<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    x: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
) -> PyResult<(f64, f64)> {
    let m = model_from_dict(model, Source::PrecisionsCholesky)?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let w = input::sample_weight(sample_weight, data.n_samples())?;
    with_view!(data, v => {
        let v = weighted(v, w.as_deref())?;
        py.detach(|| threads.run(|| m.score(v).map(|s| (s, v.total_weight()))))
    })
    .map_err(value_err)
}

/// Draws `n_samples` points from the model: `(X (n_samples, n_features), labels (n_samples,))`,
/// grouped by component as scikit-learn's `sample`.
///
/// A size whose output cannot be allocated (`n_samples × n_features` floats and `n_samples`
/// labels, or more than the address space) is a `MemoryError` naming `n_samples`, raised
/// before any drawing.
#[pyfunction]
#[pyo3(signature = (model, n_samples, seed=0))]
pub(crate) fn gmm_sample<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    n_samples: &Bound<'py, PyAny>,
    seed: u64,
) -> PyResult<Bound<'py, PyTuple>> {
    let m = model_from_dict(model, Source::Covariances)?;
    let n_samples: usize = match n_samples.extract() {
        Ok(n) => n,
        Err(_) if n_samples.gt(0)? => {
            return Err(PyMemoryError::new_err(format!(
                "sampling n_samples = {n_samples} points of {} features would need more \
                 memory than can be addressed; ask for less",
                m.n_features()
            )));
        }
        Err(_) => {
            return Err(PyValueError::new_err(format!(
                "invalid parameter n_samples: must be an integer >= 1, got {n_samples}"
            )));
        }
    };
    let (x, l) = py.detach(|| m.sample(n_samples, seed)).map_err(value_err)?;
    PyTuple::new(
        py,
        [array(py, x, &[n_samples, m.n_features()])?, labels(py, l)],
    )
}

/// The number of free parameters of a mixture.
#[pyfunction]
pub(crate) fn gmm_n_parameters(
    covariance_type: &str,
    n_components: usize,
    n_features: usize,
) -> PyResult<usize> {
    Ok(self::covariance_type(covariance_type)?.n_parameters(n_components, n_features))
}

/// The sufficient statistics of the rows of `x` under `model` (one E-step), as a dict of NumPy
/// arrays and scalars (see the package README).
///
/// With `sample_weight` (one per row) the statistics are weighted; a model dict with
/// `variational_constants` (a Bayesian mixture's E-step) gives the variational statistics,
/// with the responsibilities' entropy.
#[pyfunction]
#[pyo3(signature = (model, x, n_threads=None, sample_weight=None))]
pub(crate) fn sufficient_statistics<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
    x: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
    sample_weight: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let m = model_from_dict(model, Source::PrecisionsCholesky)?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let w = input::sample_weight(sample_weight, data.n_samples())?;
    let stats = with_view!(data, v => {
        let v = weighted(v, w.as_deref())?;
        py.detach(|| threads.run(|| m.sufficient_statistics(v)))
    })
    .map_err(value_err)?;
    stats_dict(py, &stats)
}

fn s2_shape(t: CovarianceType, k: usize, d: usize) -> Vec<usize> {
    match t {
        CovarianceType::Full => vec![k, d, d],
        CovarianceType::Tied => vec![d, d],
        CovarianceType::Diag | CovarianceType::Spherical => vec![k, d],
    }
}

pub(crate) fn stats_dict<'py>(
    py: Python<'py>,
    s: &SufficientStats,
) -> PyResult<Bound<'py, PyDict>> {
    let p = s.to_parts();
    let (k, d, t) = (p.n_components, p.n_features, p.covariance_type);
    let out = PyDict::new(py);
    out.set_item("format", "gaussmix-sufficient-statistics")?;
    out.set_item("version", 1)?;
    out.set_item("covariance_type", t.as_str())?;
    out.set_item("n_components", k)?;
    out.set_item("n_features", d)?;
    out.set_item("n_samples", p.n_samples)?;
    out.set_item("weight", p.weight)?;
    out.set_item("log_likelihood", p.log_likelihood)?;
    out.set_item("entropy", p.entropy)?;
    out.set_item("shift", array(py, p.shift, &[k, d])?)?;
    out.set_item("center", array(py, p.center, &[d])?)?;
    out.set_item("nk", array(py, p.nk, &[k])?)?;
    out.set_item("s1", array(py, p.s1, &[k, d])?)?;
    out.set_item("s2", array(py, p.s2, &s2_shape(t, k, d))?)?;
    let t1 = p.t1.len();
    out.set_item("t1", array(py, p.t1, &[t1])?)?;
    Ok(out)
}

pub(crate) fn stats_from_dict(d: &Bound<'_, PyDict>) -> PyResult<SufficientStats> {
    let what = "the statistics";
    if let Some(f) = optional(d, "format")? {
        let f: String = f.extract()?;
        if f != "gaussmix-sufficient-statistics" {
            return Err(PyValueError::new_err(format!(
                "\"format\" is {f:?}, expected \"gaussmix-sufficient-statistics\""
            )));
        }
    }
    if let Some(v) = optional(d, "version")? {
        let v: i64 = v.extract()?;
        if v != 1 {
            return Err(PyValueError::new_err(format!(
                "unsupported statistics version {v} (this gaussmix reads version 1)"
            )));
        }
    }
    let t = covariance_type_of(d, what)?;
    let k: usize = required(d, "n_components", what)?.extract()?;
    let nf: usize = required(d, "n_features", what)?.extract()?;
    let arr = |key: &str, shape: &[usize]| -> PyResult<Vec<f64>> {
        f64_array_shaped(&required(d, key, what)?, key, shape)
    };
    let t1_len = if t == CovarianceType::Tied { nf } else { 0 };
    let n_samples: u64 = required(d, "n_samples", what)?.extract()?;
    let parts = StatsParts {
        covariance_type: t,
        n_components: k,
        n_features: nf,
        shift: arr("shift", &[k, nf])?,
        center: arr("center", &[nf])?,
        n_samples,
        // Statistics without these keys (written before sample weights) weigh each row 1.
        weight: match optional(d, "weight")? {
            Some(w) => w.extract()?,
            None => n_samples as f64,
        },
        log_likelihood: required(d, "log_likelihood", what)?.extract()?,
        entropy: match optional(d, "entropy")? {
            Some(e) => e.extract()?,
            None => 0.0,
        },
        nk: arr("nk", &[k])?,
        s1: arr("s1", &[k, nf])?,
        s2: arr("s2", &s2_shape(t, k, nf))?,
        t1: arr("t1", &[t1_len])?,
    };
    SufficientStats::from_parts(parts).map_err(value_err)
}

/// The sum of two sets of statistics computed under the same model.
#[pyfunction]
pub(crate) fn merge_statistics<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyDict>,
    b: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut s = stats_from_dict(a)?;
    s.merge(&stats_from_dict(b)?).map_err(value_err)?;
    stats_dict(py, &s)
}

/// The M-step: the next model from (merged) statistics, as a model dict whose `lower_bound` is
/// the statistics' mean log-likelihood (the lower bound of the EM iteration that produced
/// them) and whose `n_iter` is 0.
#[pyfunction]
#[pyo3(signature = (stats, reg_covar=1e-6))]
pub(crate) fn m_step<'py>(
    py: Python<'py>,
    stats: &Bound<'py, PyDict>,
    reg_covar: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let s = stats_from_dict(stats)?;
    let m = GaussianMixtureModel::m_step(&s, reg_covar).map_err(value_err)?;
    let lb = s.mean_log_likelihood();
    let m = m.with_fit_info(false, 0, lb, Vec::new());
    model_dict(py, &m)
}
