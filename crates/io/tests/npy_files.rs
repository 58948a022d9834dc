//! Reading `.npy` files written by numpy itself (tests/data, made by make_npy.py): exact
//! values, zero-copy where the layout allows it, one-time conversion with a note otherwise,
//! and typed refusals.

mod common;

use std::fs;

use common::{assert_view_in_map, assert_view_len, fixture, m_values, open};
use gaussmix_io::{Dataset, Dtype, LoadError, LoadOptions, MatrixView, read_npy_f64, read_npy_i64};

fn load_err(name: &str) -> LoadError {
    match Dataset::open(&fixture(name), &LoadOptions::default()) {
        Ok(d) => panic!("{name}: expected an error, got {d:?}"),
        Err(e) => {
            assert!(
                e.to_string().contains(name),
                "message must name the file: {e}"
            );
            assert_eq!(e.path(), fixture(name));
            e
        }
    }
}

#[test]
fn v1_f8_c_order_is_zero_copy_with_exact_values() {
    let ds = open(&fixture("v1_f8_c.npy"));
    assert_eq!(
        (ds.n_samples(), ds.n_features(), ds.dtype()),
        (3, 4, Dtype::F64)
    );
    let offset = assert_view_in_map(&ds);
    assert_eq!(offset % 64, 0, "numpy aligns data to 64 bytes");
    assert!(ds.notes().is_empty(), "{:?}", ds.notes());
    assert_eq!(ds.view().to_f64_vec(), m_values());
    assert_eq!(ds.view().get(2, 3), Some(3.5));
    assert_eq!(ds.view().get(1, 0), Some(0.0));
    assert_eq!(ds.view().get(3, 0), None);
    assert_eq!(ds.path(), fixture("v1_f8_c.npy"));
    assert_view_len(&ds);
    ds.advise_sequential();
    ds.check_finite().unwrap();
}

#[test]
fn v1_f4_v2_v3_are_zero_copy() {
    for (name, dtype) in [
        ("v1_f4_c.npy", Dtype::F32),
        ("v2_f8_c.npy", Dtype::F64),
        ("v3_f4_c.npy", Dtype::F32),
    ] {
        let ds = open(&fixture(name));
        assert_eq!(ds.dtype(), dtype, "{name}");
        assert_eq!((ds.n_samples(), ds.n_features()), (3, 4), "{name}");
        assert_view_in_map(&ds);
        assert!(ds.notes().is_empty(), "{name}: {:?}", ds.notes());
        assert_eq!(ds.view().to_f64_vec(), m_values(), "{name}");
        assert_view_len(&ds);
    }
}

#[test]
fn sixteen_byte_aligned_offset_is_still_zero_copy() {
    // Older writers align to 16, not 64: the data at byte 80 is aligned for f32.
    let ds = open(&fixture("f4_align16.npy"));
    assert_eq!(assert_view_in_map(&ds), 80);
    assert_eq!(ds.view().to_f64_vec(), m_values());
}

#[test]
fn unaligned_offset_is_copied_with_a_note() {
    let ds = open(&fixture("f8_unaligned.npy"));
    assert!(!ds.is_zero_copy());
    assert!(ds.mapped_bytes().is_none());
    assert_eq!(ds.dtype(), Dtype::F64);
    assert_eq!(ds.view().to_f64_vec(), m_values());
    assert_eq!(
        ds.notes(),
        ["copied <f8 data at unaligned byte offset 83 into an aligned f64 buffer (copy)"]
    );
}

#[test]
fn fortran_order_is_transposed_once() {
    for (name, dtype) in [
        ("f8_fortran.npy", Dtype::F64),
        ("f4_fortran.npy", Dtype::F32),
    ] {
        let ds = open(&fixture(name));
        assert!(!ds.is_zero_copy(), "{name}");
        assert_eq!(ds.dtype(), dtype);
        assert_eq!((ds.n_samples(), ds.n_features()), (3, 4));
        // Row-major values: a wrong (untransposed) read would give 0,1,2,... down columns.
        assert_eq!(ds.view().to_f64_vec(), m_values(), "{name}");
        assert_eq!(ds.notes().len(), 1);
        assert!(ds.notes()[0].contains("Fortran-order"), "{:?}", ds.notes());
    }
}

