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
//! Every sum runs over fixed segments of rows whose partial results are added in segment
//! order, so the results are bit-identical for any number of threads. Labels come from the
//! engine's own nearest-centre computation (`KMeansModel::predict`).

use gaussmix_core::{CovarianceType, DataRef, Float, KMeansModel, StatsParts, SufficientStats};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;

use crate::convert::{array, f64_array, in_pool, shape_str, value_err};
use crate::gmm::stats_dict;
use crate::input::{input, with_view};

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

/// An order-dependent 64-bit fingerprint of a sequence of labels (equal labels, equal
/// fingerprints; different labels collide with probability about 2^-64).
fn fingerprint(labels: &[usize]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ labels.len() as u64;
    for &l in labels {
        h = (h ^ (l as u64).wrapping_add(1)).wrapping_mul(0x0000_0100_0000_01B3);
        h ^= h >> 29;
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// One Lloyd pass over a chunk under `centers` `(K, d)`.
///
/// Returns a dict: `counts` `(K,)` (rows nearest each centre, as floats), `sums` `(K, d)`
/// (`Σ (x - offset)` over those rows), `inertia` (`Σ ‖x - c_label‖²`), `fingerprint` (an int
/// identifying the chunk's labels, to detect that no label changed) and `n_samples`.
/// `offset` `(d,)` is the frame the sums are taken in (the data's column means, as the
/// in-memory k-means centres its data).
#[pyfunction]
#[pyo3(signature = (centers, x, offset, n_threads=None))]
pub(crate) fn kmeans_partial<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    offset: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let model = centers_model(centers)?;
    let (k, d) = (model.n_clusters(), model.n_features());
    let (off, os) = f64_array(offset, "offset")?;
    if os != [d] {
        return Err(PyValueError::new_err(format!(
            "offset has shape {}, expected ({d},)",
            shape_str(&os)
        )));
    }
    let data = input(x)?;
    let n = data.n_samples();
    let out =
        with_view!(data, v => py.detach(|| in_pool(n_threads, || -> gaussmix_core::Result<_> {
            let labels = model.predict(v)?;
            let c = model.centers();
            let parts = segments(n, |a, b| lloyd_segment(&v, &labels, c, &off, a, b, k, d));
            let (mut sums, mut counts, mut inertia) = (vec![0.0; k * d], vec![0.0; k], 0.0);
            for (s, cn, i) in &parts {
                add_into(&mut sums, s);
                add_into(&mut counts, cn);
                inertia += i;
            }
            Ok((sums, counts, inertia, fingerprint(&labels)))
        })))
        .map_err(PyValueError::new_err)?
        .map_err(value_err)?;
    let (sums, counts, inertia, fp) = out;
    let dict = PyDict::new(py);
    dict.set_item("n_samples", n)?;
    dict.set_item("counts", array(py, counts, &[k])?)?;
    dict.set_item("sums", array(py, sums, &[k, d])?)?;
    dict.set_item("inertia", inertia)?;
    dict.set_item("fingerprint", fp)?;
    Ok(dict)
}

fn lloyd_segment<T: Float>(
    x: &DataRef<'_, T>,
    labels: &[usize],
    centers: &[f64],
    offset: &[f64],
    a: usize,
    b: usize,
    k: usize,
    d: usize,
) -> (Vec<f64>, Vec<f64>, f64) {
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0.0; k];
    let mut inertia = 0.0;
    for (i, &l) in labels.iter().enumerate().take(b).skip(a) {
        let row = x.row(i);
        counts[l] += 1.0;
        let c = &centers[l * d..(l + 1) * d];
        let s = &mut sums[l * d..(l + 1) * d];
        let mut q = 0.0;
        for j in 0..d {
            let xv = row[j].to_f64();
            s[j] += xv - offset[j];
            let e = xv - c[j];
            q += e * e;
        }
        inertia += q;
    }
    (sums, counts, inertia)
}

