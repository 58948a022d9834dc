//! Shared helpers of the end-to-end tests: reading the scikit-learn fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture under `tests/fixtures/sklearn/`, parsed.
pub fn fixture(name: &str) -> Value {
    let path = root().join("tests/fixtures/sklearn").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every number of a (nested) JSON array, in row-major order.
pub fn flat(v: &Value) -> Vec<f64> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Number(n) => out.push(n.as_f64().unwrap()),
            other => panic!("not a number: {other}"),
        }
    }
    walk(v, &mut out);
    out
}

/// Integers of a JSON array.
pub fn ints(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// A data set fixture: `(values, n_samples, n_features)`.
pub fn dataset(name: &str) -> (Vec<f64>, usize, usize) {
    let v = fixture(&format!("data_{name}.json"));
    let n = v["n_samples"].as_u64().unwrap() as usize;
    let d = v["n_features"].as_u64().unwrap() as usize;
    let x = flat(&v["X"]);
    assert_eq!(x.len(), n * d);
    (x, n, d)
}

/// Largest relative difference `|a - b| / max(|b|, floor)` over two arrays of equal length.
pub fn max_rel(a: &[f64], b: &[f64], floor: f64) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(floor))
        .fold(0.0, f64::max)
}

/// The largest absolute value of an array, a scale for relative comparisons of entries near 0.
pub fn scale(a: &[f64]) -> f64 {
    a.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// A path inside the repository.
pub fn path(rel: &str) -> PathBuf {
    root().join(Path::new(rel))
}

pub fn gaussmix(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gaussmix"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the gaussmix binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let o = gaussmix(dir, args);
    assert!(
        o.status.success(),
        "gaussmix {args:?} failed: {}",
        stderr(&o)
    );
    stdout(&o)
}

/// Runs a command that must fail with `code`, a message containing every needle, no panic,
/// and no file left in `dir` that was not there before.
#[track_caller]
pub fn fails(dir: &Path, args: &[&str], code: i32, needles: &[&str]) -> String {
    let before = listing(dir);
    let o = gaussmix(dir, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "gaussmix {args:?}: {err}");
    for n in needles {
        assert!(
            err.contains(n),
            "gaussmix {args:?}: message {err:?} should mention {n:?}"
        );
    }
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    assert_eq!(
        listing(dir),
        before,
        "gaussmix {args:?} changed the directory"
    );
    err
}

pub fn listing(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = if p.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            (p, bytes)
        })
        .collect();
    v.sort();
    v
}

pub fn json(s: &str) -> Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("{e}: {s}"))
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
