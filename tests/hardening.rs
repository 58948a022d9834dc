//! Every bad input gets a clear answer: one end-to-end test per case, each asserting the exit
//! code, a message naming the problem, no panic, no partial output and any existing output
//! unchanged (`common::fails` checks the last three for every case). Then numerically hard data,
//! degenerate clusters, and interruption.

mod common;

use std::path::Path;

use common::{dataset, fails, gaussmix, json, ok, stderr, tmp};
use gaussmix::io::{read_npy_i64, write_npy_f64};
use serde_json::Value;

/// A `.npy` file with the given header fields and payload, written byte by byte (so that
/// dtypes no writer of ours produces can be tested).
fn npy(path: &Path, descr: &str, shape: &str, payload: &[u8]) {
    let mut header = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(payload);
    std::fs::write(path, bytes).unwrap();
}

/// A directory holding the lesson's data as `x.npy`, a fitted model `m.json`, and an existing
/// output `keep.npy` that no failing run may touch.
fn workspace() -> tempfile::TempDir {
    let d = tmp();
    write_npy_f64(&d.path().join("x.npy"), &dataset("blobs").0, &[400, 2]).unwrap();
    ok(
        d.path(),
        &["fit", "x.npy", "-k", "4", "-o", "m.json", "--quiet"],
    );
    std::fs::write(d.path().join("keep.npy"), b"existing output").unwrap();
    d
}

// ---- files that cannot be read ----

#[test]
fn nonexistent_path() {
    let d = workspace();
    fails(
        d.path(),
        &["fit", "nope.npy", "--labels", "keep.npy"],
        1,
        &["nope.npy", "no such file"],
    );
}

#[test]
fn a_directory() {
    let d = workspace();
    std::fs::create_dir(d.path().join("dir.npy")).unwrap();
    fails(
        d.path(),
        &["fit", "dir.npy", "--labels", "keep.npy"],
        1,
        &["dir.npy", "directory"],
    );
}

#[test]
fn empty_file() {
    let d = workspace();
    std::fs::write(d.path().join("empty.npy"), b"").unwrap();
    fails(
        d.path(),
        &["fit", "empty.npy", "--labels", "keep.npy"],
        1,
        &["empty.npy", "empty"],
    );
}

#[test]
fn zero_rows() {
    let d = workspace();
    npy(&d.path().join("zero.npy"), "'<f8'", "(0, 2)", b"");
    fails(
        d.path(),
        &["fit", "zero.npy", "--labels", "keep.npy"],
        1,
        &["zero.npy", "zero rows"],
    );
}

#[test]
fn header_only_csv() {
    let d = workspace();
    std::fs::write(d.path().join("h.csv"), "x0,x1\n").unwrap();
    fails(
        d.path(),
        &["fit", "h.csv", "--labels", "keep.npy"],
        1,
        &["h.csv", "zero rows"],
    );
}

#[test]
fn truncated_npy() {
    let d = workspace();
    npy(&d.path().join("t.npy"), "'<f8'", "(10, 2)", &[0u8; 100]);
    fails(
        d.path(),
        &["fit", "t.npy", "--labels", "keep.npy"],
        1,
        &["t.npy", "truncated", "288"],
    );
}

#[test]
fn bad_magic() {
    let d = workspace();
    std::fs::write(
        d.path().join("b.npy"),
        b"PK\x03\x04 this is a zip file, not numpy",
    )
    .unwrap();
    fails(
        d.path(),
        &["fit", "b.npy", "--labels", "keep.npy"],
        1,
        &["b.npy", "magic"],
    );
}

#[test]
fn unsupported_dtypes() {
    let d = workspace();
    let p = d.path();
    npy(&p.join("c.npy"), "'<c16'", "(2, 2)", &[0u8; 64]);
    fails(
        p,
        &["fit", "c.npy", "--labels", "keep.npy"],
        1,
        &["c.npy", "complex"],
    );
    npy(&p.join("o.npy"), "'|O'", "(2, 2)", &[0u8; 32]);
    fails(
        p,
        &["fit", "o.npy", "--labels", "keep.npy"],
        1,
        &["o.npy", "object"],
    );
    npy(
        &p.join("s.npy"),
        "[('a', '<f8'), ('b', '<f8')]",
        "(2,)",
        &[0u8; 32],
    );
    fails(
        p,
        &["fit", "s.npy", "--labels", "keep.npy"],
        1,
        &["s.npy", "structured"],
    );
}

#[test]
fn three_dimensional_array() {
    let d = workspace();
    npy(&d.path().join("3d.npy"), "'<f8'", "(2, 2, 2)", &[0u8; 64]);
    fails(
        d.path(),
        &["fit", "3d.npy", "--labels", "keep.npy"],
        1,
        &["3d.npy", "3 or more dimensions"],
    );
}

