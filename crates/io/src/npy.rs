//! NumPy `.npy` header parsing (format versions 1.0, 2.0 and 3.0) and header writing.
//!
//! Layout of a `.npy` file: the magic string `\x93NUMPY`, one byte major version, one byte
//! minor version, the header length (little-endian u16 for 1.0, u32 for 2.0 and 3.0), the
//! header (a Python dict literal, latin-1 for 1.0/2.0, UTF-8 for 3.0, padded with spaces and
//! ended by a newline), then the raw array data.

use std::path::Path;

use crate::convert::{Elem, Endian, Layout};
use crate::error::{LoadError, escape_bytes};
use crate::pylit::{self, Lit};

/// The magic string every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Largest header accepted, in bytes. NumPy itself refuses headers above 10 000 bytes by
/// default; we allow more (structured dtypes with many fields) but bound the parsing work.
pub const MAX_HEADER_LEN: usize = 1 << 20;

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Format major version (1, 2 or 3).
    pub major: u8,
    /// Format minor version (0).
    pub minor: u8,
    /// The `descr` entry: a dtype string such as `<f8`, or the text of the field list of a
    /// structured dtype.
    pub descr: String,
    /// True when `descr` is a list of fields (a structured dtype).
    pub structured: bool,
    /// The `fortran_order` entry.
    pub fortran_order: bool,
    /// The `shape` entry.
    pub shape: Vec<usize>,
    /// Byte offset of the array data (end of the header).
    pub data_offset: usize,
}

