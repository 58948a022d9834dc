"""The lesson's code (Python Data Science Handbook, "In Depth: Gaussian Mixture Models"), with
only the import line changed, runs and gives scikit-learn's numbers.

The plotting is left out; everything the plots are drawn from is computed. The k-means
initialisation of the mixtures draws different random numbers in the two libraries, and on
these data k-means has more than one outcome (the two touching blobs split in two ways), each
leading EM, stopped by ``tol``, to slightly different parameters: scikit-learn itself prints
one of two sets of rows for ``GaussianMixture(n_components=4)`` depending on its random state.
So each of gaussmix's fits is compared with scikit-learn's fit from the same k-means outcome:
scikit-learn is run with several random states, one of its results must have gaussmix's means
up to a permutation of the components (to 1e-8: the same k-means outcome), and then every
fitted attribute, the labels and the printed rows agree with that result (rtol 1e-5).
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.datasets import make_blobs, make_moons  # noqa: E402


def lesson(cluster, mixture):
    """The lesson's computations, with KMeans and GaussianMixture from the given modules."""
    KMeans = cluster.KMeans
    GaussianMixture = mixture.GaussianMixture
    out = {}
    X, y_true = make_blobs(n_samples=400, centers=4, cluster_std=0.60, random_state=0)
    X = X[:, ::-1]  # flip axes for better plotting
    out["X"] = X

    kmeans = KMeans(4, random_state=0)
    labels = kmeans.fit(X).predict(X)
    out["kmeans"] = (kmeans, labels)

    gmm = GaussianMixture(n_components=4).fit(X)
    labels = gmm.predict(X)
    probs = gmm.predict_proba(X)
    print(probs[:5].round(3))
    size = 50 * probs.max(1) ** 2  # square emphasizes differences
    out["gmm"] = (gmm, labels, probs, size)

    gmm = GaussianMixture(n_components=4, covariance_type="full", random_state=42)
    out["gmm42"] = (gmm, gmm.fit(X).predict(X))

    rng = np.random.RandomState(13)
    X_stretched = np.dot(X, rng.randn(2, 2))
    out["X_stretched"] = X_stretched
    gmm = GaussianMixture(n_components=4, covariance_type="full", random_state=42)
    out["stretched"] = (gmm, gmm.fit(X_stretched).predict(X_stretched))

    Xmoon, ymoon = make_moons(200, noise=0.05, random_state=0)
    out["Xmoon"] = Xmoon
    gmm2 = GaussianMixture(n_components=2, covariance_type="full", random_state=0)
    out["moon2"] = (gmm2, gmm2.fit(Xmoon).predict(Xmoon))

    gmm16 = GaussianMixture(n_components=16, covariance_type="full", random_state=0)
    gmm16.fit(Xmoon)
    Xnew, Ynew = gmm16.sample(400)
    out["sample"] = (Xnew, Ynew)

    n_components = np.arange(1, 21)
    models = [
        GaussianMixture(n, covariance_type="full", random_state=0).fit(Xmoon)
        for n in n_components
    ]
    out["bic"] = [m.bic(Xmoon) for m in models]
    out["aic"] = [m.aic(Xmoon) for m in models]
    return out


def permutation(ours, theirs, rtol=1e-5):
    """p with ours[p] == theirs (rows, to rtol), or None."""
    d = ((theirs[:, None, :] - ours[None, :, :]) ** 2).sum(-1)
    p = d.argmin(1)
    if sorted(p) != list(range(len(theirs))):
        return None
    if not np.allclose(ours[p], theirs, rtol=rtol, atol=rtol * np.abs(theirs).max()):
        return None
    return p


