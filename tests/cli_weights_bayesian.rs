//! The command line's sample weights (`--sample-weight`), initial labels (`--init-labels`) and
//! Bayesian mixtures (`fit --bayesian`, its model files), end to end.

mod common;

use std::path::Path;

use common::{dataset, fails, fixture, flat, gaussmix, ints, json, ok, stderr, tmp};
use gaussmix::io::{read_npy_f64, read_npy_i64, write_npy_f64, write_npy_i64};
use serde_json::Value;

/// The lesson's blobs as `x.npy`, integer weights as `w.npy` (a quarter of them 0), the rows
/// repeated by their weights as `rep.npy`, and labels for both (`l.npy`, `lrep.npy`).
fn weighted_files(dir: &Path) -> (usize, usize) {
    let (x, n, d) = dataset("blobs");
    write_npy_f64(&dir.join("x.npy"), &x, &[n, d]).unwrap();
    let w: Vec<f64> = (0..n).map(|i| ((i * 7) % 4) as f64).collect();
    write_npy_f64(&dir.join("w.npy"), &w, &[n]).unwrap();
    let labels: Vec<i64> = (0..n).map(|i| (i % 4) as i64).collect();
    write_npy_i64(&dir.join("l.npy"), &labels).unwrap();
    let (mut rep, mut lrep) = (Vec::new(), Vec::new());
    for i in 0..n {
        for _ in 0..w[i] as usize {
            rep.extend_from_slice(&x[i * d..(i + 1) * d]);
            lrep.push(labels[i]);
        }
    }
    let m = rep.len() / d;
    write_npy_f64(&dir.join("rep.npy"), &rep, &[m, d]).unwrap();
    write_npy_i64(&dir.join("lrep.npy"), &lrep).unwrap();
    (n, m)
}

fn model(dir: &Path, name: &str) -> Value {
    json(&std::fs::read_to_string(dir.join(name)).unwrap())
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() <= tol * y.abs().max(1.0),
            "{what}: {x} vs {y}"
        );
    }
}

#[test]
fn weighted_fits_equal_fits_of_repeated_rows() {
    let t = tmp();
    let dir = t.path();
    weighted_files(dir);
    for bayes in [None, Some("dirichlet-process")] {
        let mut a = vec![
            "fit",
            "x.npy",
            "-k",
            "4",
            "--sample-weight",
            "w.npy",
            "--init-labels",
            "l.npy",
            "-o",
            "a.json",
            "--quiet",
            "--tol",
            "0",
            "--max-iter",
            "20",
        ];
        let mut b = vec![
            "fit",
            "rep.npy",
            "-k",
            "4",
            "--init-labels",
            "lrep.npy",
            "-o",
            "b.json",
            "--quiet",
            "--tol",
            "0",
            "--max-iter",
            "20",
        ];
        if let Some(p) = bayes {
            a.extend(["--bayesian", p]);
            b.extend(["--bayesian", p]);
        }
        ok(dir, &a);
        ok(dir, &b);
        let (ma, mb) = (model(dir, "a.json"), model(dir, "b.json"));
        for key in ["weights", "means", "covariances", "lower_bounds"] {
            close(&flat(&ma[key]), &flat(&mb[key]), 1e-9, key);
        }
        // The weighted score (and BIC, for the plain mixture) are those of the repeated rows.
        let sa = json(&ok(
            dir,
            &[
                "score",
                "a.json",
                "x.npy",
                "--sample-weight",
                "w.npy",
                "--json",
            ],
        ));
        let sb = json(&ok(dir, &["score", "a.json", "rep.npy", "--json"]));
        let f = |v: &Value, k: &str| v[k].as_f64();
        assert!(
            (f(&sa, "mean_log_likelihood").unwrap() - f(&sb, "mean_log_likelihood").unwrap()).abs()
                < 1e-10
        );
        match bayes {
            None => assert!((f(&sa, "bic").unwrap() - f(&sb, "bic").unwrap()).abs() < 1e-7),
            Some(_) => assert!(sa["bic"].is_null(), "a Bayesian mixture has no BIC: {sa}"),
        }
        assert_eq!(sa["weighted"], Value::Bool(true));
    }
    // k-means from given centres: the same centres and (weighted) inertia.
    let (x, _, d) = dataset("blobs");
    write_npy_f64(&dir.join("c.npy"), &x[..4 * d], &[4, d]).unwrap();
    let ka = json(&ok(
        dir,
        &[
            "kmeans",
            "x.npy",
            "-k",
            "4",
            "--init-centers",
            "c.npy",
            "--sample-weight",
            "w.npy",
            "-o",
            "ka.json",
            "--json",
        ],
    ));
    let kb = json(&ok(
        dir,
        &[
            "kmeans",
            "rep.npy",
            "-k",
            "4",
            "--init-centers",
            "c.npy",
            "-o",
            "kb.json",
            "--json",
        ],
    ));
    close(
        &flat(&model(dir, "ka.json")["centers"]),
        &flat(&model(dir, "kb.json")["centers"]),
        1e-10,
        "centres",
    );
    let (ia, ib) = (
        ka["inertia"].as_f64().unwrap(),
        kb["inertia"].as_f64().unwrap(),
    );
    assert!((ia - ib).abs() <= 1e-10 * ib, "{ia} vs {ib}");
}