#[test]
fn big_endian_is_converted_with_a_note() {
    let ds = open(&fixture("f8_bigendian.npy"));
    assert!(!ds.is_zero_copy());
    assert_eq!(ds.dtype(), Dtype::F64);
    assert_eq!(ds.view().to_f64_vec(), m_values());
    assert_eq!(
        ds.notes(),
        ["converted big-endian >f8 to native row-major f64 (copy)"]
    );

    let ds = open(&fixture("f4_bigendian_fortran.npy"));
    assert_eq!(ds.dtype(), Dtype::F32);
    assert_eq!(ds.view().to_f64_vec(), m_values());
    assert_eq!(
        ds.notes(),
        ["converted big-endian Fortran-order >f4 to native row-major f32 (copy)"]
    );
}

#[test]
fn integer_bool_and_half_are_converted() {
    let ints: Vec<f64> = (0..12).map(|k| f64::from(k - 5)).collect();
    for (name, dtype, expected) in [
        ("i4.npy", Dtype::F64, ints.clone()),
        ("i8.npy", Dtype::F64, ints),
        (
            "u1.npy",
            Dtype::F32,
            (0..12).map(|k| f64::from(k * 20)).collect(),
        ),
        (
            "b1.npy",
            Dtype::F32,
            (0..12)
                .map(|k| if k % 3 == 0 { 1.0 } else { 0.0 })
                .collect(),
        ),
        ("f2.npy", Dtype::F32, m_values()),
    ] {
        let ds = open(&fixture(name));
        assert!(!ds.is_zero_copy(), "{name}");
        assert_eq!(ds.dtype(), dtype, "{name}");
        assert_eq!((ds.n_samples(), ds.n_features()), (3, 4), "{name}");
        assert_eq!(ds.view().to_f64_vec(), expected, "{name}");
        assert_eq!(ds.notes().len(), 1, "{name}");
        assert!(ds.notes()[0].starts_with("converted "), "{:?}", ds.notes());
    }
    assert_eq!(
        open(&fixture("i4.npy")).notes(),
        ["converted <i4 to native row-major f64 (copy)"]
    );
}

#[test]
fn one_d_array_is_one_feature() {
    let ds = open(&fixture("oned_f8.npy"));
    assert_eq!((ds.n_samples(), ds.n_features()), (5, 1));
    assert_view_in_map(&ds);
    assert_eq!(ds.view().to_f64_vec(), [0.0, 1.5, 3.0, 4.5, 6.0]);
}

#[test]
fn unsupported_shapes_and_dtypes_are_refused_by_kind() {
    match load_err("zerod.npy") {
        LoadError::UnsupportedShape { shape, reason, .. } => {
            assert!(shape.is_empty());
            assert!(reason.contains("0-d"), "{reason}");
        }
        e => panic!("wrong error: {e}"),
    }
    match load_err("threed.npy") {
        LoadError::UnsupportedShape { shape, .. } => assert_eq!(shape, [2, 3, 4]),
        e => panic!("wrong error: {e}"),
    }
    match load_err("structured.npy") {
        LoadError::UnsupportedDtype { reason, .. } => {
            assert!(reason.contains("structured"), "{reason}")
        }
        e => panic!("wrong error: {e}"),
    }
    match load_err("object.npy") {
        LoadError::UnsupportedDtype { dtype, reason, .. } => {
            assert_eq!(dtype, "|O");
            assert!(reason.contains("object"), "{reason}");
        }
        e => panic!("wrong error: {e}"),
    }
    assert!(matches!(
        load_err("zero_rows.npy"),
        LoadError::ZeroRows { .. }
    ));
}

