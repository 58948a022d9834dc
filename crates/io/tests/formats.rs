//! The non-npy formats: `.fvecs` (strided zero-copy), `.bvecs`, `.fbin`, `.u8bin`, raw
//! `.f32`/`.f64`, and text; format detection; generated data.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{assert_view_in_map, assert_view_len};
use gaussmix_io::{Dataset, Dtype, Format, LoadError, LoadOptions, MatrixView};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// Rows of (int32 dim, values), values encoded by `enc`.
fn vecs<T: Copy>(rows: &[Vec<T>], enc: impl Fn(T) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    for r in rows {
        out.extend_from_slice(&(r.len() as i32).to_le_bytes());
        for &v in r {
            out.extend(enc(v));
        }
    }
    out
}

fn fvecs(rows: &[Vec<f32>]) -> Vec<u8> {
    vecs(rows, |v| v.to_le_bytes().to_vec())
}

fn sample_rows() -> Vec<Vec<f32>> {
    (0..3)
        .map(|i| (0..4).map(|j| (i * 4 + j) as f32 * 0.5 - 1.0).collect())
        .collect()
}

fn open(path: &Path) -> Result<Dataset, LoadError> {
    Dataset::open(path, &LoadOptions::default())
}

fn open_raw(path: &Path, d: Option<usize>) -> Result<Dataset, LoadError> {
    Dataset::open(
        path,
        &LoadOptions {
            n_features: d,
            format: None,
        },
    )
}

#[test]
fn fvecs_is_a_strided_zero_copy_view() {
    let dir = tempfile::tempdir().unwrap();
    let rows = sample_rows();
    let path = write(dir.path(), "a.fvecs", &fvecs(&rows));
    let ds = open(&path).unwrap();
    assert_eq!(
        (ds.n_samples(), ds.n_features(), ds.dtype()),
        (3, 4, Dtype::F32)
    );
    assert_eq!(ds.format(), Some(Format::Fvecs));
    // The view starts right after the first row's dimension word.
    assert_eq!(assert_view_in_map(&ds), 4);
    assert!(ds.notes().is_empty());
    let v = ds.view();
    assert_eq!(v.row_stride(), 5);
    assert!(!v.is_contiguous());
    let MatrixView::F32 { data, .. } = v else {
        panic!("f32 expected")
    };
    assert_eq!(data.len(), 2 * 5 + 4);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(&data[i * 5..i * 5 + 4], row.as_slice());
    }
    let flat: Vec<f64> = rows.concat().into_iter().map(f64::from).collect();
    assert_eq!(v.to_f64_vec(), flat);
    assert_view_len(&ds);
    ds.check_finite().unwrap();
}

/// From 2^14 rows the groups of rows are tested in parallel: the first offending value (in
/// row-major order) is still the one reported, on any number of threads, in both dtypes.
#[test]
fn the_first_non_finite_value_is_reported_on_any_thread_count() {
    let (n, d) = (50_000, 5);
    for (first, later) in [((30_001, 4), (49_999, 0)), ((2, 0), (40_000, 3))] {
        let mut v = vec![0.5f64; n * d];
        v[later.0 * d + later.1] = f64::NAN;
        v[first.0 * d + first.1] = f64::INFINITY;
        let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        for ds in [
            Dataset::from_vec_f64(v.clone(), n, d),
            Dataset::from_vec_f32(v32, n, d),
        ] {
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                match pool.install(|| ds.check_finite()) {
                    Err(LoadError::NonFinite {
                        row, col, value, ..
                    }) => {
                        assert_eq!((row, col), first, "{threads} threads");
                        assert_eq!(value, f64::INFINITY);
                    }
                    other => panic!("{threads} threads: wrong result: {other:?}"),
                }
            }
        }
        v[first.0 * d + first.1] = 0.0;
        v[later.0 * d + later.1] = 0.0;
        Dataset::from_vec_f64(v, n, d).check_finite().unwrap();
    }
}

#[test]
fn fvecs_nan_is_reported_with_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = sample_rows();
    rows[2][3] = f32::NAN;
    let ds = open(&write(dir.path(), "nan.fvecs", &fvecs(&rows))).unwrap();
    match ds.check_finite() {
        Err(LoadError::NonFinite {
            row, col, value, ..
        }) => {
            assert_eq!((row, col), (2, 3));
            assert!(value.is_nan());
        }
        other => panic!("wrong result: {other:?}"),
    }
}

