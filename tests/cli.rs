//! End-to-end tests of the `gaussmix` binary: every command, round trips through files, and
//! every error with its exit code and message.

mod common;

use common::{dataset, fixture, flat, json, max_rel, ok, scale, tmp};
use gaussmix::io::{read_npy_f64, read_npy_i64, write_npy_f64};
use serde_json::Value;

#[test]
fn fit_on_the_demo_data_prints_the_lesson_summary() {
    let d = tmp();
    let out = ok(d.path(), &["fit"]);
    assert!(out.contains("built-in demo data"), "{out}");
    assert!(out.contains("400 × 2"), "{out}");
    assert!(out.contains("4 components, full covariances"), "{out}");
    assert!(out.contains("converged after"), "{out}");
    assert!(out.contains("predict_proba, first 5 rows"), "{out}");
    // Four component rows, five probability rows of four entries with 3 decimals.
    let proba_rows: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with('[') && l.matches(", ").count() == 3)
        .collect();
    assert_eq!(proba_rows.len(), 5, "{out}");
    for row in proba_rows {
        let s: f64 = row
            .trim()
            .trim_matches(|c| c == '[' || c == ']')
            .split(", ")
            .map(|v| v.parse::<f64>().unwrap())
            .sum();
        assert!((s - 1.0).abs() < 0.003, "{row}");
    }
    let j = json(&ok(d.path(), &["fit", "--json"]));
    assert_eq!(j["converged"], Value::Bool(true));
    assert!(j["n_iter"].as_u64().unwrap() >= 1);
    assert!(j["lower_bound"].as_f64().unwrap() < -3.0 && j["lower_bound"].as_f64().unwrap() > -3.3);
    assert!(j["seconds"].as_f64().unwrap() >= 0.0);
    split_adds_up(&j);
    let k = json(&ok(d.path(), &["kmeans", "--json"]));
    split_adds_up(&k);
    let passes = k["distances_computed"].as_array().unwrap();
    assert_eq!(passes.len() as u64, k["n_iter"].as_u64().unwrap() + 1);
    for a in ["lloyd", "elkan"] {
        let other = json(&ok(d.path(), &["kmeans", "--json", "--algorithm", a]));
        assert_eq!(other["inertia"], k["inertia"], "--algorithm {a}");
        assert_eq!(other["n_iter"], k["n_iter"], "--algorithm {a}");
    }
    assert!(ok(d.path(), &["fit", "--quiet"]).is_empty());
}

/// `--json`'s time split: load, then the fit's initialisation and iterations adding up to its
/// `seconds`.
fn split_adds_up(j: &Value) {
    let get = |k: &str| j[k].as_f64().unwrap_or_else(|| panic!("{k} in {j}"));
    assert!(get("seconds_load") >= 0.0 && get("seconds_init") >= 0.0 && get("seconds_iter") >= 0.0);
    let (sum, total) = (get("seconds_init") + get("seconds_iter"), get("seconds"));
    assert!(
        (sum - total).abs() <= 0.05 * total + 1e-3,
        "{sum} vs {total}"
    );
}