#[test]
fn embedded_bytes_are_copied() {
    let ds = Dataset::from_npy_bytes(include_bytes!("data/v1_f8_c.npy"), "embedded.npy").unwrap();
    assert!(!ds.is_zero_copy());
    assert_eq!(ds.path(), std::path::Path::new("embedded.npy"));
    assert_eq!(ds.view().to_f64_vec(), m_values());
    assert!(ds.notes().is_empty());

    let ds = Dataset::from_npy_bytes(include_bytes!("data/f4_bigendian_fortran.npy"), "x").unwrap();
    assert_eq!(ds.view().to_f64_vec(), m_values());

    let e = Dataset::from_npy_bytes(include_bytes!("data/threed.npy"), "embedded-3d").unwrap_err();
    assert!(matches!(e, LoadError::UnsupportedShape { .. }));
    assert!(e.to_string().starts_with("embedded-3d: "), "{e}");
}

#[test]
fn read_npy_f64_reads_any_numeric_layout() {
    let (v, shape) = read_npy_f64(&fixture("f4_bigendian_fortran.npy")).unwrap();
    assert_eq!(shape, [3, 4]);
    assert_eq!(v, m_values());
    let (v, shape) = read_npy_f64(&fixture("oned_f8.npy")).unwrap();
    assert_eq!(shape, [5]);
    assert_eq!(v, [0.0, 1.5, 3.0, 4.5, 6.0]);
    let (v, shape) = read_npy_f64(&fixture("i8.npy")).unwrap();
    assert_eq!(shape, [3, 4]);
    assert_eq!(v[0], -5.0);
    assert!(matches!(
        read_npy_f64(&fixture("threed.npy")),
        Err(LoadError::UnsupportedShape { .. })
    ));
}

#[test]
fn read_npy_i64_reads_labels_exactly() {
    assert_eq!(
        read_npy_i64(&fixture("labels_i8.npy")).unwrap(),
        [0, 2, 1, 1, 0, -1]
    );
    match read_npy_i64(&fixture("labels_u8_overflow.npy")) {
        Err(LoadError::OutOfRange { index, value, .. }) => {
            assert_eq!(index, 1);
            assert_eq!(value, "9223372036854775808");
        }
        other => panic!("wrong result: {other:?}"),
    }
    assert!(matches!(
        read_npy_i64(&fixture("v1_f8_c.npy")),
        Err(LoadError::UnsupportedDtype { ref dtype, .. }) if dtype == "<f8"
    ));
    assert!(matches!(
        read_npy_i64(&fixture("b1.npy")),
        Err(LoadError::UnsupportedShape { .. })
    ));
}

