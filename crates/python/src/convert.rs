//! Conversions between Python values and the engine's flat row-major vectors.

use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyboardInterrupt, PyMemoryError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

pyo3::create_exception!(
    gaussmix._core,
    NonFiniteError,
    PyValueError,
    "The data holds NaN or an infinity: a ValueError whose `row`, `col` (0-based) and `value` \
     say where and what (`gaussmix.dask` reports them by their global row)."
);

/// An engine error as a Python exception: a `ValueError` with the engine's message
/// ([`NonFiniteError`], a `ValueError`, for non-finite data), `MemoryError` for a result too
/// large to allocate, `KeyboardInterrupt` for a fit stopped by its monitor.
pub(crate) fn value_err(e: gaussmix_core::Error) -> PyErr {
    use gaussmix_core::Error;
    match e {
        Error::TooLarge { .. } => PyMemoryError::new_err(e.to_string()),
        Error::Interrupted => PyKeyboardInterrupt::new_err(e.to_string()),
        Error::NonFinite { row, col, value } => Python::attach(|py| {
            let err = NonFiniteError::new_err(e.to_string());
            let v = err.value(py);
            let set = v
                .setattr("row", row)
                .and_then(|()| v.setattr("col", col))
                .and_then(|()| v.setattr("value", value));
            match set {
                Ok(()) => err,
                Err(other) => other,
            }
        }),
        _ => PyValueError::new_err(e.to_string()),
    }
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
