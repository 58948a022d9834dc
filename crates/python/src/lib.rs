//! `gaussmix._core`: the gaussmix engine for Python.
//!
//! A private module of plain functions over NumPy arrays and dicts; the public estimators
//! (`gaussmix.GaussianMixture`, `gaussmix.BayesianGaussianMixture`, `gaussmix.KMeans`) are
//! Python classes on top of it. Input data
//! of dtype float32 or float64 laid out row-major is read in place (never copied); other
//! layouts are copied once into row-major order. The GIL is released during fits and
//! predictions, and a fit stops on Ctrl-C (KeyboardInterrupt). Every engine error is raised as
//! `ValueError` with the engine's message (a `MemoryError` for an output too large to allocate).

mod bayes;
mod convert;
mod gmm;
mod input;
mod kmeans;
mod partial;
mod source;
mod threads;

use pyo3::prelude::*;

/// The address of the buffer the engine reads for `x`: `x.ctypes.data` when `x` is used in
/// place, another address when it had to be copied (a debug aid for the zero-copy tests).
#[pyfunction]
fn _data_pointer(x: &Bound<'_, PyAny>) -> PyResult<usize> {
    let data = input::input(x)?;
    Ok(input::with_view!(data, v => v.as_slice().as_ptr() as usize))
}

/// The address of the buffer of the last array handed to the engine by a call from this
/// thread (a debug aid for the zero-copy tests: compare with `X.ctypes.data` after a fit).
#[pyfunction]
fn _last_data_pointer() -> usize {
    input::last_pointer()
}

/// The `_core` module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CONVERGENCE_WARNING", gaussmix_core::CONVERGENCE_WARNING)?;
    m.add("BLOCK_ROWS", gaussmix_core::BLOCK_ROWS)?;
    m.add("MAX_THREADS", threads::MAX_THREADS)?;
    m.add("CACHED_POOLS", threads::CACHED_POOLS)?;
    m.add("MAX_COUNT", usize::MAX)?;
    m.add(
        "NonFiniteError",
        m.py().get_type::<convert::NonFiniteError>(),
    )?;
    m.add_function(wrap_pyfunction!(threads::_cached_pools, m)?)?;
    m.add_function(wrap_pyfunction!(_data_pointer, m)?)?;
    m.add_function(wrap_pyfunction!(_last_data_pointer, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::gmm_fit, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::gmm_check, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::gmm_predict, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::gmm_predict_proba, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::gmm_score_samples, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::gmm_score, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::gmm_sample, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::gmm_n_parameters, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::sufficient_statistics, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::merge_statistics, m)?)?;
    m.add_function(wrap_pyfunction!(gmm::m_step, m)?)?;
    m.add_function(wrap_pyfunction!(bayes::bgmm_fit, m)?)?;
    m.add_function(wrap_pyfunction!(bayes::bgmm_check, m)?)?;
    m.add_function(wrap_pyfunction!(source::gmm_fit_source, m)?)?;
    m.add_function(wrap_pyfunction!(source::bgmm_fit_source, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans::kmeans_fit, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans::kmeans_predict, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans::kmeans_transform, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans::kmeans_inertia, m)?)?;
    m.add_function(wrap_pyfunction!(partial::kmeans_partial, m)?)?;
    m.add_function(wrap_pyfunction!(partial::kmeans_farthest, m)?)?;
    m.add_function(wrap_pyfunction!(partial::column_moments, m)?)?;
    m.add_function(wrap_pyfunction!(partial::responsibility_statistics, m)?)?;
    Ok(())
}
