//! The variational Bayesian Gaussian mixture (scikit-learn's `BayesianGaussianMixture`): fit
//! and the model dict.
//!
//! A Bayesian model crosses the boundary as a dict of every attribute scikit-learn fits (under
//! its names without the trailing underscore): the Gaussian ones of a mixture's dict (see
//! `gmm.rs`), `weight_concentration_prior_type`, `weight_concentration` (a pair of arrays for
//! the Dirichlet process, one array for the Dirichlet distribution), `mean_precision`,
//! `degrees_of_freedom` (a number for tied), the priors `weight_concentration_prior`,
//! `mean_precision_prior`, `mean_prior`, `degrees_of_freedom_prior`, `covariance_prior` (a
//! number for spherical), and `variational_constants`: the per-component constants of its
//! E-step, which a mixture dict carrying them uses instead of `log w_k` (predictions, and the
//! statistics a distributed fit computes on its workers).

use gaussmix_core::{
    BayesianGaussianMixture, BayesianGaussianMixtureModel, BayesianParts, CovarianceType,
    InitParams, WeightConcentration, WeightConcentrationPriorType,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::convert::{array, f64_array, f64_array_shaped, labels, optional, required, value_err};
use crate::gmm::model_dict;
use crate::input::{self, input, weighted, with_view};
use crate::threads::{Threads, interruptible};

fn number(d: &Bound<'_, PyDict>, key: &str) -> PyResult<f64> {
    let v = required(d, key, "the model")?;
    let (x, shape) = f64_array(&v, key)?;
    if x.len() != 1 || shape.len() > 1 {
        return Err(PyValueError::new_err(format!(
            "{key} must be a number, got an array of shape {shape:?}"
        )));
    }
    Ok(x[0])
}

/// The covariance prior's shape for a type: `(d, d)`, `(d,)`, or a number (`[]`).
fn prior_shape(t: CovarianceType, d: usize) -> Vec<usize> {
    match t {
        CovarianceType::Full | CovarianceType::Tied => vec![d, d],
        CovarianceType::Diag => vec![d],
        CovarianceType::Spherical => vec![],
    }
}

/// A Bayesian model from its dict, checked by the engine (`BayesianGaussianMixtureModel::from_parts`:
/// shapes, positive concentrations and precisions, degrees of freedom above `d - 1`,
/// covariances that factorise, priors of the right shapes). Its weights are those its
/// concentrations give; a `weights` entry is not read.
pub(crate) fn bayes_from_dict(d: &Bound<'_, PyDict>) -> PyResult<BayesianGaussianMixtureModel> {
    let what = "the model";
    let t: CovarianceType = required(d, "covariance_type", what)?
        .extract::<String>()?
        .parse()
        .map_err(value_err)?;
    let prior_type: WeightConcentrationPriorType =
        required(d, "weight_concentration_prior_type", what)?
            .extract::<String>()?
            .parse()
            .map_err(value_err)?;
    let (means, ms) = f64_array(&required(d, "means", what)?, "means")?;
    if ms.len() != 2 || ms[0] == 0 || ms[1] == 0 {
        return Err(PyValueError::new_err(format!(
            "means has shape {}, expected (n_components, n_features) with both at least 1",
            crate::convert::shape_str(&ms)
        )));
    }
    let (k, nf) = (ms[0], ms[1]);
    let arr = |key: &str, shape: &[usize]| f64_array_shaped(&required(d, key, what)?, key, shape);
    let wc = required(d, "weight_concentration", what)?;
    let weight_concentration = match prior_type {
        WeightConcentrationPriorType::DirichletProcess => {
            let v = f64_array_shaped(&wc, "weight_concentration", &[2, k]).map_err(|_| {
                PyValueError::new_err(format!(
                    "weight_concentration of a Dirichlet process must be a pair of arrays of \
                     {k} values (alpha, beta)"
                ))
            })?;
            WeightConcentration::DirichletProcess {
                alpha: v[..k].to_vec(),
                beta: v[k..].to_vec(),
            }
        }
        WeightConcentrationPriorType::DirichletDistribution => {
            WeightConcentration::DirichletDistribution(f64_array_shaped(
                &wc,
                "weight_concentration",
                &[k],
            )?)
        }
    };
    let (dof, dof_shape) = f64_array(
        &required(d, "degrees_of_freedom", what)?,
        "degrees_of_freedom",
    )?;
    let dof_len = if t == CovarianceType::Tied { 1 } else { k };
    if dof.len() != dof_len || dof_shape.len() > 1 {
        return Err(PyValueError::new_err(format!(
            "degrees_of_freedom has shape {}, expected {}",
            crate::convert::shape_str(&dof_shape),
            if t == CovarianceType::Tied {
                "a number (tied)".to_string()
            } else {
                format!("({k},)")
            }
        )));
    }
    let (cp, cp_shape) = f64_array(&required(d, "covariance_prior", what)?, "covariance_prior")?;
    let want = prior_shape(t, nf);
    let cp_ok = cp_shape == want || (t == CovarianceType::Spherical && cp_shape == [1]);
    if !cp_ok {
        return Err(PyValueError::new_err(format!(
            "covariance_prior has shape {}, expected {} for {t} covariances",
            crate::convert::shape_str(&cp_shape),
            if want.is_empty() {
                "a number".to_string()
            } else {
                crate::convert::shape_str(&want)
            }
        )));
    }
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
    let parts = BayesianParts {
        covariance_type: t,
        n_components: k,
        n_features: nf,
        weight_concentration,
        mean_precision: arr("mean_precision", &[k])?,
        means,
        degrees_of_freedom: dof,
        covariances: arr("covariances", &t.covariances_shape(k, nf))?,
        weight_concentration_prior: number(d, "weight_concentration_prior")?,
        mean_precision_prior: number(d, "mean_precision_prior")?,
        mean_prior: arr("mean_prior", &[nf])?,
        degrees_of_freedom_prior: number(d, "degrees_of_freedom_prior")?,
        covariance_prior: cp,
        converged,
        n_iter,
        lower_bound,
        lower_bounds,
    };
    BayesianGaussianMixtureModel::from_parts(parts).map_err(value_err)
}

/// The dict of a Bayesian model: the mixture's dict (with `variational_constants`) and every
/// Bayesian attribute.
pub(crate) fn bayes_dict<'py>(
    py: Python<'py>,
    m: &BayesianGaussianMixtureModel,
) -> PyResult<Bound<'py, PyDict>> {
    let out = model_dict(py, m.mixture())?;
    let p = m.to_parts();
    let (k, d, t) = (p.n_components, p.n_features, p.covariance_type);
    out.set_item(
        "weight_concentration_prior_type",
        m.weight_concentration_prior_type().as_str(),
    )?;
    match p.weight_concentration {
        WeightConcentration::DirichletProcess { alpha, beta } => out.set_item(
            "weight_concentration",
            PyTuple::new(py, [array(py, alpha, &[k])?, array(py, beta, &[k])?])?,
        )?,
        WeightConcentration::DirichletDistribution(a) => {
            out.set_item("weight_concentration", array(py, a, &[k])?)?
        }
    }
    out.set_item("mean_precision", array(py, p.mean_precision, &[k])?)?;
    if t == CovarianceType::Tied {
        out.set_item("degrees_of_freedom", p.degrees_of_freedom[0])?;
    } else {
        out.set_item("degrees_of_freedom", array(py, p.degrees_of_freedom, &[k])?)?;
    }
    out.set_item("weight_concentration_prior", p.weight_concentration_prior)?;
    out.set_item("mean_precision_prior", p.mean_precision_prior)?;
    out.set_item("mean_prior", array(py, p.mean_prior, &[d])?)?;
    out.set_item("degrees_of_freedom_prior", p.degrees_of_freedom_prior)?;
    if t == CovarianceType::Spherical {
        out.set_item("covariance_prior", p.covariance_prior[0])?;
    } else {
        out.set_item(
            "covariance_prior",
            array(py, p.covariance_prior, &prior_shape(t, d))?,
        )?;
    }
    Ok(out)
}