def same_fit(ours, X, **params):
    """scikit-learn's fit from the same k-means outcome as ours, and the permutation."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    for seed in range(30):
        theirs = SkGaussianMixture(random_state=seed, **params).fit(X)
        p = permutation(ours.means_, theirs.means_, rtol=1e-8)
        if p is not None:
            return theirs, p
    raise AssertionError("no scikit-learn fit reaches gaussmix's result")


def check_same(ours, theirs, p, X):
    rtol = 1e-5
    np.testing.assert_allclose(ours.weights_[p], theirs.weights_, rtol=rtol)
    np.testing.assert_allclose(ours.means_[p], theirs.means_, rtol=rtol)
    np.testing.assert_allclose(
        ours.covariances_[p], theirs.covariances_, rtol=rtol,
        atol=rtol * np.abs(theirs.covariances_).max(),
    )
    assert ours.n_iter_ == theirs.n_iter_ and ours.converged_ == theirs.converged_
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=rtol)
    np.testing.assert_array_equal(np.argsort(p)[ours.predict(X)], theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X)[:, p], theirs.predict_proba(X), atol=rtol)


def test_the_lesson_with_only_the_import_changed(capsys):
    import sklearn.cluster
    import sklearn.mixture

    import gaussmix

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.random.seed(0)  # the lesson's first mixture has random_state=None
        theirs = lesson(sklearn.cluster, sklearn.mixture)
        printed_theirs = capsys.readouterr().out
        np.random.seed(0)
        ours = lesson(gaussmix, gaussmix)
        printed_ours = capsys.readouterr().out
    X = ours["X"]

    # KMeans(4, random_state=0): the same clusters and centres (labels up to a renumbering).
    (km, labels), (skm, sk_labels) = ours["kmeans"], theirs["kmeans"]
    p = permutation(km.cluster_centers_, skm.cluster_centers_, rtol=1e-10)
    assert p is not None
    np.testing.assert_array_equal(np.argsort(p)[labels], sk_labels)
    np.testing.assert_allclose(km.inertia_, skm.inertia_, rtol=1e-10)

    # GaussianMixture(n_components=4).fit(X); print(probs[:5].round(3)): the same rows.
    gmm, labels, probs, size = ours["gmm"]
    sk, p = same_fit(gmm, X, n_components=4)
    check_same(gmm, sk, p, X)
    sk_probs = sk.predict_proba(X)
    np.testing.assert_array_equal(probs[:5, p].round(3), sk_probs[:5].round(3))
    np.testing.assert_allclose(size, 50 * sk_probs.max(1) ** 2, rtol=1e-5)
    # The printout has scikit-learn's layout (rows and columns, 3 decimals).
    assert printed_ours.count("\n") == printed_theirs.count("\n") == 5
    rows_ours = np.array(
        [[float(v) for v in line.strip(" []").split()] for line in printed_ours.splitlines()]
    )
    np.testing.assert_array_equal(rows_ours[:, p], sk_probs[:5].round(3))

    # random_state=42 on the blobs and on the stretched blobs, two moons with 2 components.
    for key, data, k in [("gmm42", X, 4), ("stretched", ours["X_stretched"], 4),
                         ("moon2", ours["Xmoon"], 2)]:
        gmm, labels = ours[key]
        sk, p = same_fit(gmm, data, n_components=k, covariance_type="full")
        check_same(gmm, sk, p, data)
        np.testing.assert_array_equal(labels, gmm.predict(data))

    # Sixteen components: sampling has scikit-learn's shapes and grouping.
    Xnew, Ynew = ours["sample"]
    assert Xnew.shape == (400, 2) and Ynew.shape == (400,)
    assert Ynew.dtype == theirs["sample"][1].dtype
    assert np.all(np.diff(Ynew) >= 0)  # grouped by component, as scikit-learn's

    # The BIC / AIC curves: the same numbers where both reach the same optimum (1 and 2
    # components); the same shape (and finite) for the rest.
    np.testing.assert_allclose(ours["bic"][:2], theirs["bic"][:2], rtol=1e-5)
    np.testing.assert_allclose(ours["aic"][:2], theirs["aic"][:2], rtol=1e-5)
    assert len(ours["bic"]) == 20 and np.all(np.isfinite(ours["bic"]))
    np.testing.assert_allclose(ours["bic"], theirs["bic"], rtol=0.1)