/// Parse the header at the start of `bytes` (the whole file or at least its header).
///
/// Checks the magic string, the version, the header length against `bytes`, and that the
/// header is a dict with exactly the keys `descr` (a string or a list), `fortran_order` (a
/// bool) and `shape` (a tuple of non-negative integers). It does not check the dtype or the
/// data length; [`Dataset::from_npy_bytes`](crate::Dataset::from_npy_bytes) does. `path` is
/// only used in error values. Never panics.
pub fn parse_header(bytes: &[u8], path: &Path) -> Result<NpyHeader, LoadError> {
    let pathbuf = || path.to_path_buf();
    if bytes.is_empty() {
        return Err(LoadError::Empty { path: pathbuf() });
    }
    let head = bytes.get(..MAGIC.len()).unwrap_or(bytes);
    if !MAGIC.starts_with(head) {
        return Err(LoadError::BadMagic {
            path: pathbuf(),
            found: escape_bytes(head),
        });
    }
    let truncated = |what: &str, expected: usize| LoadError::Truncated {
        path: pathbuf(),
        what: what.to_string(),
        expected: expected as u64,
        found: bytes.len() as u64,
    };
    let (Some(&major), Some(&minor)) = (bytes.get(6), bytes.get(7)) else {
        return Err(truncated("the magic string and version", 8));
    };
    let (len_size, utf8) = match (major, minor) {
        (1, 0) => (2usize, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => {
            return Err(LoadError::UnsupportedVersion {
                path: pathbuf(),
                major,
                minor,
            });
        }
    };
    let header_start = 8 + len_size;
    let Some(len_bytes) = bytes.get(8..header_start) else {
        return Err(truncated("the header length field", header_start));
    };
    let header_len = len_bytes
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if header_len > MAX_HEADER_LEN {
        return Err(LoadError::BadHeader {
            path: pathbuf(),
            offset: 8,
            reason: format!(
                "header length {header_len} exceeds the limit of {MAX_HEADER_LEN} bytes"
            ),
        });
    }
    let data_offset = header_start + header_len; // both small: cannot overflow
    let Some(raw) = bytes.get(header_start..data_offset) else {
        return Err(truncated("the header", data_offset));
    };

    // Decode to chars, remembering each char's byte offset in the file.
    let (chars, offsets): (Vec<char>, Vec<usize>) = if utf8 {
        let text = std::str::from_utf8(raw).map_err(|e| LoadError::BadHeader {
            path: pathbuf(),
            offset: header_start + e.valid_up_to(),
            reason: "version 3.0 header is not valid UTF-8".into(),
        })?;
        text.char_indices()
            .map(|(i, c)| (c, header_start + i))
            .unzip()
    } else {
        raw.iter()
            .enumerate()
            .map(|(i, &b)| (char::from(b), header_start + i))
            .unzip()
    };
    let offset_of = |pos: usize| offsets.get(pos).copied().unwrap_or(data_offset);
    let bad = |offset: usize, reason: String| LoadError::BadHeader {
        path: pathbuf(),
        offset,
        reason,
    };

    let lit = pylit::parse(&chars).map_err(|e| bad(offset_of(e.pos), e.reason))?;
    let Lit::Dict(items) = lit else {
        return Err(bad(
            header_start,
            format!("header is a {}, not a dict", lit.type_name()),
        ));
    };

    let mut descr: Option<(String, bool)> = None;
    let mut fortran: Option<bool> = None;
    let mut shape: Option<Vec<usize>> = None;
    for (key, value) in items {
        let Lit::Str(key) = key else {
            return Err(bad(
                header_start,
                format!(
                    "header dict has a {} key; keys must be strings",
                    key.type_name()
                ),
            ));
        };
        let duplicate = match key.as_str() {
            "descr" => {
                let d = match value {
                    Lit::Str(s) => (s, false),
                    Lit::List(ref fields) => (format!("[{} fields]", fields.len()), true),
                    other => {
                        return Err(bad(
                            header_start,
                            format!("'descr' is a {}, expected a str", other.type_name()),
                        ));
                    }
                };
                descr.replace(d).is_some()
            }
            "fortran_order" => {
                let Lit::Bool(b) = value else {
                    return Err(bad(
                        header_start,
                        format!(
                            "'fortran_order' is a {}, expected True or False",
                            value.type_name()
                        ),
                    ));
                };
                fortran.replace(b).is_some()
            }
            "shape" => {
                let Lit::Tuple(dims) = value else {
                    return Err(bad(
                        header_start,
                        format!(
                            "'shape' is a {}, expected a tuple of integers",
                            value.type_name()
                        ),
                    ));
                };
                let mut s = Vec::with_capacity(dims.len());
                for dim in dims {
                    match dim {
                        Lit::Int(v) => match usize::try_from(v) {
                            Ok(v) => s.push(v),
                            Err(_) => {
                                return Err(bad(
                                    header_start,
                                    format!("'shape' has the invalid dimension {v}"),
                                ));
                            }
                        },
                        other => {
                            return Err(bad(
                                header_start,
                                format!(
                                    "'shape' contains a {}, expected integers",
                                    other.type_name()
                                ),
                            ));
                        }
                    }
                }
                shape.replace(s).is_some()
            }
            other => {
                return Err(bad(
                    header_start,
                    format!(
                        "unexpected key {other:?} (expected exactly 'descr', 'fortran_order', 'shape')"
                    ),
                ));
            }
        };
        if duplicate {
            return Err(bad(header_start, format!("duplicate key {key:?}")));
        }
    }
    let missing = |k: &str| bad(header_start, format!("header dict has no {k:?} key"));
    let (descr, structured) = descr.ok_or_else(|| missing("descr"))?;
    let fortran_order = fortran.ok_or_else(|| missing("fortran_order"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;
    Ok(NpyHeader {
        major,
        minor,
        descr,
        structured,
        fortran_order,
        shape,
        data_offset,
    })
}

/// Interpret a simple `descr` string (`<f8`, `|u1`, ...). Errors carry the reason.
pub(crate) fn parse_descr(descr: &str, path: &Path) -> Result<(Elem, Endian), LoadError> {
    let refuse = |reason: &str| LoadError::UnsupportedDtype {
        path: path.to_path_buf(),
        dtype: descr.to_string(),
        reason: reason.to_string(),
    };
    let mut chars = descr.chars();
    let (order, rest) = match chars.next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (Some(c), chars.as_str()),
        _ => (None, descr),
    };
    let mut rest_chars = rest.chars();
    let kind = rest_chars.next().ok_or_else(|| refuse("empty dtype"))?;
    let size_text = rest_chars.as_str();
    // As numpy: the item size, when present, is decimal digits only ('<fxyz', '<f+8', '<f 8'
    // and item sizes too large for any type are not understood).
    let size: Option<usize> = if size_text.is_empty() {
        None
    } else if !size_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse(
            "malformed item size (expected a type code and a size in bytes, such as <f8)",
        ));
    } else {
        match size_text.parse::<usize>() {
            Ok(s) if s <= 64 => Some(s),
            _ => {
                return Err(refuse(
                    "item size out of range (no numeric type has that many bytes)",
                ));
            }
        }
    };
    let elem = match (kind, size) {
        ('f', Some(2)) | ('e', None) => Elem::F16,
        ('f', Some(4)) | ('f', None) => Elem::F32,
        ('f', Some(8)) | ('d', None) => Elem::F64,
        ('f', Some(12 | 16)) | ('g', None) => {
            return Err(refuse(
                "extended-precision floats are not supported; convert to float64",
            ));
        }
        ('f', Some(_)) => {
            return Err(refuse(
                "no float type has that item size (numpy floats are f2, f4, f8)",
            ));
        }
        ('i', Some(1)) | ('b', None) => Elem::I8,
        ('i', Some(2)) | ('h', None) => Elem::I16,
        ('i', Some(4)) => Elem::I32,
        ('i', Some(8)) | ('q', None) => Elem::I64,
        ('u', Some(1)) | ('B', None) => Elem::U8,
        ('u', Some(2)) | ('H', None) => Elem::U16,
        ('u', Some(4)) => Elem::U32,
        ('u', Some(8)) | ('Q', None) => Elem::U64,
        ('b', Some(1)) | ('?', None) => Elem::Bool,
        ('O', _) => {
            return Err(refuse(
                "object arrays (pickled Python objects) are not supported; save a numeric array",
            ));
        }
        ('c', _) => return Err(refuse("complex numbers are not supported")),
        ('U' | 'S' | 'a', _) => return Err(refuse("string arrays are not supported")),
        ('V', _) => return Err(refuse("raw void / structured records are not supported")),
        ('M' | 'm', _) => return Err(refuse("datetime / timedelta arrays are not supported")),
        _ => {
            return Err(refuse(
                "unknown dtype (supported: f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8, b1)",
            ));
        }
    };
    let endian = match order {
        Some('<') => Endian::Little,
        Some('>') => Endian::Big,
        Some('|') | None if elem.size() == 1 => Endian::Little,
        Some('=') if elem.size() == 1 => Endian::Little,
        _ => {
            return Err(refuse(
                "a multi-byte dtype needs an explicit byte order ('<' or '>')",
            ));
        }
    };
    Ok((elem, endian))
}