/// The estimator from its parameters (the priors left `None` come from the data).
#[allow(clippy::too_many_arguments)]
pub(crate) fn estimator(
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
    mean_prior: Option<&Bound<'_, PyAny>>,
    degrees_of_freedom_prior: Option<f64>,
    covariance_prior: Option<&Bound<'_, PyAny>>,
    seed: u64,
) -> PyResult<BayesianGaussianMixture> {
    let flat = |v: Option<&Bound<'_, PyAny>>, what| -> PyResult<Option<Vec<f64>>> {
        v.filter(|v| !v.is_none())
            .map(|v| f64_array(v, what).map(|a| a.0))
            .transpose()
    };
    let mut b = BayesianGaussianMixture::new(n_components)
        .covariance_type(covariance_type.parse().map_err(value_err)?)
        .tol(tol)
        .reg_covar(reg_covar)
        .max_iter(max_iter)
        .n_init(n_init)
        .init_params(init_params.parse::<InitParams>().map_err(value_err)?)
        .weight_concentration_prior_type(
            weight_concentration_prior_type.parse().map_err(value_err)?,
        )
        .seed(seed);
    b.weight_concentration_prior = weight_concentration_prior;
    b.mean_precision_prior = mean_precision_prior;
    b.degrees_of_freedom_prior = degrees_of_freedom_prior;
    b.mean_prior = flat(mean_prior, "mean_prior")?;
    b.covariance_prior = flat(covariance_prior, "covariance_prior")?;
    b.check().map_err(value_err)?;
    Ok(b)
}

