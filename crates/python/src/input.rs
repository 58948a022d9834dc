//! NumPy arrays as the engine's borrowed row-major views.
//!
//! A float32 or float64 array whose rows are laid out row-major (C-contiguous, or rows of
//! contiguous values at a constant distance, as `X[:, :3]` of a C array) and aligned is read in
//! place: the engine sees NumPy's own buffer. Anything else (Fortran order, negative or
//! column strides, unaligned or byte-swapped data, other dtypes, lists) is copied once into a
//! row-major buffer first; it is never read as if it were row-major.

use std::cell::Cell;

use gaussmix_core::{DataRef, Float};
use numpy::{Element, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

thread_local! {
    /// Address of the buffer of the last view handed to the engine on this thread (a debug aid
    /// for the zero-copy tests: `_core._last_data_pointer()`).
    static LAST_POINTER: Cell<usize> = const { Cell::new(0) };
}

/// The address recorded by the last [`Matrix::view`] on this thread.
pub(crate) fn last_pointer() -> usize {
    LAST_POINTER.with(Cell::get)
}

/// A 2-D array held for the duration of a call: NumPy's buffer, or a row-major copy.
pub(crate) struct Matrix<'py, T: Element> {
    array: PyReadonlyArray2<'py, T>,
    copy: Option<Vec<T>>,
    n: usize,
    d: usize,
    stride: usize,
}

impl<'py, T: Element + Float> Matrix<'py, T> {
    fn new(array: PyReadonlyArray2<'py, T>) -> Self {
        let (n, d) = (array.shape()[0], array.shape()[1]);
        let size = std::mem::size_of::<T>() as isize;
        let strides = array.strides();
        let aligned = (array.data() as usize).is_multiple_of(std::mem::align_of::<T>());
        // Values of a row adjacent, rows at a non-negative whole number of elements, at least a
        // row apart: exactly the layouts `DataRef::with_stride` describes.
        let inner_ok = d <= 1 || strides[1] == size;
        let outer_ok = n <= 1
            || (strides[0] >= 0 && strides[0] % size == 0 && strides[0] / size >= d as isize);
        if n == 0 || d == 0 {
            return Matrix {
                array,
                copy: Some(Vec::new()),
                n,
                d,
                stride: d,
            };
        }
        if aligned && inner_ok && outer_ok {
            let stride = if n <= 1 {
                d
            } else {
                (strides[0] / size) as usize
            };
            return Matrix {
                array,
                copy: None,
                n,
                d,
                stride,
            };
        }
        // ndarray iterates in logical (row-major) order whatever the memory order.
        let copy: Vec<T> = array.as_array().iter().copied().collect();
        Matrix {
            array,
            copy: Some(copy),
            n,
            d,
            stride: d,
        }
    }

    /// The row-major view the engine reads; records its address for `_last_data_pointer`.
    pub(crate) fn view(&self) -> DataRef<'_, T> {
        let view = match &self.copy {
            Some(v) => DataRef::new(v.as_slice(), self.n, self.d),
            None => {
                let len = (self.n - 1) * self.stride + self.d;
                // SAFETY: the array is borrowed read-only for as long as `self` lives; its
                // buffer holds row i at element offset i * stride with `d` contiguous aligned
                // values (checked in `new`), so `len` elements from its start are in bounds.
                let s = unsafe { std::slice::from_raw_parts(self.array.data() as *const T, len) };
                DataRef::with_stride(s, self.n, self.d, self.stride)
            }
        }
        .expect("layout checked when the array was taken");
        LAST_POINTER.with(|p| p.set(view.as_slice().as_ptr() as usize));
        view
    }
}

/// Input data: float32 stays float32, everything else is float64.
pub(crate) enum Input<'py> {
    /// float32 data.
    F32(Matrix<'py, f32>),
    /// float64 data.
    F64(Matrix<'py, f64>),
}

impl Input<'_> {
    /// Number of rows.
    pub(crate) fn n_samples(&self) -> usize {
        match self {
            Input::F32(m) => m.n,
            Input::F64(m) => m.n,
        }
    }
}