#[test]
fn select_counts_weights_as_rows() {
    let t = tmp();
    let dir = t.path();
    let (n, _) = weighted_files(dir);
    write_npy_f64(&dir.join("ones.npy"), &vec![1.0; n], &[n]).unwrap();
    write_npy_f64(&dir.join("twos.npy"), &vec![2.0; n], &[n]).unwrap();
    let args = ["select", "x.npy", "--k-min", "2", "--k-max", "4", "--json"];
    let plain = ok(dir, &args);
    let ones = ok(dir, &[&args[..], &["--sample-weight", "ones.npy"]].concat());
    assert_eq!(plain, ones, "unit weights change nothing");
    // Weights all 2: the same fits, n doubled in BIC = -2 · score · n + p ln n.
    let twos = json(&ok(
        dir,
        &[&args[..], &["--sample-weight", "twos.npy"]].concat(),
    ));
    let plain = json(&plain);
    for (p, w) in plain["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(twos["results"].as_array().unwrap())
    {
        let (bp, bw) = (p["bic"].as_f64().unwrap(), w["bic"].as_f64().unwrap());
        let k = p["k"].as_f64().unwrap();
        let params = 6.0 * k - 1.0; // full, d = 2: k·2 + k - 1 + 3k
        let score = -(bp - params * (n as f64).ln()) / (2.0 * n as f64);
        let want = -2.0 * score * 2.0 * n as f64 + params * (2.0 * n as f64).ln();
        assert!(
            (bw - want).abs() < 1e-6 * want.abs(),
            "k={k}: {bw} vs {want}"
        );
    }
}

#[test]
fn bad_weights_and_labels_are_refused_naming_the_flag() {
    let t = tmp();
    let dir = t.path();
    let (n, _) = weighted_files(dir);
    write_npy_f64(&dir.join("short.npy"), &vec![1.0; n - 1], &[n - 1]).unwrap();
    let mut neg = vec![1.0; n];
    neg[7] = -2.0;
    write_npy_f64(&dir.join("neg.npy"), &neg, &[n]).unwrap();
    let mut nan = vec![1.0; n];
    nan[3] = f64::NAN;
    write_npy_f64(&dir.join("nan.npy"), &nan, &[n]).unwrap();
    write_npy_f64(&dir.join("zero.npy"), &vec![0.0; n], &[n]).unwrap();
    for cmd in [
        &["fit", "x.npy", "-k", "2"][..],
        &["kmeans", "x.npy", "-k", "2"],
        &["select", "x.npy", "--k-min", "1", "--k-max", "2"],
    ] {
        let with = |w: &'static str| [cmd, &["--sample-weight", w]].concat();
        fails(
            dir,
            &with("short.npy"),
            1,
            &["--sample-weight", "short.npy", &format!("{n} rows")],
        );
        fails(
            dir,
            &with("neg.npy"),
            1,
            &["--sample-weight", "row 7", "-2", "non-negative"],
        );
        fails(
            dir,
            &with("nan.npy"),
            1,
            &["--sample-weight", "row 3", "NaN"],
        );
        fails(
            dir,
            &with("zero.npy"),
            1,
            &["--sample-weight", "every weight is zero"],
        );
        fails(dir, &with("missing.npy"), 1, &["missing.npy"]);
    }
    let short: Vec<i64> = vec![0; n - 1];
    write_npy_i64(&dir.join("lshort.npy"), &short).unwrap();
    let mut big: Vec<i64> = vec![0; n];
    big[5] = 4;
    write_npy_i64(&dir.join("lbig.npy"), &big).unwrap();
    fails(
        dir,
        &["fit", "x.npy", "-k", "4", "--init-labels", "lshort.npy"],
        1,
        &["--init-labels", "one label per row"],
    );
    fails(
        dir,
        &["fit", "x.npy", "-k", "4", "--init-labels", "lbig.npy"],
        1,
        &["--init-labels", "row 5 has label 4", "0 to 3"],
    );
    // Prior flags need --bayesian; a Bayesian mixture does not re-seed.
    fails(
        dir,
        &["fit", "x.npy", "--mean-precision-prior", "2"],
        2,
        &["--bayesian"],
    );
    fails(
        dir,
        &[
            "fit",
            "x.npy",
            "--bayesian",
            "dirichlet-process",
            "--on-degenerate",
            "reseed",
        ],
        2,
        &["reseed"],
    );
    fails(
        dir,
        &[
            "fit",
            "x.npy",
            "--bayesian",
            "dirichlet-process",
            "--degrees-of-freedom-prior",
            "0.5",
        ],
        2,
        &["degrees_of_freedom_prior", "greater than 1"],
    );
    write_npy_f64(&dir.join("m3.npy"), &[0.0; 3], &[3]).unwrap();
    fails(
        dir,
        &[
            "fit",
            "x.npy",
            "--bayesian",
            "dirichlet-process",
            "--mean-prior",
            "m3.npy",
        ],
        1,
        &["--mean-prior", "[3]", "[2]"],
    );
    write_npy_f64(&dir.join("c.npy"), &[1.0, 2.0, 2.0, 1.0], &[2, 2]).unwrap();
    fails(
        dir,
        &[
            "fit",
            "x.npy",
            "--bayesian",
            "dirichlet-process",
            "--covariance-prior",
            "c.npy",
        ],
        2,
        &["covariance_prior", "positive-definite"],
    );
}

#[test]
fn a_bayesian_fit_matches_scikit_learn_and_its_model_file_works_everywhere() {
    let t = tmp();
    let dir = t.path();
    let f = fixture("bgmm_blobs_full_process.json");
    let (x, n, d) = dataset("blobs");
    write_npy_f64(&dir.join("x.npy"), &x, &[n, d]).unwrap();
    let labels: Vec<i64> = ints(&f["init_labels"])
        .into_iter()
        .map(|v| v as i64)
        .collect();
    write_npy_i64(&dir.join("l.npy"), &labels).unwrap();
    let out = ok(
        dir,
        &[
            "fit",
            "x.npy",
            "-k",
            "6",
            "--bayesian",
            "dirichlet-process",
            "--init-labels",
            "l.npy",
            "--tol",
            "0",
            "--max-iter",
            "25",
            "-o",
            "m.json",
            "--labels",
            "fl.npy",
        ],
    );
    assert!(out.contains("kept 5 of its 6 components"), "{out}");
    let m = model(dir, "m.json");
    assert_eq!(m["kind"], "bayesian_gaussian_mixture");
    let r = &f["result"];
    close(
        &[m["lower_bound"].as_f64().unwrap()],
        &[r["lower_bound"].as_f64().unwrap()],
        1e-9,
        "lower bound",
    );
    close(
        &flat(&m["weight_concentration"]),
        &flat(&r["weight_concentration"]),
        1e-9,
        "weight concentration",
    );
    close(
        &flat(&m["degrees_of_freedom"]),
        &flat(&r["degrees_of_freedom"]),
        1e-9,
        "degrees of freedom",
    );
    close(
        &flat(&m["covariance_prior"]),
        &flat(&f["priors"]["covariance_prior"]),
        1e-12,
        "covariance prior",
    );
    // The file drives predict (scikit-learn's labels), score (no BIC), sample and plot.
    ok(
        dir,
        &[
            "predict", "m.json", "x.npy", "-o", "p.npy", "--proba", "pp.npy",
        ],
    );
    let predicted: Vec<usize> = read_npy_i64(&dir.join("p.npy"))
        .unwrap()
        .into_iter()
        .map(|v| v as usize)
        .collect();
    assert_eq!(predicted, ints(&r["predict"]));
    assert_eq!(
        read_npy_i64(&dir.join("fl.npy")).unwrap(),
        read_npy_i64(&dir.join("p.npy")).unwrap()
    );
    let s = ok(dir, &["score", "m.json", "x.npy"]);
    assert!(s.contains("no BIC or AIC"), "{s}");
    ok(dir, &["sample", "m.json", "-n", "50", "-o", "s.npy"]);
    assert_eq!(read_npy_f64(&dir.join("s.npy")).unwrap().1, vec![50, 2]);
    ok(dir, &["plot", "m.json", "x.npy", "-o", "fig.svg"]);
    // A Bayesian file cannot seed a plain fit, and a tampered one is refused.
    fails(
        dir,
        &["fit", "x.npy", "--init-model", "m.json"],
        1,
        &["Bayesian", "without --bayesian"],
    );
    let mut bad = m.clone();
    bad["weights"][0] = Value::from(bad["weights"][0].as_f64().unwrap() + 1e-3);
    bad["weights"][1] = Value::from(bad["weights"][1].as_f64().unwrap() - 1e-3);
    std::fs::write(dir.join("bad.json"), bad.to_string()).unwrap();
    fails(
        dir,
        &["predict", "bad.json", "x.npy", "-o", "q.npy"],
        1,
        &["weight_concentration"],
    );
    // The summary's JSON names the kept components.
    let j = json(&ok(
        dir,
        &[
            "fit",
            "x.npy",
            "-k",
            "6",
            "--bayesian",
            "dirichlet-distribution",
            "--json",
        ],
    ));
    assert!(j["effective_components"].as_u64().unwrap() <= 6);
}

#[test]
fn a_model_file_whose_factors_contradict_its_covariances_is_refused() {
    let t = tmp();
    let dir = t.path();
    ok(dir, &["fit", "-o", "m.json", "--quiet"]);
    let mut m = model(dir, "m.json");
    let pc = m["precisions_cholesky"][1][0][0].as_f64().unwrap();
    m["precisions_cholesky"][1][0][0] = Value::from(pc * 1.01);
    std::fs::write(dir.join("bad.json"), m.to_string()).unwrap();
    std::fs::write(dir.join("x.npy"), b"").unwrap();
    let o = gaussmix(dir, &["sample", "bad.json", "-n", "3", "-o", "s.npy"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("contradicts") && e.contains("component 1"),
        "{e}"
    );
    // converged must be a boolean.
    let mut m = model(dir, "m.json");
    m["converged"] = Value::from("no");
    std::fs::write(dir.join("bad2.json"), m.to_string()).unwrap();
    let o = gaussmix(dir, &["sample", "bad2.json", "-n", "3", "-o", "s.npy"]);
    assert!(
        stderr(&o).contains("\"converged\" is \"no\""),
        "{}",
        stderr(&o)
    );
}
