"""Sample weights: a row of integer weight w is w copies of itself, zero-weight rows change
nothing, equal weights are no weights; scikit-learn's weighted KMeans; the input rules."""

import warnings

import numpy as np
import pytest

import gaussmix
from gaussmix import BayesianGaussianMixture, ConvergenceWarning, GaussianMixture, KMeans

from .conftest import dataset

TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture(scope="module")
def weighted():
    """Rows, integer weights 0 to 4 (some rows of weight 0), and the rows repeated."""
    X = dataset("stretched")
    w = np.random.RandomState(0).randint(0, 5, size=len(X))
    assert (w == 0).sum() > 20
    return X, w, np.repeat(X, w, axis=0)


def start(X, t, k=4):
    """A start both fits take (an initialisation-only fit's parameters)."""
    g = GaussianMixture(k, covariance_type=t, max_iter=0, init_params="random_from_data",
                        random_state=1).fit(X)
    return dict(weights_init=np.full(k, 1.0 / k), means_init=g.means_,
                precisions_init=g.precisions_)


def close(a, b, rtol, what):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)), err_msg=what)


@pytest.mark.parametrize("t", TYPES)
def test_integer_weights_are_repeated_rows(weighted, t):
    X, w, Xr = weighted
    params = dict(covariance_type=t, tol=0, max_iter=30, **start(X, t))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = GaussianMixture(4, **params).fit(X, sample_weight=w)
        b = GaussianMixture(4, **params).fit(Xr)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bounds_"):
        close(getattr(a, name), getattr(b, name), 1e-10, name)
    # score / bic / aic with the same weights are the repeated rows'.
    close(a.score(X, sample_weight=w), b.score(Xr), 1e-12, "score")
    close(a.bic(X, sample_weight=w), b.bic(Xr), 1e-12, "bic")
    close(a.aic(X, sample_weight=w), b.aic(Xr), 1e-12, "aic")
    # score_samples stays per row.
    np.testing.assert_array_equal(a.score_samples(X), a.score_samples(X))
    assert a.score_samples(X).shape == (len(X),)


@pytest.mark.parametrize("t", TYPES)
def test_bayesian_integer_weights_are_repeated_rows(weighted, t):
    X, w, Xr = weighted
    labels = KMeans(4, random_state=0).fit(X).labels_
    params = dict(n_components=4, covariance_type=t, tol=0, max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = BayesianGaussianMixture(**params).fit(X, sample_weight=w, init_labels=labels)
        b = BayesianGaussianMixture(**params).fit(Xr, init_labels=np.repeat(labels, w))
    for name in ("weights_", "means_", "covariances_", "mean_precision_", "degrees_of_freedom_",
                 "mean_prior_", "covariance_prior_", "lower_bounds_"):
        close(getattr(a, name), getattr(b, name), 1e-9, name)
    close(a.weight_concentration_, b.weight_concentration_, 1e-9, "weight_concentration_")
    close(a.score(X, sample_weight=w), b.score(Xr), 1e-12, "score")


def test_kmeans_integer_weights_are_repeated_rows(weighted):
    X, w, Xr = weighted
    centres = X[[0, 100, 200, 300]]
    a = KMeans(4, init=centres, n_init=1).fit(X, sample_weight=w)
    b = KMeans(4, init=centres, n_init=1).fit(Xr)
    np.testing.assert_array_equal(np.repeat(a.labels_, w), b.labels_)
    close(a.cluster_centers_, b.cluster_centers_, 1e-12, "cluster_centers_")
    close(a.inertia_, b.inertia_, 1e-12, "inertia_")
    assert a.n_iter_ == b.n_iter_
    close(-a.score(X, sample_weight=w), b.inertia_, 1e-12, "score")


@pytest.mark.parametrize("t", TYPES)
def test_zero_weight_rows_change_no_bit(t):
    X = dataset("blobs")
    noise = np.random.RandomState(5).normal(scale=50.0, size=(37, 2))
    Xz = np.concatenate([X, noise])
    wz = np.concatenate([np.ones(len(X)), np.zeros(len(noise))])
    params = dict(covariance_type=t, tol=0, max_iter=15, **start(X, t))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = GaussianMixture(4, **params).fit(X)
        b = GaussianMixture(4, **params).fit(Xz, sample_weight=wz)
        c = BayesianGaussianMixture(n_components=4, covariance_type=t, max_iter=15).fit(
            X, init_labels=a.predict(X))
        d = BayesianGaussianMixture(n_components=4, covariance_type=t, max_iter=15).fit(
            Xz, sample_weight=wz, init_labels=a.predict(Xz))
    for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        # The Bayesian default priors are the data's moments (weighted): the same bits too.
        np.testing.assert_array_equal(getattr(c, name), getattr(d, name), err_msg=name)
    # k-means centres the data on its unweighted column means first and scales tol by the
    # unweighted variance (as scikit-learn does), so the appended rows move the frame its sums
    # are taken in (and tol's scale: tol=0 here): the same fit, to rounding.
    km = KMeans(4, init=X[:4], n_init=1, tol=0).fit(X)
    kz = KMeans(4, init=X[:4], n_init=1, tol=0).fit(Xz, sample_weight=wz)
    close(kz.cluster_centers_, km.cluster_centers_, 1e-14, "cluster_centers_")
    np.testing.assert_array_equal(kz.labels_[: len(X)], km.labels_)
    assert km.n_iter_ == kz.n_iter_
    close(kz.inertia_, km.inertia_, 1e-13, "inertia_")


def test_equal_weights_are_no_weights():
    X = dataset("moons")
    for c in (1.0, 3.0, 0.25):
        w = np.full(len(X), c)
        a = GaussianMixture(6, random_state=0).fit(X)
        b = GaussianMixture(6, random_state=0).fit(X, sample_weight=w)
        # The same start (weights all equal draw the same seeds), the same fit.
        close(b.means_, a.means_, 1e-12, "means_")
        close(b.lower_bounds_, a.lower_bounds_, 1e-12, "lower_bounds_")
        assert a.n_iter_ == b.n_iter_
        ka = KMeans(5, random_state=0).fit(X)
        kb = KMeans(5, random_state=0).fit(X, sample_weight=w)
        np.testing.assert_array_equal(ka.labels_, kb.labels_)
        close(kb.inertia_, c * ka.inertia_, 1e-12, "inertia_")
    # Weights all 1: bit for bit.
    ones = np.ones(len(X))
    for est in (GaussianMixture(6, random_state=0), BayesianGaussianMixture(
            n_components=6, random_state=0), KMeans(5, random_state=0)):
        e1 = type(est)(**est.get_params()).fit(X)
        e2 = type(est)(**est.get_params()).fit(X, sample_weight=ones)
        for name in ("means_", "cluster_centers_", "lower_bounds_"):
            if hasattr(e1, name):
                np.testing.assert_array_equal(getattr(e1, name), getattr(e2, name))
    # A number is a weight for every row (scikit-learn's rule).
    g = GaussianMixture(6, random_state=0)
    np.testing.assert_array_equal(g.fit(X, sample_weight=2.0).means_,
                                  GaussianMixture(6, random_state=0).fit(X, sample_weight=np.full(
                                      len(X), 2.0)).means_)


def test_weighted_kmeans_is_sklearns_from_the_same_centres(weighted):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.cluster import KMeans as SkKMeans

    del sklearn
    X, w, _ = weighted
    sw = w + np.random.RandomState(1).uniform(0, 1, size=len(w))  # fractional weights
    for centres in (X[[0, 100, 200, 300]], np.array([[0, 0], [1, 1], [2, 2], [1e3, 1e3]])):
        ours = KMeans(4, init=centres, n_init=1, tol=0, max_iter=50).fit(X, sample_weight=sw)
        theirs = SkKMeans(4, init=centres, n_init=1, tol=0, max_iter=50).fit(X, sample_weight=sw)
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)
        close(ours.cluster_centers_, theirs.cluster_centers_, 1e-12, "cluster_centers_")
        close(ours.inertia_, theirs.inertia_, 1e-12, "inertia_")
        assert ours.n_iter_ == theirs.n_iter_
        close(ours.score(X, sample_weight=sw), theirs.score(X, sample_weight=sw), 1e-12, "score")


