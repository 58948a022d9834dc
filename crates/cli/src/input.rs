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

/// Data ready for the engine.
pub struct Input {
    /// The rows.
    pub ds: Dataset,
    /// The file, if any (for messages and for refusing to overwrite it).
    pub path: Option<PathBuf>,
}

impl Input {
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
    })
}

/// Runs `$body` with `$x` bound to a [`gaussmix_core::DataRef`] of the input's element type.
#[macro_export]
macro_rules! with_data {
    ($input:expr, $x:ident => $body:expr) => {
        match $input.ds.view() {
            gaussmix_io::MatrixView::F32 {
                data,
                n_samples,
                n_features,
                row_stride,
            } => {
                let $x =
                    gaussmix_core::DataRef::with_stride(data, n_samples, n_features, row_stride)?;
                $body
            }
            gaussmix_io::MatrixView::F64 {
                data,
                n_samples,
                n_features,
                row_stride,
            } => {
                let $x =
                    gaussmix_core::DataRef::with_stride(data, n_samples, n_features, row_stride)?;
                $body
            }
        }
    };
}