#[test]
fn fvecs_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = sample_rows();
    rows[1].pop();
    let e = open(&write(dir.path(), "ragged.fvecs", &fvecs(&rows))).unwrap_err();
    match e {
        LoadError::InconsistentDimension {
            row,
            found,
            expected,
            offset,
            ..
        } => {
            assert_eq!((row, found, expected, offset), (1, 3, 4, 20));
        }
        e => panic!("wrong error: {e}"),
    }

    let mut bytes = fvecs(&sample_rows());
    bytes.truncate(bytes.len() - 2);
    let e = open(&write(dir.path(), "cut.fvecs", &bytes)).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::Truncated {
                expected: 60,
                found: 58,
                ..
            }
        ),
        "{e}"
    );

    let e = open(&write(dir.path(), "neg.fvecs", &(-3i32).to_le_bytes())).unwrap_err();
    assert!(matches!(e, LoadError::BadHeader { offset: 0, .. }), "{e}");

    let e = open(&write(dir.path(), "zero.fvecs", &0i32.to_le_bytes())).unwrap_err();
    assert!(matches!(e, LoadError::ZeroFeatures { .. }), "{e}");

    let e = open(&write(dir.path(), "short.fvecs", &[1, 0])).unwrap_err();
    assert!(matches!(e, LoadError::Truncated { .. }), "{e}");

    // A huge first dimension must not allocate or overflow.
    let e = open(&write(dir.path(), "huge.fvecs", &i32::MAX.to_le_bytes())).unwrap_err();
    assert!(matches!(e, LoadError::Truncated { .. }), "{e}");
}

#[test]
fn bvecs_is_converted_to_f32() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Vec<u8>> = vec![vec![0, 1, 255], vec![7, 8, 9]];
    let path = write(dir.path(), "b.bvecs", &vecs(&rows, |v| vec![v]));
    let ds = open(&path).unwrap();
    assert!(!ds.is_zero_copy());
    assert_eq!(
        (ds.n_samples(), ds.n_features(), ds.dtype()),
        (2, 3, Dtype::F32)
    );
    assert_eq!(ds.view().to_f64_vec(), [0.0, 1.0, 255.0, 7.0, 8.0, 9.0]);
    assert_eq!(ds.view().row_stride(), 3);
    assert_eq!(
        ds.notes(),
        ["converted u8 .bvecs to native row-major f32 (copy)"]
    );

    let bad: Vec<Vec<u8>> = vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8, 9, 10, 11, 12, 13]];
    let e = open(&write(dir.path(), "bad.bvecs", &vecs(&bad, |v| vec![v]))).unwrap_err();
    // Row 2 has dimension 7 but its length (11 bytes) is not a row of 3 + 4 bytes: the
    // inconsistent dimension is the useful report, not the leftover length.
    assert!(
        matches!(
            e,
            LoadError::InconsistentDimension {
                row: 2,
                found: 7,
                expected: 3,
                ..
            }
        ),
        "{e}"
    );
}