#[test]
fn fit_predict_score_sample_round_trip() {
    let d = tmp();
    let p = d.path();
    ok(
        p,
        &[
            "gen",
            "blobs",
            "-n",
            "600",
            "--centers",
            "3",
            "--seed",
            "4",
            "-o",
            "x.npy",
            "--labels",
            "truth.npy",
        ],
    );
    let (x, shape) = read_npy_f64(&p.join("x.npy")).unwrap();
    assert_eq!(shape, vec![600, 2]);
    assert_eq!(read_npy_i64(&p.join("truth.npy")).unwrap().len(), 600);

    ok(
        p,
        &[
            "fit",
            "x.npy",
            "-k",
            "3",
            "--covariance",
            "diag",
            "-o",
            "m.json",
            "--labels",
            "l.npy",
            "--proba",
            "p.npy",
            "--quiet",
        ],
    );
    let model = json(&std::fs::read_to_string(p.join("m.json")).unwrap());
    assert_eq!(model["format"], "gaussmix-model");
    assert_eq!(model["kind"], "gaussian_mixture");
    assert_eq!(model["covariance_type"], "diag");
    assert_eq!(flat(&model["covariances"]).len(), 6);
    let labels = read_npy_i64(&p.join("l.npy")).unwrap();
    let (proba, pshape) = read_npy_f64(&p.join("p.npy")).unwrap();
    assert_eq!(pshape, vec![600, 3]);
    for i in 0..600 {
        let row = &proba[i * 3..i * 3 + 3];
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let arg = (0..3).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        assert_eq!(arg as i64, labels[i]);
    }

    ok(
        p,
        &[
            "predict", "m.json", "x.npy", "-o", "l2.npy", "--proba", "p2.npy",
        ],
    );
    assert_eq!(read_npy_i64(&p.join("l2.npy")).unwrap(), labels);
    assert_eq!(read_npy_f64(&p.join("p2.npy")).unwrap().0, proba);

    let s = json(&ok(
        p,
        &[
            "score",
            "m.json",
            "x.npy",
            "--json",
            "--per-sample",
            "ll.npy",
        ],
    ));
    let (ll, _) = read_npy_f64(&p.join("ll.npy")).unwrap();
    let mean = ll.iter().sum::<f64>() / 600.0;
    assert!((s["mean_log_likelihood"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert_eq!(s["n_samples"], 600);
    let n_params = 3.0 * 2.0 + 2.0 + 3.0 * 2.0;
    assert!(
        (s["bic"].as_f64().unwrap() - (-2.0 * mean * 600.0 + n_params * 600f64.ln())).abs() < 1e-6
    );
    assert!((s["aic"].as_f64().unwrap() - (-2.0 * mean * 600.0 + 2.0 * n_params)).abs() < 1e-6);
    // The model scored on its training data: the lower bound is close to the score.
    assert!((mean - model["lower_bound"].as_f64().unwrap()).abs() < 1e-2);

    ok(
        p,
        &[
            "sample", "m.json", "-n", "500", "--seed", "3", "-o", "s.npy", "--labels", "sl.npy",
        ],
    );
    let (s, sshape) = read_npy_f64(&p.join("s.npy")).unwrap();
    assert_eq!(sshape, vec![500, 2]);
    let sl = read_npy_i64(&p.join("sl.npy")).unwrap();
    assert!(sl.windows(2).all(|w| w[0] <= w[1]));
    // Samples come from the fitted blobs: their range is that of the data.
    let (lo, hi) = (
        x.iter().copied().fold(f64::INFINITY, f64::min),
        x.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    assert!(s.iter().all(|&v| v > lo - 5.0 && v < hi + 5.0));
    // Same seed, same points; another seed, other points.
    ok(
        p,
        &[
            "sample", "m.json", "-n", "500", "--seed", "3", "-o", "s2.npy",
        ],
    );
    assert_eq!(read_npy_f64(&p.join("s2.npy")).unwrap().0, s);
    ok(
        p,
        &[
            "sample", "m.json", "-n", "500", "--seed", "4", "-o", "s3.npy",
        ],
    );
    assert_ne!(read_npy_f64(&p.join("s3.npy")).unwrap().0, s);
}

#[test]
fn init_model_reproduces_a_scikit_learn_fixture() {
    let d = tmp();
    let p = d.path();
    let f = fixture("gmm_stretched_full.json");
    let (x, n, dim) = dataset("stretched");
    write_npy_f64(&p.join("x.npy"), &x, &[n, dim]).unwrap();
    // The initial model: weights, means and precisions of the fixture, as a model file.
    let init = gaussmix::GaussianMixture::new(4)
        .max_iter(0)
        .weights_init(flat(&f["init"]["weights"]))
        .means_init(flat(&f["init"]["means"]))
        .precisions_init(flat(&f["init"]["precisions"]))
        .fit(gaussmix::DataRef::new(&x, n, dim).unwrap())
        .unwrap();
    let text = serde_json::to_string(&gaussmix_cli::modelfile::gmm_json(&init)).unwrap();
    std::fs::write(p.join("init.json"), text).unwrap();
    ok(
        p,
        &[
            "fit",
            "x.npy",
            "--init-model",
            "init.json",
            "--max-iter",
            "25",
            "--tol",
            "0",
            "-o",
            "out.json",
            "--quiet",
        ],
    );
    let out = json(&std::fs::read_to_string(p.join("out.json")).unwrap());
    let r = &f["result"];
    assert_eq!(out["n_iter"], 25);
    for key in [
        "weights",
        "means",
        "covariances",
        "precisions_cholesky",
        "lower_bounds",
    ] {
        let (a, b) = (flat(&out[key]), flat(&r[key]));
        assert!(max_rel(&a, &b, scale(&b) * 1e-3) < 1e-8, "{key}");
    }
}

#[test]
fn kmeans_on_demo_data_and_files() {
    let d = tmp();
    let p = d.path();
    let out = ok(p, &["kmeans", "-o", "km.json", "--labels", "kl.npy"]);
    assert!(
        out.contains("4 clusters") && out.contains("inertia"),
        "{out}"
    );
    let m = json(&std::fs::read_to_string(p.join("km.json")).unwrap());
    assert_eq!(m["kind"], "kmeans");
    assert_eq!(flat(&m["centers"]).len(), 8);
    let labels = read_npy_i64(&p.join("kl.npy")).unwrap();
    assert_eq!(labels.len(), 400);
    // Each of the lesson's blobs has 100 points; k-means recovers them.
    let mut sizes = [0; 4];
    labels.iter().for_each(|&l| sizes[l as usize] += 1);
    assert_eq!(sizes, [100; 4]);
    // Initial centres from a file; predict with the k-means model.
    write_npy_f64(&p.join("c.npy"), &flat(&m["centers"]), &[4, 2]).unwrap();
    write_npy_f64(&p.join("x.npy"), &dataset("blobs").0, &[400, 2]).unwrap();
    let j = json(&ok(
        p,
        &[
            "kmeans",
            "x.npy",
            "-k",
            "4",
            "--init-centers",
            "c.npy",
            "--json",
        ],
    ));
    assert_eq!(
        j["n_iter"], 1,
        "starting from the solution converges at once"
    );
    ok(p, &["predict", "km.json", "x.npy", "-o", "pl.npy"]);
    assert_eq!(read_npy_i64(&p.join("pl.npy")).unwrap(), labels);
}

#[test]
fn select_marks_the_lowest_bic() {
    let d = tmp();
    let p = d.path();
    let j = json(&ok(
        p,
        &[
            "select",
            "--k-min",
            "1",
            "--k-max",
            "6",
            "--covariance",
            "all",
            "--json",
        ],
    ));
    let rows = j["results"].as_array().unwrap();
    assert_eq!(rows.len(), 24);
    let best = rows
        .iter()
        .min_by(|a, b| {
            a["bic"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["bic"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(j["best"]["k"], best["k"]);
    assert_eq!(j["best"]["covariance_type"], best["covariance_type"]);
    // The lesson's data has four blobs.
    assert_eq!(j["best"]["k"], 4);
    let table = ok(p, &["select", "--k-min", "2", "--k-max", "5"]);
    assert_eq!(table.matches("<- best").count(), 1, "{table}");
    assert_eq!(table.lines().filter(|l| l.contains(" full ")).count(), 4);
}

#[test]
fn gen_makes_the_lesson_data_sets() {
    let d = tmp();
    let p = d.path();
    ok(p, &["gen", "moons", "-o", "m.npy", "--labels", "ml.npy"]);
    let (m, shape) = read_npy_f64(&p.join("m.npy")).unwrap();
    assert_eq!(shape, vec![200, 2]);
    assert!(m.iter().all(|v| v.abs() < 3.0));
    ok(
        p,
        &[
            "gen",
            "blobs",
            "--dim",
            "5",
            "--centers",
            "3",
            "-n",
            "90",
            "--stretch",
            "-o",
            "b.npy",
        ],
    );
    assert_eq!(read_npy_f64(&p.join("b.npy")).unwrap().1, vec![90, 5]);
    ok(p, &["gen", "blobs", "-o", "b1.npy", "--seed", "1"]);
    ok(p, &["gen", "blobs", "-o", "b2.npy", "--seed", "1"]);
    assert_eq!(
        std::fs::read(p.join("b1.npy")).unwrap(),
        std::fs::read(p.join("b2.npy")).unwrap()
    );
}

#[test]
fn threads_do_not_change_results() {
    let d = tmp();
    let p = d.path();
    ok(
        p,
        &[
            "gen", "blobs", "-n", "20000", "--dim", "3", "--seed", "9", "-o", "x.npy",
        ],
    );
    ok(
        p,
        &[
            "fit",
            "x.npy",
            "-k",
            "4",
            "--threads",
            "1",
            "-o",
            "a.json",
            "--quiet",
        ],
    );
    ok(
        p,
        &[
            "fit",
            "x.npy",
            "-k",
            "4",
            "--threads",
            "2",
            "-o",
            "b.json",
            "--quiet",
        ],
    );
    assert_eq!(
        std::fs::read(p.join("a.json")).unwrap(),
        std::fs::read(p.join("b.json")).unwrap()
    );
}

#[test]
fn kmeans_precision_follows_float32_files_and_is_kept_in_the_model() {
    let d = tmp();
    let p = d.path();
    // Rows 1e-10 right of the middle of two centres 2 apart: float64 scores see the right
    // centre as nearer, float32 scores (1 ± 2e-10 rounds to 1) tie, and ties go to the left.
    let (n, dim) = (20, 3);
    let mut raw = Vec::new();
    for r in 0..n {
        for j in 0..dim {
            let v: f32 = if j == 0 {
                1e-10 * (1 + r % 2) as f32
            } else {
                0.0
            };
            raw.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::write(p.join("x.f32"), &raw).unwrap();
    let model = |precision: &str| {
        let mut m = serde_json::json!({"format": "gaussmix-model", "version": 1, "kind": "kmeans",
            "n_clusters": 2, "n_features": 3, "centers": [[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]],
            "inertia": 1.0, "n_iter": 1, "converged": true});
        if !precision.is_empty() {
            m["precision"] = precision.into();
        }
        m.to_string()
    };
    for (precision, want) in [("auto", 0), ("f64", 1), ("", 1)] {
        std::fs::write(p.join("m.json"), model(precision)).unwrap();
        ok(
            p,
            &["predict", "m.json", "x.f32", "--dim", "3", "-o", "l.npy"],
        );
        let labels = read_npy_i64(&p.join("l.npy")).unwrap();
        assert_eq!(labels, vec![want; n], "precision {precision:?}");
    }
    std::fs::write(p.join("m.json"), model("f16")).unwrap();
    common::fails(
        p,
        &["predict", "m.json", "x.f32", "--dim", "3", "-o", "l.npy"],
        1,
        &["precision", "f16"],
    );
    // A fit records its arithmetic: float32 for a float32 file under Lloyd, float64 when asked
    // for, and for the bounded passes.
    write_npy_f64(&p.join("x64.npy"), &dataset("blobs").0, &[400, 2]).unwrap();
    let x32: Vec<u8> = dataset("blobs")
        .0
        .iter()
        .flat_map(|&v| (v as f32).to_le_bytes())
        .collect();
    std::fs::write(p.join("b.f32"), x32).unwrap();
    // The same float32 values as a float64 file.
    let widened: Vec<f64> = dataset("blobs")
        .0
        .iter()
        .map(|&v| v as f32 as f64)
        .collect();
    write_npy_f64(&p.join("x32.npy"), &widened, &[400, 2]).unwrap();
    for (file, extra, want) in [
        ("b.f32", vec!["--algorithm", "lloyd"], "auto"),
        (
            "b.f32",
            vec!["--algorithm", "lloyd", "--precision", "f64"],
            "f64",
        ),
        ("b.f32", vec!["--algorithm", "elkan"], "f64"),
        ("x64.npy", vec!["--algorithm", "lloyd"], "f64"),
    ] {
        let mut args = vec![
            "kmeans", file, "-k", "4", "--dim", "2", "-q", "-o", "km.json",
        ];
        args.extend(extra.iter().copied());
        ok(p, &args);
        let m = json(&std::fs::read_to_string(p.join("km.json")).unwrap());
        assert_eq!(m["precision"], want, "{args:?}");
    }
    common::fails(p, &["kmeans", "--precision", "f16"], 2, &["f16"]);
    // A full mixture on the float32 file: float32 arithmetic by default, close to the float64
    // fit of the same values; --precision f64 is that fit, bit for bit.
    let lb = |file: &str, extra: &[&str]| {
        let mut args = vec!["fit", file, "-k", "4", "--dim", "2", "--json"];
        args.extend_from_slice(extra);
        json(&ok(p, &args))["lower_bound"].as_f64().unwrap()
    };
    let (auto, f64_, want) = (
        lb("b.f32", &[]),
        lb("b.f32", &["--precision", "f64"]),
        lb("x32.npy", &[]),
    );
    assert_eq!(f64_.to_bits(), want.to_bits());
    assert_ne!(auto.to_bits(), want.to_bits());
    assert!((auto - want).abs() < 1e-6 * want.abs(), "{auto} vs {want}");
    common::fails(p, &["fit", "--precision", "f16"], 2, &["f16"]);
}
