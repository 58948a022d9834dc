//! `gaussmix bench`: the multicore benchmark's report, and its determinism check across thread
//! counts.

mod common;

use common::{json, ok, tmp};

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
    assert_eq!(names, ["lesson", "lowd", "midd", "diag", "highd", "kmeans"]);
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
