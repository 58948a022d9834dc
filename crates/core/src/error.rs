//! The engine's error type.

use std::fmt;

/// Everything the engine can refuse or fail at.
///
/// Not converging is not an error: it is reported by
/// [`GaussianMixtureModel::converged`](crate::GaussianMixtureModel::converged) (and a warning from
/// the callers that print). Shape mismatches between a model and data are reported here, never
/// panicked on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is outside the range scikit-learn accepts.
    #[error("invalid parameter {name}: {message}")]
    InvalidParameter {
        /// scikit-learn's name for the parameter (`n_components`, `tol`, ...).
        name: &'static str,
        /// What was wrong and what is accepted.
        message: String,
    },
    /// The data has no rows or no columns.
    #[error(
        "the data is empty ({n_samples} samples, {n_features} features): at least one of each is needed"
    )]
    EmptyData {
        /// Number of rows.
        n_samples: usize,
        /// Number of columns.
        n_features: usize,
    },
    /// Fewer samples than the model needs.
    #[error(
        "expected n_samples >= {needed} but got n_samples = {n_samples} ({what}); \
         use fewer components or more data"
    )]
    TooFewSamples {
        /// Number of rows given.
        n_samples: usize,
        /// Number of rows needed.
        needed: usize,
        /// Why that many are needed.
        what: &'static str,
    },
    /// The data contains NaN or an infinity.
    #[error(
        "the data contains {value} at row {row}, column {col} (0-based); \
         remove or impute non-finite values before fitting"
    )]
    NonFinite {
        /// Row of the first offending value.
        row: usize,
        /// Column of the first offending value.
        col: usize,
        /// The value itself (NaN, inf or -inf).
        value: f64,
    },
    /// Two things that must agree in shape do not.
    #[error("shape mismatch: {what} has {found} but {expected} was expected")]
    ShapeMismatch {
        /// What was being checked (`means_init`, `the data's number of features`, ...).
        what: String,
        /// What was expected, e.g. `(4, 2)`.
        expected: String,
        /// What was found.
        found: String,
    },
    /// A buffer does not hold the number of elements its stated shape needs.
    #[error(
        "a buffer of length {len} cannot hold {n_samples} rows of {n_features} values with row stride {row_stride}"
    )]
    BadLayout {
        /// Length of the buffer.
        len: usize,
        /// Stated rows.
        n_samples: usize,
        /// Stated columns.
        n_features: usize,
        /// Stated distance between row starts.
        row_stride: usize,
    },
    /// A covariance matrix could not be factorised: scikit-learn's most common mixture error.
    #[error("{0}")]
    IllDefinedCovariance(IllDefinedCovariance),
    /// User-supplied parameters (initial values or a model) are not a valid mixture.
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// An output or working array would need more memory than can be allocated.
    #[error(
        "{what} would need {} of memory, which cannot be allocated; ask for less",
        human_bytes(*bytes)
    )]
    TooLarge {
        /// What was asked for, naming the parameter (`n_samples = 10000000000 samples of 3 features`).
        what: String,
        /// The bytes it would need.
        bytes: u128,
    },
    /// The fit's [`Monitor`](crate::Monitor) asked it to stop; no model was produced.
    #[error("interrupted: the fit was stopped before it finished, and no model was produced")]
    Interrupted,
}

/// Details of a covariance that is not positive definite.
#[derive(Debug, Clone, PartialEq)]
pub struct IllDefinedCovariance {
    /// The component whose covariance failed (`None` for the shared `tied` covariance).
    pub component: Option<usize>,
    /// The EM iteration (1-based) whose M-step produced it; 0 for the initialisation.
    pub iteration: usize,
    /// Whether the data was f32, in which case f64 data may help.
    pub f32_input: bool,
}

impl fmt::Display for IllDefinedCovariance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // scikit-learn's message, with the component and iteration it cannot name.
        write!(
            f,
            "Fitting the mixture model failed because some components have ill-defined empirical \
             covariance (for instance caused by singleton or collapsed samples). Try to decrease \
             the number of components, increase reg_covar, or scale the input data."
        )?;
        if self.f32_input {
            write!(
                f,
                " The numerical accuracy can also be improved by passing float64 data instead of float32."
            )?;
        }
        match self.component {
            Some(k) => write!(f, " (component {k}")?,
            None => write!(f, " (the tied covariance")?,
        }
        if self.iteration == 0 {
            write!(f, ", at initialisation)")
        } else {
            write!(f, ", in the M-step of iteration {})", self.iteration)
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `bytes` in the largest binary unit that keeps the number at least 1.
fn human_bytes(bytes: u128) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// An empty vector with room for `len` values, or [`Error::TooLarge`] naming `what` when that
/// memory cannot be had (instead of the allocator aborting the process).
pub(crate) fn try_with_capacity<T>(len: u128, what: impl FnOnce() -> String) -> Result<Vec<T>> {
    let too_large = || Error::TooLarge {
        what: what(),
        bytes: len.saturating_mul(std::mem::size_of::<T>() as u128),
    };
    let mut v = Vec::new();
    match usize::try_from(len) {
        Ok(len) if v.try_reserve_exact(len).is_ok() => Ok(v),
        _ => Err(too_large()),
    }
}

pub(crate) fn invalid(name: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidParameter {
        name,
        message: message.into(),
    }
}
