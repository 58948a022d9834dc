//! Writers: `.npy` round trips through our reader, exact header layout, atomic replacement
//! (no half files, no stray temporaries), typed errors.
//!
//! Set `GAUSSMIX_IO_WRITE_DIR=DIR` to also leave the written files in DIR, then check them
//! with numpy: `python tests/data/make_npy.py --check DIR`.

mod common;

use std::fs;
use std::io;
use std::path::Path;

use common::{assert_view_in_map, open};
use gaussmix_io::{
    Dtype, LoadError, WriteError, read_npy_f64, read_npy_i64, write_atomic, write_npy_f32,
    write_npy_f64, write_npy_i64,
};

fn f64_data() -> Vec<f64> {
    (0..12).map(|k| f64::from(k) * 0.5 - 1.0 + 0.125).collect()
}

fn f32_data() -> Vec<f32> {
    (0..10).map(|k| k as f32 * 0.25).collect()
}

const LABELS: [i64; 5] = [0, -1, 5, i64::MAX, i64::MIN];
const ONE_D: [f64; 3] = [1.5, -2.5, 1e300];

fn write_all(dir: &Path) {
    write_npy_f64(&dir.join("written_f64.npy"), &f64_data(), &[4, 3]).unwrap();
    write_npy_f32(&dir.join("written_f32.npy"), &f32_data(), &[2, 5]).unwrap();
    write_npy_i64(&dir.join("written_labels.npy"), &LABELS).unwrap();
    write_npy_f64(&dir.join("written_1d.npy"), &ONE_D, &[3]).unwrap();
}

/// Entries of `dir` other than the expected files (e.g. stray temporaries).
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn npy_round_trip_through_our_reader() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path());
    if let Some(keep) = std::env::var_os("GAUSSMIX_IO_WRITE_DIR") {
        fs::create_dir_all(&keep).unwrap();
        write_all(Path::new(&keep));
    }

    let ds = open(&dir.path().join("written_f64.npy"));
    assert_eq!(
        (ds.n_samples(), ds.n_features(), ds.dtype()),
        (4, 3, Dtype::F64)
    );
    assert_eq!(assert_view_in_map(&ds), 128, "header padded to 64 bytes");
    assert_eq!(ds.view().to_f64_vec(), f64_data());

    let ds = open(&dir.path().join("written_f32.npy"));
    assert_eq!(
        (ds.n_samples(), ds.n_features(), ds.dtype()),
        (2, 5, Dtype::F32)
    );
    assert_eq!(assert_view_in_map(&ds) % 64, 0);
    let expected: Vec<f64> = f32_data().into_iter().map(f64::from).collect();
    assert_eq!(ds.view().to_f64_vec(), expected);

    assert_eq!(
        read_npy_i64(&dir.path().join("written_labels.npy")).unwrap(),
        LABELS
    );
    let (v, shape) = read_npy_f64(&dir.path().join("written_1d.npy")).unwrap();
    assert_eq!(shape, [3]);
    assert_eq!(v, ONE_D);

    assert_eq!(
        entries(dir.path()),
        [
            "written_1d.npy",
            "written_f32.npy",
            "written_f64.npy",
            "written_labels.npy"
        ],
        "no temporary files left behind"
    );
}

#[test]
fn header_matches_numpy_layout() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("h.npy");
    write_npy_f64(&p, &f64_data(), &[4, 3]).unwrap();
    let bytes = fs::read(&p).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!(10 + header_len, 128);
    let header = std::str::from_utf8(&bytes[10..128]).unwrap();
    assert!(
        header.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }"),
        "{header}"
    );
    assert!(header.ends_with(" \n"));
    assert_eq!(bytes.len(), 128 + 12 * 8);
    assert_eq!(&bytes[128..136], &(-0.875f64).to_le_bytes());

    write_npy_i64(&p, &[7]).unwrap();
    let bytes = fs::read(&p).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!(
        10 + header_len,
        128,
        "a 58-byte dict does not fit in 64 bytes"
    );
    let header = std::str::from_utf8(&bytes[10..128]).unwrap();
    assert!(
        header.starts_with("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }"),
        "{header}"
    );
    assert_eq!(bytes.len(), 128 + 8);
}

