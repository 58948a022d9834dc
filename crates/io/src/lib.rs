//! Loaders and writers for gaussmix.
//!
//! [`Dataset::open`] turns a path into a row-major `(n_samples, n_features)` matrix of `f32` or
//! `f64` ([`MatrixView`]) that the engine consumes. When the bytes on disk already have the
//! right layout (native-endian `f32`/`f64`, C order, aligned) the file is memory-mapped and
//! viewed in place, without copying; otherwise it is converted once into an owned buffer and
//! a one-line note says so ([`Dataset::notes`]).
//!
//! Supported inputs: `.npy` (versions 1.0, 2.0, 3.0), `.fvecs`, `.bvecs`, `.fbin`, `.u8bin`,
//! raw little-endian `.f32` / `.f64`, and `.csv` / `.tsv` / `.txt` text. Results are written
//! back as `.npy` with [`write_npy_f64`], [`write_npy_f32`] and [`write_npy_i64`], always
//! through [`write_atomic`] so that a failure never leaves half a file; [`OutputSet`] writes
//! the several outputs of one run all or nothing (streams such as `/dev/null` written in place,
//! symbolic links followed, permissions kept; see [`OutputSet`]).
//!
//! No input makes the loader panic: every malformed file gives a [`LoadError`] naming the
//! file and what was wrong.
//!
//! ```no_run
//! use std::path::Path;
//! use gaussmix_io::{Dataset, LoadOptions, MatrixView, write_npy_i64};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ds = Dataset::open(Path::new("points.npy"), &LoadOptions::default())?;
//! ds.check_finite()?; // LoadError::NonFinite names the first bad row and column
//! for note in ds.notes() {
//!     eprintln!("note: {note}"); // e.g. "converted big-endian >f8 to native row-major f64 (copy)"
//! }
//! ds.advise_sequential();
//! let labels: Vec<i64> = match ds.view() {
//!     MatrixView::F32 { data, n_samples, row_stride, .. } => {
//!         (0..n_samples).map(|i| (data[i * row_stride] > 0.0) as i64).collect()
//!     }
//!     MatrixView::F64 { data, n_samples, row_stride, .. } => {
//!         (0..n_samples).map(|i| (data[i * row_stride] > 0.0) as i64).collect()
//!     }
//! };
//! write_npy_i64(Path::new("labels.npy"), &labels)?;
//! # Ok(())
//! # }
//! ```

mod convert;
mod csv;
mod dataset;
mod error;
mod finite;
pub mod npy;
mod pylit;
mod target;
mod vecs;
mod write;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

pub use dataset::{Dataset, read_npy_f64, read_npy_i64};
pub use error::{LoadError, WriteError};
pub use target::{OutputTarget, output_target};
pub use write::{
    OutputSet, abandon_outputs, write_atomic, write_npy_f32, write_npy_f64, write_npy_i64,
};

/// A file format the loader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// NumPy `.npy`, versions 1.0, 2.0 and 3.0.
    Npy,
    /// `.fvecs`: rows of (int32 dimension, dimension × f32).
    Fvecs,
    /// `.bvecs`: rows of (int32 dimension, dimension × u8).
    Bvecs,
    /// `.fbin`: u32 n, u32 d, then n × d f32.
    Fbin,
    /// `.u8bin`: u32 n, u32 d, then n × d u8.
    U8bin,
    /// Headerless little-endian f32 (`.f32`); needs the number of features.
    RawF32,
    /// Headerless little-endian f64 (`.f64`); needs the number of features.
    RawF64,
    /// Comma- or whitespace-separated text (`.csv`, `.tsv`, `.txt`).
    Csv,
}

impl Format {
    /// All formats, in documentation order.
    pub const ALL: [Format; 8] = [
        Format::Npy,
        Format::Fvecs,
        Format::Bvecs,
        Format::Fbin,
        Format::U8bin,
        Format::RawF32,
        Format::RawF64,
        Format::Csv,
    ];

