//! Atomic writers: `.npy` for f32/f64 matrices and i64 label vectors, and [`write_atomic`]
//! for any other file (JSON models...).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::WriteError;
use crate::npy::build_header;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Removes the temporary file when dropped unless [`TempGuard::disarm`] was called, so an
/// error (or a panic inside the caller's closure) never leaves a stray file behind.
struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl TempGuard {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Write a file atomically: `write` fills a temporary file in the same directory as `path`
/// (named `.<name>.tmp-<pid>-<counter>`), which is flushed, fsynced and renamed over `path`.
///
/// Readers see either the old file or the complete new one, never half a file. On any error
/// (including an error returned by `write`) the temporary file is removed and `path` is left
/// untouched. The writer given to `write` is buffered.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteError> {
    let name = path.file_name().ok_or_else(|| WriteError::IsDirectory {
        path: path.to_path_buf(),
    })?;
    if path.is_dir() {
        return Err(WriteError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(WriteError::DirectoryNotFound {
            path: path.to_path_buf(),
            dir,
        });
    }
    let (file, tmp_path) = create_temp(path, &dir, name)?;
    let guard = TempGuard {
        path: tmp_path.clone(),
        armed: true,
    };
    let err = |op: &'static str| move |e: io::Error| WriteError::from_io(path, op, e);

    let mut out = BufWriter::with_capacity(1 << 20, file);
    write(&mut out).map_err(err("write"))?;
    let file = out.into_inner().map_err(|e| err("write")(e.into_error()))?;
    file.sync_all().map_err(err("fsync"))?;
    drop(file);
    fs::rename(&tmp_path, path).map_err(err("rename"))?;
    guard.disarm();
    // Make the rename itself durable; failure here does not undo a completed write.
    #[cfg(unix)]
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn create_temp(
    path: &Path,
    dir: &Path,
    name: &std::ffi::OsStr,
) -> Result<(File, PathBuf), WriteError> {
    let pid = std::process::id();
    let mut last_err = None;
    for _ in 0..16 {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp-{pid}-{n}"));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(WriteError::from_io(path, "create temporary file", e)),
        }
    }
    let e = last_err.unwrap_or_else(|| io::Error::other("could not create a temporary file"));
    Err(WriteError::from_io(path, "create temporary file", e))
}

fn check_shape(path: &Path, shape: &[usize], len: usize) -> Result<(), WriteError> {
    if shape.is_empty() || shape.len() > 2 {
        return Err(WriteError::UnsupportedShape {
            path: path.to_path_buf(),
            shape: shape.to_vec(),
        });
    }
    let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if expected != Some(len) {
        return Err(WriteError::ShapeMismatch {
            path: path.to_path_buf(),
            shape: shape.to_vec(),
            expected,
            found: len,
        });
    }
    Ok(())
}

/// Write elements as little-endian bytes in chunks (the cast is free on little-endian hosts).
fn write_le<T: bytemuck::Pod, const N: usize>(
    out: &mut dyn Write,
    data: &[T],
    to_le: impl Fn(T) -> [u8; N],
) -> io::Result<()> {
    if cfg!(target_endian = "little") {
        out.write_all(bytemuck::cast_slice(data))
    } else {
        let mut buf = Vec::with_capacity(N * 4096);
        for chunk in data.chunks(4096) {
            buf.clear();
            for &v in chunk {
                buf.extend_from_slice(&to_le(v));
            }
            out.write_all(&buf)?;
        }
        Ok(())
    }
}

/// Write a C-order `<f8` array of `shape` (1-D or 2-D) as a version 1.0 `.npy` file whose
/// data starts at byte 64-aligned offset, atomically (see [`write_atomic`]).
pub fn write_npy_f64(path: &Path, data: &[f64], shape: &[usize]) -> Result<(), WriteError> {
    check_shape(path, shape, data.len())?;
    let header = build_header("<f8", shape);
    write_atomic(path, |out| {
        out.write_all(&header)?;
        write_le(out, data, f64::to_le_bytes)
    })
}

/// Write a C-order `<f4` array of `shape` (1-D or 2-D) as a version 1.0 `.npy` file,
/// atomically (see [`write_atomic`]).
pub fn write_npy_f32(path: &Path, data: &[f32], shape: &[usize]) -> Result<(), WriteError> {
    check_shape(path, shape, data.len())?;
    let header = build_header("<f4", shape);
    write_atomic(path, |out| {
        out.write_all(&header)?;
        write_le(out, data, f32::to_le_bytes)
    })
}

/// Write a 1-D `<i8` (int64) array, such as cluster labels, as a version 1.0 `.npy` file,
/// atomically (see [`write_atomic`]).
pub fn write_npy_i64(path: &Path, data: &[i64]) -> Result<(), WriteError> {
    let header = build_header("<i8", &[data.len()]);
    write_atomic(path, |out| {
        out.write_all(&header)?;
        write_le(out, data, i64::to_le_bytes)
    })
}
