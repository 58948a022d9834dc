//! Criterion benches of the engine: the E-step alone (`predict_proba`), the fused pass of one
//! EM iteration (E-step and sufficient statistics), the M-step from statistics, a whole
//! iteration through `GaussianMixture::fit`, a Lloyd iteration, 20 iterations of Lloyd and of
//! bounded k-means, greedy k-means++ seeding, and the fused pass without and with sample
//! weights; on the workloads of
//! `gaussmix bench` (W1-W5) and the K6 k-means shape (d = 128, K = 1024), every covariance
//! type on W3's shape, f32 and f64, and the W2 shape
//! from 400 to 10 million rows.
//!
//! `cargo bench -p gaussmix-bench` runs them all; `-- --quick` samples less; a filter such as
//! `-- W3` runs a subset.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gaussmix_bench::{Prepared, WORKLOADS, Workload};
use gaussmix_core::{
    CovarianceType, DataRef, GaussianMixtureModel, KMeans, KMeansAlgorithm, KMeansInit, KMeansModel,
};

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
    slow: bool,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(if slow { 500 } else { 300 }));
    g.measurement_time(Duration::from_secs(if slow { 8 } else { 2 }));
    g
}

/// The initial model of a workload, as a fitted model (zero EM iterations).
fn initial_model(p: &Prepared) -> GaussianMixtureModel {
    p.mixture(0)
        .fit(DataRef::new(&p.x, p.n, p.w.d).unwrap())
        .unwrap()
}

fn gmm_workloads(c: &mut Criterion) {
    for w in WORKLOADS.iter().filter(|w| w.covariance.is_some()) {
        let p = Prepared::new(*w, w.n);
        let model = initial_model(&p);
        let slow = w.n * w.d * w.k >= 1_000_000;
        let mut g = configure(
            c,
            &format!("{} {} {}x{} K={}", w.label, w.name, w.n, w.d, w.k),
            slow,
        );
        g.throughput(Throughput::Elements((w.n * w.k) as u64));
        for dtype in ["f64", "f32"] {
            // f32 only where it is a goal (W3, W4) and the lesson.
            if dtype == "f32" && !matches!(w.label, "W1" | "W3" | "W4") {
                continue;
            }
            macro_rules! on {
                ($x:expr) => {{
                    let data = DataRef::new($x, p.n, w.d).unwrap();
                    g.bench_function(BenchmarkId::new("e_step", dtype), |b| {
                        b.iter(|| black_box(model.predict_proba(data).unwrap()))
                    });
                    g.bench_function(BenchmarkId::new("fused_pass", dtype), |b| {
                        b.iter(|| black_box(model.sufficient_statistics(data).unwrap()))
                    });
                    let stats = model.sufficient_statistics(data).unwrap();
                    g.bench_function(BenchmarkId::new("m_step", dtype), |b| {
                        b.iter(|| black_box(GaussianMixtureModel::m_step(&stats, 1e-6).unwrap()))
                    });
                    let gm = p.mixture(1);
                    g.bench_function(BenchmarkId::new("iteration", dtype), |b| {
                        b.iter(|| black_box(gm.fit(data).unwrap()))
                    });
                }};
            }
            if dtype == "f64" {
                on!(&p.x);
            } else {
                on!(&p.x32);
            }
        }
        g.finish();
    }
}

fn covariance_types(c: &mut Criterion) {
    // W3's shape for every covariance type.
    let base = Workload::by_name("midd").unwrap();
    let mut g = configure(c, "covariance types 1000000x16 K=16", true);
    g.throughput(Throughput::Elements((base.n * base.k) as u64));
    for t in CovarianceType::ALL {
        let w = Workload {
            covariance: Some(t),
            ..base
        };
        let p = Prepared::new(w, w.n);
        let data = DataRef::new(&p.x, p.n, w.d).unwrap();
        let model = initial_model(&p);
        g.bench_function(BenchmarkId::new("fused_pass", t.as_str()), |b| {
            b.iter(|| black_box(model.sufficient_statistics(data).unwrap()))
        });
    }
    g.finish();
}

fn scaling(c: &mut Criterion) {
    // W2's shape from the lesson's size to ten million rows: time per point should stay flat.
    let w = Workload::by_name("lowd").unwrap();
    let mut g = configure(c, "scaling 2-D K=4 full", true);
    for n in [400, 10_000, 100_000, 1_000_000, 10_000_000] {
        let p = Prepared::new(w, n);
        let data = DataRef::new(&p.x, p.n, w.d).unwrap();
        let model = initial_model(&p);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("fused_pass", n), |b| {
            b.iter(|| black_box(model.sufficient_statistics(data).unwrap()))
        });
    }
    g.finish();
}

