//! Bound-based k-means (`algorithm = Elkan`) against Lloyd's algorithm from the same initial
//! centres: labels, centres, inertia, `n_iter` and convergence bit for bit, on blobs, uniform
//! noise, duplicated rows, every kernel shape (low, odd, register and wide dimensions), empty
//! clusters, weights, f32, and 1, 2 and 3 threads; and the bounds do skip work (after k-means++,
//! from the first pass on).

use gaussmix_core::{DataRef, Float, KMeans, KMeansAlgorithm, KMeansInit, KMeansModel, Precision};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn blobs(n: usize, d: usize, k: usize, spread: f64, seed: u64) -> Vec<f64> {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centres: Vec<f64> = (0..k * d)
        .map(|_| g.random::<f64>() * 40.0 - 20.0)
        .collect();
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let c = g.random_range(0..k);
        for j in 0..d {
            x.push(centres[c * d + j] + (g.random::<f64>() - 0.5) * spread);
        }
    }
    x
}

fn uniform(n: usize, d: usize, seed: u64) -> Vec<f64> {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n * d).map(|_| g.random::<f64>()).collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn fit<T: Float>(
    x: DataRef<'_, T>,
    km: &KMeans,
    algorithm: KMeansAlgorithm,
    threads: usize,
) -> KMeansModel {
    km.clone()
        .algorithm(algorithm)
        .n_threads(Some(threads))
        .fit(x)
        .unwrap()
}

/// Fits with both algorithms on 1, 2 and 3 threads and checks every result against Lloyd on
/// one thread; returns the bounded fit's fraction of distances computed over its passes.
fn same<T: Float>(x: DataRef<'_, T>, km: &KMeans, what: &str) -> f64 {
    let c = same_passes(x, km, what);
    c.iter().sum::<f64>() / c.len() as f64
}

/// [`same`], returning the bounded fit's fraction of distances computed in each pass.
fn same_passes<T: Float>(x: DataRef<'_, T>, km: &KMeans, what: &str) -> Vec<f64> {
    let want = fit(x, km, KMeansAlgorithm::Lloyd, 1);
    let mut fraction = Vec::new();
    for threads in [1, 2, 3] {
        for algorithm in [KMeansAlgorithm::Lloyd, KMeansAlgorithm::Elkan] {
            let got = fit(x, km, algorithm, threads);
            let tag = format!("{what}: {algorithm:?}, {threads} threads");
            assert_eq!(got.n_iter(), want.n_iter(), "{tag}: n_iter");
            assert_eq!(got.converged(), want.converged(), "{tag}: converged");
            assert_eq!(got.labels(), want.labels(), "{tag}: labels");
            assert_eq!(bits(got.centers()), bits(want.centers()), "{tag}: centres");
            assert_eq!(
                got.inertia().to_bits(),
                want.inertia().to_bits(),
                "{tag}: inertia"
            );
            assert_eq!(
                got.distances_computed().len(),
                want.n_iter() + 1,
                "{tag}: passes"
            );
            if algorithm == KMeansAlgorithm::Elkan {
                fraction = got.distances_computed().to_vec();
            }
        }
    }
    fraction
}

fn random_start(x: &[f64], n: usize, d: usize, k: usize, seed: u64) -> KMeansInit {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut c = Vec::with_capacity(k * d);
    for _ in 0..k {
        let i = g.random_range(0..n);
        c.extend_from_slice(&x[i * d..(i + 1) * d]);
    }
    KMeansInit::Centers(c)
}

#[test]
fn bounded_kmeans_is_lloyd_bit_for_bit_on_blobs_at_every_kernel_shape() {
    for (d, k) in [(2, 9), (3, 20), (12, 16), (16, 64), (30, 12), (40, 33)] {
        let n = 7000 + d * 13;
        let x = blobs(n, d, k, 6.0, d as u64);
        let xr = DataRef::new(&x, n, d).unwrap();
        // A random start (overlapping clusters, many iterations) and k-means++.
        let km = KMeans::new(k).init(random_start(&x, n, d, k, 3)).tol(0.0);
        let f = same(xr, &km, &format!("blobs d={d} k={k}, random start"));
        // Below 24 features rows are skipped one by one; from there on, whole blocks.
        if d < 24 {
            assert!(f < 0.5, "d={d} k={k}: the bounds skipped little ({f})");
        }
        let km = KMeans::new(k).n_init(2).seed(5);
        let c = same_passes(xr, &km, &format!("blobs d={d} k={k}, k-means++"));
        // After k-means++ the bounds start from the seeding's distances: the first pass, too,
        // scores only the rows they cannot settle.
        // (Before, the first pass scored every row: 1.0.) Low dimensions hold overlapping
        // blobs, where about half the rows are near two centres (d = 2: 0.50, d = 3: 0.23);
        // from d = 12 on, the blobs are apart (0.0).
        if d < 24 {
            let most = if d >= 12 { 0.01 } else { 0.6 };
            assert!(
                c[0] < most,
                "d={d} k={k}: the first pass skipped little ({c:?})"
            );
        }
    }
}

