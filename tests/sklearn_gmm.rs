//! Parity with scikit-learn's `GaussianMixture`: from the same explicit initialisation
//! (weights, means, precisions), 25 EM iterations with `tol = 0` give the same parameters,
//! lower bounds and scores. Fixtures: `tests/fixtures/make_sklearn_fixtures.py`.

mod common;

use common::{dataset, fixture, flat, ints, max_rel, scale};
use gaussmix::{CovarianceType, DataRef, GaussianMixture, GaussianMixtureModel};

struct Diffs {
    weights: f64,
    means: f64,
    covariances: f64,
    lower_bound: f64,
    scores: f64,
}

fn check_case(dataset_name: &str, cov: &str) -> Diffs {
    let f = fixture(&format!("gmm_{dataset_name}_{cov}.json"));
    let (x, n, d) = dataset(dataset_name);
    let data = DataRef::new(&x, n, d).unwrap();
    let k = f["n_components"].as_u64().unwrap() as usize;
    let t: CovarianceType = cov.parse().unwrap();
    let init = &f["init"];
    let gm = GaussianMixture::new(k)
        .covariance_type(t)
        .tol(0.0)
        .reg_covar(f["reg_covar"].as_f64().unwrap())
        .max_iter(f["max_iter"].as_u64().unwrap() as usize)
        .weights_init(flat(&init["weights"]))
        .means_init(flat(&init["means"]))
        .precisions_init(flat(&init["precisions"]));
    let model = gm.fit(data).unwrap();
    let r = &f["result"];
    let case = format!("{dataset_name}/{cov}");

    assert_eq!(
        model.n_iter(),
        r["n_iter"].as_u64().unwrap() as usize,
        "{case}: n_iter"
    );
    assert_eq!(
        model.converged(),
        r["converged"].as_bool().unwrap(),
        "{case}: converged"
    );
    assert_eq!(
        model.n_parameters(),
        r["n_parameters"].as_u64().unwrap() as usize,
        "{case}"
    );

    let w = flat(&r["weights"]);
    let m = flat(&r["means"]);
    let c = flat(&r["covariances"]);
    let pc = flat(&r["precisions_cholesky"]);
    let diffs = Diffs {
        weights: max_rel(model.weights(), &w, 0.0),
        // Means and covariances near zero are compared relative to the array's scale.
        means: max_rel(model.means(), &m, scale(&m) * 1e-3),
        covariances: max_rel(model.covariances(), &c, scale(&c) * 1e-3),
        lower_bound: max_rel(model.lower_bounds(), &flat(&r["lower_bounds"]), 0.0),
        scores: max_rel(
            &model.score_samples(data).unwrap(),
            &flat(&r["score_samples"]),
            1.0,
        ),
    };
    assert!(
        diffs.weights < 1e-5,
        "{case}: weights differ by {}",
        diffs.weights
    );
    assert!(
        diffs.means < 1e-5,
        "{case}: means differ by {}",
        diffs.means
    );
    assert!(
        diffs.covariances < 1e-4,
        "{case}: covariances differ by {}",
        diffs.covariances
    );
    assert!(
        max_rel(model.precisions_cholesky(), &pc, scale(&pc) * 1e-3) < 1e-4,
        "{case}: precisions_cholesky"
    );
    assert!(
        diffs.lower_bound < 1e-6,
        "{case}: lower bounds differ by {}",
        diffs.lower_bound
    );
    let lb = r["lower_bound"].as_f64().unwrap();
    assert!(
        (model.lower_bound() - lb).abs() <= 1e-6 * lb.abs(),
        "{case}: lower_bound"
    );
    assert!(
        diffs.scores < 1e-6,
        "{case}: score_samples differ by {}",
        diffs.scores
    );

    let score = r["score"].as_f64().unwrap();
    assert!(
        (model.score(data).unwrap() - score).abs() <= 1e-6 * score.abs(),
        "{case}: score"
    );
    for (name, got) in [
        ("bic", model.bic(data).unwrap()),
        ("aic", model.aic(data).unwrap()),
    ] {
        let want = r[name].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-6 * want.abs(),
            "{case}: {name} {got} vs {want}"
        );
    }
    assert_eq!(
        model.predict(data).unwrap(),
        ints(&r["predict"]),
        "{case}: predict"
    );
    let proba = model.predict_proba(data).unwrap();
    let want = flat(&r["predict_proba"]);
    for (i, (a, b)) in proba.iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() < 1e-6,
            "{case}: predict_proba[{}, {}]",
            i / k,
            i % k
        );
    }
    // The covariances and the precision factors describe the same matrices.
    let again = GaussianMixtureModel::from_covariances(
        t,
        k,
        d,
        model.weights().to_vec(),
        model.means().to_vec(),
        model.covariances().to_vec(),
    )
    .unwrap();
    assert!(
        max_rel(
            again.precisions_cholesky(),
            model.precisions_cholesky(),
            scale(&pc) * 1e-6
        ) < 1e-8
    );
    diffs
}

