//! Typed errors for loading and writing.
//!
//! Every variant carries the path of the file concerned (or the name given to
//! [`Dataset::from_npy_bytes`](crate::Dataset::from_npy_bytes)) and enough context to act on:
//! byte offsets, expected and found lengths, the dtype string, row and column numbers.
//! Messages are a single line.

use std::io;
use std::path::{Path, PathBuf};

use crate::Format;

/// Why a file could not be turned into a [`Dataset`](crate::Dataset).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// An I/O error not covered by a more specific variant.
    #[error("{path}: {op} failed ({kind}): {source}", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done ("open", "read", "memory-map", ...).
        op: &'static str,
        /// The kind of the underlying error.
        kind: io::ErrorKind,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file does not exist.
    #[error("{path}: no such file", path = .path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The path names a directory.
    #[error("{path}: is a directory, expected a data file", path = .path.display())]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The file exists but may not be read.
    #[error("{path}: permission denied", path = .path.display())]
    PermissionDenied {
        /// The file.
        path: PathBuf,
    },
    /// The path is neither a regular file nor a directory (a FIFO, socket or device).
    #[error("{path}: not a regular file (FIFO, socket or device); copy the data to a file first", path = .path.display())]
    NotRegularFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is empty.
    #[error("{path}: file is empty", path = .path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file does not start with the `.npy` magic string `\x93NUMPY`.
    #[error("{path}: not a .npy file: bad magic {found} (expected \\x93NUMPY)", path = .path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The first bytes found, escaped.
        found: String,
    },
    /// The `.npy` format version is not 1.0, 2.0 or 3.0.
    #[error("{path}: unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)", path = .path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The `.npy` header (or another format's header) is malformed.
    #[error("{path}: bad header at byte {offset}: {reason}", path = .path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// Byte offset in the file where the problem was found.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
    /// The element type is not one this crate reads.
    #[error("{path}: unsupported dtype {dtype}: {reason}", path = .path.display())]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The dtype string as written in the file.
        dtype: String,
        /// Why it is refused.
        reason: String,
    },
    /// The array shape is not 1-D or 2-D.
    #[error("{path}: unsupported shape {shape:?}: {reason}", path = .path.display())]
    UnsupportedShape {
        /// The file.
        path: PathBuf,
        /// The shape found.
        shape: Vec<usize>,
        /// Why it is refused.
        reason: String,
    },
    /// The file ends before the data the header announces.
    #[error("{path}: truncated: {what} needs {expected} bytes but the file has {found}", path = .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What was being read ("header", "data", "row 12", ...).
        what: String,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The data length does not match what the header or the row size implies.
    #[error("{path}: length mismatch: {reason} (expected {expected} bytes, found {found})", path = .path.display())]
    LengthMismatch {
        /// The file.
        path: PathBuf,
        /// Bytes expected.
        expected: u64,
        /// Bytes found.
        found: u64,
        /// What the expectation was based on.
        reason: String,
    },
    /// A row of an `.fvecs` / `.bvecs` file has a different dimension from the first row.
    #[error("{path}: row {row} has dimension {found}, expected {expected} like the first row (at byte {offset})", path = .path.display())]
    InconsistentDimension {
        /// The file.
        path: PathBuf,
        /// Zero-based row index.
        row: usize,
        /// Byte offset of the row's dimension field.
        offset: u64,
        /// Dimension found in that row.
        found: i64,
        /// Dimension of the first row.
        expected: i64,
    },
    /// The data has no rows.
    #[error("{path}: the data has zero rows", path = .path.display())]
    ZeroRows {
        /// The file.
        path: PathBuf,
    },
    /// The data has no features (columns).
    #[error("{path}: the data has zero features (columns)", path = .path.display())]
    ZeroFeatures {
        /// The file.
        path: PathBuf,
    },
    /// A raw file was given without the number of features.
    #[error("{path}: raw {format} files need the number of features: pass --dim D", path = .path.display())]
    MissingFeatures {
        /// The file.
        path: PathBuf,
        /// The raw format.
        format: Format,
    },
    /// A CSV / text file could not be parsed.
    #[error("{path}:{line}:{column}: {message}", path = .path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// One-based field (column) number; 0 when the whole line is concerned.
        column: usize,
        /// What was wrong.
        message: String,
    },
    /// The data contains NaN or an infinity.
    #[error("{path}: non-finite value {value} at row {row}, column {col} (zero-based); remove or impute it first", path = .path.display())]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Zero-based row.
        row: usize,
        /// Zero-based column.
        col: usize,
        /// The offending value.
        value: f64,
    },
    /// The file extension names no known format.
    #[error("{path}: unknown format{ext}: name the file .npy, .fvecs, .bvecs, .fbin, .u8bin, .csv, .tsv or .txt (headerless little-endian floats: .f32 or .f64)", path = .path.display(), ext = match .extension { Some(e) => format!(" (extension .{e})"), None => " (no extension)".to_string() })]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// The extension found, if any.
        extension: Option<String>,
    },
    /// A size computed from the header overflows the address space.
    #[error("{path}: size overflow: {what}", path = .path.display())]
    SizeOverflow {
        /// The file.
        path: PathBuf,
        /// What overflowed.
        what: String,
    },
    /// A value cannot be represented in the requested type (e.g. a uint64 label above i64::MAX).
    #[error("{path}: value {value} at index {index} does not fit in {target}", path = .path.display())]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// Zero-based flat index of the value.
        index: usize,
        /// The value, as text.
        value: String,
        /// The requested type.
        target: &'static str,
    },
}

