"""Same initialisation => the same parameters as scikit-learn (rtol 1e-5), all four covariance
types, computed by scikit-learn in the test and checked against the committed fixtures."""

import warnings

import numpy as np
import pytest

from gaussmix import GaussianMixture, KMeans

from .conftest import dataset, fixture

sklearn = pytest.importorskip("sklearn")
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402

RTOL = 1e-5
CASES = {"blobs": (4, 0, 0.25), "stretched": (4, 0, 0.25), "moons": (16, 4, 8.0), "blobs32": (5, 2, 1.0)}
TYPES = ["full", "tied", "diag", "spherical"]


def explicit_init(X, covariance_type, K, mean_seed, scale):
    """The fixtures' recipe (tests/fixtures/README.md)."""
    n = X.shape[0]
    k = np.arange(K)
    means = X[np.random.RandomState(mean_seed).choice(n, K, replace=False)]
    weights = (K + k) / np.sum(K + k)
    P = np.linalg.inv(np.cov(X, rowvar=False))
    P = (P + P.T) / 2
    s = scale * (1.0 + 0.5 * k / K)
    precisions = {
        "full": s[:, None, None] * P,
        "tied": scale * P,
        "diag": s[:, None] / np.var(X, axis=0),
        "spherical": s / np.mean(np.var(X, axis=0)),
    }[covariance_type]
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


def close(a, b, what, rtol=RTOL):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    # Entries near zero (off-diagonal covariances, probabilities) compared on the array's scale.
    atol = rtol * max(np.max(np.abs(b)), 1e-300)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def compare(ours, theirs, X):
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        close(getattr(ours, name), getattr(theirs, name), name)
    close(ours.lower_bounds_, theirs.lower_bounds_, "lower_bounds_")
    close(ours.lower_bound_, theirs.lower_bound_, "lower_bound_")
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    close(ours.predict_proba(X), theirs.predict_proba(X), "predict_proba")
    close(ours.score_samples(X), theirs.score_samples(X), "score_samples")
    close(ours.score(X), theirs.score(X), "score")
    close(ours.bic(X), theirs.bic(X), "bic")
    close(ours.aic(X), theirs.aic(X), "aic")
    assert ours._n_parameters() == theirs._n_parameters()


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_same_init_same_parameters_as_sklearn(name, covariance_type):
    X = dataset(name)
    K, mean_seed, scale = CASES[name]
    init = explicit_init(X, covariance_type, K, mean_seed, scale)
    params = dict(
        n_components=K, covariance_type=covariance_type, tol=0.0, reg_covar=1e-6,
        max_iter=25, random_state=0, **init,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SkGaussianMixture(**params).fit(X)
        ours = GaussianMixture(**params).fit(X)
    compare(ours, theirs, X)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_committed_fixtures(name, covariance_type):
    fx = fixture(f"gmm_{name}_{covariance_type}")
    X = dataset(name)
    init = fx["init"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixture(
            n_components=fx["n_components"], covariance_type=covariance_type,
            tol=fx["tol"], reg_covar=fx["reg_covar"], max_iter=fx["max_iter"],
            weights_init=init["weights"], means_init=init["means"],
            precisions_init=init["precisions"], random_state=0,
        ).fit(X)
    r = fx["result"]
    for name_ in ("weights", "means", "covariances", "precisions_cholesky", "lower_bounds"):
        close(getattr(ours, name_ + "_"), r[name_], name_)
    assert ours.n_iter_ == r["n_iter"] and ours.converged_ == r["converged"]
    np.testing.assert_array_equal(ours.predict(X), r["predict"])
    close(ours.predict_proba(X)[:20], r["predict_proba"], "predict_proba")
    close(ours.score_samples(X), r["score_samples"], "score_samples")
    close(ours.bic(X), r["bic"], "bic")
    close(ours.aic(X), r["aic"], "aic")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float32_input(dtype):
    X = dataset("stretched")
    init = explicit_init(X, "full", 4, 0, 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SkGaussianMixture(4, tol=0, max_iter=10, **init).fit(X)
        ours = GaussianMixture(4, tol=0, max_iter=10, **init).fit(X.astype(dtype))
    assert ours.means_.dtype == np.float64
    rtol = RTOL if dtype == np.float64 else 1e-4
    close(ours.means_, ref.means_, "means_", rtol=rtol)


def test_kmeans_same_init_same_result():
    X = dataset("blobs")
    fx = fixture("kmeans_blobs")
    init = np.asarray(fx["init_centers"])
    theirs = SkKMeans(4, init=init, n_init=1, tol=0.0, max_iter=30).fit(X)
    ours = KMeans(4, init=init, n_init=1, tol=0.0, max_iter=30).fit(X)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    close(ours.cluster_centers_, theirs.cluster_centers_, "cluster_centers_")
    close(ours.inertia_, theirs.inertia_, "inertia_")
    assert ours.n_iter_ == theirs.n_iter_
    close(ours.transform(X), theirs.transform(X), "transform")
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    close(ours.score(X), theirs.score(X), "score")


def test_kmeans_empty_cluster_relocation():
    X = dataset("blobs")
    fx = fixture("kmeans_empty")
    init = np.asarray(fx["init_centers"])
    ours = KMeans(4, init=init, n_init=1, tol=0.0, max_iter=30).fit(X)
    np.testing.assert_array_equal(ours.labels_, fx["result"]["labels"])
    close(ours.cluster_centers_, fx["result"]["cluster_centers"], "cluster_centers_")
    assert ours.n_iter_ == fx["result"]["n_iter"]


def test_to_sklearn_gives_the_same_predictions():
    X = dataset("blobs")
    ours = GaussianMixture(4, covariance_type="full", random_state=0).fit(X)
    sk = ours.to_sklearn()
    assert isinstance(sk, SkGaussianMixture)
    np.testing.assert_array_equal(sk.predict(X), ours.predict(X))
    close(sk.score_samples(X), ours.score_samples(X), "score_samples", rtol=1e-10)
    assert sk.sample(5)[0].shape == (5, 2)
    km = KMeans(4, random_state=0).fit(X)
    skm = km.to_sklearn()
    assert isinstance(skm, SkKMeans)
    np.testing.assert_array_equal(skm.predict(X), km.predict(X))
    close(skm.transform(X), km.transform(X), "transform", rtol=1e-10)
    close(skm.score(X), km.score(X), "score", rtol=1e-10)