#[test]
fn nan_names_row_and_column() {
    let d = workspace();
    let mut x = dataset("blobs").0;
    x[2 * 123 + 1] = f64::NAN;
    write_npy_f64(&d.path().join("nan.npy"), &x, &[400, 2]).unwrap();
    fails(
        d.path(),
        &["fit", "nan.npy", "--labels", "keep.npy"],
        1,
        &["nan.npy", "NaN", "row 123", "column 1"],
    );
}

#[test]
fn infinity_names_row_and_column() {
    let d = workspace();
    let mut x = dataset("blobs").0;
    x[2 * 7] = f64::INFINITY;
    write_npy_f64(&d.path().join("inf.npy"), &x, &[400, 2]).unwrap();
    fails(
        d.path(),
        &["predict", "m.json", "inf.npy", "-o", "keep.npy"],
        1,
        &["inf.npy", "inf", "row 7", "column 0"],
    );
}

// ---- bad flags (usage errors, exit code 2) ----

#[test]
fn k_zero() {
    fails(
        workspace().path(),
        &["fit", "x.npy", "-k", "0", "--labels", "keep.npy"],
        2,
        &["--n-components", "at least 1"],
    );
}

#[test]
fn k_larger_than_the_data() {
    let d = workspace();
    fails(
        d.path(),
        &["fit", "x.npy", "-k", "401", "--labels", "keep.npy"],
        1,
        &["n_samples", "401"],
    );
    fails(
        d.path(),
        &["kmeans", "x.npy", "-k", "500", "--labels", "keep.npy"],
        1,
        &["n_samples", "500"],
    );
}

#[test]
fn negative_reg_covar_or_tol() {
    let d = workspace();
    fails(
        d.path(),
        &["fit", "x.npy", "--reg-covar", "-1e-6"],
        2,
        &["--reg-covar", ">= 0"],
    );
    fails(
        d.path(),
        &["fit", "x.npy", "--tol", "-1"],
        2,
        &["--tol", ">= 0"],
    );
    fails(
        d.path(),
        &["kmeans", "x.npy", "-k", "2", "--tol", "-1"],
        2,
        &["--tol"],
    );
}

#[test]
fn max_iter_minus_one() {
    fails(
        workspace().path(),
        &["fit", "x.npy", "--max-iter", "-1"],
        2,
        &["--max-iter", "0 or more"],
    );
}

#[test]
fn threads_zero() {
    fails(
        workspace().path(),
        &["fit", "x.npy", "--threads", "0"],
        2,
        &["--threads", "at least 1"],
    );
}

#[test]
fn unknown_covariance_type() {
    fails(
        workspace().path(),
        &["fit", "x.npy", "--covariance", "diagonal"],
        2,
        &["diagonal", "possible values"],
    );
}

// ---- model files ----

fn broken_model(d: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v = json(&std::fs::read_to_string(d.join("m.json")).unwrap());
    edit(&mut v);
    std::fs::write(d.join("bad.json"), serde_json::to_string(&v).unwrap()).unwrap();
}

#[test]
fn truncated_model_file() {
    let d = workspace();
    let text = std::fs::read_to_string(d.path().join("m.json")).unwrap();
    std::fs::write(d.path().join("bad.json"), &text[..text.len() / 3]).unwrap();
    fails(
        d.path(),
        &["predict", "bad.json", "x.npy", "-o", "keep.npy"],
        1,
        &["bad.json", "not valid JSON"],
    );
}

#[test]
fn model_with_the_wrong_format() {
    let d = workspace();
    broken_model(d.path(), |v| v["format"] = Value::from("sklearn-pickle"));
    fails(
        d.path(),
        &["predict", "bad.json", "x.npy", "-o", "keep.npy"],
        1,
        &["bad.json", "format"],
    );
}

#[test]
fn model_weights_not_summing_to_one() {
    let d = workspace();
    broken_model(d.path(), |v| {
        v["weights"] = serde_json::json!([0.4, 0.4, 0.4, 0.4])
    });
    fails(
        d.path(),
        &["score", "bad.json", "x.npy"],
        1,
        &["bad.json", "sum to 1.6"],
    );
}

#[test]
fn model_covariance_not_positive_definite() {
    let d = workspace();
    broken_model(d.path(), |v| {
        v["covariances"][2] = serde_json::json!([[1.0, 3.0], [3.0, 1.0]])
    });
    fails(
        d.path(),
        &[
            "fit",
            "x.npy",
            "--init-model",
            "bad.json",
            "--labels",
            "keep.npy",
        ],
        1,
        &["bad.json", "component 2", "positive definite"],
    );
}

#[test]
fn model_shapes_that_disagree() {
    let d = workspace();
    broken_model(d.path(), |v| v["n_features"] = Value::from(3));
    fails(
        d.path(),
        &["predict", "bad.json", "x.npy", "-o", "keep.npy"],
        1,
        &["bad.json", "wrong shape"],
    );
}