/// Copy a fixture into a temp dir after applying `edit` to its bytes, and open it.
fn open_edited(name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Result<Dataset, LoadError> {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = fs::read(fixture(name)).unwrap();
    edit(&mut bytes);
    let path = dir.path().join(name);
    fs::write(&path, &bytes).unwrap();
    Dataset::open(&path, &LoadOptions::default())
}

fn replace(bytes: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let pos = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap();
    bytes[pos..pos + from.len()].copy_from_slice(to.as_bytes());
}

#[test]
fn malformed_npy_files_give_typed_errors() {
    let e = open_edited("v1_f8_c.npy", |b| b[1] = b'X').unwrap_err();
    assert!(
        matches!(e, LoadError::BadMagic { ref found, .. } if found.contains("XUMPY")),
        "{e}"
    );

    let e = open_edited("v1_f8_c.npy", |b| b[6] = 4).unwrap_err();
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

    // A syntax error is located: '[' opens a list, and the ':' at byte 18 cannot be in one.
    let e = open_edited("v1_f8_c.npy", |b| b[10] = b'[').unwrap_err();
    assert!(matches!(e, LoadError::BadHeader { offset: 18, .. }), "{e}");

    // A well-formed literal that is not a dict.
    let e = open_edited("v1_f8_c.npy", |b| {
        let header = format!("{:<117}\n", "['<f8', False, (3, 4)]");
        b[10..128].copy_from_slice(header.as_bytes());
    })
    .unwrap_err();
    match e {
        LoadError::BadHeader { offset, reason, .. } => {
            assert_eq!(offset, 10);
            assert_eq!(reason, "header is a list, not a dict");
        }
        e => panic!("wrong error: {e}"),
    }

    let e = open_edited("v1_f8_c.npy", |b| replace(b, "'descr'", "'dtype'")).unwrap_err();
    assert!(matches!(e, LoadError::BadHeader { .. }), "{e}");

    let e = open_edited("v1_f8_c.npy", |b| replace(b, "<f8", "<x8")).unwrap_err();
    assert!(
        matches!(e, LoadError::UnsupportedDtype { ref dtype, .. } if dtype == "<x8"),
        "{e}"
    );

    // Shape says more data than there is.
    let e = open_edited("v1_f8_c.npy", |b| replace(b, "(3, 4)", "(3, 5)")).unwrap_err();
    match e {
        LoadError::Truncated {
            expected, found, ..
        } => {
            assert_eq!(found, 224);
            assert_eq!(expected, 128 + 15 * 8);
        }
        e => panic!("wrong error: {e}"),
    }
    // Shape says less data than there is.
    let e = open_edited("v1_f8_c.npy", |b| replace(b, "(3, 4)", "(3, 3)")).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::LengthMismatch {
                expected: 200,
                found: 224,
                ..
            }
        ),
        "{e}"
    );

    // Truncated data, truncated header, trailing byte.
    let e = open_edited("v1_f8_c.npy", |b| b.truncate(223)).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::Truncated {
                expected: 224,
                found: 223,
                ..
            }
        ),
        "{e}"
    );
    let e = open_edited("v1_f8_c.npy", |b| b.truncate(50)).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::Truncated {
                expected: 128,
                found: 50,
                ..
            }
        ),
        "{e}"
    );
    let e = open_edited("v1_f8_c.npy", |b| b.push(0)).unwrap_err();
    assert!(matches!(e, LoadError::LengthMismatch { .. }), "{e}");

    // A header length pointing past the end of the file.
    let e = open_edited("v2_f8_c.npy", |b| b[9] = 0x10).unwrap_err();
    assert!(matches!(e, LoadError::Truncated { .. }), "{e}");

    // A shape whose byte size overflows.
    let e = open_edited("v1_f8_c.npy", |b| {
        let header =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }";
        let mut new = b"\x93NUMPY\x01\x00".to_vec();
        new.extend_from_slice(&(header.len() as u16).to_le_bytes());
        new.extend_from_slice(header.as_bytes());
        *b = new;
    })
    .unwrap_err();
    assert!(matches!(e, LoadError::SizeOverflow { .. }), "{e}");
}

#[test]
fn fortran_order_single_column_needs_no_copy() {
    // A (4, 1) or (1, 4) array has the same bytes in C and Fortran order.
    let dir = tempfile::tempdir().unwrap();
    for shape in [[4usize, 1], [1, 4]] {
        let p = dir.path().join("col.npy");
        gaussmix_io::write_npy_f64(&p, &[1.0, 2.0, 3.0, 4.0], &shape).unwrap();
        let mut bytes = fs::read(&p).unwrap();
        replace(&mut bytes, "False", "True ");
        fs::write(&p, &bytes).unwrap();
        assert!(npy_header_is_fortran(&bytes));
        let ds = open(&p);
        assert_eq!((ds.n_samples(), ds.n_features()), (shape[0], shape[1]));
        assert_view_in_map(&ds);
        assert_eq!(ds.view().to_f64_vec(), [1.0, 2.0, 3.0, 4.0]);
    }
}

fn npy_header_is_fortran(bytes: &[u8]) -> bool {
    gaussmix_io::npy::parse_header(bytes, std::path::Path::new("x"))
        .unwrap()
        .fortran_order
}

#[test]
fn views_of_mapped_files_have_exact_lengths() {
    for name in [
        "v1_f8_c.npy",
        "v1_f4_c.npy",
        "oned_f8.npy",
        "f4_align16.npy",
    ] {
        let ds = open(&fixture(name));
        let n = ds.n_samples() * ds.n_features();
        match ds.view() {
            MatrixView::F32 {
                data, row_stride, ..
            } => {
                assert_eq!(data.len(), n);
                assert_eq!(row_stride, ds.n_features());
            }
            MatrixView::F64 {
                data, row_stride, ..
            } => {
                assert_eq!(data.len(), n);
                assert_eq!(row_stride, ds.n_features());
            }
        }
    }
}