impl LoadError {
    /// The path (or name) of the file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Io { path, .. }
            | LoadError::NotFound { path }
            | LoadError::IsDirectory { path }
            | LoadError::PermissionDenied { path }
            | LoadError::NotRegularFile { path }
            | LoadError::Empty { path }
            | LoadError::BadMagic { path, .. }
            | LoadError::UnsupportedVersion { path, .. }
            | LoadError::BadHeader { path, .. }
            | LoadError::UnsupportedDtype { path, .. }
            | LoadError::UnsupportedShape { path, .. }
            | LoadError::Truncated { path, .. }
            | LoadError::LengthMismatch { path, .. }
            | LoadError::InconsistentDimension { path, .. }
            | LoadError::ZeroRows { path }
            | LoadError::ZeroFeatures { path }
            | LoadError::MissingFeatures { path, .. }
            | LoadError::Csv { path, .. }
            | LoadError::NonFinite { path, .. }
            | LoadError::UnknownFormat { path, .. }
            | LoadError::SizeOverflow { path, .. }
            | LoadError::OutOfRange { path, .. } => path,
        }
    }

    /// Map an I/O error from opening or reading `path` to the most specific variant.
    pub(crate) fn from_io(path: &Path, op: &'static str, source: io::Error) -> LoadError {
        let path = path.to_path_buf();
        match source.kind() {
            io::ErrorKind::NotFound => LoadError::NotFound { path },
            io::ErrorKind::PermissionDenied => LoadError::PermissionDenied { path },
            io::ErrorKind::IsADirectory => LoadError::IsDirectory { path },
            kind => LoadError::Io {
                path,
                op,
                kind,
                source,
            },
        }
    }
}