#[test]
fn model_and_data_with_different_features() {
    let d = workspace();
    write_npy_f64(&d.path().join("x3.npy"), &[0.5; 30], &[10, 3]).unwrap();
    fails(
        d.path(),
        &["predict", "m.json", "x3.npy", "-o", "keep.npy"],
        1,
        &["x3.npy", "3 features", "fitted on 2"],
    );
    fails(
        d.path(),
        &["fit", "x3.npy", "--init-model", "m.json"],
        1,
        &["means_init", "(4, 3)"],
    );
}

// ---- outputs ----

#[test]
fn output_in_a_missing_directory() {
    fails(
        workspace().path(),
        &["fit", "x.npy", "-o", "no/such/dir/m.json"],
        1,
        &["no/such/dir", "does not exist"],
    );
}

#[test]
fn output_equal_to_the_input_is_refused() {
    let d = workspace();
    let before = std::fs::read(d.path().join("x.npy")).unwrap();
    fails(
        d.path(),
        &["fit", "x.npy", "--labels", "x.npy"],
        2,
        &["x.npy", "input"],
    );
    fails(
        d.path(),
        &["predict", "m.json", "x.npy", "-o", "./x.npy"],
        2,
        &["input"],
    );
    fails(
        d.path(),
        &["fit", "x.npy", "--init-model", "m.json", "-o", "m.json"],
        2,
        &["m.json", "input"],
    );
    assert_eq!(std::fs::read(d.path().join("x.npy")).unwrap(), before);
}

#[test]
fn unwritable_output_directory() {
    let d = workspace();
    let ro = d.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::write(ro.join("keep.npy"), b"old").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // root ignores directory permissions: then use a directory nobody can create files in.
    let writable_anyway = std::fs::write(ro.join("probe"), b"").is_ok();
    let target = if writable_anyway {
        let _ = std::fs::remove_file(ro.join("probe"));
        "/proc/keep.npy".to_string()
    } else {
        ro.join("keep.npy").display().to_string()
    };
    fails(
        d.path(),
        &["fit", "x.npy", "--labels", &target],
        1,
        &["keep.npy"],
    );
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(std::fs::read(ro.join("keep.npy")).unwrap(), b"old");
    assert_eq!(
        std::fs::read_dir(&ro).unwrap().count(),
        1,
        "no temporary file left"
    );
}

// ---- numerically hard data ----

