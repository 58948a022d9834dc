//! Per-chunk kernels for distributed fits (`gaussmix.dask`): what one worker computes on its
//! chunk of rows in one pass, returned as small arrays that merge by addition.
//!
//! - `kmeans_partial`: one Lloyd pass under given centres: per-cluster sums and counts of the
//!   chunk's rows, the inertia and a fingerprint of the labels;
//! - `kmeans_farthest`: the rows farthest from their nearest centre (empty-cluster relocation);
//! - `column_moments`: per-feature count, mean and centred sum of squares;
//! - `responsibility_statistics`: sufficient statistics (the `gaussmix.stats` layout) of rows
//!   under *given* responsibilities (hard labels or a soft matrix) instead of an E-step: the
//!   initialisation of a mixture.
//!
//! The arithmetic is the engine's (`KMeansModel::lloyd_pass`, `KMeansModel::farthest_rows`,
//! `SufficientStats::from_responsibilities`), so a chunk's results are bit-identical for any
//! number of threads and computed exactly as an in-memory fit computes them.

use gaussmix_core::{CovarianceType, Float, KMeansModel, Responsibilities, SufficientStats};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;

use crate::convert::{array, f64_array, shape_str, value_err};
use crate::gmm::stats_dict;
use crate::input::{self, input, weighted, with_view};
use crate::threads::Threads;

/// Rows per segment: a constant of the computation, never derived from the thread count.
const SEGMENT_ROWS: usize = 1 << 15;

/// `f(start, end)` on every segment of `0..n`, in parallel, results in segment order.
fn segments<R: Send>(n: usize, f: impl Fn(usize, usize) -> R + Sync) -> Vec<R> {
    let m = n.div_ceil(SEGMENT_ROWS);
    (0..m)
        .into_par_iter()
        .map(|s| f(s * SEGMENT_ROWS, ((s + 1) * SEGMENT_ROWS).min(n)))
        .collect()
}

fn add_into(a: &mut [f64], b: &[f64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// `numpy.asarray(obj, dtype=int64)` as a flat vector with its shape.
fn i64_array(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<i64>, Vec<usize>)> {
    let np = obj.py().import("numpy")?;
    let a = np
        .call_method1("asarray", (obj, "int64"))
        .map_err(|e| PyValueError::new_err(format!("{what} is not an array of integers: {e}")))?;
    let a = a
        .call_method0("ravel")?
        .cast_into::<PyArray1<i64>>()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let shape: Vec<usize> = np
        .call_method1("shape", (obj,))?
        .extract()
        .unwrap_or_default();
    let ro = a
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("{what} cannot be read: {e}")))?;
    Ok((ro.as_array().iter().copied().collect(), shape))
}

fn centers_model(c: &Bound<'_, PyAny>) -> PyResult<KMeansModel> {
    let (v, s) = f64_array(c, "the centres")?;
    if s.len() != 2 {
        return Err(PyValueError::new_err(format!(
            "the centres have shape {}, expected (n_clusters, n_features)",
            shape_str(&s)
        )));
    }
    KMeansModel::from_centers(v, s[0], s[1]).map_err(value_err)
}

/// One Lloyd pass over a chunk under `centers` (see the module docs), with `sample_weight`
/// (one per row) weighted as the in-memory k-means weighs: per-cluster weighted sums, the
/// clusters' weights as `counts`, the weighted inertia. A chunk whose weights are all zero
/// contributes only its labels' fingerprint (its rows are labelled as any others).
#[pyfunction]
#[pyo3(signature = (centers, x, offset, n_threads=None, sample_weight=None))]
pub(crate) fn kmeans_partial<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    offset: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
    sample_weight: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let model = centers_model(centers)?;
    let (k, d) = (model.n_clusters(), model.n_features());
    let off = offset_array(offset, d)?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let w = input::sample_weight(sample_weight, data.n_samples())?;
    let nothing = input::all_zero(w.as_deref());
    let mut pass = with_view!(data, v => {
        let v = if nothing { v } else { weighted(v, w.as_deref())? };
        py.detach(|| threads.run(|| model.lloyd_pass(v, &off)))
    })
    .map_err(value_err)?;
    if nothing {
        pass.sums.fill(0.0);
        pass.counts.fill(0.0);
        pass.inertia = 0.0;
    }
    let dict = PyDict::new(py);
    dict.set_item("n_samples", pass.n_samples)?;
    dict.set_item("counts", array(py, pass.counts, &[k])?)?;
    dict.set_item("sums", array(py, pass.sums, &[k, d])?)?;
    dict.set_item("inertia", pass.inertia)?;
    dict.set_item("fingerprint", pass.fingerprint)?;
    Ok(dict)
}

fn offset_array(offset: &Bound<'_, PyAny>, d: usize) -> PyResult<Vec<f64>> {
    let (off, os) = f64_array(offset, "offset")?;
    if os != [d] {
        return Err(PyValueError::new_err(format!(
            "offset has shape {}, expected ({d},)",
            shape_str(&os)
        )));
    }
    Ok(off)
}

