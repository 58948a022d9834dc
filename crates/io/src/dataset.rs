//! [`Dataset`]: a loaded matrix, either a zero-copy view of a memory-mapped file or an owned
//! row-major buffer.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::convert::{self, Elem, Endian, IntValue, Layout, Owned};
use crate::error::LoadError;
use crate::finite::first_non_finite;
use crate::{Dtype, Format, LoadOptions, MatrixView, csv, npy, vecs};

enum Storage {
    /// A zero-copy view: elements `start..end` (bytes) of the mapping, cast to the dtype.
    Mapped {
        map: Mmap,
        start: usize,
        end: usize,
    },
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// A loaded `(n_samples, n_features)` matrix of f32 or f64.
///
/// It owns either the memory map of the file (zero-copy) or a converted row-major buffer.
/// It always has at least one row and one feature. It is `Send + Sync`, so the engine can
/// share it across threads.
pub struct Dataset {
    storage: Storage,
    dtype: Dtype,
    n_samples: usize,
    n_features: usize,
    row_stride: usize,
    path: PathBuf,
    format: Option<Format>,
    notes: Vec<String>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("dtype", &self.dtype)
            .field("n_samples", &self.n_samples)
            .field("n_features", &self.n_features)
            .field("row_stride", &self.row_stride)
            .field("zero_copy", &self.is_zero_copy())
            .field("notes", &self.notes)
            .finish()
    }
}