/// Fits `x` and checks the result: success with finite parameters (and a model file without
/// NaN), or the covariance error with exit code 1.
fn fit_is_finite_or_covariance_error(name: &str, x: &[f64], n: usize, d: usize, extra: &[&str]) {
    let dir = tmp();
    let p = dir.path();
    write_npy_f64(&p.join("x.npy"), x, &[n, d]).unwrap();
    for cov in ["full", "tied", "diag", "spherical"] {
        let mut args = vec![
            "fit",
            "x.npy",
            "--covariance",
            cov,
            "-o",
            "m.json",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let o = gaussmix(p, &args);
        if o.status.success() {
            let text = std::fs::read_to_string(p.join("m.json")).unwrap();
            assert!(
                !text.contains("NaN") && !text.contains("null,"),
                "{name}/{cov}: {text}"
            );
            let m = json(&text);
            for key in ["weights", "means", "covariances", "precisions_cholesky"] {
                assert!(
                    common::flat(&m[key]).iter().all(|v| v.is_finite()),
                    "{name}/{cov}: {key}"
                );
            }
            std::fs::remove_file(p.join("m.json")).unwrap();
        } else {
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{name}/{cov}: {err}");
            assert!(
                err.contains("ill-defined empirical covariance"),
                "{name}/{cov}: {err}"
            );
            assert!(!p.join("m.json").exists());
        }
    }
}

#[test]
fn constant_feature_columns() {
    let x: Vec<f64> = (0..300)
        .flat_map(|i| [((i * 37) % 100) as f64 / 10.0, 5.0])
        .collect();
    fit_is_finite_or_covariance_error("constant", &x, 300, 2, &["-k", "3"]);
}

#[test]
fn duplicated_points_and_more_components_than_distinct_points() {
    let x: Vec<f64> = (0..200)
        .flat_map(|i| [(i % 3) as f64, (i % 3) as f64 * 2.0])
        .collect();
    fit_is_finite_or_covariance_error("duplicates", &x, 200, 2, &["-k", "2"]);
    fit_is_finite_or_covariance_error("k > distinct", &x, 200, 2, &["-k", "5"]);
}

#[test]
fn huge_and_tiny_magnitudes() {
    let base = dataset("blobs").0;
    let huge: Vec<f64> = base.iter().map(|v| v * 1e150).collect();
    fit_is_finite_or_covariance_error("1e150", &huge, 400, 2, &["-k", "4"]);
    let tiny: Vec<f64> = base.iter().map(|v| v * 1e-150).collect();
    fit_is_finite_or_covariance_error("1e-150", &tiny, 400, 2, &["-k", "4"]);
}

#[test]
fn one_dimensional_data() {
    let x: Vec<f64> = (0..500)
        .map(|i| {
            if i % 2 == 0 {
                (i % 17) as f64 * 0.1
            } else {
                20.0 + (i % 13) as f64 * 0.1
            }
        })
        .collect();
    fit_is_finite_or_covariance_error("1-D", &x, 500, 1, &["-k", "2"]);
}

#[test]
fn data_far_from_the_origin() {
    // The lesson's blobs moved to 1e6: centred arithmetic recovers the same clusters.
    let x: Vec<f64> = dataset("blobs").0.iter().map(|v| v + 1e6).collect();
    fit_is_finite_or_covariance_error("1e6", &x, 400, 2, &["-k", "4"]);
    let d = tmp();
    write_npy_f64(&d.path().join("x.npy"), &x, &[400, 2]).unwrap();
    write_npy_f64(&d.path().join("y.npy"), &dataset("blobs").0, &[400, 2]).unwrap();
    ok(
        d.path(),
        &["fit", "x.npy", "-k", "4", "--labels", "lx.npy", "--quiet"],
    );
    ok(
        d.path(),
        &["fit", "y.npy", "-k", "4", "--labels", "ly.npy", "--quiet"],
    );
    let (a, b) = (
        read_npy_i64(&d.path().join("lx.npy")).unwrap(),
        read_npy_i64(&d.path().join("ly.npy")).unwrap(),
    );
    // The same partition (labels may be permuted).
    let mut map = [-1i64; 4];
    for (&u, &v) in a.iter().zip(&b) {
        if map[u as usize] == -1 {
            map[u as usize] = v;
        }
        assert_eq!(map[u as usize], v);
    }
}

// ---- degenerate clusters ----

fn collapsing_data(dir: &Path) {
    // Ten copies of one point and a cloud far away; the model file starts one component on
    // the repeated point, which collapses in the first M-step without regularisation.
    let mut x = vec![0.0; 20];
    for i in 0..200 {
        x.push(60.0 + ((i * 37) % 100) as f64 / 50.0);
        x.push(60.0 + ((i * 53) % 100) as f64 / 50.0);
    }
    write_npy_f64(&dir.join("c.npy"), &x, &[210, 2]).unwrap();
    let init = serde_json::json!({
        "format": "gaussmix-model", "version": 1, "kind": "gaussian_mixture",
        "covariance_type": "full", "n_components": 2, "n_features": 2,
        "weights": [0.5, 0.5], "means": [[0.0, 0.0], [60.0, 60.0]],
        "covariances": [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]],
    });
    std::fs::write(dir.join("init.json"), init.to_string()).unwrap();
}

#[test]
fn degenerate_cluster_error_is_scikit_learns() {
    let d = workspace();
    collapsing_data(d.path());
    fails(
        d.path(),
        &[
            "fit",
            "c.npy",
            "--init-model",
            "init.json",
            "--reg-covar",
            "0",
            "--labels",
            "keep.npy",
        ],
        1,
        &[
            "ill-defined empirical covariance",
            "increase reg_covar",
            "component 0",
            "iteration 1",
        ],
    );
}

#[test]
fn degenerate_cluster_reseed_goes_on() {
    let d = workspace();
    collapsing_data(d.path());
    let o = gaussmix(
        d.path(),
        &[
            "fit",
            "c.npy",
            "--init-model",
            "init.json",
            "--reg-covar",
            "0",
            "--on-degenerate",
            "reseed",
            "-o",
            "out.json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("component 0 collapsed in iteration 1 and was re-seeded on row"),
        "{err}"
    );
    let m = json(&std::fs::read_to_string(d.path().join("out.json")).unwrap());
    assert!(
        common::flat(&m["covariances"])
            .iter()
            .all(|v| v.is_finite())
    );
}

// ---- interruption ----

#[test]
fn interrupting_a_fit_leaves_no_files() {
    let d = tmp();
    let p = d.path();
    ok(
        p,
        &[
            "gen",
            "blobs",
            "-n",
            "400000",
            "--dim",
            "8",
            "--centers",
            "8",
            "-o",
            "x.npy",
        ],
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gaussmix"))
        .args([
            "fit",
            "x.npy",
            "-k",
            "16",
            "--max-iter",
            "100000",
            "--tol",
            "0",
            "-o",
            "m.json",
            "--labels",
            "l.npy",
            "--quiet",
        ])
        .current_dir(p)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SIGINT, as Ctrl-C sends.
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["x.npy".to_string()], "only the input remains");
}
