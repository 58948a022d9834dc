//! The variational mixture's own guarantees (its scikit-learn parity is tests/sklearn_bgmm.rs):
//! determinism across threads, sample weights as repeated rows, statistics computed elsewhere,
//! model parts, warm start, validation.

use gaussmix_core::{
    BayesianGaussianMixture, BayesianGaussianMixtureModel, CovarianceType, DataRef, Error,
    GaussianMixtureModel, Responsibilities, StatsSource, SufficientStats,
    WeightConcentrationPriorType,
};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

mod common;

/// `n` points from `k` well separated, anisotropic Gaussian blobs in `d` dimensions.
fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f64> {
    common::blobs(n, d, k, 0.5, seed)
}

fn bits(m: &BayesianGaussianMixtureModel) -> Vec<u64> {
    m.weights()
        .iter()
        .chain(m.means())
        .chain(m.covariances())
        .chain(m.mean_precision())
        .chain(m.degrees_of_freedom())
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

#[test]
fn bit_identical_for_any_thread_count() {
    let (n, d) = (20_000, 3);
    let x = blobs(n, d, 4, 1);
    let data = DataRef::new(&x, n, d).unwrap();
    for t in CovarianceType::ALL {
        let fit = |threads| {
            BayesianGaussianMixture::new(6)
                .covariance_type(t)
                .max_iter(20)
                .n_threads(Some(threads))
                .fit(data)
                .unwrap()
        };
        let a = bits(&fit(1));
        assert_eq!(a, bits(&fit(2)), "{t}");
        assert_eq!(a, bits(&fit(3)), "{t}");
    }
}

#[test]
fn a_dirichlet_process_keeps_the_components_the_data_needs() {
    // Three round groups far apart.
    let (n, d) = (3000, 2);
    let mut g = Xoshiro256PlusPlus::seed_from_u64(2);
    let centers = [[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]];
    let x: Vec<f64> = (0..n)
        .flat_map(|i| {
            let c = centers[i % 3];
            let (a, b): (f64, f64) = (g.sample(StandardNormal), g.sample(StandardNormal));
            [c[0] + a, c[1] + b]
        })
        .collect();
    let data = DataRef::new(&x, n, d).unwrap();
    let m = BayesianGaussianMixture::new(12)
        .max_iter(500)
        .fit(data)
        .unwrap();
    assert!(m.converged());
    assert_eq!(m.effective_components(0.01), 3, "{:?}", m.weights());
    assert!((m.weights().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    // Samples come from the kept components.
    let (pts, labels) = m.sample(500, 1).unwrap();
    assert_eq!(pts.len(), 500 * d);
    assert!(labels.iter().all(|&c| m.weights()[c] > 0.01));
}

#[test]
fn integer_weights_fit_as_repeated_rows() {
    let (n, d, k) = (600, 2, 3);
    let x = blobs(n, d, k, 3);
    let w: Vec<f64> = (0..n).map(|i| ((i * 5) % 3) as f64).collect();
    let labels: Vec<usize> = (0..n).map(|i| i % k).collect();
    let (mut rep, mut rep_labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        for _ in 0..w[i] as usize {
            rep.extend_from_slice(&x[i * d..(i + 1) * d]);
            rep_labels.push(labels[i]);
        }
    }
    let m = rep.len() / d;
    for t in CovarianceType::ALL {
        for prior in [
            WeightConcentrationPriorType::DirichletProcess,
            WeightConcentrationPriorType::DirichletDistribution,
        ] {
            let bgm = BayesianGaussianMixture::new(k)
                .covariance_type(t)
                .weight_concentration_prior_type(prior)
                .tol(0.0)
                .max_iter(10);
            let a = bgm
                .clone()
                .init_labels(labels.clone())
                .fit(DataRef::new(&x, n, d).unwrap().with_weights(&w).unwrap())
                .unwrap();
            let b = bgm
                .init_labels(rep_labels.clone())
                .fit(DataRef::new(&rep, m, d).unwrap())
                .unwrap();
            close(a.weights(), b.weights(), 1e-9, "weights");
            close(a.means(), b.means(), 1e-9, "means");
            close(a.covariances(), b.covariances(), 1e-9, "covariances");
            close(
                a.covariance_prior(),
                b.covariance_prior(),
                1e-10,
                "covariance prior",
            );
            close(a.lower_bounds(), b.lower_bounds(), 1e-9, "lower bounds");
        }
    }
}

/// The data in chunks, as a distributed fit sees it.
struct Chunks<'a> {
    x: &'a [f64],
    d: usize,
    t: CovarianceType,
    k: usize,
    cuts: Vec<usize>,
    labels: Vec<i64>,
}

impl Chunks<'_> {
    fn merged(
        &self,
        f: impl Fn(DataRef<'_, f64>, &[i64]) -> gaussmix_core::Result<SufficientStats>,
    ) -> gaussmix_core::Result<SufficientStats> {
        let mut total: Option<SufficientStats> = None;
        for w in self.cuts.windows(2) {
            let c = DataRef::new(&self.x[w[0] * self.d..w[1] * self.d], w[1] - w[0], self.d)?;
            let s = f(c, &self.labels[w[0]..w[1]])?;
            match &mut total {
                None => total = Some(s),
                Some(t) => t.merge(&s)?,
            }
        }
        Ok(total.unwrap())
    }
}

impl StatsSource for Chunks<'_> {
    fn initial_statistics(&mut self, _: usize) -> gaussmix_core::Result<SufficientStats> {
        let shift = vec![0.0; self.k * self.d];
        self.merged(|c, l| {
            SufficientStats::from_responsibilities(
                self.t,
                c,
                &shift,
                self.k,
                Responsibilities::Labels(l),
            )
        })
    }
    fn e_step(&mut self, model: &GaussianMixtureModel) -> gaussmix_core::Result<SufficientStats> {
        self.merged(|c, _| model.sufficient_statistics(c))
    }
    fn data_statistics(
        &mut self,
        t: CovarianceType,
        shift: &[f64],
    ) -> gaussmix_core::Result<SufficientStats> {
        self.merged(|c, _| {
            let zeros = vec![0i64; c.n_samples()];
            SufficientStats::from_responsibilities(t, c, shift, 1, Responsibilities::Labels(&zeros))
        })
    }
}

#[test]
fn statistics_from_chunks_give_the_in_memory_fit() {
    let (n, d, k) = (4000, 3, 4);
    let x = blobs(n, d, k, 4);
    let labels: Vec<usize> = (0..n).map(|i| (i * 7) % k).collect();
    for t in CovarianceType::ALL {
        let bgm = BayesianGaussianMixture::new(k).covariance_type(t).tol(1e-6);
        let want = bgm
            .clone()
            .init_labels(labels.clone())
            .fit(DataRef::new(&x, n, d).unwrap())
            .unwrap();
        let mut src = Chunks {
            x: &x,
            d,
            t,
            k,
            cuts: vec![0, 999, 1000, 2500, n],
            labels: labels.iter().map(|&l| l as i64).collect(),
        };
        let got = bgm.fit_source(d, &mut src, None, None).unwrap();
        assert_eq!(got.n_iter(), want.n_iter(), "{t}");
        close(got.weights(), want.weights(), 1e-9, "weights");
        close(got.means(), want.means(), 1e-9, "means");
        close(got.covariances(), want.covariances(), 1e-9, "covariances");
        close(
            got.lower_bounds(),
            want.lower_bounds(),
            1e-10,
            "lower bounds",
        );
        close(
            got.covariance_prior(),
            want.covariance_prior(),
            1e-12,
            "covariance prior",
        );
    }
}

#[test]
fn parts_round_trip_and_warm_start_continues() {
    let (n, d) = (2000, 2);
    let x = blobs(n, d, 3, 5);
    let data = DataRef::new(&x, n, d).unwrap();
    for t in [CovarianceType::Full, CovarianceType::Tied] {
        let m = BayesianGaussianMixture::new(5)
            .covariance_type(t)
            .max_iter(5)
            .fit(data)
            .unwrap();
        let back = BayesianGaussianMixtureModel::from_parts(m.to_parts()).unwrap();
        assert_eq!(
            back.predict_proba(data).unwrap(),
            m.predict_proba(data).unwrap(),
            "{t}"
        );
        assert_eq!(
            back.score(data).unwrap().to_bits(),
            m.score(data).unwrap().to_bits()
        );
        // Five iterations, then five more from where they stopped: ten in one go.
        let warm = BayesianGaussianMixture::new(5)
            .covariance_type(t)
            .max_iter(5)
            .warm_start(true);
        let next = warm.fit_with(data, Some(&m), None).unwrap();
        let ten = BayesianGaussianMixture::new(5)
            .covariance_type(t)
            .max_iter(10)
            .fit(data)
            .unwrap();
        close(next.means(), ten.means(), 1e-12, "warm start");
        // A broken part is refused.
        let mut p = m.to_parts();
        p.mean_precision[0] = -1.0;
        assert!(matches!(
            BayesianGaussianMixtureModel::from_parts(p),
            Err(Error::InvalidModel(_))
        ));
    }
}

#[test]
fn priors_are_validated_as_scikit_learn_does() {
    let x = blobs(100, 3, 2, 6);
    let data = DataRef::new(&x, 100, 3).unwrap();
    let err = |b: BayesianGaussianMixture| b.fit(data).unwrap_err().to_string();
    let e = err(BayesianGaussianMixture::new(2).degrees_of_freedom_prior(1.5));
    assert!(
        e.contains("degrees_of_freedom_prior") && e.contains("greater than 2"),
        "{e}"
    );
    let e = err(BayesianGaussianMixture::new(2).weight_concentration_prior(0.0));
    assert!(e.contains("weight_concentration_prior"), "{e}");
    let e = err(BayesianGaussianMixture::new(2).mean_precision_prior(-1.0));
    assert!(e.contains("mean_precision_prior"), "{e}");
    let e = err(BayesianGaussianMixture::new(2).mean_prior(vec![0.0; 2]));
    assert!(e.contains("mean_prior"), "{e}");
    let e = err(BayesianGaussianMixture::new(2)
        .covariance_prior(vec![1.0, 2.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0]));
    assert!(e.contains("covariance_prior"), "{e}");
    let e = err(BayesianGaussianMixture::new(2)
        .covariance_type(CovarianceType::Diag)
        .covariance_prior(vec![1.0, -1.0, 1.0]));
    assert!(e.contains("covariance_prior"), "{e}");
    let e = err(BayesianGaussianMixture::new(2).init_labels(vec![0; 99]));
    assert!(e.contains("init_labels"), "{e}");
    let e = err(BayesianGaussianMixture::new(2).init_labels(vec![2; 100]));
    assert!(e.contains("init_labels[0] = 2"), "{e}");
    // Given priors are used as given.
    let m = BayesianGaussianMixture::new(2)
        .covariance_type(CovarianceType::Spherical)
        .mean_prior(vec![1.0, 2.0, 3.0])
        .covariance_prior(vec![4.0])
        .degrees_of_freedom_prior(7.0)
        .fit(data)
        .unwrap();
    assert_eq!(m.mean_prior(), &[1.0, 2.0, 3.0]);
    assert_eq!(m.covariance_prior(), &[4.0]);
    assert_eq!(m.degrees_of_freedom_prior(), 7.0);
}
