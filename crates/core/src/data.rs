//! Borrowed views of input data: row-major `(n_samples, n_features)` matrices of `f32` or `f64`.

use crate::error::{Error, Result};
use crate::simd::{Isa, V8};

pub(crate) mod sealed {
    use crate::simd::{Isa, V8};

    /// Keeps [`Float`](super::Float) closed, and carries what the kernels need of each type.
    pub trait Sealed {
        /// The first eight values of `s` as eight `f64` lanes.
        #[allow(private_bounds, private_interfaces)]
        fn load8<I: Isa>(isa: I, s: &[Self]) -> V8<I>
        where
            Self: Sized;
    }
    impl Sealed for f32 {
        #[inline(always)]
        #[allow(private_bounds, private_interfaces)]
        fn load8<I: Isa>(isa: I, s: &[Self]) -> V8<I> {
            V8::load_f32(isa, s)
        }
    }
    impl Sealed for f64 {
        #[inline(always)]
        #[allow(private_bounds, private_interfaces)]
        fn load8<I: Isa>(isa: I, s: &[Self]) -> V8<I> {
            V8::load(isa, s)
        }
    }
}

/// The first eight values of `s`, widened to `f64` lanes.
#[inline(always)]
pub(crate) fn load8<T: Float, I: Isa>(isa: I, s: &[T]) -> V8<I> {
    T::load8(isa, s)
}

/// The element types the engine reads: `f32` and `f64`. Arithmetic is carried out in `f64`,
/// except where [`Precision::Auto`] computes `f32` data in `f32`.
pub trait Float:
    sealed::Sealed + Copy + Send + Sync + PartialOrd + std::fmt::Debug + 'static
{
    /// `"float32"` or `"float64"`, as NumPy names them.
    const NAME: &'static str;
    /// Whether this is `f32`, whose precision limits what the engine can resolve.
    const IS_F32: bool;
    /// Widens (or keeps) the value as an `f64`.
    fn to_f64(self) -> f64;
    /// Rounds an `f64` to this type.
    fn from_f64(v: f64) -> Self;
}

impl Float for f32 {
    const NAME: &'static str = "float32";
    const IS_F32: bool = true;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Float for f64 {
    const NAME: &'static str = "float64";
    const IS_F32: bool = false;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// The arithmetic of the kernels' inner products.
///
/// scikit-learn computes float32 input in float32; gaussmix does the same by default: with
/// float32 data the nearest-centre kernels of Lloyd's k-means score each row against each
/// centre in float32 (sixteen lanes per AVX-512 register instead of eight), while everything
/// summed across rows (centres, counts, inertia) stays in float64. [`Precision::F64`] keeps
/// float64 arithmetic whatever the data (the results of gaussmix before its float32 kernels).
/// Float64 data always uses float64 arithmetic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// Follow the data's type.
    #[default]
    Auto,
    /// float64 arithmetic for every input type.
    F64,
}

impl Precision {
    /// `"auto"` or `"f64"`: how the CLI and the Python keyword spell it.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::F64 => "f64",
        }
    }

    /// Whether data of type `T` is computed in float32 arithmetic.
    pub fn single<T: Float>(self) -> bool {
        self == Precision::Auto && T::IS_F32
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Precision::Auto),
            "f64" | "float64" => Ok(Precision::F64),
            _ => Err(crate::error::invalid(
                "precision",
                format!("must be 'auto' or 'f64', got {s:?}"),
            )),
        }
    }
}

/// A borrowed row-major matrix of shape `(n_samples, n_features)`, with optional sample weights.
///
/// Element `(i, j)` lives at `data[i * row_stride + j]`. `row_stride` is `n_features` for dense
/// data and larger for strided layouts such as `.fvecs` files, whose rows carry a leading length
/// word. Nothing is copied: views of memory-mapped files are used as they are.
///
/// Sample weights ([`DataRef::with_weights`]) weigh each row in every fit and score: a row of
/// weight `w` counts as `w` copies of itself (see "Sample weights" in the crate docs).
#[derive(Debug, Clone, Copy)]
pub struct DataRef<'a, T> {
    data: &'a [T],
    n_samples: usize,
    n_features: usize,
    row_stride: usize,
    weights: Option<&'a [f64]>,
    /// Whether the caller has checked every value is finite ([`DataRef::assume_finite`]).
    finite: bool,
}

