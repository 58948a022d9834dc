//! Parity with scikit-learn's `BayesianGaussianMixture`: from the same initial labels, 25
//! iterations with `tol = 0`, every covariance type and both weight priors give the same
//! posterior (weights, means, covariances, weight concentration, degrees of freedom, mean
//! precision), lower bound and scores. Fixtures: `tests/fixtures/make_bayesian_fixtures.py`.

mod common;

use common::{dataset, fixture, flat, ints, max_rel, scale};
use gaussmix::{
    BayesianGaussianMixture, CovarianceType, DataRef, WeightConcentration,
    WeightConcentrationPriorType,
};

fn check_case(name: &str, cov: &str, prior: &str) -> f64 {
    let f = fixture(&format!("bgmm_{name}_{cov}_{prior}.json"));
    let (x, n, d) = dataset(name);
    let data = DataRef::new(&x, n, d).unwrap();
    let k = f["n_components"].as_u64().unwrap() as usize;
    let t: CovarianceType = cov.parse().unwrap();
    let prior_type: WeightConcentrationPriorType = f["weight_concentration_prior_type"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let model = BayesianGaussianMixture::new(k)
        .covariance_type(t)
        .weight_concentration_prior_type(prior_type)
        .tol(0.0)
        .reg_covar(f["reg_covar"].as_f64().unwrap())
        .max_iter(f["max_iter"].as_u64().unwrap() as usize)
        .init_labels(ints(&f["init_labels"]))
        .fit(data)
        .unwrap();
    let case = format!("{name}/{cov}/{prior}");
    let r = &f["result"];
    assert_eq!(
        model.n_iter(),
        r["n_iter"].as_u64().unwrap() as usize,
        "{case}"
    );
    assert_eq!(
        model.converged(),
        r["converged"].as_bool().unwrap(),
        "{case}"
    );

    // The priors computed from the data.
    let p = &f["priors"];
    let mut worst = 0.0f64;
    let mut check = |what: &str, got: &[f64], want: &[f64], tol: f64| {
        let floor = scale(want) * 1e-6;
        let e = max_rel(got, want, floor.max(1e-300));
        assert!(e < tol, "{case}: {what} differs by {e:e}");
        worst = worst.max(e);
    };
    check(
        "mean_prior",
        model.mean_prior(),
        &flat(&p["mean_prior"]),
        1e-12,
    );
    check(
        "covariance_prior",
        model.covariance_prior(),
        &flat(&p["covariance_prior"]),
        1e-12,
    );
    assert_eq!(
        model.degrees_of_freedom_prior(),
        p["degrees_of_freedom_prior"].as_f64().unwrap()
    );
    assert_eq!(
        model.weight_concentration_prior(),
        p["weight_concentration_prior"].as_f64().unwrap()
    );

    check("weights", model.weights(), &flat(&r["weights"]), 1e-9);
    check("means", model.means(), &flat(&r["means"]), 1e-9);
    check(
        "covariances",
        model.covariances(),
        &flat(&r["covariances"]),
        1e-9,
    );
    check(
        "precisions_cholesky",
        model.precisions_cholesky(),
        &flat(&r["precisions_cholesky"]),
        1e-9,
    );
    let wc: Vec<f64> = match model.weight_concentration() {
        WeightConcentration::DirichletProcess { alpha, beta } => {
            alpha.iter().chain(beta).copied().collect()
        }
        WeightConcentration::DirichletDistribution(a) => a.clone(),
    };
    check(
        "weight_concentration",
        &wc,
        &flat(&r["weight_concentration"]),
        1e-9,
    );
    check(
        "mean_precision",
        model.mean_precision(),
        &flat(&r["mean_precision"]),
        1e-9,
    );
    check(
        "degrees_of_freedom",
        model.degrees_of_freedom(),
        &flat(&r["degrees_of_freedom"]),
        1e-9,
    );
    check(
        "lower_bound",
        &[model.lower_bound()],
        &[r["lower_bound"].as_f64().unwrap()],
        1e-9,
    );
    check(
        "lower_bounds",
        model.lower_bounds(),
        &flat(&r["lower_bounds"]),
        1e-9,
    );
    let first = DataRef::new(&x[..20 * d], 20, d).unwrap();
    check(
        "predict_proba",
        &model.predict_proba(first).unwrap(),
        &flat(&r["predict_proba_first_rows"]),
        1e-7,
    );
    check(
        "score_samples",
        &model.score_samples(first).unwrap(),
        &flat(&r["score_samples_first_rows"]),
        1e-9,
    );
    assert_eq!(
        model.predict(data).unwrap(),
        ints(&r["predict"]),
        "{case}: predict"
    );
    println!("bgmm {case:>36}: worst relative difference {worst:.1e}");
    worst
}

#[test]
fn variational_fits_match_scikit_learn() {
    let mut worst = 0.0f64;
    for name in ["blobs", "moons", "blobs32"] {
        for cov in ["full", "tied", "diag", "spherical"] {
            for prior in ["process", "distribution"] {
                worst = worst.max(check_case(name, cov, prior));
            }
        }
    }
    println!("worst over all cases: {worst:.1e}");
}
