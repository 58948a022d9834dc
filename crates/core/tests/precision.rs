//! float32 arithmetic for float32 data (`Precision::Auto`): Lloyd's labels come from the float32
//! kernels at every kernel shape (register kernels, the fixed-size fallback, the wide tiles
//! with several centre blocks), they are the exact nearest centres wherever float32 can tell
//! the centres apart, results stay bit-identical across thread counts, `Precision::F64` gives
//! the float64 results, and the elkan passes stay float64; full-covariance mixtures in float32
//! agree with float64 to 1e-5 and are deterministic too.

use gaussmix_core::{
    CovarianceType, DataRef, GaussianMixture, KMeans, KMeansAlgorithm, KMeansInit, KMeansModel,
    Precision,
};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn data32(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n * d)
        .map(|i| (g.random::<f64>() * 4.0 + (i % d) as f64 * 3.0) as f32)
        .collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn sq(a: &[f32], c: &[f64]) -> f64 {
    a.iter()
        .zip(c)
        .map(|(&x, &y)| (x as f64 - y) * (x as f64 - y))
        .sum()
}

/// Every label is the exact nearest centre, or a centre whose distance float32 cannot tell
/// from the nearest one's; and at least `min_exact` of the rows get the exact nearest.
fn check_labels(x: &[f32], d: usize, centers: &[f64], labels: &[usize], what: &str) {
    let mut exact = 0;
    for (i, (row, &l)) in x.chunks(d).zip(labels).enumerate() {
        let dist: Vec<f64> = centers.chunks(d).map(|c| sq(row, c)).collect();
        let best = dist.iter().copied().fold(f64::INFINITY, f64::min);
        // The scores are ‖c‖² - 2 x·c summed in float32 about the offset: an error of a few
        // float32 ulps of the largest term.
        let scale: f64 = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>()
            + centers[l * d..(l + 1) * d]
                .iter()
                .map(|v| v * v)
                .sum::<f64>();
        assert!(
            dist[l] - best <= 1e-5 * scale.max(1.0),
            "{what}: row {i} labelled {l} at {} but the nearest is at {best}",
            dist[l]
        );
        exact += usize::from(dist[l] == best);
    }
    assert!(
        exact * 100 >= labels.len() * 99,
        "{what}: only {exact} of {} rows got their exact nearest centre",
        labels.len()
    );
}

#[test]
fn float32_labels_are_the_nearest_centres_at_every_kernel_shape() {
    // d: register kernels (3, 16), the fixed-size fallback (12), the wide tiles (24, 40);
    // k = 400 at d = 24 runs over two centre blocks of the wide kernel.
    for (d, n, k) in [
        (3, 549, 5),
        (12, 549, 17),
        (16, 9000, 17),
        (24, 2000, 400),
        (40, 9000, 17),
        (40, 549, 1),
    ] {
        let x = data32(n, d, (d * 7 + k) as u64);
        let xr = DataRef::new(&x, n, d).unwrap();
        let centers: Vec<f64> = x[..k * d].iter().map(|&v| v as f64 + 0.25).collect();
        let model = KMeansModel::from_centers(centers.clone(), k, d).unwrap();
        let labels = model.predict(xr).unwrap();
        check_labels(&x, d, &centers, &labels, &format!("d={d} k={k}"));
        // A fit: Lloyd's labels are float32 labels of its final centres.
        let km = KMeans::new(k)
            .algorithm(KMeansAlgorithm::Lloyd)
            .init(KMeansInit::Centers(centers.clone()))
            .max_iter(3);
        let fit = km.fit(xr).unwrap();
        check_labels(
            &x,
            d,
            fit.centers(),
            fit.labels(),
            &format!("fit d={d} k={k}"),
        );
    }
}

#[test]
fn float32_arithmetic_is_what_labels_float32_data() {
    // Two centres 2 apart about the origin and rows 1e-10 to the right of the middle: in float64
    // the right centre is nearer by 4e-10, which float32 scores (1 ± 2e-10 rounds to 1) cannot
    // see, so they tie and the tie goes to the lower index.
    for d in [3, 24] {
        let n = 40;
        let mut centers = vec![0.0; 2 * d];
        centers[0] = -1.0;
        centers[d] = 1.0;
        let mut x = vec![0.0f32; n * d];
        for r in 0..n {
            x[r * d] = 1e-10;
        }
        let xr = DataRef::new(&x, n, d).unwrap();
        let model = KMeansModel::from_centers(centers, 2, d).unwrap();
        assert_eq!(model.predict(xr).unwrap(), vec![0; n], "d={d}: float32");
        let f64_model = model.clone().with_precision(Precision::F64);
        assert_eq!(f64_model.predict(xr).unwrap(), vec![1; n], "d={d}: float64");
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let x64r = DataRef::new(&x64, n, d).unwrap();
        assert_eq!(
            model.predict(x64r).unwrap(),
            vec![1; n],
            "d={d}: float64 data"
        );
    }
}