/// The `n` rows of a chunk farthest from their nearest centre, farthest first (ties: the lower
/// row), as `(rows int64 (m,), squared distances (m,), labels int64 (m,))` with
/// `m = min(n, n_samples)`; row indices are the chunk's own.
#[pyfunction]
#[pyo3(signature = (centers, x, n, offset, n_threads=None))]
pub(crate) fn kmeans_farthest<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    n: usize,
    offset: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let model = centers_model(centers)?;
    let off = offset_array(offset, model.n_features())?;
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let top = with_view!(data, v => py.detach(|| threads.run(|| model.farthest_rows(v, &off, n))))
        .map_err(value_err)?;
    let idx: Vec<i64> = top.iter().map(|t| t.0 as i64).collect();
    let dist: Vec<f64> = top.iter().map(|t| t.1).collect();
    let lab: Vec<i64> = top.iter().map(|t| t.2 as i64).collect();
    let m = idx.len();
    Ok((
        PyArray1::from_vec(py, idx).into_any(),
        array(py, dist, &[m])?,
        PyArray1::from_vec(py, lab).into_any(),
    ))
}

/// Per-feature moments of a chunk: `(n_samples, mean (d,), m2 (d,))` with `m2 = Σ (x - mean)²`
/// (two passes), for merging with Chan's formula.
#[pyfunction]
#[pyo3(signature = (x, n_threads=None))]
pub(crate) fn column_moments<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
) -> PyResult<(usize, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let n = data.n_samples();
    let (d, res) = with_view!(data, v => {
        let d = v.n_features();
        (d, py.detach(|| threads.run(|| -> gaussmix_core::Result<_> {
            v.check_finite()?;
            let mut mean = vec![0.0; d];
            for s in segments(n, |a, b| {
                let mut acc = vec![0.0; d];
                for i in a..b {
                    for (m, xv) in acc.iter_mut().zip(v.row(i)) {
                        *m += xv.to_f64();
                    }
                }
                acc
            }) {
                add_into(&mut mean, &s);
            }
            if n > 0 {
                mean.iter_mut().for_each(|m| *m /= n as f64);
            }
            let mut m2 = vec![0.0; d];
            for s in segments(n, |a, b| {
                let mut acc = vec![0.0; d];
                for i in a..b {
                    for ((q, xv), m) in acc.iter_mut().zip(v.row(i)).zip(&mean) {
                        let e = xv.to_f64() - m;
                        *q += e * e;
                    }
                }
                acc
            }) {
                add_into(&mut m2, &s);
            }
            Ok((mean, m2))
        })))
    });
    let (mean, m2) = res.map_err(value_err)?;
    Ok((n, array(py, mean, &[d])?, array(py, m2, &[d])?))
}

/// Sufficient statistics of the rows of `x` under given responsibilities, centred on `shift`
/// `(K, d)`, in the layout of `gaussmix.stats` (its `log_likelihood` is 0: no E-step ran).
///
/// `labels` (int64 `(n,)`, `-1` for a row that belongs to no component) or `resp` (float64
/// `(n, K)`) gives the responsibilities; with neither, no row belongs to a component. Every
/// row counts in `n_samples` and, for `tied`, in the pooled scatter, as in the engine's own
/// initialisation. `gaussmix.stats.merge_statistics` and `m_step` take the result.
///
/// With `sample_weight` (one per row, not all zero) each row's responsibilities are weighted.
#[pyfunction]
#[pyo3(signature = (x, shift, covariance_type, labels=None, resp=None, n_threads=None,
    sample_weight=None))]
pub(crate) fn responsibility_statistics<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    shift: &Bound<'py, PyAny>,
    covariance_type: &str,
    labels: Option<&Bound<'py, PyAny>>,
    resp: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
    sample_weight: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let t: CovarianceType = covariance_type.parse().map_err(value_err)?;
    let (sh, ss) = f64_array(shift, "shift")?;
    if ss.len() != 2 || ss[0] == 0 || ss[1] == 0 {
        return Err(PyValueError::new_err(format!(
            "shift has shape {}, expected (n_components, n_features)",
            shape_str(&ss)
        )));
    }
    let k = ss[0];
    let threads = Threads::get(n_threads)?;
    let data = input(x)?;
    let n = data.n_samples();
    enum Owned {
        Labels(Vec<i64>),
        Soft(Vec<f64>),
    }
    let owned = match (labels, resp) {
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err("give labels or resp, not both"));
        }
        (Some(l), None) => {
            let (v, s) = i64_array(l, "labels")?;
            if s != [n] {
                return Err(PyValueError::new_err(format!(
                    "labels has shape {}, expected ({n},)",
                    shape_str(&s)
                )));
            }
            Owned::Labels(v)
        }
        (None, Some(r)) => {
            let (v, s) = f64_array(r, "resp")?;
            if s != [n, k] {
                return Err(PyValueError::new_err(format!(
                    "resp has shape {}, expected ({n}, {k})",
                    shape_str(&s)
                )));
            }
            Owned::Soft(v)
        }
        (None, None) => Owned::Labels(vec![-1; n]),
    };
    let r = match &owned {
        Owned::Labels(v) => Responsibilities::Labels(v),
        Owned::Soft(v) => Responsibilities::Soft(v),
    };
    let w = input::sample_weight(sample_weight, n)?;
    let s = with_view!(data, v => {
        let v = weighted(v, w.as_deref())?;
        py.detach(|| threads.run(|| SufficientStats::from_responsibilities(t, v, &sh, k, r)))
    })
    .map_err(value_err)?;
    stats_dict(py, &s)
}