fn bin(n: u32, d: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = n.to_le_bytes().to_vec();
    out.extend_from_slice(&d.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

#[test]
fn fbin_is_zero_copy_and_u8bin_is_converted() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f32> = (0..6).map(|k| k as f32 - 2.5).collect();
    let path = write(dir.path(), "x.fbin", &bin(2, 3, &f32_bytes(&values)));
    let ds = open(&path).unwrap();
    assert_eq!((ds.n_samples(), ds.n_features()), (2, 3));
    assert_eq!(assert_view_in_map(&ds), 8);
    assert_eq!(
        ds.view().to_f64_vec(),
        values.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()
    );

    let ds = open(&write(
        dir.path(),
        "x.u8bin",
        &bin(3, 2, &[1, 2, 3, 4, 5, 200]),
    ))
    .unwrap();
    assert!(!ds.is_zero_copy());
    assert_eq!(ds.dtype(), Dtype::F32);
    assert_eq!(ds.view().to_f64_vec(), [1.0, 2.0, 3.0, 4.0, 5.0, 200.0]);
    assert_eq!(
        ds.notes(),
        ["converted u8 .u8bin to native row-major f32 (copy)"]
    );
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn fbin_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = open(&write(dir.path(), "t.fbin", &bin(3, 2, &[0; 20]))).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::Truncated {
                expected: 32,
                found: 28,
                ..
            }
        ),
        "{e}"
    );
    let e = open(&write(dir.path(), "l.fbin", &bin(1, 2, &[0; 12]))).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::LengthMismatch {
                expected: 16,
                found: 20,
                ..
            }
        ),
        "{e}"
    );
    let e = open(&write(dir.path(), "z.fbin", &bin(0, 2, &[]))).unwrap_err();
    assert!(matches!(e, LoadError::ZeroRows { .. }), "{e}");
    let e = open(&write(dir.path(), "zf.fbin", &bin(5, 0, &[]))).unwrap_err();
    assert!(matches!(e, LoadError::ZeroFeatures { .. }), "{e}");
    let e = open(&write(
        dir.path(),
        "o.fbin",
        &bin(u32::MAX, u32::MAX, &[0; 4]),
    ))
    .unwrap_err();
    assert!(matches!(e, LoadError::SizeOverflow { .. }), "{e}");
    let e = open(&write(dir.path(), "h.u8bin", &[1, 0, 0])).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::Truncated {
                expected: 8,
                found: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn raw_f32_and_f64() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f32> = (0..6).map(|k| k as f32 * 1.25).collect();
    let path = write(dir.path(), "x.f32", &f32_bytes(&values));
    let ds = open_raw(&path, Some(3)).unwrap();
    assert_eq!((ds.n_samples(), ds.n_features()), (2, 3));
    assert_eq!(assert_view_in_map(&ds), 0);
    assert_eq!(ds.view().get(1, 2), Some(6.25));

    let ds = open_raw(&path, Some(6)).unwrap();
    assert_eq!((ds.n_samples(), ds.n_features()), (1, 6));

    match open_raw(&path, None).unwrap_err() {
        e @ LoadError::MissingFeatures { .. } => {
            assert!(e.to_string().contains("--dim"), "{e}");
        }
        e => panic!("wrong error: {e}"),
    }
    let e = open_raw(&path, Some(4)).unwrap_err();
    assert!(
        matches!(e, LoadError::LengthMismatch { found: 24, .. }),
        "{e}"
    );
    let e = open_raw(&path, Some(0)).unwrap_err();
    assert!(matches!(e, LoadError::ZeroFeatures { .. }), "{e}");
    let e = open_raw(&path, Some(usize::MAX)).unwrap_err();
    assert!(matches!(e, LoadError::SizeOverflow { .. }), "{e}");

    let v64: Vec<u8> = [1.5f64, -2.0, 1e300, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let ds = open_raw(&write(dir.path(), "y.f64", &v64), Some(2)).unwrap();
    assert_eq!(ds.dtype(), Dtype::F64);
    assert!(ds.is_zero_copy());
    assert_eq!(ds.view().to_f64_vec(), [1.5, -2.0, 1e300, 4.0]);
}

#[test]
fn csv_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let ds = open(&write(dir.path(), "a.csv", b"x,y,z\n1,2,3\n4.5,-5,6e-1\n")).unwrap();
    assert_eq!(
        (ds.n_samples(), ds.n_features(), ds.dtype()),
        (2, 3, Dtype::F64)
    );
    assert!(!ds.is_zero_copy());
    assert_eq!(ds.view().to_f64_vec(), [1.0, 2.0, 3.0, 4.5, -5.0, 0.6]);
    assert_eq!(ds.notes(), ["skipped the header row of the text file"]);

    let ds = open(&write(dir.path(), "b.tsv", b"1\t2\n3\t4\n")).unwrap();
    assert_eq!(ds.view().to_f64_vec(), [1.0, 2.0, 3.0, 4.0]);
    assert!(ds.notes().is_empty());
    let ds = open(&write(dir.path(), "c.txt", b"# points\n 1  2 \n3 4\n")).unwrap();
    assert_eq!((ds.n_samples(), ds.n_features()), (2, 2));

    match open(&write(dir.path(), "bad.csv", b"1,2\n3,abc\n")).unwrap_err() {
        LoadError::Csv {
            line,
            column,
            message,
            ..
        } => {
            assert_eq!((line, column), (2, 2));
            assert!(message.contains("abc"), "{message}");
        }
        e => panic!("wrong error: {e}"),
    }
    let e = open(&write(dir.path(), "ragged.csv", b"1,2\n3,4,5\n")).unwrap_err();
    assert!(matches!(e, LoadError::Csv { line: 2, .. }), "{e}");
    let e = open(&write(dir.path(), "hdr.csv", b"a,b\n")).unwrap_err();
    assert!(matches!(e, LoadError::ZeroRows { .. }), "{e}");

    let ds = open(&write(dir.path(), "inf.csv", b"1,2\n3,inf\n")).unwrap();
    assert!(matches!(
        ds.check_finite(),
        Err(LoadError::NonFinite { row: 1, col: 1, value, .. }) if value == f64::INFINITY
    ));
}

