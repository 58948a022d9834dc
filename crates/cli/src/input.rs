//! Loading the data a command works on: a file in any format the loader reads, or the built-in
//! demo data.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gaussmix_io::{Dataset, LoadOptions};

/// The lesson's 400 points: `make_blobs(n_samples=400, centers=4, cluster_std=0.60,
/// random_state=0)` with the two columns swapped (`datasets/blobs400.npy`).
pub const DEMO_NPY: &[u8] = include_bytes!("../../../datasets/blobs400.npy");

/// The name shown for the demo data.
pub const DEMO_NAME: &str = "built-in demo data (datasets/blobs400.npy)";

/// Data ready for the engine: only [`load`] makes one (the rows are private), and it refuses
/// NaN and infinities, so that [`with_data!`](crate::with_data) gives the engine views it need
/// not check again ([`DataRef::assume_finite`](gaussmix_core::DataRef::assume_finite)).
pub struct Input {
    /// The rows (private: no caller can put unchecked rows in).
    ds: Dataset,
    /// The file, if any (for messages and for refusing to overwrite it).
    pub path: Option<PathBuf>,
    /// Sample weights, one per row (every fit and score uses them: see
    /// [`with_data!`](crate::with_data)).
    pub weights: Option<Vec<f64>>,
}

impl Input {
    /// The rows.
    pub fn ds(&self) -> &Dataset {
        &self.ds
    }

    /// How messages name the data.
    pub fn name(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => DEMO_NAME.to_string(),
        }
    }

    /// The file name (or "demo data"), for figure titles.
    pub fn short_name(&self) -> String {
        match &self.path {
            Some(p) => p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            None => "demo data (blobs400.npy)".to_string(),
        }
    }

    /// Reads one weight per row from `path` (a `.npy` of any numeric type, 1-D or one row or
    /// column), checked: the number of rows, finite and non-negative values, not all zero.
    pub fn load_weights(&mut self, path: &Path) -> Result<()> {
        let (w, shape) = gaussmix_io::read_npy_f64(path)
            .with_context(|| format!("reading the sample weights {}", path.display()))?;
        let n = self.ds.n_samples();
        let flat = matches!(shape.as_slice(), [_] | [_, 1] | [1, _]);
        if !flat || w.len() != n {
            anyhow::bail!(
                "--sample-weight {}: an array of shape {shape:?}, but {} has {n} rows: give one weight per row ({n} values)",
                path.display(),
                self.name()
            );
        }
        if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            anyhow::bail!(
                "--sample-weight {}: the weight of row {i} is {}; weights must be finite and non-negative",
                path.display(),
                w[i]
            );
        }
        if w.iter().all(|&v| v == 0.0) {
            anyhow::bail!(
                "--sample-weight {}: every weight is zero; at least one row needs a positive weight",
                path.display()
            );
        }
        self.weights = Some(w);
        Ok(())
    }

    /// `"400 × 2, float64"`.
    pub fn shape(&self) -> String {
        let dtype = match self.ds.dtype() {
            gaussmix_io::Dtype::F32 => "float32",
            gaussmix_io::Dtype::F64 => "float64",
        };
        format!(
            "{} × {}, {dtype}",
            self.ds.n_samples(),
            self.ds.n_features()
        )
    }
}

/// Loads `path` (or the demo data), refusing NaN and infinities with the row and column.
pub fn load(path: Option<&Path>, dim: Option<usize>, quiet: bool) -> Result<Input> {
    let ds = match path {
        None => Dataset::from_npy_bytes(DEMO_NPY, DEMO_NAME)
            .context("reading the built-in demo data")?,
        Some(p) => Dataset::open(
            p,
            &LoadOptions {
                n_features: dim,
                format: None,
            },
        )?,
    };
    if !quiet {
        for note in ds.notes() {
            eprintln!("note: {note}");
        }
    }
    ds.check_finite()?;
    ds.advise_sequential();
    Ok(Input {
        ds,
        path: path.map(Path::to_path_buf),
        weights: None,
    })
}

/// [`load`], then the sample weights of `--sample-weight`, if given.
pub fn load_weighted(
    path: Option<&Path>,
    dim: Option<usize>,
    quiet: bool,
    weights: Option<&Path>,
) -> Result<Input> {
    let mut input = load(path, dim, quiet)?;
    if let Some(w) = weights {
        input.load_weights(w)?;
    }
    Ok(input)
}

/// Runs `$body` with `$x` bound to a [`gaussmix_core::DataRef`] of the input's element type,
/// carrying the input's sample weights (if any).
#[macro_export]
macro_rules! with_data {
    ($input:expr, $x:ident => $body:expr) => {
        match $input.ds().view() {
            gaussmix_io::MatrixView::F32 {
                data,
                n_samples,
                n_features,
                row_stride,
            } => {
                // `load` has refused NaN and infinities.
                let $x =
                    gaussmix_core::DataRef::with_stride(data, n_samples, n_features, row_stride)?
                        .assume_finite();
                let $x = match $input.weights.as_deref() {
                    Some(w) => $x.with_weights(w)?,
                    None => $x,
                };
                $body
            }
            gaussmix_io::MatrixView::F64 {
                data,
                n_samples,
                n_features,
                row_stride,
            } => {
                // `load` has refused NaN and infinities.
                let $x =
                    gaussmix_core::DataRef::with_stride(data, n_samples, n_features, row_stride)?
                        .assume_finite();
                let $x = match $input.weights.as_deref() {
                    Some(w) => $x.with_weights(w)?,
                    None => $x,
                };
                $body
            }
        }
    };
}