fn kmeans(c: &mut Criterion) {
    let w = Workload::by_name("kmeans").unwrap();
    let p = Prepared::new(w, w.n);
    let mut g = configure(c, "W5 kmeans 1000000x16 K=64", true);
    g.throughput(Throughput::Elements((w.n * w.k) as u64));
    for dtype in ["f64", "f32"] {
        let km = KMeans::new(w.k)
            .init(KMeansInit::Centers(p.init.1.clone()))
            .max_iter(1)
            .tol(0.0);
        if dtype == "f64" {
            let data = DataRef::new(&p.x, p.n, w.d).unwrap();
            g.bench_function(BenchmarkId::new("lloyd_fit_1_iteration", dtype), |b| {
                b.iter(|| black_box(km.fit(data).unwrap()))
            });
        } else {
            let data = DataRef::new(&p.x32, p.n, w.d).unwrap();
            g.bench_function(BenchmarkId::new("lloyd_fit_1_iteration", dtype), |b| {
                b.iter(|| black_box(km.fit(data).unwrap()))
            });
        }
    }
    // The same iteration from that start, bounded (the same result bit for bit).
    let data = DataRef::new(&p.x, p.n, w.d).unwrap();
    let km = KMeans::new(w.k)
        .init(KMeansInit::Centers(p.init.1.clone()))
        .max_iter(20)
        .tol(0.0);
    for algorithm in [KMeansAlgorithm::Lloyd, KMeansAlgorithm::Elkan] {
        let km = km.clone().algorithm(algorithm);
        g.bench_function(
            BenchmarkId::new("fit_20_iterations", format!("{algorithm:?}")),
            |b| b.iter(|| black_box(km.fit(data).unwrap())),
        );
    }
    g.finish();
}

/// The K6 shape (500,000 × 128, K = 1024, the "many centroids, SIFT-like" case): one pass of
/// nearest centres from fixed centres (`predict`: labels and the exact inertia) and one Lloyd
/// pass from them (`lloyd_pass`: labels, per-centre sums, inertia). The nearest-centre kernel
/// for d ≥ 24 dominates both (`2 n K d` = 131 GFLOP per pass).
fn kmeans_wide(c: &mut Criterion) {
    let w = Workload {
        name: "k6",
        label: "K6",
        n: 500_000,
        d: 128,
        k: 1024,
        covariance: None,
    };
    let x = w.data(w.n);
    let centers = w.init(&x).1;
    let data = DataRef::new(&x, w.n, w.d).unwrap();
    let model = KMeansModel::from_centers(centers, w.k, w.d).unwrap();
    // The data's column means, as a fit centres on them.
    let mut offset = vec![0.0; w.d];
    for row in x.chunks_exact(w.d) {
        for (o, v) in offset.iter_mut().zip(row) {
            *o += v / w.n as f64;
        }
    }
    let mut g = c.benchmark_group("K6 kmeans 500000x128 K=1024");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(2));
    g.measurement_time(Duration::from_secs(15));
    g.throughput(Throughput::Elements((w.n * w.k) as u64));
    g.bench_function(BenchmarkId::new("nearest_pass", "f64"), |b| {
        b.iter(|| black_box(model.predict(data).unwrap()))
    });
    g.bench_function(BenchmarkId::new("lloyd_pass", "f64"), |b| {
        b.iter(|| black_box(model.lloyd_pass(data, &offset).unwrap()))
    });
    g.finish();
}

/// Greedy k-means++ on the W5 (K = 64) and W3 (K = 16) shapes: a fit of one Lloyd iteration
/// from k-means++, which the seeding dominates (its k - 1 steps of `2 + ⌊ln k⌋` candidates),
/// next to the same iteration from given centres (`lloyd_fit_1_iteration` above).
fn seeding(c: &mut Criterion) {
    for name in ["kmeans", "midd"] {
        let w = Workload::by_name(name).unwrap();
        let p = Prepared::new(w, w.n);
        let data = DataRef::new(&p.x, p.n, w.d).unwrap();
        let mut g = configure(c, &format!("k-means++ {}x{} K={}", w.n, w.d, w.k), true);
        g.throughput(Throughput::Elements((w.n * w.k) as u64));
        let km = KMeans::new(w.k)
            .max_iter(1)
            .tol(0.0)
            .algorithm(KMeansAlgorithm::Lloyd);
        g.bench_function(BenchmarkId::new("seeding_and_1_iteration", "f64"), |b| {
            b.iter(|| black_box(km.fit(data).unwrap()))
        });
        g.finish();
    }
}

/// The cost of sample weights: the fused pass of one EM iteration on W2's and W3's shapes,
/// without and with weights (`gaussmix bench`'s: `0.5 + u` per row), one after the other in
/// the same run (issue 17's goal: at most 5% more).
fn sample_weights(c: &mut Criterion) {
    for name in ["lowd", "midd"] {
        let w = Workload::by_name(name).unwrap();
        let p = Prepared::new(w, w.n);
        let weights = gaussmix_cli::bench::bench_weights(p.n);
        let data = DataRef::new(&p.x, p.n, w.d).unwrap();
        let model = initial_model(&p);
        let mut g = configure(
            c,
            &format!("weights {} {} {}x{} K={}", w.label, w.name, w.n, w.d, w.k),
            true,
        );
        g.throughput(Throughput::Elements((w.n * w.k) as u64));
        for (label, data) in [
            ("unweighted", data),
            ("weighted", data.with_weights(&weights).unwrap()),
        ] {
            g.bench_function(BenchmarkId::new("fused_pass", label), |b| {
                b.iter(|| black_box(model.sufficient_statistics(data).unwrap()))
            });
        }
        g.finish();
    }
}

criterion_group!(
    benches,
    gmm_workloads,
    sample_weights,
    covariance_types,
    scaling,
    kmeans,
    kmeans_wide,
    seeding
);
criterion_main!(benches);
