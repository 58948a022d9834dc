//! `gaussmix bench`: the multicore benchmark's report, and its determinism check across thread
//! counts.

mod common;

use common::{fails, json, ok, tmp};

#[test]
fn json_report_has_the_machine_the_parameters_and_agreeing_checksums() {
    let d = tmp();
    let out = ok(
        d.path(),
        &[
            "bench",
            "--workload",
            "all",
            "--n",
            "3000",
            "--threads",
            "1,2,3",
            "--iters",
            "3",
            "--repeat",
            "2",
            "--json",
        ],
    );
    let r = json(&out);
    assert_eq!(r["gaussmix_version"], env!("CARGO_PKG_VERSION"));
    assert!(r["machine"]["cpu"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(r["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(r["machine"]["simd"].is_array());
    assert_eq!(r["parameters"]["iters"], 3);
    assert_eq!(r["parameters"]["repeat"], 2);
    assert_eq!(r["parameters"]["dtype"], "f64");
    let workloads = r["workloads"].as_array().unwrap();
    let names: Vec<&str> = workloads
        .iter()
        .map(|w| w["workload"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "lesson",
            "lowd",
            "midd",
            "diag",
            "highd",
            "kmeans",
            "kmeans128"
        ]
    );
    for w in workloads {
        assert_eq!(w["deterministic"], true, "{}", w["workload"]);
        assert!(w["flops_formula"].as_str().unwrap().contains('n'));
        let rows = w["results"].as_array().unwrap();
        assert_eq!(
            rows.iter()
                .map(|x| x["threads"].as_u64().unwrap())
                .collect::<Vec<_>>(),
            [1, 2, 3]
        );
        for x in rows {
            // Same checksum for every thread count: the objective to the last bit, and the hash.
            assert_eq!(x["objective"], rows[0]["objective"]);
            assert_eq!(x["hash"], rows[0]["hash"]);
            assert_eq!(x["samples"].as_array().unwrap().len(), 2);
            let s = x["seconds_per_iter"].as_f64().unwrap();
            assert!(s > 0.0);
            // Throughput and GFLOP/s follow from the time.
            let n = x["n"].as_f64().unwrap();
            let k = w["k"].as_f64().unwrap();
            let thr = x["throughput_points_components_per_s"].as_f64().unwrap();
            assert!((thr - n * k / s).abs() <= 1e-6 * thr);
            assert!(x["gflops"].as_f64().unwrap() > 0.0);
            let eff = x["efficiency"].as_f64().unwrap();
            let sp = x["speedup"].as_f64().unwrap();
            assert!((eff - sp / x["threads"].as_f64().unwrap()).abs() < 1e-9);
        }
        assert_eq!(rows[0]["speedup"], 1.0);
    }
}

#[test]
fn human_table_says_whether_results_agree() {
    let d = tmp();
    let out = ok(
        d.path(),
        &[
            "bench",
            "--workload",
            "lesson",
            "--threads",
            "1,2",
            "--iters",
            "5",
            "--repeat",
            "1",
        ],
    );
    assert!(out.contains("W1 lesson (400×2"), "{out}");
    assert!(out.contains("4·n·K·d²"), "{out}");
    assert!(
        out.contains("checksums identical for every thread count"),
        "{out}"
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .count(),
        2,
        "{out}"
    );
}

#[test]
fn weak_scaling_grows_n_with_the_threads() {
    let d = tmp();
    let r = json(&ok(
        d.path(),
        &[
            "bench",
            "--workload",
            "diag",
            "--n",
            "2000",
            "--threads",
            "1,2",
            "--iters",
            "2",
            "--repeat",
            "1",
            "--weak",
            "--json",
        ],
    ));
    let rows = r["workloads"][0]["results"].as_array().unwrap();
    assert_eq!(rows[0]["n"], 2000);
    assert_eq!(rows[1]["n"], 4000);
    assert_eq!(r["parameters"]["weak_scaling"], true);
}

#[test]
fn f32_data_is_benchmarked_too() {
    let d = tmp();
    let r = json(&ok(
        d.path(),
        &[
            "bench",
            "--workload",
            "midd",
            "--n",
            "2000",
            "--threads",
            "1,2",
            "--iters",
            "2",
            "--repeat",
            "1",
            "--dtype",
            "f32",
            "--json",
        ],
    ));
    assert_eq!(r["parameters"]["dtype"], "f32");
    assert_eq!(r["workloads"][0]["deterministic"], true);
    // Full mixtures compute float32 data in float32: timed in float64 arithmetic too.
    assert!(
        r["workloads"][0]["results"][0]["f64_arithmetic_seconds_per_iter"].as_f64() > Some(0.0)
    );
    // k-means on float32 data is timed in float32 and in float64 arithmetic (that the labels
    // then come from float32 scores is tested in crates/core/tests/precision.rs).
    let args = |precision: &'static str| {
        vec![
            "bench",
            "--workload",
            "kmeans128",
            "--n",
            "3000",
            "--threads",
            "1",
            "--iters",
            "2",
            "--repeat",
            "1",
            "--dtype",
            "f32",
            "--precision",
            precision,
            "--json",
        ]
    };
    let auto = json(&ok(d.path(), &args("auto")));
    let row = &auto["workloads"][0]["results"][0];
    assert!(
        row["f64_arithmetic_seconds_per_iter"].as_f64().unwrap() > 0.0,
        "{row}"
    );
    let f64_run = json(&ok(d.path(), &args("f64")));
    let row64 = &f64_run["workloads"][0]["results"][0];
    assert!(
        row64["f64_arithmetic_seconds_per_iter"].is_null(),
        "{row64}"
    );
    let text = ok(d.path(), &args("auto")[..args("auto").len() - 1]);
    assert!(
        text.contains("float64 arithmetic on the same float32 data"),
        "{text}"
    );
}

#[test]
fn weighted_and_bayesian_runs_are_measured_and_deterministic() {
    let d = tmp();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "bench",
            "--workload",
            "midd",
            "--n",
            "3000",
            "--threads",
            "1,2",
            "--iters",
            "3",
            "--repeat",
            "1",
            "--json",
        ];
        args.extend_from_slice(extra);
        json(&ok(d.path(), &args))
    };
    let plain = run(&[]);
    let weighted = run(&["--weighted"]);
    let bayesian = run(&["--bayesian"]);
    assert_eq!(weighted["parameters"]["weighted"], true);
    assert_eq!(bayesian["parameters"]["bayesian"], true);
    for r in [&weighted, &bayesian] {
        assert_eq!(r["workloads"][0]["deterministic"], true, "{r}");
    }
    // Each variant fits something else: the checksums (the final objective and the parameters'
    // hash) differ from the plain run's.
    let checksum = |r: &serde_json::Value| {
        let res = &r["workloads"][0]["results"][0];
        (
            res["hash"].as_str().unwrap().to_string(),
            res["objective"].as_f64().unwrap(),
        )
    };
    assert_ne!(checksum(&plain), checksum(&weighted));
    assert_ne!(checksum(&plain), checksum(&bayesian));
}

/// `(seconds per iteration, n, k, d)` of a result row and its workload.
fn shape(w: &serde_json::Value, x: &serde_json::Value) -> (f64, f64, f64, f64) {
    (
        x["seconds_per_iter"].as_f64().unwrap(),
        x["n"].as_f64().unwrap(),
        w["k"].as_f64().unwrap(),
        w["d"].as_f64().unwrap(),
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs()
}

#[test]
fn peak_measures_gemm_and_each_workloads_share_of_it() {
    let d = tmp();
    let run = |dtype: &str| {
        json(&ok(
            d.path(),
            &[
                "bench",
                "--workload",
                "all",
                "--n",
                "1500",
                "--threads",
                "1,2",
                "--iters",
                "2",
                "--repeat",
                "1",
                "--dtype",
                dtype,
                "--peak",
                "--peak-size",
                "96",
                "--json",
            ],
        ))
    };
    for dtype in ["f64", "f32"] {
        let r = run(dtype);
        assert_eq!(r["parameters"]["peak"], true);
        assert_eq!(r["gemm_size"], 96);
        let gemm = &r["gemm_gflops"];
        for ty in ["f64", "f32"] {
            let rates = gemm[ty].as_object().unwrap();
            let threads: Vec<&str> = rates.keys().map(|k| k.as_str()).collect();
            assert_eq!(threads, ["1", "2"], "{gemm}");
            assert!(rates.values().all(|v| v.as_f64().unwrap() > 0.0), "{gemm}");
        }
        for w in r["workloads"].as_array().unwrap() {
            let formula = w["issued_flops_formula"].as_str().unwrap();
            for x in w["results"].as_array().unwrap() {
                let (s, n, k, dd) = shape(w, x);
                // Issued multiply-adds (×2), not the dense count: the triangular products and
                // the lower triangle of the scatter for full covariances, one multiply-add per
                // element and step for diagonal ones, the distance products for k-means.
                let (issued, dense) = match w["covariance_type"].as_str() {
                    Some("full") => (2.0 * n * k * (dd * dd + 2.0 * dd), 4.0 * n * k * dd * dd),
                    Some("diag") => (4.0 * n * k * dd, 6.0 * n * k * dd),
                    None => (2.0 * n * k * dd, 2.0 * n * k * dd),
                    t => panic!("unexpected covariance type {t:?}"),
                };
                if s == 0.0 {
                    // k-means times the difference of two runs: on 1500 rows it can come out
                    // zero, and a rate of +inf is written as null.
                    assert!(x["issued_gflops"].is_null(), "{x}");
                    continue;
                }
                let issued_gflops = x["issued_gflops"].as_f64().unwrap();
                assert!(close(issued_gflops, issued / s / 1e9), "{formula}: {x}");
                assert!(close(x["gflops"].as_f64().unwrap(), dense / s / 1e9), "{x}");
                // The share of the GEMM rate of the data's element type at the same threads.
                let t = x["threads"].as_u64().unwrap().to_string();
                let rate = gemm[dtype][&t].as_f64().unwrap();
                let eff = x["gemm_efficiency"].as_f64().unwrap();
                assert!(close(eff, issued_gflops / rate), "{dtype} {x} {gemm}");
            }
        }
    }
    // Without --peak: no GEMM, no share of it (the issued rate is still there).
    let plain = json(&ok(
        d.path(),
        &[
            "bench",
            "--workload",
            "midd",
            "--n",
            "1500",
            "--threads",
            "1",
            "--iters",
            "2",
            "--repeat",
            "1",
            "--json",
        ],
    ));
    assert!(plain.get("gemm_gflops").is_none(), "{plain}");
    assert_eq!(plain["parameters"]["peak"], false);
    let x = &plain["workloads"][0]["results"][0];
    assert!(x.get("gemm_efficiency").is_none(), "{x}");
    assert!(x["issued_gflops"].as_f64().unwrap() > 0.0);
}

#[test]
fn peak_table_shows_the_gemm_rates_and_the_share_column() {
    let d = tmp();
    let out = ok(
        d.path(),
        &[
            "bench",
            "--workload",
            "lesson",
            "--threads",
            "1,2",
            "--iters",
            "3",
            "--repeat",
            "1",
            "--peak",
            "--peak-size",
            "64",
        ],
    );
    assert!(out.contains("faer GEMM peak (64×64"), "{out}");
    assert!(
        out.contains("on 1 thread,") && out.contains("on 2 threads"),
        "{out}"
    );
    assert!(out.contains("issued = 2·n·K·(d²+2d)"), "{out}");
    assert!(out.contains("of GEMM"), "{out}");
    // Each row ends its share of GEMM with a percent sign before the checksum.
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    for r in rows {
        assert_eq!(r.matches('%').count(), 2, "{r}");
    }
}

#[test]
fn k6_is_128_dimensional_k_means_with_1024_clusters() {
    let d = tmp();
    let r = json(&ok(
        d.path(),
        &[
            "bench",
            "--workload",
            "kmeans128",
            "--n",
            "2000",
            "--threads",
            "1,2",
            "--iters",
            "3",
            "--repeat",
            "1",
            "--json",
        ],
    ));
    let w = &r["workloads"][0];
    assert_eq!(w["workload"], "kmeans128");
    assert_eq!(w["label"], "K6");
    assert_eq!(
        (w["n"].as_u64(), w["d"].as_u64(), w["k"].as_u64()),
        (Some(2000), Some(128), Some(1024))
    );
    assert!(w["covariance_type"].is_null());
    assert_eq!(w["flops_formula"], "2·n·K·d");
    assert_eq!(w["deterministic"], true);
    let rows = w["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for x in rows {
        assert_eq!(x["n"], 2000);
        let (s, n, k, dd) = shape(w, x);
        assert!(close(
            x["gflops"].as_f64().unwrap(),
            2.0 * n * k * dd / s / 1e9
        ));
        // An inertia of 2000 rows of blobs with unit spread around 1024 centres, from 1024 of
        // the rows as centres: positive and below 2000 rows × 128 features × a few units².
        let inertia = x["objective"].as_f64().unwrap();
        assert!(
            inertia > 0.0 && inertia < 2000.0 * 128.0 * 10.0,
            "{inertia}"
        );
    }
    // Fewer rows than clusters is refused before anything runs.
    fails(
        d.path(),
        &["bench", "--workload", "kmeans128", "--n", "1000", "--json"],
        2,
        &["kmeans128", "K6", "1024 clusters", "--n 1024 or more"],
    );
}