/// The `n` rows of a chunk farthest from their nearest centre, farthest first (ties: the lower
/// row), as `(rows int64 (m,), squared distances (m,), labels int64 (m,))` with
/// `m = min(n, n_samples)`; row indices are the chunk's own.
#[pyfunction]
#[pyo3(signature = (centers, x, n, n_threads=None))]
pub(crate) fn kmeans_farthest<'py>(
    py: Python<'py>,
    centers: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    n: usize,
    n_threads: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let model = centers_model(centers)?;
    let d = model.n_features();
    let data = input(x)?;
    let rows = data.n_samples();
    let top = with_view!(data, v => py.detach(|| in_pool(n_threads, || -> gaussmix_core::Result<_> {
        let labels = model.predict(v)?;
        let c = model.centers();
        let keep = |t: &mut Vec<(f64, usize, usize)>| {
            t.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            t.truncate(n);
        };
        let parts = segments(rows, |a, b| {
            let mut t = Vec::new();
            for (i, &l) in labels.iter().enumerate().take(b).skip(a) {
                let cl = &c[l * d..(l + 1) * d];
                let q: f64 = v.row(i).iter().zip(cl).map(|(xv, cv)| (xv.to_f64() - cv).powi(2)).sum();
                t.push((q, i, l));
                if t.len() >= 2 * n.max(1) + 64 {
                    keep(&mut t);
                }
            }
            keep(&mut t);
            t
        });
        let mut all: Vec<(f64, usize, usize)> = parts.into_iter().flatten().collect();
        keep(&mut all);
        Ok(all)
    })))
    .map_err(PyValueError::new_err)?
    .map_err(value_err)?;
    let idx: Vec<i64> = top.iter().map(|t| t.1 as i64).collect();
    let dist: Vec<f64> = top.iter().map(|t| t.0).collect();
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
    let data = input(x)?;
    let n = data.n_samples();
    let (d, res) = with_view!(data, v => {
        let d = v.n_features();
        (d, py.detach(|| in_pool(n_threads, || -> gaussmix_core::Result<_> {
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
    let (mean, m2) = res.map_err(PyValueError::new_err)?.map_err(value_err)?;
    Ok((n, array(py, mean, &[d])?, array(py, m2, &[d])?))
}

/// Responsibilities handed to [`responsibility_statistics`].
enum Resp {
    /// One component per row (`-1`: none).
    Labels(Vec<i64>),
    /// `(n, K)` row-major.
    Soft(Vec<f64>),
}

/// Sufficient statistics of the rows of `x` under given responsibilities, centred on `shift`
/// `(K, d)`, in the layout of `gaussmix.stats` (its `log_likelihood` is 0: no E-step ran).
///
/// `labels` (int64 `(n,)`, `-1` for a row that belongs to no component) or `resp` (float64
/// `(n, K)`) gives the responsibilities; with neither, no row belongs to a component. Every
/// row counts in `n_samples` and, for `tied`, in the pooled scatter, as in the engine's own
/// initialisation. `gaussmix.stats.merge_statistics` and `m_step` take the result.
#[pyfunction]
#[pyo3(signature = (x, shift, covariance_type, labels=None, resp=None, n_threads=None))]
pub(crate) fn responsibility_statistics<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    shift: &Bound<'py, PyAny>,
    covariance_type: &str,
    labels: Option<&Bound<'py, PyAny>>,
    resp: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let t: CovarianceType = covariance_type.parse().map_err(value_err)?;
    let (sh, ss) = f64_array(shift, "shift")?;
    if ss.len() != 2 || ss[0] == 0 || ss[1] == 0 {
        return Err(PyValueError::new_err(format!(
            "shift has shape {}, expected (n_components, n_features)",
            shape_str(&ss)
        )));
    }
    let (k, d) = (ss[0], ss[1]);
    let data = input(x)?;
    let n = data.n_samples();
    let r = match (labels, resp) {
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
            if v.iter().any(|&l| l < -1 || l >= k as i64) {
                return Err(PyValueError::new_err(format!(
                    "labels must lie in [-1, {k})"
                )));
            }
            Resp::Labels(v)
        }
        (None, Some(r)) => {
            let (v, s) = f64_array(r, "resp")?;
            if s != [n, k] {
                return Err(PyValueError::new_err(format!(
                    "resp has shape {}, expected ({n}, {k})",
                    shape_str(&s)
                )));
            }
            if v.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(PyValueError::new_err(
                    "resp must be finite and non-negative",
                ));
            }
            Resp::Soft(v)
        }
        (None, None) => Resp::Labels(vec![-1; n]),
    };
    let mut center = vec![0.0; d];
    for c in 0..k {
        for j in 0..d {
            center[j] += sh[c * d + j];
        }
    }
    center.iter_mut().for_each(|v| *v /= k as f64);
    let res = with_view!(data, v => {
        if v.n_features() != d {
            return Err(PyValueError::new_err(format!(
                "the data have {} features, the shift {d}",
                v.n_features()
            )));
        }
        py.detach(|| in_pool(n_threads, || -> gaussmix_core::Result<_> {
            v.check_finite()?;
            let parts = segments(n, |a, b| resp_segment(&v, &r, t, &sh, &center, a, b, k, d));
            let mut total = Acc::zeros(t, k, d);
            for p in &parts {
                total.add(p);
            }
            Ok(total)
        }))
    });
    let acc = res.map_err(PyValueError::new_err)?.map_err(value_err)?;
    let s = SufficientStats::from_parts(StatsParts {
        covariance_type: t,
        n_components: k,
        n_features: d,
        shift: sh,
        center,
        n_samples: n as u64,
        log_likelihood: 0.0,
        nk: acc.nk,
        s1: acc.s1,
        s2: acc.s2,
        t1: acc.t1,
    })
    .map_err(value_err)?;
    stats_dict(py, &s)
}

struct Acc {
    nk: Vec<f64>,
    s1: Vec<f64>,
    s2: Vec<f64>,
    t1: Vec<f64>,
}

impl Acc {
    fn zeros(t: CovarianceType, k: usize, d: usize) -> Self {
        let (s2, t1) = match t {
            CovarianceType::Full => (k * d * d, 0),
            CovarianceType::Tied => (d * d, d),
            CovarianceType::Diag | CovarianceType::Spherical => (k * d, 0),
        };
        Acc {
            nk: vec![0.0; k],
            s1: vec![0.0; k * d],
            s2: vec![0.0; s2],
            t1: vec![0.0; t1],
        }
    }

    fn add(&mut self, o: &Acc) {
        add_into(&mut self.nk, &o.nk);
        add_into(&mut self.s1, &o.s1);
        add_into(&mut self.s2, &o.s2);
        add_into(&mut self.t1, &o.t1);
    }

    /// Adds row `x` with responsibility `r` for component `c`.
    #[inline]
    fn add_row(
        &mut self,
        t: CovarianceType,
        x: &[f64],
        r: f64,
        c: usize,
        sh: &[f64],
        e: &mut [f64],
    ) {
        let d = x.len();
        self.nk[c] += r;
        for j in 0..d {
            e[j] = x[j] - sh[c * d + j];
            self.s1[c * d + j] += r * e[j];
        }
        match t {
            CovarianceType::Full => {
                let s2 = &mut self.s2[c * d * d..(c + 1) * d * d];
                for i in 0..d {
                    let re = r * e[i];
                    for j in 0..=i {
                        s2[i * d + j] += re * e[j];
                    }
                }
            }
            CovarianceType::Diag | CovarianceType::Spherical => {
                for (q, ej) in self.s2[c * d..(c + 1) * d].iter_mut().zip(e.iter()) {
                    *q += r * ej * ej;
                }
            }
            CovarianceType::Tied => {}
        }
    }
}

fn resp_segment<T: Float>(
    x: &DataRef<'_, T>,
    r: &Resp,
    t: CovarianceType,
    sh: &[f64],
    center: &[f64],
    a: usize,
    b: usize,
    k: usize,
    d: usize,
) -> Acc {
    let mut acc = Acc::zeros(t, k, d);
    let mut row = vec![0.0; d];
    let mut e = vec![0.0; d];
    for i in a..b {
        for (o, v) in row.iter_mut().zip(x.row(i)) {
            *o = v.to_f64();
        }
        match r {
            Resp::Labels(l) => {
                if l[i] >= 0 {
                    acc.add_row(t, &row, 1.0, l[i] as usize, sh, &mut e);
                }
            }
            Resp::Soft(p) => {
                for c in 0..k {
                    let w = p[i * k + c];
                    if w != 0.0 {
                        acc.add_row(t, &row, w, c, sh, &mut e);
                    }
                }
            }
        }
        if t == CovarianceType::Tied {
            // The pooled scatter about the centre counts every row once.
            for (((ej, t), r), c) in e.iter_mut().zip(&mut acc.t1).zip(&row).zip(center) {
                *ej = r - c;
                *t += *ej;
            }
            for i2 in 0..d {
                for j in 0..=i2 {
                    acc.s2[i2 * d + j] += e[i2] * e[j];
                }
            }
        }
    }
    acc
}