#[test]
fn float32_fits_are_deterministic_and_f64_precision_is_the_float64_fit() {
    for (d, k) in [(16, 20), (40, 30)] {
        let n = 6000;
        let x = data32(n, d, d as u64);
        let xr = DataRef::new(&x, n, d).unwrap();
        let km = KMeans::new(k)
            .algorithm(KMeansAlgorithm::Lloyd)
            .seed(3)
            .max_iter(20);
        let one = km.clone().n_threads(Some(1)).fit(xr).unwrap();
        assert_eq!(one.precision(), Precision::Auto);
        for t in [2, 3] {
            let m = km.clone().n_threads(Some(t)).fit(xr).unwrap();
            assert_eq!(m.labels(), one.labels(), "d={d}: {t} threads, labels");
            assert_eq!(bits(m.centers()), bits(one.centers()), "d={d}: {t} threads");
            assert_eq!(m.inertia().to_bits(), one.inertia().to_bits());
        }
        // Predicting the training rows gives the fit's labels.
        assert_eq!(one.predict(xr).unwrap(), one.labels(), "d={d}: predict");
        // precision f64 on float32 data is the fit of the same values as float64 data.
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let x64r = DataRef::new(&x64, n, d).unwrap();
        let f64_fit = km.clone().precision(Precision::F64).fit(xr).unwrap();
        let want = km.fit(x64r).unwrap();
        assert_eq!(f64_fit.precision(), Precision::F64);
        assert_eq!(f64_fit.labels(), want.labels(), "d={d}: f64 labels");
        assert_eq!(bits(f64_fit.centers()), bits(want.centers()), "d={d}");
        assert_eq!(f64_fit.inertia().to_bits(), want.inertia().to_bits());
        // On this data float32 and float64 find the same clustering, centres within float32's
        // resolution of the scores.
        let agree = one
            .labels()
            .iter()
            .zip(want.labels())
            .filter(|(a, b)| a == b)
            .count();
        assert!(agree * 100 >= n * 99, "d={d}: {agree} of {n} labels agree");
        let rel = (one.inertia() - want.inertia()).abs() / want.inertia();
        assert!(
            rel < 1e-4,
            "d={d}: inertia {} vs {}",
            one.inertia(),
            want.inertia()
        );
    }
}

#[test]
fn elkan_stays_float64_on_float32_data() {
    let (n, d, k) = (5000, 5, 12);
    let x = data32(n, d, 8);
    let xr = DataRef::new(&x, n, d).unwrap();
    let km = KMeans::new(k).seed(1);
    let elkan = km
        .clone()
        .algorithm(KMeansAlgorithm::Elkan)
        .fit(xr)
        .unwrap();
    assert_eq!(elkan.precision(), Precision::F64);
    let lloyd64 = km
        .algorithm(KMeansAlgorithm::Lloyd)
        .precision(Precision::F64)
        .fit(xr)
        .unwrap();
    assert_eq!(elkan.labels(), lloyd64.labels());
    assert_eq!(bits(elkan.centers()), bits(lloyd64.centers()));
    assert_eq!(elkan.n_iter(), lloyd64.n_iter());
}

#[test]
fn precision_names_parse() {
    assert_eq!("auto".parse::<Precision>().unwrap(), Precision::Auto);
    assert_eq!("f64".parse::<Precision>().unwrap(), Precision::F64);
    let e = "f16".parse::<Precision>().unwrap_err().to_string();
    assert!(e.contains("precision") && e.contains("f16"), "{e}");
    assert!(Precision::Auto.single::<f32>() && !Precision::Auto.single::<f64>());
    assert!(!Precision::F64.single::<f32>());
}

/// Blobs far from the origin (so that the float32 block's centring matters): `k` centres in
/// `100 + [-10, 10]^d`, unit-ish noise, stretched per feature.
fn blobs32(n: usize, d: usize, k: usize, seed: u64) -> Vec<f32> {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centres: Vec<f64> = (0..k * d)
        .map(|_| 100.0 + g.random::<f64>() * 20.0 - 10.0)
        .collect();
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let c = g.random_range(0..k);
        for j in 0..d {
            let noise: f64 = (0..4).map(|_| g.random::<f64>() - 0.5).sum();
            x.push((centres[c * d + j] + noise * (1.0 + (j % 3) as f64)) as f32);
        }
    }
    x
}