/// Fits a variational Bayesian Gaussian mixture (the GIL is released during the fit).
///
/// Returns the Bayesian model dict (see the module docs) plus `convergence_warning` and, with
/// `return_labels`, `labels` (the final E-step's labels). `warm_start` is the previous model's
/// dict: the fit continues from it (one run). `sample_weight` weighs the rows;
/// `init_labels` (one component per row) starts every run from their one-hot
/// responsibilities instead of `init_params`' choice.
#[pyfunction]
#[pyo3(signature = (x, *, n_components, covariance_type="full", tol=1e-3, reg_covar=1e-6,
    max_iter=100, n_init=1, init_params="kmeans",
    weight_concentration_prior_type="dirichlet_process", weight_concentration_prior=None,
    mean_precision_prior=None, mean_prior=None, degrees_of_freedom_prior=None,
    covariance_prior=None, warm_start=None, seed=0, n_threads=None, return_labels=false,
    sample_weight=None, init_labels=None))]
pub(crate) fn bgmm_fit<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
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
    seed: u64,
    n_threads: Option<usize>,
    return_labels: bool,
    sample_weight: Option<&Bound<'py, PyAny>>,
    init_labels: Option<&Bound<'py, PyAny>>,
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
        seed,
    )?;
    let previous = warm_start.map(bayes_from_dict).transpose()?;
    b.warm_start = previous.is_some();
    b.init_labels = input::init_labels(init_labels)?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let w = input::sample_weight(sample_weight, data.n_samples())?;
    let (model, labels_out) = with_view!(data, v => {
        let v = weighted(v, w.as_deref())?;
        interruptible(py, &threads, |monitor| {
            let model = b.fit_with(v, previous.as_ref(), Some(monitor))?;
            let labels = if return_labels { Some(model.predict(v)?) } else { None };
            Ok((model, labels))
        })
    })?;
    let out = bayes_dict(py, &model)?;
    if let Some(l) = labels_out {
        out.set_item("labels", labels(py, l))?;
    }
    Ok(out)
}

/// Checks a Bayesian model dict (see `bayes_from_dict`) and returns it complete: the weights
/// its concentrations give, the precision Cholesky factors of its covariances, its
/// variational constants.
#[pyfunction]
pub(crate) fn bgmm_check<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    bayes_dict(py, &bayes_from_dict(model)?)
}