/// Why a result file could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// An I/O error not covered by a more specific variant; the temporary file has been removed.
    #[error("{path}: {op} failed: {source}", path = .path.display())]
    Io {
        /// The destination file.
        path: PathBuf,
        /// What was being done ("create temporary file", "write", "fsync", "rename").
        op: &'static str,
        /// The kind of the underlying error.
        kind: io::ErrorKind,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The destination directory does not exist.
    #[error("{path}: directory {dir} does not exist", path = .path.display(), dir = .dir.display())]
    DirectoryNotFound {
        /// The destination file.
        path: PathBuf,
        /// The missing directory.
        dir: PathBuf,
    },
    /// The destination (or its directory) may not be written.
    #[error("{path}: permission denied", path = .path.display())]
    PermissionDenied {
        /// The destination file.
        path: PathBuf,
    },
    /// The destination is a directory.
    #[error("{path}: is a directory, expected a file name", path = .path.display())]
    IsDirectory {
        /// The destination.
        path: PathBuf,
    },
    /// The destination is neither a regular file (nor a name for a new one), a character
    /// device nor a FIFO, or cannot hold what is written.
    #[error("cannot write {path}: {reason}", path = .path.display())]
    NotWritable {
        /// The destination.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Two outputs of one [`OutputSet`](crate::OutputSet) are the same file.
    #[error("{path} and {other} are the same file: give each output its own path", path = .path.display(), other = .other.display())]
    SameFile {
        /// The later output.
        path: PathBuf,
        /// The earlier output naming the same file.
        other: PathBuf,
    },
    /// The process was interrupted ([`abandon_outputs`](crate::abandon_outputs)) before the
    /// outputs were committed; none was changed.
    #[error("interrupted: no output was changed")]
    Interrupted,
    /// The data length does not match the product of the shape.
    #[error("{path}: shape {shape:?} needs {n} values but {found} were given", path = .path.display(), n = match .expected { Some(n) => n.to_string(), None => "more than usize::MAX".to_string() })]
    ShapeMismatch {
        /// The destination file.
        path: PathBuf,
        /// The shape given.
        shape: Vec<usize>,
        /// Product of the shape (None if it overflows).
        expected: Option<usize>,
        /// Length of the data.
        found: usize,
    },
    /// The shape is not 1-D or 2-D.
    #[error("{path}: unsupported shape {shape:?}: only 1-D and 2-D arrays are written", path = .path.display())]
    UnsupportedShape {
        /// The destination file.
        path: PathBuf,
        /// The shape given.
        shape: Vec<usize>,
    },
}

impl WriteError {
    /// The destination path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            WriteError::Io { path, .. }
            | WriteError::DirectoryNotFound { path, .. }
            | WriteError::PermissionDenied { path }
            | WriteError::IsDirectory { path }
            | WriteError::ShapeMismatch { path, .. }
            | WriteError::UnsupportedShape { path, .. }
            | WriteError::NotWritable { path, .. }
            | WriteError::SameFile { path, .. } => path,
            WriteError::Interrupted => Path::new(""),
        }
    }

    pub(crate) fn from_io(path: &Path, op: &'static str, source: io::Error) -> WriteError {
        let path = path.to_path_buf();
        match source.kind() {
            io::ErrorKind::PermissionDenied => WriteError::PermissionDenied { path },
            io::ErrorKind::IsADirectory => WriteError::IsDirectory { path },
            kind => WriteError::Io {
                path,
                op,
                kind,
                source,
            },
        }
    }
}

/// Escape the first bytes of a file for an error message.
pub(crate) fn escape_bytes(bytes: &[u8]) -> String {
    let mut s = String::from("b\"");
    for &b in bytes {
        s.extend(std::ascii::escape_default(b).map(char::from));
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_specific_variants() {
        let p = Path::new("x.npy");
        let e = |k| LoadError::from_io(p, "open", io::Error::from(k));
        assert!(matches!(
            e(io::ErrorKind::PermissionDenied),
            LoadError::PermissionDenied { .. }
        ));
        assert!(matches!(
            e(io::ErrorKind::NotFound),
            LoadError::NotFound { .. }
        ));
        assert!(matches!(
            e(io::ErrorKind::IsADirectory),
            LoadError::IsDirectory { .. }
        ));
        match e(io::ErrorKind::Interrupted) {
            LoadError::Io { kind, op, .. } => {
                assert_eq!(kind, io::ErrorKind::Interrupted);
                assert_eq!(op, "open");
            }
            other => panic!("wrong variant {other}"),
        }
        let w = |k| WriteError::from_io(p, "rename", io::Error::from(k));
        assert!(matches!(
            w(io::ErrorKind::PermissionDenied),
            WriteError::PermissionDenied { .. }
        ));
        assert!(matches!(
            w(io::ErrorKind::StorageFull),
            WriteError::Io {
                kind: io::ErrorKind::StorageFull,
                ..
            }
        ));
    }

    #[test]
    fn messages_are_one_line_and_name_the_file() {
        let e = LoadError::NonFinite {
            path: "data/x.npy".into(),
            row: 3,
            col: 1,
            value: f64::NAN,
        };
        assert_eq!(
            e.to_string(),
            "data/x.npy: non-finite value NaN at row 3, column 1 (zero-based); remove or impute it first"
        );
        let e = LoadError::UnknownFormat {
            path: "a.bin".into(),
            extension: Some("bin".into()),
        };
        assert!(
            e.to_string()
                .starts_with("a.bin: unknown format (extension .bin)")
        );
        assert_eq!(escape_bytes(b"\x93NU\n"), "b\"\\x93NU\\n\"");
    }
}
