//! Conversions between Python values and the engine's flat row-major vectors.

use std::cell::RefCell;
use std::sync::Arc;

use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Every engine error is a `ValueError` with the engine's message.
pub(crate) fn value_err(e: gaussmix_core::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// `numpy.asarray(obj, dtype=float64)`, flattened in row-major order, with its shape.
pub(crate) fn f64_array(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<f64>, Vec<usize>)> {
    let np = obj.py().import("numpy")?;
    let a = np
        .call_method1("asarray", (obj, "float64"))
        .map_err(|e| PyValueError::new_err(format!("{what} is not an array of numbers: {e}")))?;
    let a = a
        .cast_into::<PyArrayDyn<f64>>()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let ro = a
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("{what} cannot be read: {e}")))?;
    let shape = ro.shape().to_vec();
    let v = ro.as_array().iter().copied().collect();
    Ok((v, shape))
}

/// Like [`f64_array`], requiring the given shape.
pub(crate) fn f64_array_shaped(
    obj: &Bound<'_, PyAny>,
    what: &str,
    shape: &[usize],
) -> PyResult<Vec<f64>> {
    let (v, s) = f64_array(obj, what)?;
    if s != shape {
        return Err(PyValueError::new_err(format!(
            "{what} has shape {}, expected {}",
            shape_str(&s),
            shape_str(shape)
        )));
    }
    Ok(v)
}

/// `(a, b)` as Python prints shapes.
pub(crate) fn shape_str(s: &[usize]) -> String {
    match s {
        [a] => format!("({a},)"),
        _ => format!(
            "({})",
            s.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A float64 NumPy array of the given shape, owning `v`.
pub(crate) fn array<'py>(
    py: Python<'py>,
    v: Vec<f64>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let a = PyArray1::from_vec(py, v);
    Ok(a.reshape(shape.to_vec())?.into_any())
}

/// An int64 NumPy array of labels.
pub(crate) fn labels<'py>(py: Python<'py>, v: Vec<usize>) -> Bound<'py, PyAny> {
    PyArray1::from_vec(py, v.into_iter().map(|l| l as i64).collect()).into_any()
}

/// `d[key]`, or a `ValueError` naming the missing key.
pub(crate) fn required<'py>(
    d: &Bound<'py, PyDict>,
    key: &str,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => Ok(v),
        _ => Err(PyValueError::new_err(format!("{what} has no {key:?}"))),
    }
}

/// `d[key]` if present and not `None`.
pub(crate) fn optional<'py>(
    d: &Bound<'py, PyDict>,
    key: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(d.get_item(key)?.filter(|v| !v.is_none()))
}

thread_local! {
    /// Pools of a given size, one set per calling thread: two Python threads that each ask for
    /// one thread get one each (a pool shared between them would serialise their work).
    static POOLS: RefCell<Vec<(usize, Arc<rayon::ThreadPool>)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a pool of `n` threads (kept for later calls from this thread), or on rayon's
/// global pool (all cores) for `None`. Call with the GIL released.
pub(crate) fn in_pool<R: Send>(
    n: Option<usize>,
    f: impl FnOnce() -> R + Send,
) -> Result<R, String> {
    let Some(n) = n else { return Ok(f()) };
    if n == 0 {
        return Err("invalid parameter n_threads: must be at least 1, got 0".into());
    }
    let pool = POOLS.with(|pools| -> Result<_, String> {
        let mut pools = pools.borrow_mut();
        if let Some((_, p)) = pools.iter().find(|(k, _)| *k == n) {
            return Ok(p.clone());
        }
        let p = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| format!("cannot start {n} threads: {e}"))?,
        );
        pools.push((n, p.clone()));
        Ok(p)
    })?;
    Ok(pool.install(f))
}
