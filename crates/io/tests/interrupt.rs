//! An interrupt (`abandon_outputs`, as the command line's Ctrl-C handler calls it) while an
//! output set is being written: nothing is committed, existing files are unchanged, no
//! temporary file is left, and later commits are refused. Its own test binary, because the
//! interrupt is process-wide.

use std::fs;

use gaussmix_io::{OutputSet, WriteError, abandon_outputs, write_atomic};

#[test]
fn an_interrupt_during_the_writes_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.npy"));
    fs::write(&a, b"old a").unwrap();
    fs::write(&b, b"old b").unwrap();
    let mut set = OutputSet::new();
    set.add(&a, |w| w.write_all(b"new a"));
    let mut committed_before = None;
    set.add(&b, |w| {
        w.write_all(b"new b, first half")?;
        committed_before = Some(abandon_outputs());
        w.write_all(b", second half")
    });
    assert!(matches!(set.commit(), Err(WriteError::Interrupted)));
    assert_eq!(committed_before, Some(false), "nothing had been committed");
    assert_eq!(fs::read(&a).unwrap(), b"old a");
    assert_eq!(fs::read(&b).unwrap(), b"old b");
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a.json", "b.npy"], "no temporary file left");

    // Once interrupted, nothing more is written.
    let c = dir.path().join("c.json");
    assert!(matches!(
        write_atomic(&c, |w| w.write_all(b"c")),
        Err(WriteError::Interrupted)
    ));
    assert!(!c.exists());
}