#[test]
fn format_detection_and_override() {
    let cases = [
        ("a.npy", Some(Format::Npy)),
        ("a.NPY", Some(Format::Npy)),
        ("a.fvecs", Some(Format::Fvecs)),
        ("a.bvecs", Some(Format::Bvecs)),
        ("a.fbin", Some(Format::Fbin)),
        ("a.u8bin", Some(Format::U8bin)),
        ("a.f32", Some(Format::RawF32)),
        ("a.f64", Some(Format::RawF64)),
        ("a.csv", Some(Format::Csv)),
        ("a.tsv", Some(Format::Csv)),
        ("a.txt", Some(Format::Csv)),
        ("a.bin", None),
        ("noext", None),
    ];
    for (name, expected) in cases {
        assert_eq!(Format::from_path(Path::new(name)), expected, "{name}");
    }
    for f in Format::ALL {
        assert_eq!(f.extension().parse::<Format>(), Ok(f));
        assert_eq!(
            Format::from_path(Path::new(&format!("x.{}", f.extension()))),
            Some(f)
        );
    }
    assert!("nope".parse::<Format>().is_err());

    let dir = tempfile::tempdir().unwrap();
    let npy = fs::read(common::fixture("v1_f8_c.npy")).unwrap();
    let path = write(dir.path(), "data.bin", &npy);
    match open(&path).unwrap_err() {
        e @ LoadError::UnknownFormat { .. } => {
            assert!(e.to_string().contains("name the file .npy"), "{e}");
            assert!(!e.to_string().contains("--format"), "{e}");
            assert!(
                matches!(e, LoadError::UnknownFormat { extension: Some(ref x), .. } if x == "bin")
            );
        }
        e => panic!("wrong error: {e}"),
    }
    let ds = Dataset::open(
        &path,
        &LoadOptions {
            n_features: None,
            format: Some(Format::Npy),
        },
    )
    .unwrap();
    assert!(ds.is_zero_copy());
    assert_eq!(ds.view().to_f64_vec(), common::m_values());
}

#[test]
fn from_bytes_reads_every_format() {
    let rows = sample_rows();
    let flat: Vec<f64> = rows.concat().into_iter().map(f64::from).collect();
    let ds = Dataset::from_bytes(&fvecs(&rows), "x.fvecs", &LoadOptions::default()).unwrap();
    assert!(!ds.is_zero_copy());
    // Owned copies are packed: stride == n_features.
    assert_eq!(ds.view().row_stride(), 4);
    assert_eq!(ds.view().to_f64_vec(), flat);
    let ds = Dataset::from_bytes(b"1 2\n3 4\n", "x.txt", &LoadOptions::default()).unwrap();
    assert_eq!(ds.view().to_f64_vec(), [1.0, 2.0, 3.0, 4.0]);
    assert!(matches!(
        Dataset::from_bytes(b"", "x.npy", &LoadOptions::default()),
        Err(LoadError::Empty { .. })
    ));
}

#[test]
fn generated_data() {
    let ds = Dataset::from_vec_f64(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2);
    assert_eq!(
        (ds.n_samples(), ds.n_features(), ds.dtype()),
        (3, 2, Dtype::F64)
    );
    assert_eq!(ds.view().get(2, 1), Some(6.0));
    assert!(!ds.is_zero_copy());
    assert_eq!(ds.format(), None);
    let ds = Dataset::from_vec_f32(vec![1.0, f32::NEG_INFINITY], 1, 2);
    assert!(matches!(
        ds.check_finite(),
        Err(LoadError::NonFinite { row: 0, col: 1, .. })
    ));
    assert!(matches!(
        Dataset::try_from_vec_f64(vec![1.0; 5], 3, 2),
        Err(LoadError::LengthMismatch { .. })
    ));
    assert!(matches!(
        Dataset::try_from_vec_f64(vec![], 0, 2),
        Err(LoadError::ZeroRows { .. })
    ));
    assert!(matches!(
        Dataset::try_from_vec_f32(vec![], 2, 0),
        Err(LoadError::ZeroFeatures { .. })
    ));
    let panicked = std::panic::catch_unwind(|| Dataset::from_vec_f64(vec![1.0], 2, 2));
    assert!(panicked.is_err());
}