    /// The format implied by the file extension (case-insensitive): `.npy`, `.fvecs`,
    /// `.bvecs`, `.fbin`, `.u8bin`, `.f32`, `.f64`, `.csv`, `.tsv`, `.txt`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Format::from_name(&ext)
    }

    /// The format for a name as given on a command line (`npy`, `fvecs`, `f32`, `csv`, ...;
    /// a leading dot and upper case are accepted).
    pub fn from_name(name: &str) -> Option<Format> {
        let n = name.strip_prefix('.').unwrap_or(name).to_ascii_lowercase();
        Some(match n.as_str() {
            "npy" => Format::Npy,
            "fvecs" => Format::Fvecs,
            "bvecs" => Format::Bvecs,
            "fbin" => Format::Fbin,
            "u8bin" => Format::U8bin,
            "f32" | "raw-f32" | "rawf32" => Format::RawF32,
            "f64" | "raw-f64" | "rawf64" => Format::RawF64,
            "csv" | "tsv" | "txt" => Format::Csv,
            _ => return None,
        })
    }

    /// The canonical extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Npy => "npy",
            Format::Fvecs => "fvecs",
            Format::Bvecs => "bvecs",
            Format::Fbin => "fbin",
            Format::U8bin => "u8bin",
            Format::RawF32 => "f32",
            Format::RawF64 => "f64",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ".{}", self.extension())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::from_name(s).ok_or_else(|| {
            format!(
                "unknown format {s:?} (expected npy, fvecs, bvecs, fbin, u8bin, f32, f64 or csv)"
            )
        })
    }
}

/// Options for [`Dataset::open`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Number of features per row; required for raw `.f32` / `.f64` files, ignored otherwise.
    pub n_features: Option<usize>,
    /// Format to use instead of the one implied by the file extension.
    pub format: Option<Format>,
}

/// The element type of a [`Dataset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl Dtype {
    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }

    /// `"f32"` or `"f64"`.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A borrowed row-major matrix: row `i`, column `j` lives at `data[i * row_stride + j]`.
///
/// `row_stride == n_features` except for the strided `.fvecs` view (`n_features + 1`, the
/// dimension word of each row sits between rows and must not be read as data). `data` is
/// exactly `(n_samples - 1) * row_stride + n_features` long. A [`Dataset`] always has at
/// least one row and one feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MatrixView<'a> {
    /// 32-bit data.
    F32 {
        /// The elements.
        data: &'a [f32],
        /// Number of rows.
        n_samples: usize,
        /// Number of columns.
        n_features: usize,
        /// Distance between row starts, in elements.
        row_stride: usize,
    },
    /// 64-bit data.
    F64 {
        /// The elements.
        data: &'a [f64],
        /// Number of rows.
        n_samples: usize,
        /// Number of columns.
        n_features: usize,
        /// Distance between row starts, in elements.
        row_stride: usize,
    },
}

impl MatrixView<'_> {
    /// Number of rows.
    pub fn n_samples(&self) -> usize {
        match *self {
            MatrixView::F32 { n_samples, .. } | MatrixView::F64 { n_samples, .. } => n_samples,
        }
    }

    /// Number of columns.
    pub fn n_features(&self) -> usize {
        match *self {
            MatrixView::F32 { n_features, .. } | MatrixView::F64 { n_features, .. } => n_features,
        }
    }

    /// Distance between the starts of consecutive rows, in elements.
    pub fn row_stride(&self) -> usize {
        match *self {
            MatrixView::F32 { row_stride, .. } | MatrixView::F64 { row_stride, .. } => row_stride,
        }
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        match self {
            MatrixView::F32 { .. } => Dtype::F32,
            MatrixView::F64 { .. } => Dtype::F64,
        }
    }

    /// True when rows are packed (`row_stride == n_features`), so `data` is a dense
    /// `n_samples * n_features` row-major array.
    pub fn is_contiguous(&self) -> bool {
        self.row_stride() == self.n_features()
    }

    /// Element `(i, j)` widened to f64, or `None` out of bounds.
    pub fn get(&self, i: usize, j: usize) -> Option<f64> {
        if i >= self.n_samples() || j >= self.n_features() {
            return None;
        }
        let k = i.checked_mul(self.row_stride())?.checked_add(j)?;
        match self {
            MatrixView::F32 { data, .. } => data.get(k).map(|&v| f64::from(v)),
            MatrixView::F64 { data, .. } => data.get(k).copied(),
        }
    }

    /// A dense row-major copy widened to f64 (`n_samples * n_features` values).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        let (n, d, s) = (self.n_samples(), self.n_features(), self.row_stride());
        let mut out = Vec::with_capacity(n.saturating_mul(d));
        match self {
            MatrixView::F32 { data, .. } => {
                for i in 0..n {
                    let row = data.get(i * s..i * s + d).unwrap_or(&[]);
                    out.extend(row.iter().map(|&v| f64::from(v)));
                }
            }
            MatrixView::F64 { data, .. } => {
                for i in 0..n {
                    out.extend_from_slice(data.get(i * s..i * s + d).unwrap_or(&[]));
                }
            }
        }
        out
    }
}