impl<'a, T: Float> DataRef<'a, T> {
    /// A dense row-major view: `data.len()` must equal `n_samples * n_features`.
    pub fn new(data: &'a [T], n_samples: usize, n_features: usize) -> Result<Self> {
        let needed = n_samples.checked_mul(n_features);
        if needed != Some(data.len()) {
            return Err(Error::BadLayout {
                len: data.len(),
                n_samples,
                n_features,
                row_stride: n_features,
            });
        }
        Self::with_stride(data, n_samples, n_features, n_features)
    }

    /// A strided view: row `i` starts at `data[i * row_stride]` and holds `n_features` values.
    pub fn with_stride(
        data: &'a [T],
        n_samples: usize,
        n_features: usize,
        row_stride: usize,
    ) -> Result<Self> {
        let bad = || Error::BadLayout {
            len: data.len(),
            n_samples,
            n_features,
            row_stride,
        };
        if row_stride < n_features {
            return Err(bad());
        }
        if n_samples > 0 {
            let needed = (n_samples - 1)
                .checked_mul(row_stride)
                .and_then(|v| v.checked_add(n_features))
                .ok_or_else(bad)?;
            if needed > data.len() {
                return Err(bad());
            }
        }
        Ok(Self {
            data,
            n_samples,
            n_features,
            row_stride,
            weights: None,
            finite: false,
        })
    }

    /// The same view, marked as checked to hold no NaN or infinity (as `gaussmix-io`'s
    /// `Dataset::check_finite` checks a loaded file), so that fits and scores skip their own
    /// finiteness pass over the data: scikit-learn's `assume_finite` setting. Sample weights are
    /// still checked. A value that is not finite anyway gives unspecified results instead of
    /// [`Error::NonFinite`].
    pub fn assume_finite(self) -> Self {
        DataRef {
            finite: true,
            ..self
        }
    }

    /// The same rows with sample weights `(n_samples,)`: finite, non-negative, not all zero
    /// (scikit-learn's `_check_sample_weight` rules). A row of weight 0 changes no fit.
    pub fn with_weights(self, weights: &'a [f64]) -> Result<Self> {
        if weights.len() != self.n_samples {
            return Err(Error::ShapeMismatch {
                what: "sample_weight".into(),
                expected: format!("({},) (one weight per row)", self.n_samples),
                found: format!("{} values", weights.len()),
            });
        }
        if let Some(i) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(crate::error::invalid(
                "sample_weight",
                format!(
                    "sample_weight[{i}] = {}: weights must be finite and non-negative",
                    weights[i]
                ),
            ));
        }
        if self.n_samples > 0 && weights.iter().all(|&w| w == 0.0) {
            return Err(crate::error::invalid(
                "sample_weight",
                "every weight is zero: at least one row must have a positive weight",
            ));
        }
        Ok(DataRef {
            weights: Some(weights),
            ..self
        })
    }

    /// The sample weights, if any.
    #[inline]
    pub fn weights(&self) -> Option<&'a [f64]> {
        self.weights
    }

    /// The total weight: `Σ_i w_i`, or `n_samples` without weights.
    pub fn total_weight(&self) -> f64 {
        match self.weights {
            Some(w) => w.iter().sum(),
            None => self.n_samples as f64,
        }
    }

    /// Number of rows.
    #[inline]
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Number of columns.
    #[inline]
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Distance between the starts of consecutive rows, in elements.
    #[inline]
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// Row `i`, of length `n_features`.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [T] {
        let start = i * self.row_stride;
        &self.data[start..start + self.n_features]
    }

    /// The underlying buffer.
    #[inline]
    pub fn as_slice(&self) -> &'a [T] {
        self.data
    }

    /// Rows `start..end` as a view of their own.
    pub fn rows(&self, start: usize, end: usize) -> DataRef<'a, T> {
        assert!(start <= end && end <= self.n_samples);
        let data = if start == end {
            &self.data[..0]
        } else {
            &self.data[start * self.row_stride..(end - 1) * self.row_stride + self.n_features]
        };
        DataRef {
            data,
            n_samples: end - start,
            n_features: self.n_features,
            row_stride: self.row_stride,
            weights: self.weights.map(|w| &w[start..end]),
            finite: self.finite,
        }
    }

    /// Refuses NaN and infinities, naming the first offending row and column. Groups of rows
    /// are tested in parallel (in the calling thread pool) from 2¹⁴ rows; the first offending
    /// group is then scanned in order, so the error names the same value on any thread count.
    pub fn check_finite(&self) -> Result<()> {
        /// Rows tested together: one test per group, a scan of its rows on failure.
        const GROUP: usize = 64;
        // v * 0 is NaN exactly when v is not finite, and a NaN stays in a sum: eight
        // independent sums, so that the test runs at the rate of loads rather than at one
        // addition's latency per value.
        let bad = |g: usize| {
            let mut s = [0.0f64; 8];
            for i in g * GROUP..((g + 1) * GROUP).min(self.n_samples) {
                let (full, rest) = self.row(i).as_chunks::<8>();
                for c in full {
                    for (s, &v) in s.iter_mut().zip(c) {
                        *s += v.to_f64() * 0.0;
                    }
                }
                for (s, &v) in s.iter_mut().zip(rest) {
                    *s += v.to_f64() * 0.0;
                }
            }
            s.iter().sum::<f64>().is_nan()
        };
        let groups = self.n_samples.div_ceil(GROUP);
        let first = if self.n_samples < 1 << 14 {
            (0..groups).find(|&g| bad(g))
        } else {
            use rayon::prelude::*;
            (0..groups)
                .into_par_iter()
                .with_min_len(64)
                .find_first(|&g| bad(g))
        };
        let Some(g) = first else {
            return Ok(());
        };
        for i in g * GROUP..((g + 1) * GROUP).min(self.n_samples) {
            for (j, &v) in self.row(i).iter().enumerate() {
                let v = v.to_f64();
                if !v.is_finite() {
                    return Err(Error::NonFinite {
                        row: i,
                        col: j,
                        value: v,
                    });
                }
            }
        }
        unreachable!("group {g} holds a value that is not finite")
    }

    /// Refuses an empty matrix.
    pub(crate) fn check_not_empty(&self) -> Result<()> {
        if self.n_samples == 0 || self.n_features == 0 {
            return Err(Error::EmptyData {
                n_samples: self.n_samples,
                n_features: self.n_features,
            });
        }
        Ok(())
    }
}

