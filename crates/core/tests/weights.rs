//! Sample weights: a row of weight `w` counts as `w` copies of itself, weights that are all
//! equal change nothing, rows of weight zero change no bit of the statistics, and everything
//! stays bit-identical across thread counts.

use gaussmix_core::{
    CovarianceType, DataRef, GaussianMixture, GaussianMixtureModel, InitParams, KMeans, KMeansInit,
};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

mod common;

/// `n` points from `k` well separated, anisotropic Gaussian blobs in `d` dimensions.
fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f64> {
    common::blobs(n, d, k, 0.5, seed)
}

fn bits(m: &GaussianMixtureModel) -> Vec<u64> {
    m.weights()
        .iter()
        .chain(m.means())
        .chain(m.covariances())
        .chain(m.lower_bounds())
        .map(|v| v.to_bits())
        .collect()
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

/// Every covariance type, from the same explicit start (so that fits of different data can be
/// compared iteration for iteration).
fn given_start(t: CovarianceType, x: &[f64], k: usize, d: usize) -> GaussianMixture {
    let prec = match t {
        CovarianceType::Full => (0..k)
            .flat_map(|_| {
                let mut m = vec![0.0; d * d];
                for j in 0..d {
                    m[j * d + j] = 0.5;
                }
                m
            })
            .collect(),
        CovarianceType::Tied => {
            let mut m = vec![0.0; d * d];
            for j in 0..d {
                m[j * d + j] = 0.5;
            }
            m
        }
        CovarianceType::Diag => vec![0.5; k * d],
        CovarianceType::Spherical => vec![0.5; k],
    };
    GaussianMixture::new(k)
        .covariance_type(t)
        .weights_init(vec![1.0 / k as f64; k])
        .means_init(x[..k * d].to_vec())
        .precisions_init(prec)
        .tol(0.0)
        .max_iter(15)
}

#[test]
fn unit_weights_change_no_bit_and_equal_weights_change_nothing() {
    let (n, d, k) = (6000, 3, 4);
    let x = blobs(n, d, k, 1);
    let data = DataRef::new(&x, n, d).unwrap();
    let ones = vec![1.0; n];
    let threes = vec![3.0; n];
    for t in CovarianceType::ALL {
        // The default initialisation (k-means) included.
        let gm = GaussianMixture::new(k).covariance_type(t).seed(3);
        let plain = gm.fit(data).unwrap();
        let unit = gm.fit(data.with_weights(&ones).unwrap()).unwrap();
        assert_eq!(bits(&plain), bits(&unit), "{t}: unit weights");
        let scaled = gm.fit(data.with_weights(&threes).unwrap()).unwrap();
        assert_eq!(scaled.n_iter(), plain.n_iter(), "{t}");
        close(scaled.means(), plain.means(), 1e-10, "means");
        close(
            scaled.covariances(),
            plain.covariances(),
            1e-9,
            "covariances",
        );
        close(
            scaled.lower_bounds(),
            plain.lower_bounds(),
            1e-12,
            "lower bounds",
        );
    }
    let km = KMeans::new(k).seed(2).n_init(2);
    let plain = km.fit(data).unwrap();
    let unit = km.fit(data.with_weights(&ones).unwrap()).unwrap();
    assert_eq!(plain.labels(), unit.labels());
    assert_eq!(plain.centers(), unit.centers());
    assert!((plain.inertia() - unit.inertia()).abs() <= 1e-12 * plain.inertia());
    let scaled = km.fit(data.with_weights(&threes).unwrap()).unwrap();
    assert_eq!(plain.labels(), scaled.labels());
    close(scaled.centers(), plain.centers(), 1e-12, "k-means centres");
    assert!((scaled.inertia() - 3.0 * plain.inertia()).abs() <= 1e-11 * scaled.inertia());
}

#[test]
fn integer_weights_fit_as_repeated_rows() {
    let (n, d, k) = (900, 3, 3);
    let x = blobs(n, d, k, 4);
    let w: Vec<f64> = (0..n).map(|i| ((i * 7) % 4) as f64).collect();
    let mut rep = Vec::new();
    for i in 0..n {
        for _ in 0..w[i] as usize {
            rep.extend_from_slice(&x[i * d..(i + 1) * d]);
        }
    }
    let m = rep.len() / d;
    let weighted = DataRef::new(&x, n, d).unwrap().with_weights(&w).unwrap();
    let repeated = DataRef::new(&rep, m, d).unwrap();
    // The start must not depend on the rows: given means (rows that both data sets have).
    let start = [1usize, 2, 3]
        .iter()
        .flat_map(|&i| x[i * d..(i + 1) * d].to_vec())
        .collect::<Vec<_>>();
    for t in CovarianceType::ALL {
        let gm = given_start(t, &start, k, d);
        let a = gm.fit(weighted).unwrap();
        let b = gm.fit(repeated).unwrap();
        close(a.weights(), b.weights(), 1e-10, "weights");
        close(a.means(), b.means(), 1e-10, "means");
        close(a.covariances(), b.covariances(), 1e-9, "covariances");
        close(a.lower_bounds(), b.lower_bounds(), 1e-10, "lower bounds");
        // score, BIC and AIC count the weights as rows.
        assert!((a.score(weighted).unwrap() - a.score(repeated).unwrap()).abs() < 1e-10);
        assert!((a.bic(weighted).unwrap() - a.bic(repeated).unwrap()).abs() < 1e-6);
        assert!((a.aic(weighted).unwrap() - a.aic(repeated).unwrap()).abs() < 1e-6);
        // The initialisation's weights are N_k / Σ w (max_iter = 0 with k-means++ seeds).
        let init = gm.clone().max_iter(0).fit(weighted).unwrap();
        assert_eq!(init.weights(), gm.weights_init.as_deref().unwrap());
    }
    // k-means from given centres: the same clustering, centres and inertia.
    let km = KMeans::new(k)
        .init(KMeansInit::Centers(start.clone()))
        .tol(0.0);
    let a = km.fit(weighted).unwrap();
    let b = km.fit(repeated).unwrap();
    let mut expanded = Vec::new();
    for i in 0..n {
        for _ in 0..w[i] as usize {
            expanded.push(a.labels()[i]);
        }
    }
    assert_eq!(expanded, b.labels());
    close(a.centers(), b.centers(), 1e-10, "k-means centres");
    assert!((a.inertia() - b.inertia()).abs() <= 1e-10 * b.inertia());
    assert!(
        (a.inertia_of(weighted).unwrap() - b.inertia_of(repeated).unwrap()).abs()
            <= 1e-10 * b.inertia()
    );
}

#[test]
fn rows_of_weight_zero_change_no_bit() {
    let (n, d, k) = (3000, 4, 3);
    let x = blobs(n + 700, d, k, 5);
    let mut g = Xoshiro256PlusPlus::seed_from_u64(9);
    let w: Vec<f64> = (0..n).map(|_| 0.5 + g.random::<f64>()).collect();
    let mut wz = w.clone();
    wz.extend(std::iter::repeat_n(0.0, 700));
    let base = DataRef::new(&x[..n * d], n, d)
        .unwrap()
        .with_weights(&w)
        .unwrap();
    let more = DataRef::new(&x, n + 700, d)
        .unwrap()
        .with_weights(&wz)
        .unwrap();
    for t in CovarianceType::ALL {
        let gm = given_start(t, &x, k, d);
        let a = gm.fit(base).unwrap();
        let b = gm.fit(more).unwrap();
        assert_eq!(bits(&a), bits(&b), "{t}");
        // The statistics themselves: the extra rows count as rows, with no weight.
        let sa = a.sufficient_statistics(base).unwrap().to_parts();
        let sb = a.sufficient_statistics(more).unwrap().to_parts();
        assert_eq!(sb.n_samples, sa.n_samples + 700);
        assert_eq!(sa.weight.to_bits(), sb.weight.to_bits());
        assert_eq!(sa.log_likelihood.to_bits(), sb.log_likelihood.to_bits());
        for (p, q) in [
            (&sa.nk, &sb.nk),
            (&sa.s1, &sb.s1),
            (&sa.s2, &sb.s2),
            (&sa.t1, &sb.t1),
        ] {
            assert_eq!(
                p.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                q.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{t}"
            );
        }
    }
}

#[test]
fn weighted_fits_are_bit_identical_for_any_thread_count() {
    let (n, d, k) = (30_000, 3, 4);
    let x = blobs(n, d, k, 6);
    let mut g = Xoshiro256PlusPlus::seed_from_u64(2);
    let w: Vec<f64> = (0..n)
        .map(|_| {
            if g.random::<f64>() < 0.1 {
                0.0
            } else {
                g.random::<f64>() * 4.0
            }
        })
        .collect();
    let data = DataRef::new(&x, n, d).unwrap().with_weights(&w).unwrap();
    for t in [CovarianceType::Full, CovarianceType::Tied] {
        let fit = |threads| {
            GaussianMixture::new(k)
                .covariance_type(t)
                .n_threads(Some(threads))
                .fit(data)
                .unwrap()
        };
        let a = bits(&fit(1));
        assert_eq!(a, bits(&fit(2)), "{t}");
        assert_eq!(a, bits(&fit(3)), "{t}");
    }
    let km = |threads| KMeans::new(6).n_threads(Some(threads)).fit(data).unwrap();
    let (a, b) = (km(1), km(3));
    assert_eq!(a.labels(), b.labels());
    assert_eq!(a.centers(), b.centers());
    assert_eq!(a.inertia().to_bits(), b.inertia().to_bits());
}

#[test]
fn seeds_are_never_rows_of_weight_zero() {
    let (n, d) = (2000, 2);
    let x = blobs(n, d, 5, 7);
    // Only every fifth row has weight: every seed must be one of them.
    let w: Vec<f64> = (0..n)
        .map(|i| {
            if i % 5 == 0 {
                1.0 + (i % 3) as f64
            } else {
                0.0
            }
        })
        .collect();
    let data = DataRef::new(&x, n, d).unwrap().with_weights(&w).unwrap();
    // The row each component was seeded on (its initial mean is `w x / (w + 10ε)`).
    let seed_row = |mu: &[f64]| -> usize {
        (0..n)
            .min_by(|&a, &b| {
                let da: f64 = (0..d).map(|j| (x[a * d + j] - mu[j]).powi(2)).sum();
                let db: f64 = (0..d).map(|j| (x[b * d + j] - mu[j]).powi(2)).sum();
                da.total_cmp(&db)
            })
            .unwrap()
    };
    // GMM's k-means++ and random_from_data seeds come from the same functions as k-means'.
    for seed in 0..10 {
        let gm = GaussianMixture::new(6)
            .init_params(InitParams::RandomFromData)
            .max_iter(0)
            .seed(seed);
        let m = gm.fit(data).unwrap();
        for c in 0..6 {
            let mu = &m.means()[c * d..(c + 1) * d];
            let row = seed_row(mu);
            assert_eq!(row % 5, 0, "seed {seed}: component {c} seeded on row {row}");
        }
        let gm = gm.init_params(InitParams::KMeansPlusPlus);
        let m = gm.fit(data).unwrap();
        for c in 0..6 {
            let mu = &m.means()[c * d..(c + 1) * d];
            let row = seed_row(mu);
            assert_eq!(
                row % 5,
                0,
                "seed {seed}: k-means++ seeded component {c} on row {row}"
            );
        }
    }
    // Fewer rows of positive weight than seeds to draw.
    let few: Vec<f64> = (0..n).map(|i| if i < 3 { 1.0 } else { 0.0 }).collect();
    let err = GaussianMixture::new(4)
        .init_params(InitParams::RandomFromData)
        .fit(DataRef::new(&x, n, d).unwrap().with_weights(&few).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("positive weight"), "{err}");
}
