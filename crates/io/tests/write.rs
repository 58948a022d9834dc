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
    Dtype, LoadError, OutputSet, OutputTarget, WriteError, read_npy_f64, read_npy_i64,
    write_atomic, write_npy_f32, write_npy_f64, write_npy_i64,
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

// ---- the output contract (OutputSet) ----

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
#[test]
fn overwriting_keeps_the_permission_bits_and_new_files_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for m in [0o600, 0o640, 0o444, 0o755] {
        let p = dir.path().join(format!("m{m:o}.json"));
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(m)).unwrap();
        write_atomic(&p, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(mode(&p), m, "mode {m:o} kept");
    }
    // A new file gets what the umask gives any new file of this process.
    let reference = dir.path().join("reference");
    fs::write(&reference, b"").unwrap();
    let p = dir.path().join("new.npy");
    write_npy_i64(&p, &[1, 2]).unwrap();
    assert_eq!(mode(&p), mode(&reference));
}

#[cfg(unix)]
#[test]
fn a_symlinked_output_writes_its_target_and_stays_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    fs::create_dir(&store).unwrap();
    fs::write(store.join("model.json"), b"old").unwrap();
    fs::set_permissions(store.join("model.json"), fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("model.json");
    std::os::unix::fs::symlink("store/model.json", &link).unwrap();
    write_atomic(&link, |w| w.write_all(b"new")).unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(store.join("model.json")).unwrap(), b"new");
    assert_eq!(mode(&store.join("model.json")), 0o600);
    assert_eq!(
        entries(&store),
        ["model.json"],
        "temporary beside the target, renamed"
    );
    assert_eq!(entries(dir.path()), ["model.json", "store"]);

    // A dangling link creates its target, as a shell redirect would.
    let dangling = dir.path().join("labels.npy");
    std::os::unix::fs::symlink("store/labels.npy", &dangling).unwrap();
    write_npy_i64(&dangling, &[4]).unwrap();
    assert!(
        fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(read_npy_i64(&store.join("labels.npy")).unwrap(), [4]);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.npy");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    write_npy_i64(&fifo, &LABELS).unwrap();
    let bytes = reader.join().unwrap();
    let copy = dir.path().join("copy.npy");
    fs::write(&copy, &bytes).unwrap();
    assert_eq!(read_npy_i64(&copy).unwrap(), LABELS);
    use std::os::unix::fs::FileTypeExt;
    assert!(
        fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "still a FIFO"
    );
    assert_eq!(
        gaussmix_io::output_target(&fifo).unwrap(),
        OutputTarget::Stream
    );
}

#[test]
fn output_targets_are_classified() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.npy");
    assert_eq!(
        gaussmix_io::output_target(&p).unwrap(),
        OutputTarget::File {
            path: p.clone(),
            exists: false
        }
    );
    fs::write(&p, b"").unwrap();
    assert!(gaussmix_io::output_target(&p).unwrap().is_file());
    assert_eq!(
        gaussmix_io::output_target(Path::new("/dev/stdout")).unwrap(),
        OutputTarget::Stdout
    );
    assert!(matches!(
        gaussmix_io::output_target(dir.path()),
        Err(WriteError::IsDirectory { .. })
    ));
    #[cfg(unix)]
    assert_eq!(
        gaussmix_io::output_target(Path::new("/dev/null")).unwrap(),
        OutputTarget::Stream
    );
}

#[test]
fn a_set_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.json"),
        dir.path().join("b.npy"),
        dir.path().join("c.npy"),
    );
    fs::write(&a, b"old a").unwrap();
    fs::write(&b, b"old b").unwrap();
    let mut set = OutputSet::new();
    set.add(&a, |w| w.write_all(b"new a"));
    set.add_npy_i64(&b, &LABELS).unwrap();
    set.add(&c, |w| {
        w.write_all(b"half")?;
        Err(io::Error::from(io::ErrorKind::StorageFull))
    });
    let e = set.commit().unwrap_err();
    assert!(e.to_string().contains("c.npy"), "{e}");
    assert_eq!(fs::read(&a).unwrap(), b"old a");
    assert_eq!(fs::read(&b).unwrap(), b"old b");
    assert_eq!(entries(dir.path()), ["a.json", "b.npy"]);

    let mut set = OutputSet::new();
    set.add(&a, |w| w.write_all(b"new a"));
    set.add_npy_i64(&b, &LABELS).unwrap();
    set.add(&c, |w| w.write_all(b"new c"));
    set.commit().unwrap();
    assert_eq!(fs::read(&a).unwrap(), b"new a");
    assert_eq!(read_npy_i64(&b).unwrap(), LABELS);
    assert_eq!(fs::read(&c).unwrap(), b"new c");
    assert_eq!(entries(dir.path()), ["a.json", "b.npy", "c.npy"]);
}

#[test]
fn one_file_twice_in_a_set_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let mut set = OutputSet::new();
    set.add(&a, |w| w.write_all(b"1"));
    set.add(&dir.path().join(".").join("a.json"), |w| w.write_all(b"2"));
    assert!(matches!(set.commit(), Err(WriteError::SameFile { .. })));
    fs::create_dir(dir.path().join("sub")).unwrap();
    let mut set = OutputSet::new();
    set.add(&a, |w| w.write_all(b"1"));
    set.add(&dir.path().join("sub/../a.json"), |w| w.write_all(b"2"));
    assert!(matches!(set.commit(), Err(WriteError::SameFile { .. })));
    assert_eq!(entries(dir.path()), ["sub"]);
}