#[test]
fn empty_label_vector_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("none.npy");
    write_npy_i64(&p, &[]).unwrap();
    assert_eq!(read_npy_i64(&p).unwrap(), Vec::<i64>::new());
    // As data it has zero rows, and the loader says so.
    assert!(matches!(
        gaussmix_io::Dataset::open(&p, &Default::default()),
        Err(LoadError::ZeroRows { .. })
    ));
}

#[test]
fn failed_write_leaves_the_old_file_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.json");
    fs::write(&p, b"old contents").unwrap();
    let e = write_atomic(&p, |w| {
        w.write_all(b"half of the new ")?;
        Err(io::Error::other("disk on fire"))
    })
    .unwrap_err();
    match &e {
        WriteError::Io { op, kind, .. } => {
            assert_eq!(*op, "write");
            assert_eq!(*kind, io::ErrorKind::Other);
        }
        e => panic!("wrong error: {e}"),
    }
    assert!(e.to_string().contains("disk on fire"), "{e}");
    assert_eq!(fs::read(&p).unwrap(), b"old contents");
    assert_eq!(entries(dir.path()), ["model.json"]);
}

#[test]
fn panicking_writer_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.npy");
    let result = std::panic::catch_unwind(|| {
        let _ = write_atomic(&p, |w| {
            w.write_all(b"partial")?;
            panic!("writer bug");
        });
    });
    assert!(result.is_err());
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn successful_write_replaces_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.json");
    fs::write(&p, b"old").unwrap();
    write_atomic(&p, |w| w.write_all(b"{\"k\": 3}")).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"{\"k\": 3}");
    assert_eq!(entries(dir.path()), ["model.json"]);

    // A relative path with no directory part writes into the current directory; use a
    // nested relative path to avoid touching the test's working directory.
    let big: Vec<f64> = (0..300_000).map(f64::from).collect();
    let q = dir.path().join("big.npy");
    write_npy_f64(&q, &big, &[100_000, 3]).unwrap();
    let ds = open(&q);
    assert_eq!(ds.n_samples(), 100_000);
    assert_eq!(ds.view().get(99_999, 2), Some(299_999.0));
}

#[test]
fn writer_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let e = write_npy_f64(&dir.path().join("x.npy"), &[1.0; 5], &[2, 3]).unwrap_err();
    assert!(
        matches!(
            e,
            WriteError::ShapeMismatch {
                expected: Some(6),
                found: 5,
                ..
            }
        ),
        "{e}"
    );
    let e = write_npy_f64(&dir.path().join("x.npy"), &[1.0; 8], &[2, 2, 2]).unwrap_err();
    assert!(matches!(e, WriteError::UnsupportedShape { .. }), "{e}");
    let e = write_npy_f32(&dir.path().join("x.npy"), &[], &[]).unwrap_err();
    assert!(matches!(e, WriteError::UnsupportedShape { .. }), "{e}");
    let e = write_npy_f64(&dir.path().join("x.npy"), &[1.0], &[usize::MAX, 2]).unwrap_err();
    assert!(
        matches!(e, WriteError::ShapeMismatch { expected: None, .. }),
        "{e}"
    );

    let e = write_npy_i64(&dir.path().join("no/such/dir/labels.npy"), &[1]).unwrap_err();
    assert!(matches!(e, WriteError::DirectoryNotFound { .. }), "{e}");
    assert_eq!(e.path(), dir.path().join("no/such/dir/labels.npy"));

    let sub = dir.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let e = write_npy_i64(&sub, &[1]).unwrap_err();
    assert!(matches!(e, WriteError::IsDirectory { .. }), "{e}");
    assert!(entries(&sub).is_empty());
    assert!(!dir.path().join("x.npy").exists());
}
