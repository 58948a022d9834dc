//! Parity with scikit-learn's `KMeans(init=centres, n_init=1, algorithm="lloyd", tol=0)`, and
//! k-means' own guarantees: determinism, monotone inertia, recovery of the lesson's clusters.

mod common;

use common::{dataset, fixture, flat, ints, max_rel, scale};
use gaussmix::{DataRef, KMeans, KMeansInit};

fn check_fixture(case: &str) -> f64 {
    let f = fixture(&format!("kmeans_{case}.json"));
    let (x, n, d) = dataset(f["dataset"].as_str().unwrap());
    let data = DataRef::new(&x, n, d).unwrap();
    let k = f["n_clusters"].as_u64().unwrap() as usize;
    let km = KMeans::new(k)
        .init(KMeansInit::Centers(flat(&f["init_centers"])))
        .max_iter(f["max_iter"].as_u64().unwrap() as usize)
        .tol(0.0)
        .fit(data)
        .unwrap();
    let r = &f["result"];
    assert_eq!(
        km.n_iter(),
        r["n_iter"].as_u64().unwrap() as usize,
        "{case}: n_iter"
    );
    assert_eq!(km.labels(), &ints(&r["labels"])[..], "{case}: labels");
    let c = flat(&r["cluster_centers"]);
    let dc = max_rel(km.centers(), &c, scale(&c) * 1e-3);
    assert!(dc < 1e-6, "{case}: centres differ by {dc}");
    let inertia = r["inertia"].as_f64().unwrap();
    let di = (km.inertia() - inertia).abs() / inertia;
    assert!(di < 1e-6, "{case}: inertia {} vs {inertia}", km.inertia());
    let t = km.transform(data).unwrap();
    let want = flat(&r["transform_first_rows"]);
    assert!(
        max_rel(&t[..want.len()], &want, 1.0) < 1e-6,
        "{case}: transform"
    );
    assert_eq!(km.predict(data).unwrap(), km.labels(), "{case}: predict");
    println!("kmeans {case:>11}: centres {dc:.1e}  inertia {di:.1e}");
    dc.max(di)
}

#[test]
fn lloyd_matches_scikit_learn_on_the_lesson_blobs() {
    check_fixture("blobs");
}

#[test]
fn lloyd_matches_scikit_learn_with_64_clusters_in_16_dimensions() {
    check_fixture("blobs16k64");
}

#[test]
fn empty_cluster_is_relocated_as_scikit_learn_does() {
    let f = fixture("kmeans_empty.json");
    assert!(f["empty_cluster_in_first_iteration"].as_bool().unwrap());
    check_fixture("empty");
}

/// `KMeans(init=C, n_init=1, algorithm="lloyd", tol=0).fit(X, sample_weight=w)`.
fn check_weighted_fixture(case: &str) {
    let f = fixture(&format!("kmeans_{case}.json"));
    let (x, n, d) = match f.get("data") {
        Some(v) => {
            let rows = v.as_array().unwrap();
            (flat(v), rows.len(), rows[0].as_array().unwrap().len())
        }
        None => dataset(f["dataset"].as_str().unwrap()),
    };
    let w: Option<Vec<f64>> = (!f["sample_weight"].is_null()).then(|| flat(&f["sample_weight"]));
    let data = DataRef::new(&x, n, d).unwrap();
    let data = match &w {
        Some(w) => data.with_weights(w).unwrap(),
        None => data,
    };
    let k = f["n_clusters"].as_u64().unwrap() as usize;
    let km = KMeans::new(k)
        .init(KMeansInit::Centers(flat(&f["init_centers"])))
        .max_iter(f["max_iter"].as_u64().unwrap() as usize)
        .tol(0.0)
        .fit(data)
        .unwrap();
    let r = &f["result"];
    assert_eq!(
        km.n_iter(),
        r["n_iter"].as_u64().unwrap() as usize,
        "{case}: n_iter"
    );
    if f["compare_labels"].as_bool().unwrap() {
        assert_eq!(km.labels(), &ints(&r["labels"])[..], "{case}: labels");
    }
    let c = flat(&r["cluster_centers"]);
    let dc = max_rel(km.centers(), &c, scale(&c) * 1e-3);
    assert!(dc < 1e-12, "{case}: centres differ by {dc}");
    let inertia = r["inertia"].as_f64().unwrap();
    let di = (km.inertia() - inertia).abs() / inertia.max(1e-300 + scale(&c) * 1e-12);
    assert!(
        di < 1e-12 || (km.inertia() - inertia).abs() < 1e-20,
        "{case}: inertia {} vs {inertia}",
        km.inertia()
    );
    // scikit-learn's score is minus the weighted inertia.
    let score = r["score"].as_f64().unwrap();
    let mine = -km.inertia_of(data).unwrap();
    assert!(
        (mine - score).abs() <= 1e-12 * score.abs().max(1e-18),
        "{case}: score {mine} vs {score}"
    );
    println!("kmeans {case:>24}: centres {dc:.1e}  inertia {di:.1e}");
}