#[test]
fn float32_mixtures_agree_with_float64_and_are_deterministic() {
    // d: register kernels (3, 16), the fixed-size fallback (20), the tiled kernel (40, 67).
    for (d, k) in [(3, 4), (16, 5), (20, 3), (40, 4), (67, 2)] {
        let n = 3000 + 17 * d;
        let x = blobs32(n, d, k, d as u64);
        let xr = DataRef::new(&x, n, d).unwrap();
        let gm = GaussianMixture::new(k).max_iter(25).tol(0.0).seed(1);
        let m64 = gm.clone().precision(Precision::F64).fit(xr).unwrap();
        let m32 = gm.clone().n_threads(Some(1)).fit(xr).unwrap();
        let (lb32, lb64) = (m32.lower_bound(), m64.lower_bound());
        assert!(
            (lb32 - lb64).abs() <= 1e-5 * lb64.abs(),
            "d={d}: lower bound {lb32} (f32) vs {lb64} (f64)"
        );
        // float32 arithmetic ran: the last bits differ.
        assert_ne!(lb32.to_bits(), lb64.to_bits(), "d={d}");
        for (a, b) in m32.means().iter().zip(m64.means()) {
            assert!((a - b).abs() < 1e-3, "d={d}: means {a} vs {b}");
        }
        for c in 0..k {
            for j in 0..d {
                let v = m32.covariances()[c * d * d + j * d + j];
                assert!(v > 0.0, "d={d}: variance {v}");
            }
        }
        for t in [2, 3] {
            let m = gm.clone().n_threads(Some(t)).fit(xr).unwrap();
            assert_eq!(
                m.lower_bound().to_bits(),
                lb32.to_bits(),
                "d={d}: {t} threads"
            );
            assert_eq!(bits(m.means()), bits(m32.means()), "d={d}: {t} threads");
            assert_eq!(bits(m.covariances()), bits(m32.covariances()), "d={d}");
        }
    }
}

#[test]
fn float64_precision_and_other_covariance_types_are_the_float64_fit() {
    let (n, d, k) = (2500, 6, 3);
    let x = blobs32(n, d, k, 5);
    let xr = DataRef::new(&x, n, d).unwrap();
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let x64r = DataRef::new(&x64, n, d).unwrap();
    for t in [
        CovarianceType::Full,
        CovarianceType::Tied,
        CovarianceType::Diag,
        CovarianceType::Spherical,
    ] {
        let gm = GaussianMixture::new(k)
            .covariance_type(t)
            .max_iter(10)
            .seed(2);
        let want = gm.fit(x64r).unwrap();
        // Full covariances in float64 when asked; the other types always.
        let precision = if t == CovarianceType::Full {
            Precision::F64
        } else {
            Precision::Auto
        };
        let got = gm.clone().precision(precision).fit(xr).unwrap();
        assert_eq!(
            got.lower_bound().to_bits(),
            want.lower_bound().to_bits(),
            "{t}"
        );
        assert_eq!(bits(got.covariances()), bits(want.covariances()), "{t}");
        assert_eq!(gm.single::<f32>(), t == CovarianceType::Full, "{t}");
    }
}

#[test]
fn a_covariance_float32_cannot_factorise_is_fitted_in_float64() {
    // Rows on a 3-dimensional subspace of R^8, spread over thousands: the covariance's five
    // null directions hold only reg_covar (1e-6), far below float32's rounding of the large
    // ones (~1e-7 × 1e6). float32 statistics cannot be factorised; the fit is redone in float64.
    let (n, d) = (2000, 8);
    let mut g = Xoshiro256PlusPlus::seed_from_u64(4);
    let basis: Vec<f64> = (0..3 * d).map(|_| g.random::<f64>() - 0.5).collect();
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let z: Vec<f64> = (0..3).map(|_| (g.random::<f64>() - 0.5) * 2000.0).collect();
        for j in 0..d {
            let v: f64 = (0..3).map(|t| z[t] * basis[t * d + j]).sum();
            x.push(v as f32);
        }
    }
    let xr = DataRef::new(&x, n, d).unwrap();
    let gm = GaussianMixture::new(1).max_iter(3);
    let got = gm.fit(xr).unwrap();
    let want = gm.clone().precision(Precision::F64).fit(xr).unwrap();
    assert_eq!(bits(got.covariances()), bits(want.covariances()));
    assert_eq!(got.lower_bound().to_bits(), want.lower_bound().to_bits());
}
