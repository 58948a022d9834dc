//! k-means: fit, and predictions from given centres.

use gaussmix_core::{KMeans, KMeansInit, KMeansModel, Precision};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{array, f64_array, labels, shape_str, value_err};
use crate::input::{self, input, weighted, with_view};
use crate::threads::{Threads, interruptible};

/// Centres `(K, d)` from a Python array.
fn centers(c: &Bound<'_, PyAny>) -> PyResult<(Vec<f64>, usize, usize)> {
    let (v, s) = f64_array(c, "the centres")?;
    if s.len() != 2 {
        return Err(PyValueError::new_err(format!(
            "the centres have shape {}, expected (n_clusters, n_features)",
            shape_str(&s)
        )));
    }
    Ok((v, s[0], s[1]))
}

/// `"auto"` or `"f64"` as a [`Precision`].
fn precision(p: &str) -> PyResult<Precision> {
    p.parse().map_err(value_err)
}

/// Runs k-means (Lloyd; the GIL is released during the fit). `init` is `"k-means++"`,
/// `"random"` or an array of initial centres `(n_clusters, n_features)`; `precision` `"auto"`
/// computes float32 input in float32 arithmetic (Lloyd's passes), `"f64"` in float64.
///
/// Returns a dict: `cluster_centers` `(K, d)`, `labels` int64 `(n,)`, `inertia`, `n_iter`,
/// `converged`, `precision` (the arithmetic predictions should use: the fit's).
#[pyfunction]
#[pyo3(signature = (x, *, n_clusters, init=None, n_init=1, max_iter=300, tol=1e-4, seed=0,
    n_threads=None, sample_weight=None, precision="auto"))]
pub(crate) fn kmeans_fit<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_clusters: usize,
    init: Option<&Bound<'py, PyAny>>,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    n_threads: Option<usize>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    precision: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let p = self::precision(precision)?;
    let init = match init {
        None => KMeansInit::KMeansPlusPlus,
        Some(i) => match i.extract::<String>() {
            Ok(s) if s == "k-means++" => KMeansInit::KMeansPlusPlus,
            Ok(s) if s == "random" => KMeansInit::Random,
            Ok(s) => {
                return Err(PyValueError::new_err(format!(
                    "invalid parameter init: {s:?} is not one of \"k-means++\", \"random\" or an array of centres"
                )));
            }
            Err(_) => KMeansInit::Centers(centers(i)?.0),
        },
    };
    let km = KMeans::new(n_clusters)
        .init(init)
        .n_init(n_init)
        .max_iter(max_iter)
        .tol(tol)
        .seed(seed)
        .precision(p);
    km.check(None).map_err(value_err)?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let w = input::sample_weight(sample_weight, data.n_samples())?;
    let d = with_view!(data, v => v.n_features());
    let model = with_view!(data, v => {
        let v = weighted(v, w.as_deref())?;
        interruptible(py, &threads, |monitor| km.fit_with(v, Some(monitor)))
    })?;
    let out = PyDict::new(py);
    out.set_item(
        "cluster_centers",
        array(py, model.centers().to_vec(), &[n_clusters, d])?,
    )?;
    out.set_item("labels", labels(py, model.labels().to_vec()))?;
    out.set_item("inertia", model.inertia())?;
    out.set_item("n_iter", model.n_iter())?;
    out.set_item("converged", model.converged())?;
    out.set_item("precision", model.precision().name())?;
    Ok(out)
}

fn model(c: &Bound<'_, PyAny>, precision: &str) -> PyResult<KMeansModel> {
    let p = self::precision(precision)?;
    let (v, k, d) = centers(c)?;
    Ok(KMeansModel::from_centers(v, k, d)
        .map_err(value_err)?
        .with_precision(p))
}

/// Index of the nearest centre for each row, int64 `(n_samples,)`.
#[pyfunction]
#[pyo3(signature = (centers, x, n_threads=None, precision="auto"))]
pub(crate) fn kmeans_predict<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
    precision: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let m = model(centers, precision)?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let l = with_view!(data, v => py.detach(|| threads.run(|| m.predict(v)))).map_err(value_err)?;
    Ok(labels(py, l))
}

/// Euclidean distance of each row to each centre, float64 `(n_samples, n_clusters)`.
#[pyfunction]
#[pyo3(signature = (centers, x, n_threads=None, precision="auto"))]
pub(crate) fn kmeans_transform<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
    precision: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let m = model(centers, precision)?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let t =
        with_view!(data, v => py.detach(|| threads.run(|| m.transform(v)))).map_err(value_err)?;
    array(py, t, &[data.n_samples(), m.n_clusters()])
}

/// Sum of squared distances of the rows to their nearest centres (weighted by
/// `sample_weight`: `Σ w ‖x - c‖²`).
#[pyfunction]
#[pyo3(signature = (centers, x, n_threads=None, sample_weight=None, precision="auto"))]
pub(crate) fn kmeans_inertia<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    precision: &str,
) -> PyResult<f64> {
    let m = model(centers, precision)?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let w = input::sample_weight(sample_weight, data.n_samples())?;
    with_view!(data, v => {
        let v = weighted(v, w.as_deref())?;
        py.detach(|| threads.run(|| m.inertia_of(v)))
    })
    .map_err(value_err)
}