@pytest.mark.parametrize("est", [GaussianMixture(2), BayesianGaussianMixture(n_components=2),
                                 KMeans(2, n_init=1)])
def test_weight_errors_say_what_was_wrong(est):
    X = dataset("blobs")
    n = len(X)
    cases = [
        (np.ones(n - 1), r"shape"),
        (np.ones((n, 2)), r"1D array"),
        (np.r_[np.nan, np.ones(n - 1)], r"NaN"),
        (np.r_[-1.0, np.ones(n - 1)], r"Negative values"),
        (np.zeros(n), r"at least one non-zero"),
    ]
    for sw, msg in cases:
        with pytest.raises(ValueError, match=msg):
            est.fit(X, sample_weight=sw)
    assert not hasattr(est, "n_features_in_")  # a failed fit leaves the estimator unfitted
    # The engine's own checks, reached without scikit-learn's: named sample_weight.
    with pytest.raises(ValueError, match="sample_weight"):
        gaussmix._core.gmm_fit(X, n_components=2, sample_weight=np.r_[-1.0, np.ones(n - 1)])
    with pytest.raises(ValueError, match="sample_weight"):
        gaussmix._core.kmeans_fit(X, n_clusters=2, sample_weight=np.ones(3))


def test_init_labels_start_both_mixtures():
    X = dataset("blobs")
    labels = KMeans(4, random_state=0).fit(X).labels_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = GaussianMixture(4, max_iter=0).fit(X, init_labels=labels)
    # Initialised from the labels' one-hot responsibilities: each mean is its group's mean.
    for c in range(4):
        close(a.means_[c], X[labels == c].mean(axis=0), 1e-12, f"mean {c}")
    # Every run starts there: the seed does not matter.
    g1 = GaussianMixture(4, random_state=1).fit(X, init_labels=labels)
    g2 = GaussianMixture(4, random_state=2).fit(X, init_labels=labels)
    np.testing.assert_array_equal(g1.means_, g2.means_)
    np.testing.assert_array_equal(g1.fit_predict(X, init_labels=labels), g1.predict(X))
    for bad, msg in ((labels[:-1], "init_labels|labels"), (np.where(labels == 0, 4, labels),
                     "labels"), (-np.ones(len(X), dtype=int), "init_labels"),
                     (labels.astype(float), "integers")):
        for est in (GaussianMixture(4), BayesianGaussianMixture(n_components=4)):
            with pytest.raises(ValueError, match=msg):
                est.fit(X, init_labels=bad)