/// Check the path is a readable regular file and open it; report an empty file as `Empty`.
fn open_file(path: &Path) -> Result<(File, usize), LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError::from_io(path, "stat", e))?;
    if meta.is_dir() {
        return Err(LoadError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    if !meta.is_file() {
        return Err(LoadError::NotRegularFile {
            path: path.to_path_buf(),
        });
    }
    let file = File::open(path).map_err(|e| LoadError::from_io(path, "open", e))?;
    let len = file
        .metadata()
        .map_err(|e| LoadError::from_io(path, "stat", e))?
        .len();
    if len == 0 {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let len = usize::try_from(len).map_err(|_| LoadError::SizeOverflow {
        path: path.to_path_buf(),
        what: format!("file of {len} bytes does not fit in memory"),
    })?;
    Ok((file, len))
}

fn read_file(mut file: File, len: usize, path: &Path) -> Result<Vec<u8>, LoadError> {
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(len)
        .map_err(|_| LoadError::SizeOverflow {
            path: path.to_path_buf(),
            what: format!("cannot allocate {len} bytes to read the file"),
        })?;
    file.read_to_end(&mut bytes)
        .map_err(|e| LoadError::from_io(path, "read", e))?;
    if bytes.is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

fn resolve_format(path: &Path, opts: &LoadOptions) -> Result<Format, LoadError> {
    match opts.format {
        Some(f) => Ok(f),
        None => Format::from_path(path).ok_or_else(|| LoadError::UnknownFormat {
            path: path.to_path_buf(),
            extension: path.extension().map(|e| e.to_string_lossy().into_owned()),
        }),
    }
}

/// Where a binary format's matrix lies in `bytes`, and how to name its element type in notes.
fn plan(
    bytes: &[u8],
    format: Format,
    opts: &LoadOptions,
    path: &Path,
) -> Result<(Layout, String), LoadError> {
    let (layout, label) = match format {
        Format::Npy => {
            let header = npy::parse_header(bytes, path)?;
            let layout = npy::layout(&header, bytes.len(), path)?;
            (layout, header.descr)
        }
        Format::Fvecs => (
            vecs::vecs_layout(bytes, Elem::F32, path)?,
            "f32 .fvecs".into(),
        ),
        Format::Bvecs => (
            vecs::vecs_layout(bytes, Elem::U8, path)?,
            "u8 .bvecs".into(),
        ),
        Format::Fbin => (
            vecs::bin_layout(bytes, Elem::F32, path)?,
            "f32 .fbin".into(),
        ),
        Format::U8bin => (vecs::bin_layout(bytes, Elem::U8, path)?, "u8 .u8bin".into()),
        Format::RawF32 | Format::RawF64 => {
            let l = vecs::raw_layout(bytes, format, opts, path)?;
            let label = format!(
                "raw little-endian {}",
                if l.elem == Elem::F64 { "f64" } else { "f32" }
            );
            (l, label)
        }
        Format::Csv => {
            // Callers route text through `csv::parse`; reaching here is a logic error that
            // must still not panic.
            return Err(LoadError::UnknownFormat {
                path: path.to_path_buf(),
                extension: Some("csv".into()),
            });
        }
    };
    if layout.n_samples == 0 {
        return Err(LoadError::ZeroRows {
            path: path.to_path_buf(),
        });
    }
    if layout.n_features == 0 {
        return Err(LoadError::ZeroFeatures {
            path: path.to_path_buf(),
        });
    }
    Ok((layout, label))
}

/// A one-line note describing a conversion, or `None` for a plain copy.
fn conversion_note(layout: &Layout, label: &str, misaligned: bool) -> Option<String> {
    let target = layout.elem.target();
    let mut adjectives = Vec::new();
    if layout.endian != Endian::NATIVE && layout.elem.size() > 1 {
        adjectives.push(if layout.endian == Endian::Big {
            "big-endian"
        } else {
            "little-endian"
        });
    }
    if layout.fortran {
        adjectives.push("Fortran-order");
    }
    let retyped = !layout.elem.is_float_of(target);
    if adjectives.is_empty() && !retyped {
        return misaligned.then(|| {
            format!(
                "copied {label} data at unaligned byte offset {} into an aligned {target} buffer (copy)",
                layout.offset
            )
        });
    }
    let mut what = adjectives.join(" ");
    if !what.is_empty() {
        what.push(' ');
    }
    what.push_str(label);
    Some(format!(
        "converted {what} to native row-major {target} (copy)"
    ))
}

fn mismatch(path: &Path) -> LoadError {
    // Unreachable when layouts are validated against the buffer; kept as a typed error.
    LoadError::Truncated {
        path: path.to_path_buf(),
        what: "data".into(),
        expected: 0,
        found: 0,
    }
}

impl Dataset {
    fn from_owned(
        owned: Owned,
        layout: &Layout,
        path: &Path,
        format: Option<Format>,
        notes: Vec<String>,
    ) -> Dataset {
        let (storage, dtype) = match owned {
            Owned::F32(v) => (Storage::F32(v), Dtype::F32),
            Owned::F64(v) => (Storage::F64(v), Dtype::F64),
        };
        Dataset {
            storage,
            dtype,
            n_samples: layout.n_samples,
            n_features: layout.n_features,
            row_stride: layout.n_features,
            path: path.to_path_buf(),
            format,
            notes,
        }
    }

    /// Convert (copy) `bytes` described by `layout` into an owned dataset.
    fn convert_bytes(
        bytes: &[u8],
        layout: &Layout,
        label: &str,
        misaligned: bool,
        path: &Path,
        format: Format,
        mut notes: Vec<String>,
    ) -> Result<Dataset, LoadError> {
        let owned = convert::convert(bytes, layout).ok_or_else(|| mismatch(path))?;
        notes.extend(conversion_note(layout, label, misaligned));
        Ok(Dataset::from_owned(
            owned,
            layout,
            path,
            Some(format),
            notes,
        ))
    }

    /// Open a data file: memory-map it and view it in place when its bytes already have the
    /// right layout, otherwise convert it once into an owned row-major buffer (see
    /// [`notes`](Dataset::notes)). The format comes from `opts.format` or the extension.
    ///
    /// # Memory-mapped files
    ///
    /// A zero-copy dataset reads the file through a shared memory map for as long as it
    /// lives. The file must not be modified or truncated meanwhile: modifications show up in
    /// the data, and truncation makes the process receive `SIGBUS` (a crash) on the next read
    /// of a page past the new end. Copy the file first if another program may rewrite it.
    pub fn open(path: &Path, opts: &LoadOptions) -> Result<Dataset, LoadError> {
        let format = resolve_format(path, opts)?;
        if let (Format::RawF32 | Format::RawF64, None) = (format, opts.n_features) {
            // Report a missing file first, then the missing dimension.
            open_file(path)?;
            return Err(LoadError::MissingFeatures {
                path: path.to_path_buf(),
                format,
            });
        }
        let (file, len) = open_file(path)?;
        if format == Format::Csv {
            let bytes = read_file(file, len, path)?;
            return Dataset::from_csv(&bytes, path);
        }
        // SAFETY: `Mmap::map` is unsafe because the mapped file may be changed by another
        // process while mapped, which would break the aliasing guarantees of the `&[u8]` (and
        // of the typed slices we derive from it) and, on truncation, raise SIGBUS on access.
        // This is the crate's only `unsafe`: we map read-only (never writing through the map),
        // we re-validate every length against the mapping itself rather than against earlier
        // metadata, and we document on `Dataset::open` that the caller must not modify or
        // truncate the file while the dataset lives, which is the contract memmap2 requires.
        let mapped = unsafe { Mmap::map(&file) };
        drop(file);
        let map = match mapped {
            Ok(map) => map,
            Err(e) => {
                // Some file systems cannot be mapped; read the file instead.
                let file = File::open(path).map_err(|e| LoadError::from_io(path, "open", e))?;
                let bytes = read_file(file, len, path)?;
                let (layout, label) = plan(&bytes, format, opts, path)?;
                let note =
                    format!("could not memory-map the file ({e}); read it into memory (copy)");
                return Dataset::convert_bytes(
                    &bytes,
                    &layout,
                    &label,
                    false,
                    path,
                    format,
                    vec![note],
                );
            }
        };
        if map.is_empty() {
            return Err(LoadError::Empty {
                path: path.to_path_buf(),
            });
        }
        let (layout, label) = plan(&map, format, opts, path)?;
        let target = layout.elem.target();
        let size = layout.elem.size();
        let viewable = layout.elem.is_float_of(target)
            && layout.endian == Endian::NATIVE
            && !layout.fortran
            && layout.row_stride_bytes.is_multiple_of(size);
        let mut misaligned = false;
        if viewable {
            let span = layout.span_bytes().ok_or_else(|| mismatch(path))?;
            let start = layout.offset;
            let end = start.checked_add(span).ok_or_else(|| mismatch(path))?;
            let region = map.get(start..end).ok_or_else(|| mismatch(path))?;
            let aligned = match target {
                Dtype::F32 => bytemuck::try_cast_slice::<u8, f32>(region).is_ok(),
                Dtype::F64 => bytemuck::try_cast_slice::<u8, f64>(region).is_ok(),
            };
            if aligned {
                return Ok(Dataset {
                    storage: Storage::Mapped { map, start, end },
                    dtype: target,
                    n_samples: layout.n_samples,
                    n_features: layout.n_features,
                    row_stride: layout.row_stride_bytes / size,
                    path: path.to_path_buf(),
                    format: Some(format),
                    notes: Vec::new(),
                });
            }
            misaligned = true;
        }
        Dataset::convert_bytes(&map, &layout, &label, misaligned, path, format, Vec::new())
    }

    /// Load a `.npy` file held in memory (e.g. embedded with `include_bytes!`), copying it into
    /// an owned buffer (the alignment of embedded bytes is not guaranteed). `name` stands in
    /// for the path in errors and in [`path`](Dataset::path).
    pub fn from_npy_bytes(bytes: &[u8], name: &str) -> Result<Dataset, LoadError> {
        let opts = LoadOptions {
            n_features: None,
            format: Some(Format::Npy),
        };
        Dataset::from_bytes(bytes, name, &opts)
    }

    /// Load any supported format held in memory, copying into an owned buffer. The format is
    /// `opts.format` or the one implied by the extension of `name`.
    pub fn from_bytes(bytes: &[u8], name: &str, opts: &LoadOptions) -> Result<Dataset, LoadError> {
        let path = Path::new(name);
        let format = resolve_format(path, opts)?;
        if bytes.is_empty() {
            return Err(LoadError::Empty {
                path: path.to_path_buf(),
            });
        }
        if format == Format::Csv {
            return Dataset::from_csv(bytes, path);
        }
        let (layout, label) = plan(bytes, format, opts, path)?;
        Dataset::convert_bytes(bytes, &layout, &label, false, path, format, Vec::new())
    }

    fn from_csv(bytes: &[u8], path: &Path) -> Result<Dataset, LoadError> {
        let data = csv::parse(bytes, path)?;
        let mut notes = Vec::new();
        if data.header {
            notes.push("skipped the header row of the text file".to_string());
        }
        Ok(Dataset {
            storage: Storage::F64(data.values),
            dtype: Dtype::F64,
            n_samples: data.n_samples,
            n_features: data.n_features,
            row_stride: data.n_features,
            path: path.to_path_buf(),
            format: Some(Format::Csv),
            notes,
        })
    }

    /// Wrap generated f64 data (row-major, `n_samples * n_features` values).
    ///
    /// # Panics
    ///
    /// If `data.len() != n_samples * n_features` or either count is zero; use
    /// [`try_from_vec_f64`](Dataset::try_from_vec_f64) to get an error instead.
    pub fn from_vec_f64(data: Vec<f64>, n_samples: usize, n_features: usize) -> Dataset {
        match Dataset::try_from_vec_f64(data, n_samples, n_features) {
            Ok(d) => d,
            Err(e) => panic!("Dataset::from_vec_f64: {e}"),
        }
    }

    /// Wrap generated f64 data, checking the shape: `ZeroRows`, `ZeroFeatures` or
    /// `LengthMismatch` (lengths in bytes) on a bad shape.
    pub fn try_from_vec_f64(
        data: Vec<f64>,
        n_samples: usize,
        n_features: usize,
    ) -> Result<Dataset, LoadError> {
        check_vec_shape(data.len(), 8, n_samples, n_features)?;
        Ok(Dataset::from_owned(
            Owned::F64(data),
            &Layout::dense(Elem::F64, Endian::NATIVE, 0, n_samples, n_features),
            Path::new("<generated>"),
            None,
            Vec::new(),
        ))
    }

    /// Wrap generated f32 data (row-major, `n_samples * n_features` values).
    ///
    /// # Panics
    ///
    /// If `data.len() != n_samples * n_features` or either count is zero; use
    /// [`try_from_vec_f32`](Dataset::try_from_vec_f32) to get an error instead.
    pub fn from_vec_f32(data: Vec<f32>, n_samples: usize, n_features: usize) -> Dataset {
        match Dataset::try_from_vec_f32(data, n_samples, n_features) {
            Ok(d) => d,
            Err(e) => panic!("Dataset::from_vec_f32: {e}"),
        }
    }

    /// Wrap generated f32 data, checking the shape (see [`try_from_vec_f64`](Dataset::try_from_vec_f64)).
    pub fn try_from_vec_f32(
        data: Vec<f32>,
        n_samples: usize,
        n_features: usize,
    ) -> Result<Dataset, LoadError> {
        check_vec_shape(data.len(), 4, n_samples, n_features)?;
        Ok(Dataset::from_owned(
            Owned::F32(data),
            &Layout::dense(Elem::F32, Endian::NATIVE, 0, n_samples, n_features),
            Path::new("<generated>"),
            None,
            Vec::new(),
        ))
    }

    /// Number of rows.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Number of features (columns).
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Element type of the view.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// The format the data was read from (`None` for generated data).
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    /// The matrix. Cheap: no copy, whether mapped or owned.
    pub fn view(&self) -> MatrixView<'_> {
        let (n_samples, n_features, row_stride) =
            (self.n_samples, self.n_features, self.row_stride);
        match &self.storage {
            Storage::Mapped { map, start, end } => {
                // The cast was checked when the dataset was built and the mapping does not
                // move, so these fallbacks are never taken.
                let bytes = map.get(*start..*end).unwrap_or(&[]);
                match self.dtype {
                    Dtype::F32 => MatrixView::F32 {
                        data: bytemuck::try_cast_slice(bytes).unwrap_or(&[]),
                        n_samples,
                        n_features,
                        row_stride,
                    },
                    Dtype::F64 => MatrixView::F64 {
                        data: bytemuck::try_cast_slice(bytes).unwrap_or(&[]),
                        n_samples,
                        n_features,
                        row_stride,
                    },
                }
            }
            Storage::F32(v) => MatrixView::F32 {
                data: v,
                n_samples,
                n_features,
                row_stride,
            },
            Storage::F64(v) => MatrixView::F64 {
                data: v,
                n_samples,
                n_features,
                row_stride,
            },
        }
    }

    /// True when the view reads the memory-mapped file in place (no copy was made).
    pub fn is_zero_copy(&self) -> bool {
        matches!(self.storage, Storage::Mapped { .. })
    }

    /// True when the dataset holds a memory map of its file (same as
    /// [`is_zero_copy`](Dataset::is_zero_copy): converted files are not kept mapped).
    pub fn is_mapped(&self) -> bool {
        self.is_zero_copy()
    }

    /// The whole mapped file when [`is_mapped`](Dataset::is_mapped), for checks such as "the
    /// view lies inside the mapping".
    pub fn mapped_bytes(&self) -> Option<&[u8]> {
        match &self.storage {
            Storage::Mapped { map, .. } => Some(map),
            _ => None,
        }
    }

    /// One-line notes about the load, e.g. `converted big-endian >f8 to native row-major f64
    /// (copy)`. Empty for a zero-copy load.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The file the data came from, or the name given to
    /// [`from_npy_bytes`](Dataset::from_npy_bytes) (`<generated>` for `from_vec_*`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Check that every value is finite; the first NaN or infinity (in row-major order) is
    /// reported as [`LoadError::NonFinite`] with its zero-based row and column. Groups of rows
    /// are tested in parallel (in the calling thread pool) from 2¹⁴ rows; the first offending
    /// group is then scanned in order, so the same value is reported on any thread count.
    pub fn check_finite(&self) -> Result<(), LoadError> {
        let found = match self.view() {
            MatrixView::F32 {
                data,
                n_samples,
                n_features,
                row_stride,
            } => first_non_finite(data, n_samples, n_features, row_stride, f32::is_finite),
            MatrixView::F64 {
                data,
                n_samples,
                n_features,
                row_stride,
            } => first_non_finite(data, n_samples, n_features, row_stride, f64::is_finite),
        };
        match found {
            None => Ok(()),
            Some((row, col, value)) => Err(LoadError::NonFinite {
                path: self.path.clone(),
                row,
                col,
                value,
            }),
        }
    }

    /// Tell the kernel the mapping will be read sequentially (`madvise(MADV_SEQUENTIAL)`),
    /// for streaming passes. A no-op for owned data and on non-Unix systems; errors are
    /// ignored (the advice is only a hint).
    pub fn advise_sequential(&self) {
        #[cfg(unix)]
        if let Storage::Mapped { map, .. } = &self.storage {
            let _ = map.advise(memmap2::Advice::Sequential);
        }
    }
}

fn check_vec_shape(
    len: usize,
    size: usize,
    n_samples: usize,
    n_features: usize,
) -> Result<(), LoadError> {
    let path = || PathBuf::from("<generated>");
    if n_samples == 0 {
        return Err(LoadError::ZeroRows { path: path() });
    }
    if n_features == 0 {
        return Err(LoadError::ZeroFeatures { path: path() });
    }
    let expected = n_samples.checked_mul(n_features);
    if expected != Some(len) {
        return Err(LoadError::LengthMismatch {
            path: path(),
            expected: expected.map_or(u64::MAX, |e| (e as u64).saturating_mul(size as u64)),
            found: (len as u64).saturating_mul(size as u64),
            reason: format!("{n_samples} x {n_features} values needed, {len} given"),
        });
    }
    Ok(())
}

/// Read a small `.npy` file of any supported numeric dtype (1-D or 2-D, C or Fortran order,
/// either byte order) as row-major f64 values plus its shape as written in the file. Used to
/// read initial centres. Empty arrays are returned as such.
pub fn read_npy_f64(path: &Path) -> Result<(Vec<f64>, Vec<usize>), LoadError> {
    let (file, len) = open_file(path)?;
    let bytes = read_file(file, len, path)?;
    let header = npy::parse_header(&bytes, path)?;
    let layout = npy::layout(&header, bytes.len(), path)?;
    let values = match convert::convert(&bytes, &layout).ok_or_else(|| mismatch(path))? {
        Owned::F32(v) => v.into_iter().map(f64::from).collect(),
        Owned::F64(v) => v,
    };
    Ok((values, header.shape))
}

/// Read a `.npy` file of integer labels (any integer or bool dtype, 1-D, or 2-D with one
/// column or one row) as i64. Float data is refused with `UnsupportedDtype`; uint64 values
/// above `i64::MAX` give `OutOfRange`.
pub fn read_npy_i64(path: &Path) -> Result<Vec<i64>, LoadError> {
    let (file, len) = open_file(path)?;
    let bytes = read_file(file, len, path)?;
    let header = npy::parse_header(&bytes, path)?;
    let layout = npy::layout(&header, bytes.len(), path)?;
    if !layout.elem.is_integer() {
        return Err(LoadError::UnsupportedDtype {
            path: path.to_path_buf(),
            dtype: header.descr,
            reason: "labels must be integers".into(),
        });
    }
    if let [n, d] = header.shape.as_slice()
        && *n != 1
        && *d != 1
    {
        return Err(LoadError::UnsupportedShape {
            path: path.to_path_buf(),
            shape: header.shape.clone(),
            reason: "labels must be a 1-D array (or a single row or column)".into(),
        });
    }
    let values = convert::gather_ints(&bytes, &layout).ok_or_else(|| mismatch(path))?;
    values
        .into_iter()
        .enumerate()
        .map(|(index, v)| match v {
            IntValue::Signed(s) => Ok(s),
            IntValue::Unsigned(u) => i64::try_from(u).map_err(|_| LoadError::OutOfRange {
                path: path.to_path_buf(),
                index,
                value: u.to_string(),
                target: "i64",
            }),
        })
        .collect()
}