/// Rejects data the engine cannot use: empty, or containing NaN or infinities (unless the
/// caller has checked: [`DataRef::assume_finite`]).
pub(crate) fn validate_data<T: Float>(x: &DataRef<'_, T>) -> Result<()> {
    x.check_not_empty()?;
    if x.finite {
        return Ok(());
    }
    x.check_finite()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_checked() {
        let v = vec![0.0f64; 6];
        assert!(DataRef::new(&v, 2, 3).is_ok());
        assert!(DataRef::new(&v, 3, 3).is_err());
        assert!(DataRef::new(&v, usize::MAX, 2).is_err());
        // Strided: rows of 2 values in a stride of 3 need (n-1)*3+2 elements.
        assert!(DataRef::with_stride(&v[..5], 2, 2, 3).is_ok());
        assert!(DataRef::with_stride(&v[..4], 2, 2, 3).is_err());
        assert!(DataRef::with_stride(&v, 2, 3, 2).is_err());
    }

    #[test]
    fn strided_rows_and_sub_views() {
        let v: Vec<f32> = (0..9).map(|i| i as f32).collect();
        let x = DataRef::with_stride(&v, 3, 2, 3).unwrap();
        assert_eq!(x.row(1), &[3.0, 4.0]);
        let sub = x.rows(1, 3);
        assert_eq!(sub.n_samples(), 2);
        assert_eq!(sub.row(1), &[6.0, 7.0]);
    }

    #[test]
    fn weights_are_checked_and_follow_sub_views() {
        let v = vec![0.0f64; 8];
        let x = DataRef::new(&v, 4, 2).unwrap();
        assert!(x.weights().is_none());
        assert_eq!(x.total_weight(), 4.0);
        let w = [1.0, 0.0, 2.5, 3.0];
        let xw = x.with_weights(&w).unwrap();
        assert_eq!(xw.total_weight(), 6.5);
        assert_eq!(xw.rows(1, 3).weights(), Some(&w[1..3]));
        assert!(matches!(
            x.with_weights(&w[..3]),
            Err(Error::ShapeMismatch { .. })
        ));
        for bad in [
            [1.0, -1.0, 0.0, 0.0],
            [1.0, f64::NAN, 0.0, 0.0],
            [0.0, 0.0, f64::INFINITY, 0.0],
        ] {
            let e = x.with_weights(&bad).unwrap_err().to_string();
            assert!(
                e.contains("sample_weight[") && e.contains("non-negative"),
                "{e}"
            );
        }
        let e = x.with_weights(&[0.0; 4]).unwrap_err().to_string();
        assert!(e.contains("every weight is zero"), "{e}");
    }

    #[test]
    fn assumed_finite_views_skip_the_check_and_keep_their_mark() {
        let mut v = vec![1.0f64; 12];
        v[5] = f64::NAN;
        let x = DataRef::new(&v, 4, 3).unwrap();
        assert!(matches!(
            validate_data(&x),
            Err(Error::NonFinite { row: 1, col: 2, .. })
        ));
        assert!(validate_data(&x.assume_finite()).is_ok());
        assert!(validate_data(&x.assume_finite().rows(1, 3)).is_ok());
        assert!(validate_data(&x.rows(1, 3)).is_err());
        // Emptiness and the weights are still checked.
        assert!(validate_data(&x.assume_finite().rows(2, 2)).is_err());
        assert!(x.assume_finite().with_weights(&[-1.0; 4]).is_err());
    }

    #[test]
    fn non_finite_values_are_located() {
        let mut v = vec![1.0f64; 12];
        let x = DataRef::new(&v, 4, 3).unwrap();
        assert!(x.check_finite().is_ok());
        v[2 * 3 + 1] = f64::NAN;
        v[3 * 3] = f64::INFINITY;
        let x = DataRef::new(&v, 4, 3).unwrap();
        match x.check_finite() {
            Err(Error::NonFinite { row, col, value }) => {
                assert_eq!((row, col), (2, 1));
                assert!(value.is_nan());
            }
            other => panic!("expected NonFinite, got {other:?}"),
        }
        let w = [0.0f32, f32::NEG_INFINITY];
        let x = DataRef::new(&w, 1, 2).unwrap();
        assert!(matches!(
            x.check_finite(),
            Err(Error::NonFinite { row: 0, col: 1, value }) if value == f64::NEG_INFINITY
        ));
        // Rows are tested in groups: every value of every row is seen (widths with and without
        // a ragged end of eight, values in the first and last group), and the first offending
        // row is named, not the first of its group.
        for d in [1, 8, 11, 20] {
            let n = 200;
            for (row, col) in [(0, 0), (70, d - 1), (127, d / 2), (199, d - 1)] {
                let mut v = vec![0.5f64; n * d];
                v[row * d + col] = f64::INFINITY;
                if row + 1 < n {
                    v[(row + 1) * d] = f64::NAN;
                }
                let x = DataRef::new(&v, n, d).unwrap();
                match x.check_finite() {
                    Err(Error::NonFinite { row: r, col: c, .. }) => assert_eq!((r, c), (row, col)),
                    other => panic!("d {d}, ({row}, {col}): expected NonFinite, got {other:?}"),
                }
            }
            // Padding between strided rows is not data: NaN there is not reported.
            let mut v = vec![f64::NAN; n * (d + 3)];
            for i in 0..n {
                v[i * (d + 3)..i * (d + 3) + d].fill(-2.0);
            }
            assert!(
                DataRef::with_stride(&v, n, d, d + 3)
                    .unwrap()
                    .check_finite()
                    .is_ok()
            );
        }
        // From 2^14 rows the groups are tested in parallel: still the first offending value,
        // on any number of threads, wherever the others lie.
        let (n, d) = (40_000, 3);
        for (first, later) in [
            ((20_001, 2), (39_999, 0)),
            ((5, 1), (30_000, 1)),
            ((39_998, 0), (39_999, 2)),
        ] {
            let mut v = vec![0.25f64; n * d];
            v[later.0 * d + later.1] = f64::NAN;
            v[first.0 * d + first.1] = f64::NEG_INFINITY;
            let x = DataRef::new(&v, n, d).unwrap();
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                match pool.install(|| x.check_finite()) {
                    Err(Error::NonFinite { row, col, .. }) => assert_eq!((row, col), first),
                    other => panic!("{threads} threads: expected NonFinite, got {other:?}"),
                }
            }
            v[first.0 * d + first.1] = 1.0;
            v[later.0 * d + later.1] = 1.0;
            assert!(DataRef::new(&v, n, d).unwrap().check_finite().is_ok());
        }
    }
}