/// Validate the header's dtype and shape and the data length against the buffer length,
/// returning where the (n_samples, n_features) matrix lies. 1-D arrays are one feature.
/// Zero rows or features are allowed here; callers that need data refuse them.
pub(crate) fn layout(
    header: &NpyHeader,
    total_len: usize,
    path: &Path,
) -> Result<Layout, LoadError> {
    if header.structured {
        return Err(LoadError::UnsupportedDtype {
            path: path.to_path_buf(),
            dtype: header.descr.clone(),
            reason:
                "structured dtypes (record arrays) are not supported; save a plain numeric array"
                    .into(),
        });
    }
    let (elem, endian) = parse_descr(&header.descr, path)?;
    let (n_samples, n_features) = match header.shape.as_slice() {
        [n] => (*n, 1),
        [n, d] => (*n, *d),
        s => {
            let reason = if s.is_empty() {
                "0-d (scalar) arrays are not supported; expected a 1-D or 2-D array"
            } else {
                "arrays with 3 or more dimensions are not supported; reshape to (n_samples, n_features)"
            };
            return Err(LoadError::UnsupportedShape {
                path: path.to_path_buf(),
                shape: s.to_vec(),
                reason: reason.into(),
            });
        }
    };
    let data_len = n_samples
        .checked_mul(n_features)
        .and_then(|n| n.checked_mul(elem.size()))
        .ok_or_else(|| LoadError::SizeOverflow {
            path: path.to_path_buf(),
            what: format!(
                "shape {:?} of {} has too many bytes",
                header.shape, header.descr
            ),
        })?;
    let end = header
        .data_offset
        .checked_add(data_len)
        .ok_or_else(|| LoadError::SizeOverflow {
            path: path.to_path_buf(),
            what: "data offset plus data length".into(),
        })?;
    if total_len < end {
        return Err(LoadError::Truncated {
            path: path.to_path_buf(),
            what: format!("shape {:?} of {}", header.shape, header.descr),
            expected: end as u64,
            found: total_len as u64,
        });
    }
    if total_len > end {
        return Err(LoadError::LengthMismatch {
            path: path.to_path_buf(),
            expected: end as u64,
            found: total_len as u64,
            reason: format!(
                "{} trailing bytes after the data of shape {:?} {}",
                total_len - end,
                header.shape,
                header.descr
            ),
        });
    }
    let mut layout = Layout::dense(elem, endian, header.data_offset, n_samples, n_features);
    layout.fortran = header.fortran_order && n_samples > 1 && n_features > 1;
    Ok(layout)
}

