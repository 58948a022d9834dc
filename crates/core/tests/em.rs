//! EM driver semantics and identities: determinism across thread counts, monotone lower bounds,
//! scikit-learn's driver rules (restarts, warm start, initialise-only), parameter validation,
//! errors, sampling.

use gaussmix_core::{
    BLOCK_ROWS, CovarianceType, DataRef, Error, GaussianMixture, GaussianMixtureModel, InitParams,
    KMeans, Monitor, Precision, Progress,
};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

mod common;

/// `n` points from `k` well separated, anisotropic Gaussian blobs in `d` dimensions.
fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f64> {
    common::blobs(n, d, k, 0.3, seed)
}

fn bits(m: &GaussianMixtureModel) -> Vec<u64> {
    m.weights()
        .iter()
        .chain(m.means())
        .chain(m.covariances())
        .chain(m.precisions_cholesky())
        .chain(m.lower_bounds())
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn parameters_are_bit_identical_for_any_thread_count() {
    // Several leaves of the reduction tree, and a ragged last block.
    let n = 3 * 16 * BLOCK_ROWS + 4321;
    for (d, t) in [
        (3, CovarianceType::Full),
        (3, CovarianceType::Tied),
        (30, CovarianceType::Full),
        (5, CovarianceType::Diag),
        (5, CovarianceType::Spherical),
        (30, CovarianceType::Tied),
    ] {
        let x = blobs(n, d, 4, 7);
        let data = DataRef::new(&x, n, d).unwrap();
        let fit = |threads| {
            GaussianMixture::new(4)
                .covariance_type(t)
                .tol(0.0)
                .max_iter(8)
                .seed(3)
                .n_threads(Some(threads))
                .fit(data)
                .unwrap()
        };
        let reference = bits(&fit(1));
        for threads in [2, 3, 8] {
            assert_eq!(
                bits(&fit(threads)),
                reference,
                "{t}, d={d}: {threads} threads differ from 1"
            );
        }
    }
}

#[test]
fn f32_input_is_deterministic_and_close_to_f64() {
    let n = 2 * 16 * BLOCK_ROWS + 5;
    let x64: Vec<f64> = blobs(n, 2, 3, 1).iter().map(|&v| v as f32 as f64).collect();
    let x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
    let gm = GaussianMixture::new(3).tol(0.0).max_iter(10).seed(5);
    let a = gm
        .clone()
        .n_threads(Some(1))
        .fit(DataRef::new(&x32, n, 2).unwrap())
        .unwrap();
    let b = gm
        .clone()
        .n_threads(Some(2))
        .fit(DataRef::new(&x32, n, 2).unwrap())
        .unwrap();
    assert_eq!(bits(&a), bits(&b));
    // float32 arithmetic by default (Precision::Auto): close to the float64 fit of the same
    // values, not equal to it.
    let c = gm.clone().fit(DataRef::new(&x64, n, 2).unwrap()).unwrap();
    assert_ne!(bits(&a), bits(&c));
    let rel = (a.lower_bound() - c.lower_bound()).abs() / c.lower_bound().abs();
    assert!(rel < 1e-6, "{} vs {}", a.lower_bound(), c.lower_bound());
    // In float64 arithmetic the same values give the same bits: f32 input is widened exactly.
    let e = gm
        .precision(Precision::F64)
        .fit(DataRef::new(&x32, n, 2).unwrap())
        .unwrap();
    assert_eq!(bits(&e), bits(&c));
}

#[test]
fn lower_bound_never_decreases() {
    let (n, d) = (600, 3);
    let x = blobs(n, d, 3, 11);
    let data = DataRef::new(&x, n, d).unwrap();
    for t in CovarianceType::ALL {
        // (k-means++ and random_from_data start from single points, whose covariance is
        // reg_covar: they need reg_covar > 0, as in scikit-learn.)
        for init in [InitParams::KMeans, InitParams::Random] {
            let m = GaussianMixture::new(3)
                .covariance_type(t)
                .init_params(init)
                .reg_covar(0.0)
                .tol(0.0)
                .max_iter(40)
                .seed(2)
                .fit(data)
                .unwrap();
            let lb = m.lower_bounds();
            assert_eq!(lb.len(), 40);
            for w in lb.windows(2) {
                assert!(
                    w[1] >= w[0] - 1e-12 * w[0].abs(),
                    "{t} {init}: {} then {}",
                    w[0],
                    w[1]
                );
            }
            assert_eq!(m.lower_bound(), *lb.last().unwrap());
            // The final parameters score at least the last E-step's lower bound.
            assert!(m.score(data).unwrap() >= m.lower_bound() - 1e-12);
        }
    }
}

#[test]
fn predictions_agree_with_each_other() {
    let (n, d) = (500, 2);
    let x = blobs(n, d, 4, 3);
    let data = DataRef::new(&x, n, d).unwrap();
    for t in CovarianceType::ALL {
        let gm = GaussianMixture::new(4).covariance_type(t).seed(1);
        let (model, labels) = gm.fit_predict(data).unwrap();
        assert_eq!(labels, model.predict(data).unwrap());
        let proba = model.predict_proba(data).unwrap();
        for i in 0..n {
            let row = &proba[i * 4..(i + 1) * 4];
            let arg = (0..4)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
                .unwrap();
            assert_eq!(arg, labels[i], "{t} row {i}");
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let s = model.score_samples(data).unwrap();
        let mean = s.iter().sum::<f64>() / n as f64;
        assert!((model.score(data).unwrap() - mean).abs() < 1e-12);
        let p = model.n_parameters() as f64;
        let (bic, aic) = (model.bic(data).unwrap(), model.aic(data).unwrap());
        assert!(((bic - aic) - (p * (n as f64).ln() - 2.0 * p)).abs() < 1e-8);
    }
}

#[test]
fn best_of_n_init_is_kept_and_each_run_is_fresh() {
    let (n, d) = (400, 2);
    let x = blobs(n, d, 5, 9);
    let data = DataRef::new(&x, n, d).unwrap();
    let one = GaussianMixture::new(5)
        .init_params(InitParams::Random)
        .seed(4)
        .fit(data)
        .unwrap();
    let five = GaussianMixture::new(5)
        .init_params(InitParams::Random)
        .seed(4)
        .n_init(5)
        .fit(data)
        .unwrap();
    // The first of five runs is the single run; the kept one is at least as good.
    assert!(five.lower_bound() >= one.lower_bound());
    // Runs that continued from each other would all converge to one solution; fresh random
    // initialisations find different local optima at least once over these seeds.
    let lbs: Vec<f64> = (0..6)
        .map(|s| {
            GaussianMixture::new(5)
                .init_params(InitParams::Random)
                .seed(s)
                .fit(data)
                .unwrap()
                .lower_bound()
        })
        .collect();
    assert!(lbs.iter().any(|&v| (v - lbs[0]).abs() > 1e-6), "{lbs:?}");
}

#[test]
fn warm_start_continues_where_the_last_fit_stopped() {
    let (n, d) = (300, 2);
    let x = blobs(n, d, 3, 5);
    let data = DataRef::new(&x, n, d).unwrap();
    let gm = GaussianMixture::new(3).tol(0.0).max_iter(5).seed(8);
    let first = gm.fit(data).unwrap();
    let warm = gm
        .clone()
        .warm_start(true)
        .fit_with(data, Some(&first), None)
        .unwrap();
    let straight = gm.clone().max_iter(10).fit(data).unwrap();
    assert_eq!(warm.means(), straight.means());
    assert_eq!(warm.covariances(), straight.covariances());
    assert_eq!(warm.lower_bounds(), &straight.lower_bounds()[5..]);
    // Without warm_start, the previous model is ignored.
    let cold = gm.fit_with(data, Some(&first), None).unwrap();
    assert_eq!(cold.means(), first.means());
}

#[test]
fn max_iter_zero_initialises_only() {
    let (n, d) = (200, 2);
    let x = blobs(n, d, 2, 1);
    let data = DataRef::new(&x, n, d).unwrap();
    let m = GaussianMixture::new(2)
        .max_iter(0)
        .init_params(InitParams::RandomFromData)
        .fit(data)
        .unwrap();
    assert!(!m.converged());
    assert_eq!(m.n_iter(), 0);
    assert_eq!(m.lower_bound(), f64::NEG_INFINITY);
    assert!(m.lower_bounds().is_empty());
    assert!(m.convergence_warning().is_none());
    // scikit-learn's quirk: one point per component, weights N_k / n, not normalised.
    for &w in m.weights() {
        assert!((w - 1.0 / n as f64).abs() < 1e-15);
    }
    // Each mean is a data point; covariances are reg_covar * I.
    for c in 0..2 {
        let mu = &m.means()[c * d..(c + 1) * d];
        assert!(
            (0..n)
                .any(|i| (x[i * d] - mu[0]).abs() < 1e-12 && (x[i * d + 1] - mu[1]).abs() < 1e-12)
        );
        let cov = &m.covariances()[c * 4..(c + 1) * 4];
        assert!(
            (cov[0] - 1e-6).abs() < 1e-12 && cov[1].abs() < 1e-12 && (cov[3] - 1e-6).abs() < 1e-12
        );
    }
}

#[test]
fn user_initial_values_replace_what_they_cover() {
    let (n, d) = (200, 2);
    let x = blobs(n, d, 2, 2);
    let data = DataRef::new(&x, n, d).unwrap();
    let means = vec![1.0, 2.0, 3.0, 4.0];
    let m = GaussianMixture::new(2)
        .max_iter(0)
        .means_init(means.clone())
        .fit(data)
        .unwrap();
    assert_eq!(m.means(), &means[..]);
    let prec = vec![4.0, 0.0, 0.0, 1.0, 2.0, 0.5, 0.5, 2.0];
    let m = GaussianMixture::new(2)
        .max_iter(0)
        .weights_init(vec![0.25, 0.75])
        .means_init(means.clone())
        .precisions_init(prec.clone())
        .fit(data)
        .unwrap();
    assert_eq!(m.weights(), &[0.25, 0.75]);
    let p = m.precisions();
    for (a, b) in p.iter().zip(&prec) {
        assert!((a - b).abs() < 1e-12);
    }
    // Covariances are the inverse precisions.
    let c = m.covariances();
    assert!((c[0] - 0.25).abs() < 1e-12 && (c[3] - 1.0).abs() < 1e-12);
}

#[test]
fn not_converging_is_a_status_not_an_error() {
    let (n, d) = (300, 2);
    let x = blobs(n, d, 3, 4);
    let data = DataRef::new(&x, n, d).unwrap();
    let m = GaussianMixture::new(3)
        .tol(0.0)
        .max_iter(3)
        .fit(data)
        .unwrap();
    assert!(!m.converged());
    assert_eq!(m.n_iter(), 3);
    assert!(
        m.convergence_warning()
            .unwrap()
            .contains("did not converge")
    );
}

fn param_err(gm: GaussianMixture, name: &str) {
    let x = blobs(50, 2, 2, 1);
    match gm.fit(DataRef::new(&x, 50, 2).unwrap()) {
        Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
        Err(Error::ShapeMismatch { what, .. }) => assert_eq!(what, name),
        other => panic!("expected an error about {name}, got {other:?}"),
    }
}

#[test]
fn parameters_are_validated_with_scikit_learn_ranges() {
    let g = || GaussianMixture::new(2);
    param_err(g().n_init(0), "n_init");
    param_err(GaussianMixture::new(0), "n_components");
    param_err(g().tol(-1e-9), "tol");
    param_err(g().tol(f64::NAN), "tol");
    param_err(g().reg_covar(-1.0), "reg_covar");
    param_err(g().reg_covar(f64::INFINITY), "reg_covar");
    param_err(g().n_threads(Some(0)), "n_threads");
    param_err(g().weights_init(vec![0.5, 0.6]), "weights_init");
    param_err(g().weights_init(vec![1.0]), "weights_init");
    param_err(g().weights_init(vec![-0.5, 1.5]), "weights_init");
    param_err(g().means_init(vec![0.0; 3]), "means_init");
    param_err(g().precisions_init(vec![1.0; 3]), "precisions_init");
    // Not positive definite, not symmetric, not positive.
    param_err(
        g().precisions_init(vec![1.0, 2.0, 2.0, 1.0, 1.0, 0.0, 0.0, 1.0]),
        "precisions_init",
    );
    param_err(
        g().precisions_init(vec![1.0, 0.5, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0]),
        "precisions_init",
    );
    param_err(
        g().covariance_type(CovarianceType::Diag)
            .precisions_init(vec![1.0, 1.0, 0.0, 1.0]),
        "precisions_init",
    );
    // Boundaries that are allowed.
    let x = blobs(50, 2, 2, 1);
    let data = DataRef::new(&x, 50, 2).unwrap();
    assert!(g().tol(0.0).reg_covar(1e-6).max_iter(0).fit(data).is_ok());
}

#[test]
fn bad_data_is_refused() {
    let x = vec![0.0, 1.0, 2.0, f64::NAN, 4.0, 5.0];
    let e = GaussianMixture::new(1)
        .fit(DataRef::new(&x, 3, 2).unwrap())
        .unwrap_err();
    assert!(matches!(e, Error::NonFinite { row: 1, col: 1, .. }), "{e}");
    assert!(e.to_string().contains("row 1, column 1"));
    let x = vec![1.0, 2.0, 3.0];
    let e = GaussianMixture::new(4)
        .fit(DataRef::new(&x, 3, 1).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooFewSamples {
                n_samples: 3,
                needed: 4,
                ..
            }
        ),
        "{e}"
    );
    let e = GaussianMixture::new(1)
        .fit(DataRef::new(&x[..1], 1, 1).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooFewSamples {
                n_samples: 1,
                needed: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = GaussianMixture::new(1)
        .fit(DataRef::<f64>::new(&[], 0, 2).unwrap())
        .unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
    // A model and data with different numbers of features.
    let x = blobs(40, 2, 2, 1);
    let m = GaussianMixture::new(2)
        .fit(DataRef::new(&x, 40, 2).unwrap())
        .unwrap();
    let e = m.predict(DataRef::new(&x, 20, 4).unwrap()).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
}

#[test]
fn collapsed_component_is_an_error_naming_it() {
    // Three distinct points, two of them repeated: with no regularisation a component that
    // sits on one repeated point has zero covariance.
    let mut x = Vec::new();
    for _ in 0..10 {
        x.extend_from_slice(&[0.0, 0.0]);
    }
    for _ in 0..10 {
        x.extend_from_slice(&[5.0, 5.0]);
    }
    x.extend_from_slice(&[9.0, 1.0, 8.0, 3.0]);
    let n = x.len() / 2;
    let e = GaussianMixture::new(3)
        .reg_covar(0.0)
        .means_init(vec![0.0, 0.0, 5.0, 5.0, 8.5, 2.0])
        .fit(DataRef::new(&x, n, 2).unwrap())
        .unwrap_err();
    match &e {
        Error::IllDefinedCovariance(info) => assert!(info.component.is_some()),
        other => panic!("expected IllDefinedCovariance, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("ill-defined empirical covariance") && msg.contains("increase reg_covar"),
        "{msg}"
    );
    // The default regularisation makes the same fit work.
    assert!(
        GaussianMixture::new(3)
            .means_init(vec![0.0, 0.0, 5.0, 5.0, 8.5, 2.0])
            .fit(DataRef::new(&x, n, 2).unwrap())
            .is_ok()
    );
}

#[test]
fn samples_follow_the_model() {
    let d = 2;
    for t in CovarianceType::ALL {
        let cov = match t {
            CovarianceType::Full => vec![1.0, 0.6, 0.6, 0.5, 0.3, 0.0, 0.0, 0.2],
            CovarianceType::Tied => vec![1.0, 0.6, 0.6, 0.5],
            CovarianceType::Diag => vec![1.0, 0.5, 0.3, 0.2],
            CovarianceType::Spherical => vec![1.0, 0.3],
        };
        let m = GaussianMixtureModel::from_covariances(
            t,
            2,
            d,
            vec![0.3, 0.7],
            vec![-5.0, 0.0, 5.0, 2.0],
            cov,
        )
        .unwrap();
        let (x, labels) = m.sample(20000, 1).unwrap();
        assert_eq!(x.len(), 20000 * d);
        assert!(
            labels.windows(2).all(|w| w[0] <= w[1]),
            "grouped by component"
        );
        let n0 = labels.iter().filter(|&&l| l == 0).count() as f64;
        assert!((n0 / 20000.0 - 0.3).abs() < 0.02, "{t}: {n0}");
        // Fitting the sample recovers the model.
        let fit = GaussianMixture::new(2)
            .covariance_type(t)
            .fit(DataRef::new(&x, 20000, d).unwrap())
            .unwrap();
        let (a, b) = if fit.means()[0] < 0.0 { (0, 1) } else { (1, 0) };
        for (c, want) in [(a, [-5.0, 0.0]), (b, [5.0, 2.0])] {
            for j in 0..d {
                assert!(
                    (fit.means()[c * d + j] - want[j]).abs() < 0.05,
                    "{t}: mean {c},{j}"
                );
            }
        }
        let same_seed = m.sample(100, 1).unwrap();
        assert_eq!(same_seed.0[..10], m.sample(100, 1).unwrap().0[..10]);
        assert_ne!(same_seed.0[..10], m.sample(100, 2).unwrap().0[..10]);
    }
}

#[test]
fn reseed_survives_a_collapsed_component() {
    use gaussmix_core::OnDegenerate;
    // Ten copies of one point and a cloud far enough away that its responsibilities for a
    // component on the point underflow to exactly zero: with no regularisation that component
    // collapses in the first M-step.
    let mut g = Xoshiro256PlusPlus::seed_from_u64(3);
    let mut x = Vec::new();
    for _ in 0..10 {
        x.extend_from_slice(&[0.0, 0.0]);
    }
    for _ in 0..200 {
        x.push(60.0 + g.sample::<f64, _>(StandardNormal));
        x.push(60.0 + g.sample::<f64, _>(StandardNormal));
    }
    let n = x.len() / 2;
    let data = DataRef::new(&x, n, 2).unwrap();
    for t in [
        CovarianceType::Full,
        CovarianceType::Diag,
        CovarianceType::Spherical,
    ] {
        let prec = match t {
            CovarianceType::Full => vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
            CovarianceType::Diag => vec![1.0; 4],
            _ => vec![1.0; 2],
        };
        let gm = GaussianMixture::new(2)
            .covariance_type(t)
            .reg_covar(0.0)
            .weights_init(vec![0.5, 0.5])
            .means_init(vec![0.0, 0.0, 60.0, 60.0])
            .precisions_init(prec);
        // scikit-learn's behaviour: the error names the component.
        match gm.fit(data) {
            Err(Error::IllDefinedCovariance(i)) => assert_eq!(i.component, Some(0), "{t}"),
            other => panic!("{t}: expected the collapse error, got {other:?}"),
        }
        let m = gm
            .clone()
            .on_degenerate(OnDegenerate::Reseed)
            .fit(data)
            .unwrap();
        assert!(!m.reseeds().is_empty(), "{t}");
        let r = m.reseeds()[0];
        assert_eq!((r.iteration, r.component), (1, 0), "{t}");
        // The new mean is the least likely row under the previous parameters: a cloud point.
        assert!(r.row >= 10, "{t}: row {}", r.row);
        for v in m
            .weights()
            .iter()
            .chain(m.means())
            .chain(m.covariances())
            .chain(m.precisions_cholesky())
        {
            assert!(v.is_finite(), "{t}");
        }
        assert!((m.weights().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    // A tied covariance cannot be re-seeded: still the error.
    let tied = GaussianMixture::new(2)
        .covariance_type(CovarianceType::Tied)
        .reg_covar(0.0)
        .on_degenerate(OnDegenerate::Reseed);
    let dup = vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
    assert!(matches!(
        tied.fit(DataRef::new(&dup, 3, 2).unwrap()),
        Err(Error::IllDefinedCovariance(_))
    ));
}

/// Counts the monitor's calls and asks to stop at the `stop_at`-th check.
struct Stopper {
    checks: usize,
    reports: usize,
    stop_at: usize,
}

impl Monitor for Stopper {
    fn progress(&mut self, _: &Progress) {
        self.reports += 1;
    }
    fn interrupted(&mut self) -> bool {
        self.checks += 1;
        self.checks >= self.stop_at
    }
}

#[test]
fn a_monitor_stops_the_fit_between_passes() {
    let x = blobs(3000, 3, 4, 5);
    let data = DataRef::new(&x, 3000, 3).unwrap();
    let gm = GaussianMixture::new(4).tol(0.0).max_iter(10);
    // Never stopping: one check per k-means++ step (3), per Lloyd iteration and per EM
    // iteration, and one report per EM iteration.
    let mut watch = Stopper {
        checks: 0,
        reports: 0,
        stop_at: usize::MAX,
    };
    let model = gm.fit_with(data, None, Some(&mut watch)).unwrap();
    assert_eq!(model.n_iter(), 10);
    assert_eq!(watch.reports, 10);
    assert!(watch.checks > 10 + 3, "{} checks", watch.checks);
    // Stopping in the initialisation (the first k-means++ step) and in the EM loop.
    for stop_at in [1, watch.checks - 3] {
        let mut stop = Stopper {
            checks: 0,
            reports: 0,
            stop_at,
        };
        let err = gm.fit_with(data, None, Some(&mut stop)).unwrap_err();
        assert_eq!(err, Error::Interrupted);
        assert_eq!(stop.checks, stop_at);
        assert_eq!(
            stop.reports,
            stop_at.saturating_sub(watch.checks - 10 + 1).min(10)
        );
    }
    // k-means alone.
    let mut stop = Stopper {
        checks: 0,
        reports: 0,
        stop_at: 2,
    };
    let err = KMeans::new(4).fit_with(data, Some(&mut stop)).unwrap_err();
    assert_eq!(err, Error::Interrupted);
    assert_eq!(stop.checks, 2);
    // A closure is a monitor that only reports.
    let mut seen = Vec::new();
    let mut report = |p: &Progress| seen.push(p.iteration);
    gm.fit_with(data, None, Some(&mut report)).unwrap();
    assert_eq!(seen, (1..=10).collect::<Vec<_>>());
}

#[test]
fn an_impossible_sample_size_is_an_error_not_an_abort() {
    let x = blobs(200, 3, 2, 1);
    let model = GaussianMixture::new(2)
        .fit(DataRef::new(&x, 200, 3).unwrap())
        .unwrap();
    for n in [usize::MAX, usize::MAX / 3, 1 << 60] {
        match model.sample(n, 0) {
            Err(Error::TooLarge { what, bytes }) => {
                assert!(what.contains(&format!("n_samples = {n}")), "{what}");
                assert_eq!(bytes, n as u128 * 3 * 8);
            }
            other => panic!("n = {n}: expected TooLarge, got {:?}", other.map(|_| ())),
        }
    }
    assert_eq!(model.sample(5, 0).unwrap().0.len(), 15);
}

#[test]
fn a_row_no_component_can_explain_has_nan_probabilities() {
    let x = blobs(300, 3, 2, 8);
    let model = GaussianMixture::new(2)
        .fit(DataRef::new(&x, 300, 3).unwrap())
        .unwrap();
    let rows = [1.0, 2.0, 3.0, -1e300, 1e300, 0.0];
    let p = model
        .predict_proba(DataRef::new(&rows, 2, 3).unwrap())
        .unwrap();
    assert!((p[0] + p[1] - 1.0).abs() < 1e-12, "{p:?}");
    assert!(p[2].is_nan() && p[3].is_nan(), "{p:?}");
    let s = model
        .score_samples(DataRef::new(&rows, 2, 3).unwrap())
        .unwrap();
    assert_eq!(s[1], f64::NEG_INFINITY);
}
