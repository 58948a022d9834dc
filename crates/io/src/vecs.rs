//! Layouts of the ANN-benchmark formats (`.fvecs`, `.bvecs`, `.fbin`, `.u8bin`) and of raw
//! little-endian `.f32` / `.f64` files.

use std::path::Path;

use crate::convert::{Elem, Endian, Layout};
use crate::error::LoadError;
use crate::{Format, LoadOptions};

fn read_u32_le(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

/// `.fvecs` (f32) or `.bvecs` (u8): every row is a little-endian int32 dimension followed by
/// that many values; every row must have the same dimension.
pub(crate) fn vecs_layout(bytes: &[u8], elem: Elem, path: &Path) -> Result<Layout, LoadError> {
    let p = || path.to_path_buf();
    if bytes.is_empty() {
        return Err(LoadError::Empty { path: p() });
    }
    let Some(first) = read_u32_le(bytes, 0) else {
        return Err(LoadError::Truncated {
            path: p(),
            what: "the first row's dimension".into(),
            expected: 4,
            found: bytes.len() as u64,
        });
    };
    let dim = first as i32;
    if dim < 0 {
        return Err(LoadError::BadHeader {
            path: p(),
            offset: 0,
            reason: format!("negative dimension {dim} in the first row"),
        });
    }
    if dim == 0 {
        return Err(LoadError::ZeroFeatures { path: p() });
    }
    let d = dim as usize;
    let overflow = || LoadError::SizeOverflow {
        path: p(),
        what: format!("row size for dimension {d}"),
    };
    let row_bytes = d
        .checked_mul(elem.size())
        .and_then(|b| b.checked_add(4))
        .ok_or_else(overflow)?;
    let len = bytes.len();
    if len < row_bytes {
        return Err(LoadError::Truncated {
            path: p(),
            what: format!("row 0 of dimension {d}"),
            expected: row_bytes as u64,
            found: len as u64,
        });
    }
    if !len.is_multiple_of(row_bytes) {
        let n_full = len / row_bytes;
        // A header that does not match the first row's dimension is more helpful to report
        // than the leftover length, so look for the first inconsistent row among the full ones.
        check_dims(bytes, row_bytes, n_full, dim, path)?;
        let next = n_full.checked_add(1).and_then(|n| n.checked_mul(row_bytes));
        return Err(LoadError::Truncated {
            path: p(),
            what: format!("row {n_full} of dimension {d}"),
            expected: next.map_or(u64::MAX, |v| v as u64),
            found: len as u64,
        });
    }
    let n = len / row_bytes;
    check_dims(bytes, row_bytes, n, dim, path)?;
    Ok(Layout {
        row_stride_bytes: row_bytes,
        ..Layout::dense(elem, Endian::Little, 4, n, d)
    })
}

fn check_dims(
    bytes: &[u8],
    row_bytes: usize,
    n: usize,
    dim: i32,
    path: &Path,
) -> Result<(), LoadError> {
    for row in 1..n {
        let at = row.saturating_mul(row_bytes);
        let found = read_u32_le(bytes, at).map(|v| v as i32);
        if found != Some(dim) {
            return Err(LoadError::InconsistentDimension {
                path: path.to_path_buf(),
                row,
                offset: at as u64,
                found: found.map_or(-1, i64::from),
                expected: i64::from(dim),
            });
        }
    }
    Ok(())
}

/// `.fbin` (f32) or `.u8bin` (u8): little-endian u32 `n`, u32 `d`, then `n * d` values.
pub(crate) fn bin_layout(bytes: &[u8], elem: Elem, path: &Path) -> Result<Layout, LoadError> {
    let p = || path.to_path_buf();
    if bytes.is_empty() {
        return Err(LoadError::Empty { path: p() });
    }
    let (Some(n), Some(d)) = (read_u32_le(bytes, 0), read_u32_le(bytes, 4)) else {
        return Err(LoadError::Truncated {
            path: p(),
            what: "the 8-byte (n, d) header".into(),
            expected: 8,
            found: bytes.len() as u64,
        });
    };
    let (n, d) = (n as usize, d as usize);
    let data = n
        .checked_mul(d)
        .and_then(|x| x.checked_mul(elem.size()))
        .and_then(|x| x.checked_add(8))
        .ok_or_else(|| LoadError::SizeOverflow {
            path: p(),
            what: format!("header says {n} rows of dimension {d}"),
        })?;
    let len = bytes.len();
    if len < data {
        return Err(LoadError::Truncated {
            path: p(),
            what: format!("{n} rows of dimension {d}"),
            expected: data as u64,
            found: len as u64,
        });
    }
    if len > data {
        return Err(LoadError::LengthMismatch {
            path: p(),
            expected: data as u64,
            found: len as u64,
            reason: format!("header says {n} rows of dimension {d}, the file is longer"),
        });
    }
    if n == 0 {
        return Err(LoadError::ZeroRows { path: p() });
    }
    if d == 0 {
        return Err(LoadError::ZeroFeatures { path: p() });
    }
    Ok(Layout::dense(elem, Endian::Little, 8, n, d))
}

/// Raw little-endian `.f32` / `.f64`: no header, `n_features` from the caller.
pub(crate) fn raw_layout(
    bytes: &[u8],
    format: Format,
    opts: &LoadOptions,
    path: &Path,
) -> Result<Layout, LoadError> {
    let p = || path.to_path_buf();
    let elem = if format == Format::RawF64 {
        Elem::F64
    } else {
        Elem::F32
    };
    let d = opts
        .n_features
        .ok_or_else(|| LoadError::MissingFeatures { path: p(), format })?;
    if d == 0 {
        return Err(LoadError::ZeroFeatures { path: p() });
    }
    if bytes.is_empty() {
        return Err(LoadError::Empty { path: p() });
    }
    let row_bytes = d
        .checked_mul(elem.size())
        .ok_or_else(|| LoadError::SizeOverflow {
            path: p(),
            what: format!("row size for {d} features"),
        })?;
    let len = bytes.len();
    if !len.is_multiple_of(row_bytes) {
        let n_full = len / row_bytes;
        let next = n_full.checked_add(1).and_then(|n| n.checked_mul(row_bytes));
        return Err(LoadError::LengthMismatch {
            path: p(),
            expected: next.map_or(u64::MAX, |v| v as u64),
            found: len as u64,
            reason: format!(
                "{len} bytes is not a whole number of rows of {d} {}-byte values; check --dim",
                elem.size()
            ),
        });
    }
    Ok(Layout::dense(elem, Endian::Little, 0, len / row_bytes, d))
}