/// Takes `x` as a 2-D array: float32 and float64 NumPy arrays as they are, anything else
/// through `numpy.asarray(x, dtype=float64)`.
pub(crate) fn input<'py>(x: &Bound<'py, PyAny>) -> PyResult<Input<'py>> {
    if let Ok(a) = x.cast::<PyArray2<f64>>() {
        return Ok(Input::F64(Matrix::new(
            a.try_readonly().map_err(borrow_err)?,
        )));
    }
    if let Ok(a) = x.cast::<PyArray2<f32>>() {
        return Ok(Input::F32(Matrix::new(
            a.try_readonly().map_err(borrow_err)?,
        )));
    }
    let np = x.py().import("numpy")?;
    let a = np.call_method1("asarray", (x, "float64"))?;
    let ndim: usize = a.getattr("ndim")?.extract()?;
    if ndim != 2 {
        return Err(PyValueError::new_err(format!(
            "expected a 2-D array (n_samples, n_features), got a {ndim}-D array"
        )));
    }
    let a = a
        .cast_into::<PyArray2<f64>>()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(Input::F64(Matrix::new(
        a.try_readonly().map_err(borrow_err)?,
    )))
}

fn borrow_err(e: numpy::BorrowError) -> PyErr {
    PyValueError::new_err(format!("the array cannot be read: {e}"))
}

/// Runs `$body` with `$v` bound to the engine view of an [`Input`].
macro_rules! with_view {
    ($input:expr, $v:ident => $body:expr) => {
        match &$input {
            $crate::input::Input::F32(m) => {
                let $v = m.view();
                $body
            }
            $crate::input::Input::F64(m) => {
                let $v = m.view();
                $body
            }
        }
    };
}
pub(crate) use with_view;

/// `sample_weight` as the engine takes it: `None`, or one float64 per row of the `n` rows
/// (`numpy.asarray(w, dtype=float64)`, 1-D of length `n`). Its values are the engine's to
/// check ([`weighted`]: finite, non-negative, not all zero), with messages naming
/// `sample_weight`.
pub(crate) fn sample_weight(
    obj: Option<&Bound<'_, PyAny>>,
    n: usize,
) -> PyResult<Option<Vec<f64>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let (w, shape) = crate::convert::f64_array(obj, "sample_weight")?;
    if shape != [n] {
        return Err(PyValueError::new_err(format!(
            "sample_weight has shape {}, expected ({n},): one weight per row of X",
            crate::convert::shape_str(&shape)
        )));
    }
    Ok(Some(w))
}

/// The view `v` with its sample weights, if any (checked by the engine).
pub(crate) fn weighted<'a, T: Float>(
    v: DataRef<'a, T>,
    w: Option<&'a [f64]>,
) -> PyResult<DataRef<'a, T>> {
    match w {
        None => Ok(v),
        Some(w) => v.with_weights(w).map_err(crate::convert::value_err),
    }
}

/// Whether every given weight is zero (a chunk that contributes nothing to a distributed fit).
pub(crate) fn all_zero(w: Option<&[f64]>) -> bool {
    w.is_some_and(|w| !w.is_empty() && w.iter().all(|&v| v == 0.0))
}

/// `init_labels` as the engine takes them: `None`, or one component index per row, from any
/// integer array-like (1-D); a negative label is refused here, the rest (length, labels below
/// `n_components`) by the engine.
pub(crate) fn init_labels(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<usize>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let np = obj.py().import("numpy")?;
    let a = np.call_method1("asarray", (obj,))?;
    let kind: String = a.getattr("dtype")?.getattr("kind")?.extract()?;
    if kind != "i" && kind != "u" {
        return Err(PyValueError::new_err(format!(
            "init_labels must hold integers (component indices), got dtype {}",
            a.getattr("dtype")?.str()?
        )));
    }
    let ndim: usize = a.getattr("ndim")?.extract()?;
    if ndim != 1 {
        return Err(PyValueError::new_err(format!(
            "init_labels must be 1-D (one label per row), got a {ndim}-D array"
        )));
    }
    let a = a
        .call_method1("astype", ("int64",))?
        .cast_into::<numpy::PyArray1<i64>>()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let ro = a
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("init_labels cannot be read: {e}")))?;
    let mut out = Vec::with_capacity(ro.as_array().len());
    for (i, &l) in ro.as_array().iter().enumerate() {
        if l < 0 {
            return Err(PyValueError::new_err(format!(
                "init_labels[{i}] = {l}: labels must be component indices in [0, n_components)"
            )));
        }
        out.push(l as usize);
    }
    Ok(Some(out))
}