/// Build a version 1.0 header for a C-order array of `descr` with `shape`, padded with spaces
/// and a final newline so that the data starts at a multiple of 64 bytes.
pub(crate) fn build_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        dims => {
            let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // magic (6) + version (2) + length (2) + dict + padding + '\n' ≡ 0 (mod 64)
    let unpadded = 10 + dict.len() + 1;
    let padding = (64 - unpadded % 64) % 64;
    let header_len = dict.len() + padding + 1;
    let mut out = Vec::with_capacity(10 + header_len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // The dict of a 1-D/2-D shape is far below 64 KiB.
    out.extend_from_slice(&u16::try_from(header_len).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + padding, b' ');
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(version: (u8, u8), dict: &str, data: &[u8]) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.push(version.0);
        v.push(version.1);
        if version.0 == 1 {
            v.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        } else {
            v.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        }
        v.extend_from_slice(dict.as_bytes());
        v.extend_from_slice(data);
        v
    }

    fn p() -> &'static Path {
        Path::new("t.npy")
    }

    #[test]
    fn parses_all_versions() {
        for v in [(1, 0), (2, 0), (3, 0)] {
            let f = file(
                v,
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n",
                &[],
            );
            let h = parse_header(&f, p()).unwrap();
            assert_eq!((h.major, h.minor), v);
            assert_eq!(h.descr, "<f4");
            assert!(h.fortran_order);
            assert_eq!(h.shape, vec![2, 3]);
            assert_eq!(h.data_offset, f.len());
        }
    }

    #[test]
    fn built_header_round_trips_and_is_aligned() {
        for shape in [vec![5], vec![3, 4], vec![123_456_789, 1000]] {
            let h = build_header("<f8", &shape);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(h.last(), Some(&b'\n'));
            let parsed = parse_header(&h, p()).unwrap();
            assert_eq!(parsed.shape, shape);
            assert_eq!(parsed.descr, "<f8");
            assert!(!parsed.fortran_order);
            assert_eq!(parsed.data_offset, h.len());
        }
    }

    #[test]
    fn header_errors_are_typed() {
        let e = parse_header(b"\x93NUMPZ\x01\x00", p()).unwrap_err();
        assert!(matches!(e, LoadError::BadMagic { .. }), "{e}");
        let e = parse_header(b"\x93NUM", p()).unwrap_err();
        assert!(matches!(e, LoadError::Truncated { .. }), "{e}");
        let e = parse_header(b"\x93NUMPY\x04\x00\x00\x00", p()).unwrap_err();
        assert!(
            matches!(
                e,
                LoadError::UnsupportedVersion {
                    major: 4,
                    minor: 0,
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_header(b"\x93NUMPY\x01\x00\x50\x00{}", p()).unwrap_err();
        assert!(
            matches!(
                e,
                LoadError::Truncated {
                    expected: 90,
                    found: 12,
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_header(&file((1, 0), "[1, 2]", &[]), p()).unwrap_err();
        assert!(matches!(e, LoadError::BadHeader { offset: 10, .. }), "{e}");
        let e =
            parse_header(&file((1, 0), "{'descr': '<f8', 'shape': (1,)}", &[]), p()).unwrap_err();
        assert!(e.to_string().contains("fortran_order"), "{e}");
        let e = parse_header(
            &file(
                (1, 0),
                "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}",
                &[],
            ),
            p(),
        )
        .unwrap_err();
        assert!(matches!(e, LoadError::BadHeader { .. }), "{e}");
        let e = parse_header(
            &file(
                (1, 0),
                "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
                &[],
            ),
            p(),
        )
        .unwrap_err();
        assert!(matches!(e, LoadError::BadHeader { .. }), "{e}");
        let e = parse_header(
            &file(
                (1, 0),
                "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
                &[],
            ),
            p(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
        // Version 3.0 headers must be UTF-8; 1.0 headers are latin-1 and any byte is a char.
        let e = parse_header(&file((3, 0), "{'descr': '\u{ff}'}", &[]), p());
        assert!(e.is_err());
        let mut bad_utf8 = file((3, 0), "{'descr': 'xx'}", &[]);
        bad_utf8[22] = 0xff;
        let e = parse_header(&bad_utf8, p()).unwrap_err();
        assert!(matches!(e, LoadError::BadHeader { offset: 22, .. }), "{e}");
    }

    #[test]
    fn descr_parsing() {
        let ok = |s: &str| parse_descr(s, p()).unwrap();
        assert_eq!(ok("<f8"), (Elem::F64, Endian::Little));
        assert_eq!(ok(">f4"), (Elem::F32, Endian::Big));
        assert_eq!(ok("|u1"), (Elem::U8, Endian::Little));
        assert_eq!(ok("|b1"), (Elem::Bool, Endian::Little));
        assert_eq!(ok("<f2"), (Elem::F16, Endian::Little));
        assert_eq!(ok(">i8"), (Elem::I64, Endian::Big));
        for bad in [
            "|O",
            "<c16",
            "<U5",
            "|S3",
            "|V8",
            "<M8[ns]",
            "<f16",
            "|f8",
            "",
            "<",
            "<x4",
            "<i3",
            "<fxyz",
            "<f3",
            "<f+8",
            "<f 8",
            "<f8 ",
            "<f99999999999999999999",
            "<f0",
            "<i16",
        ] {
            let e = parse_descr(bad, p()).unwrap_err();
            assert!(
                matches!(e, LoadError::UnsupportedDtype { ref dtype, .. } if dtype == bad),
                "{bad}: {e}"
            );
        }
    }
}