#[test]
fn weighted_lloyd_matches_scikit_learn() {
    for case in ["w_blobs", "w_integer", "w_zero_cluster"] {
        check_weighted_fixture(case);
    }
}

#[test]
fn empty_clusters_without_distance_take_the_heaviest_centre_as_scikit_learn() {
    // More clusters than distinct points: no relocation, and each empty cluster moves to the
    // heaviest cluster's centre (with and without weights).
    check_weighted_fixture("w_duplicates_unweighted");
    check_weighted_fixture("w_duplicates");
}

#[test]
fn results_are_bit_identical_for_any_thread_count() {
    let (x, n, d) = dataset("blobs16k64");
    let data = DataRef::new(&x, n, d).unwrap();
    let fit = |t| {
        KMeans::new(64)
            .seed(11)
            .n_init(2)
            .n_threads(Some(t))
            .fit(data)
            .unwrap()
    };
    let a = fit(1);
    for t in [2, 8] {
        let b = fit(t);
        assert_eq!(a.labels(), b.labels());
        assert_eq!(
            a.centers().iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.centers().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(a.inertia().to_bits(), b.inertia().to_bits());
    }
    // k-means++ from a fixed seed is reproducible, and the seed matters.
    assert_eq!(a.centers(), fit(1).centers());
    let other = KMeans::new(64).seed(12).fit(data).unwrap();
    assert_ne!(a.centers(), other.centers());
}

#[test]
fn inertia_never_increases() {
    let (x, n, d) = dataset("blobs16k64");
    let data = DataRef::new(&x, n, d).unwrap();
    let mut last = f64::INFINITY;
    for it in 1..12 {
        let km = KMeans::new(64)
            .seed(5)
            .max_iter(it)
            .tol(0.0)
            .fit(data)
            .unwrap();
        assert!(
            km.inertia() <= last * (1.0 + 1e-12),
            "iteration {it}: {} after {last}",
            km.inertia()
        );
        last = km.inertia();
    }
}

/// Adjusted Rand index of two labellings.
fn adjusted_rand(a: &[usize], b: &[usize]) -> f64 {
    let ka = a.iter().max().unwrap() + 1;
    let kb = b.iter().max().unwrap() + 1;
    let mut table = vec![0.0f64; ka * kb];
    for (&i, &j) in a.iter().zip(b) {
        table[i * kb + j] += 1.0;
    }
    let c2 = |v: f64| v * (v - 1.0) / 2.0;
    let sum_ij: f64 = table.iter().map(|&v| c2(v)).sum();
    let sum_a: f64 = (0..ka)
        .map(|i| c2((0..kb).map(|j| table[i * kb + j]).sum()))
        .sum();
    let sum_b: f64 = (0..kb)
        .map(|j| c2((0..ka).map(|i| table[i * kb + j]).sum()))
        .sum();
    let expected = sum_a * sum_b / c2(a.len() as f64);
    (sum_ij - expected) / ((sum_a + sum_b) / 2.0 - expected)
}

#[test]
fn ten_restarts_recover_the_lesson_clusters() {
    let (x, n, d) = dataset("blobs");
    let truth: Vec<usize> = {
        let path = common::path("datasets/blobs400_labels.npy");
        let ds = gaussmix::io::read_npy_i64(&path).unwrap();
        ds.into_iter().map(|v| v as usize).collect()
    };
    let km = KMeans::new(4)
        .n_init(10)
        .seed(0)
        .fit(DataRef::new(&x, n, d).unwrap())
        .unwrap();
    let ari = adjusted_rand(km.labels(), &truth);
    assert!(ari > 0.95, "adjusted Rand index {ari}");
    // A labelling compared with a random one is near zero.
    let shuffled: Vec<usize> = (0..n).map(|i| (i * 7919) % 4).collect();
    assert!(adjusted_rand(&shuffled, &truth).abs() < 0.05);
}