fn check_type(cov: &str) {
    let mut worst = [0.0f64; 5];
    for ds in ["blobs", "stretched", "moons", "blobs32"] {
        let d = check_case(ds, cov);
        for (w, v) in
            worst
                .iter_mut()
                .zip([d.weights, d.means, d.covariances, d.lower_bound, d.scores])
        {
            *w = w.max(v);
        }
    }
    println!(
        "{cov:>9}: weights {:.1e}  means {:.1e}  covariances {:.1e}  lower bounds {:.1e}  score_samples {:.1e}",
        worst[0], worst[1], worst[2], worst[3], worst[4]
    );
}

#[test]
fn full_matches_scikit_learn() {
    check_type("full");
}

#[test]
fn tied_matches_scikit_learn() {
    check_type("tied");
}

#[test]
fn diag_matches_scikit_learn() {
    check_type("diag");
}

#[test]
fn spherical_matches_scikit_learn() {
    check_type("spherical");
}

/// The lesson's default fit (k-means initialisation, `random_state=42`) cannot share the
/// initialisation, so it is compared up to a permutation of the components, with tolerances of
/// the order of what EM's stopping rule (`tol = 1e-3` on the lower bound) leaves open: two runs
/// that start from slightly different k-means solutions stop a little apart.
#[test]
fn lesson_default_fit_matches_up_to_permutation() {
    let f = fixture("gmm_blobs_full_default.json");
    let (x, n, d) = dataset("blobs");
    let data = DataRef::new(&x, n, d).unwrap();
    let model = GaussianMixture::new(4).seed(42).fit(data).unwrap();
    let r = &f["result"];
    let means = flat(&r["means"]);
    let weights = flat(&r["weights"]);
    let covs = flat(&r["covariances"]);
    let mut used = [false; 4];
    for c in 0..4 {
        let mine = &model.means()[c * d..(c + 1) * d];
        let j = (0..4)
            .filter(|&j| !used[j])
            .min_by(|&a, &b| {
                let da: f64 = (0..d).map(|i| (mine[i] - means[a * d + i]).powi(2)).sum();
                let db: f64 = (0..d).map(|i| (mine[i] - means[b * d + i]).powi(2)).sum();
                da.total_cmp(&db)
            })
            .unwrap();
        used[j] = true;
        // The blobs have a standard deviation of 0.6; their centres are several units apart.
        assert!(
            max_rel(mine, &means[j * d..(j + 1) * d], 1.0) < 0.01,
            "component {c} mean"
        );
        assert!(
            (model.weights()[c] - weights[j]).abs() < 0.005,
            "component {c} weight"
        );
        assert!(
            max_rel(
                &model.covariances()[c * d * d..(c + 1) * d * d],
                &covs[j * d * d..(j + 1) * d * d],
                0.1
            ) < 0.05,
            "component {c} covariance"
        );
    }
    let lb = r["lower_bound"].as_f64().unwrap();
    assert!(
        (model.lower_bound() - lb).abs() < 1e-3,
        "{} vs {lb}",
        model.lower_bound()
    );
    assert!(model.converged());
}