#[test]
fn bounded_kmeans_is_lloyd_on_noise_duplicates_and_f32() {
    let (n, d) = (9000, 5);
    let u = uniform(n, d, 1);
    let ur = DataRef::new(&u, n, d).unwrap();
    same(
        ur,
        &KMeans::new(25)
            .init(random_start(&u, n, d, 25, 2))
            .max_iter(60),
        "uniform",
    );
    // Few distinct rows: exact ties between centres and rows on their centres.
    let base = blobs(7, d, 3, 1.0, 4);
    let dup: Vec<f64> = (0..n)
        .flat_map(|i| base[(i * 5 % 7) * d..][..d].to_vec())
        .collect();
    let dr = DataRef::new(&dup, n, d).unwrap();
    same(dr, &KMeans::new(10).seed(1), "duplicates");
    same(
        dr,
        &KMeans::new(4).init(random_start(&dup, n, d, 4, 8)),
        "duplicates, random start",
    );
    let x32: Vec<f32> = blobs(n, 16, 40, 8.0, 9).iter().map(|&v| v as f32).collect();
    same(
        DataRef::new(&x32, n, 16).unwrap(),
        // float64 arithmetic: the bounded passes compute in float64 (see tests/precision.rs).
        &KMeans::new(40).seed(2).precision(Precision::F64),
        "f32",
    );
}

#[test]
fn bounded_kmeans_is_lloyd_with_weights_and_empty_clusters() {
    let (n, d, k) = (6000, 3, 12);
    let x = blobs(n, d, k, 4.0, 11);
    let mut g = Xoshiro256PlusPlus::seed_from_u64(3);
    let w: Vec<f64> = (0..n)
        .map(|i| {
            if i % 7 == 0 {
                0.0
            } else {
                g.random::<f64>() * 5.0
            }
        })
        .collect();
    let xr = DataRef::new(&x, n, d).unwrap().with_weights(&w).unwrap();
    same(xr, &KMeans::new(k).seed(4), "weighted, k-means++");
    same(
        xr,
        &KMeans::new(k).init(random_start(&x, n, d, k, 6)),
        "weighted, random start",
    );
    // Centres far from every row: empty clusters in the first iteration, relocated.
    let mut c = match random_start(&x, n, d, k, 7) {
        KMeansInit::Centers(c) => c,
        _ => unreachable!(),
    };
    for v in &mut c[..3 * d] {
        *v += 1e4;
    }
    let xr = DataRef::new(&x, n, d).unwrap();
    same(
        xr,
        &KMeans::new(k).init(KMeansInit::Centers(c.clone())),
        "empty clusters",
    );
    same(xr, &KMeans::new(1).seed(3), "one cluster");
}

#[test]
fn lloyds_centres_do_not_depend_on_the_order_of_the_rows() {
    // Whole-number data: the column means (the centring offset) are exact sums, the same in
    // any order, but the centred values `x - mean` are not whole, so float64 sums of them
    // depend on the order; the exact per-centre sums must not.
    let (n, d, k) = (6000, 3, 5);
    let x: Vec<f64> = blobs(n, d, k, 30.0, 21)
        .iter()
        .map(|v| (v * 37.0).round())
        .collect();
    let rev: Vec<f64> = x.chunks_exact(d).rev().flatten().copied().collect();
    let mean0 = x.iter().step_by(d).sum::<f64>() / n as f64;
    let centred = |v: &[f64]| v.iter().step_by(d).map(|a| a - mean0).collect::<Vec<f64>>();
    let (fwd_sum, rev_sum) = (
        centred(&x).iter().fold(0.0, |s, v| s + v * 1e-3),
        centred(&rev).iter().fold(0.0, |s, v| s + v * 1e-3),
    );
    assert_ne!(
        fwd_sum.to_bits(),
        rev_sum.to_bits(),
        "float64 sums would tell the orders apart"
    );
    let init = random_start(&x, n, d, k, 2);
    for algorithm in [KMeansAlgorithm::Lloyd, KMeansAlgorithm::Elkan] {
        let km = KMeans::new(k).init(init.clone()).tol(0.0).max_iter(6);
        let a = fit(DataRef::new(&x, n, d).unwrap(), &km, algorithm, 2);
        let b = fit(DataRef::new(&rev, n, d).unwrap(), &km, algorithm, 3);
        assert_eq!(a.n_iter(), b.n_iter(), "{algorithm:?}");
        assert_eq!(
            bits(a.centers()),
            bits(b.centers()),
            "{algorithm:?}: centres"
        );
        let la = a.labels();
        let lb: Vec<usize> = b.labels().iter().rev().copied().collect();
        assert_eq!(la, &lb[..], "{algorithm:?}: labels");
    }
}

#[test]
fn tiny_equal_weights_give_the_unweighted_fit() {
    // Every weight 2⁻¹⁰⁰: the weighted sums and weights are the unweighted ones times 2⁻¹⁰⁰
    // exactly, so the centres are the same bits (scikit-learn is invariant to scaling the
    // weights). A grid sized for weights near 1 would round each weight to 0.
    let (n, d, k) = (5000, 4, 6);
    let x = blobs(n, d, k, 5.0, 31);
    let w = vec![2f64.powi(-100); n];
    let init = random_start(&x, n, d, k, 4);
    for algorithm in [KMeansAlgorithm::Lloyd, KMeansAlgorithm::Elkan] {
        let km = KMeans::new(k).init(init.clone()).tol(0.0).max_iter(8);
        let plain = fit(DataRef::new(&x, n, d).unwrap(), &km, algorithm, 2);
        let weighted = fit(
            DataRef::new(&x, n, d).unwrap().with_weights(&w).unwrap(),
            &km,
            algorithm,
            2,
        );
        assert_eq!(weighted.n_iter(), plain.n_iter(), "{algorithm:?}");
        assert_eq!(weighted.labels(), plain.labels(), "{algorithm:?}");
        assert_eq!(
            bits(weighted.centers()),
            bits(plain.centers()),
            "{algorithm:?}"
        );
    }
}
