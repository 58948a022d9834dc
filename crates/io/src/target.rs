//! Where an output goes: a regular file (symbolic links followed), a character device or FIFO
//! written in place, or the process's own standard output or error ([`output_target`]), and
//! the keys [`crate::OutputSet`] compares and stages outputs by.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::WriteError;

/// Where an output goes, as [`output_target`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// A regular file at `path` (symbolic links followed), which exists or will be created;
    /// written through a temporary file beside it and a rename.
    File {
        /// The file that is replaced or created.
        path: PathBuf,
        /// Whether it exists now.
        exists: bool,
    },
    /// An existing character device or FIFO, written in place.
    Stream,
    /// The process's standard output (`/dev/stdout`, `/dev/fd/1`).
    Stdout,
    /// The process's standard error (`/dev/stderr`, `/dev/fd/2`).
    Stderr,
}

impl OutputTarget {
    /// True for a regular file (existing or new), false for a stream.
    pub fn is_file(&self) -> bool {
        matches!(self, OutputTarget::File { .. })
    }
}

/// The process's own standard output or error, named as a path.
fn std_stream(path: &Path) -> Option<OutputTarget> {
    match path.to_str()? {
        "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Some(OutputTarget::Stdout),
        "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => Some(OutputTarget::Stderr),
        _ => None,
    }
}

/// Follows the symbolic links of the last component of `path` (at most 40, as the kernel
/// does). A dangling link resolves to its missing target.
fn resolve_links(path: &Path) -> Result<Result<PathBuf, OutputTarget>, WriteError> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        if let Some(t) = std_stream(&p) {
            return Ok(Err(t));
        }
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target =
                    fs::read_link(&p).map_err(|e| WriteError::from_io(path, "read link", e))?;
                p = match p.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(Ok(p)),
        }
    }
    Err(WriteError::NotWritable {
        path: path.to_path_buf(),
        reason: "too many levels of symbolic links".into(),
    })
}

/// The file `path` names, as its directory's canonical path and its name, so that `a.npy`,
/// `./a.npy` and `sub/../a.npy` compare equal whether or not the file exists.
pub(crate) fn file_key(path: &Path) -> PathBuf {
    let dir = parent_dir(path);
    let dir = dir.canonicalize().unwrap_or(dir);
    match path.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    }
}

/// The directory `path` is in (`.` for a bare name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Finds where an output given as `path` goes (see [`crate::OutputSet`]): a regular file
/// (after following symbolic links; checking that its directory exists), an existing
/// character device or FIFO, or the process's standard output or error. A directory, a block
/// device, a socket or a missing directory is an error.
pub fn output_target(path: &Path) -> Result<OutputTarget, WriteError> {
    if let Some(t) = std_stream(path) {
        return Ok(t);
    }
    if path.file_name().is_none() {
        return Err(WriteError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    // What the kernel sees when it follows every link (including /proc's magic links, such as
    // a link to /proc/self/fd/1 when that is a pipe): streams are opened by the path given.
    if let Ok(m) = fs::metadata(path) {
        if m.is_dir() {
            return Err(WriteError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        if !m.is_file() {
            return stream_kind(path, &m);
        }
    }
    let real = match resolve_links(path)? {
        Ok(p) => p,
        Err(std) => return Ok(std),
    };
    match fs::metadata(&real) {
        Ok(m) if m.is_dir() => Err(WriteError::IsDirectory {
            path: path.to_path_buf(),
        }),
        Ok(m) if m.is_file() => Ok(OutputTarget::File {
            path: real,
            exists: true,
        }),
        Ok(m) => stream_kind(path, &m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = parent_dir(&real);
            if !dir.is_dir() {
                return Err(WriteError::DirectoryNotFound {
                    path: path.to_path_buf(),
                    dir,
                });
            }
            Ok(OutputTarget::File {
                path: real,
                exists: false,
            })
        }
        Err(e) => Err(WriteError::from_io(path, "stat", e)),
    }
}

#[cfg(unix)]
fn stream_kind(path: &Path, m: &fs::Metadata) -> Result<OutputTarget, WriteError> {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_char_device() || t.is_fifo() {
        return Ok(OutputTarget::Stream);
    }
    let what = if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(WriteError::NotWritable {
        path: path.to_path_buf(),
        reason: format!("it is {what}; outputs are regular files, character devices or FIFOs"),
    })
}

#[cfg(not(unix))]
fn stream_kind(path: &Path, _m: &fs::Metadata) -> Result<OutputTarget, WriteError> {
    Err(WriteError::NotWritable {
        path: path.to_path_buf(),
        reason: "it is not a regular file".into(),
    })
}
