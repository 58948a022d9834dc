"""Parameters, errors, warnings, random_state, threads, verbose, and life without scikit-learn."""

import pathlib
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

import gaussmix
from gaussmix import ConvergenceWarning, GaussianMixture, KMeans, _core

from .conftest import dataset


def test_fitted_attributes_have_sklearns_types_and_shapes():
    X = dataset("blobs")
    for t, shape in [("full", (4, 2, 2)), ("tied", (2, 2)), ("diag", (4, 2)), ("spherical", (4,))]:
        gm = GaussianMixture(4, covariance_type=t, random_state=0).fit(X)
        assert gm.weights_.shape == (4,) and gm.means_.shape == (4, 2)
        for name in ("covariances_", "precisions_", "precisions_cholesky_"):
            assert getattr(gm, name).shape == shape and getattr(gm, name).dtype == np.float64
        assert isinstance(gm.converged_, bool) and isinstance(gm.n_iter_, int)
        assert isinstance(gm.lower_bound_, float) and len(gm.lower_bounds_) == gm.n_iter_
        assert gm.n_features_in_ == 2
        assert gm.predict(X).dtype == np.int64
        assert gm.predict_proba(X).shape == (400, 4)
        assert isinstance(gm.score(X), float)
        np.testing.assert_array_equal(gm.fit_predict(X), gm.predict(X))
    km = KMeans(4, random_state=0).fit(X)
    assert km.cluster_centers_.shape == (4, 2) and km.labels_.dtype == np.int64
    assert isinstance(km.inertia_, float) and km.n_iter_ >= 1
    assert km.transform(X).shape == (400, 4)
    np.testing.assert_allclose(-km.score(X), km.inertia_, rtol=1e-12)
    np.testing.assert_array_equal(km.fit_predict(X), km.labels_)


def test_random_state():
    X = dataset("moons")
    a = GaussianMixture(6, random_state=7).fit(X)
    b = GaussianMixture(6, random_state=np.int64(7)).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)
    # A RandomState: seeded by one draw from it, as scikit-learn would use it.
    c = GaussianMixture(6, random_state=np.random.RandomState(1)).fit(X)
    d = GaussianMixture(6, random_state=np.random.RandomState(1)).fit(X)
    np.testing.assert_array_equal(c.means_, d.means_)
    # None: numpy's global generator.
    np.random.seed(5)
    e = GaussianMixture(6, init_params="random").fit(X)
    np.random.seed(5)
    f = GaussianMixture(6, init_params="random").fit(X)
    np.testing.assert_array_equal(e.means_, f.means_)
    with pytest.raises(ValueError):
        GaussianMixture(2, random_state="seven").fit(X)
    # sample: the same draws for an int random_state.
    np.testing.assert_array_equal(a.sample(10)[0], a.sample(10)[0])
    with pytest.raises(ValueError, match="at least one sample"):
        a.sample(0)


def test_results_do_not_depend_on_n_threads():
    X = dataset("blobs32")
    fits = [GaussianMixture(5, random_state=0, n_threads=n).fit(X) for n in (None, 1, 2, 3)]
    for f in fits[1:]:
        np.testing.assert_array_equal(f.means_, fits[0].means_)
        np.testing.assert_array_equal(f.predict_proba(X), fits[0].predict_proba(X))
    with pytest.raises(ValueError, match="n_threads"):
        GaussianMixture(2, n_threads=0).fit(X)


def test_convergence_warning():
    X = dataset("blobs")
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        GaussianMixture(4, max_iter=2, tol=0.0, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianMixture(4, max_iter=0, random_state=0).fit(X)  # initialisation only: no warning
    if gaussmix.HAVE_SKLEARN:
        from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning

        assert ConvergenceWarning is SkConvergenceWarning


def test_errors_are_value_errors_with_the_engines_message():
    X = dataset("blobs")
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(X[:4])
    with pytest.raises(ValueError, match="NaN|nan"):
        GaussianMixture(2).fit(np.where(np.arange(800).reshape(400, 2) == 7, np.nan, X))
    with pytest.raises(ValueError, match="features"):
        GaussianMixture(2, random_state=0).fit(X).predict(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="normalized"):
        GaussianMixture(2, weights_init=[0.5, 0.6]).fit(X)
    with pytest.raises(ValueError, match="shape"):
        GaussianMixture(2, means_init=np.zeros((3, 2))).fit(X)
    with pytest.raises(ValueError, match="positive"):
        GaussianMixture(2, covariance_type="diag", precisions_init=-np.ones((2, 2))).fit(X)
    # Duplicated points: scikit-learn's ill-defined covariance message; "reseed" goes on.
    Xd = np.repeat(X[:3], 20, axis=0) + np.repeat(np.eye(3, 2) * 1e-9, 20, axis=0)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(5, reg_covar=0.0, init_params="random_from_data", random_state=0).fit(Xd)
    with pytest.raises(ValueError, match="n_samples=2 should be >= n_clusters=3"):
        KMeans(3).fit(X[:2])
    with pytest.raises(ValueError, match="does not match the number of clusters"):
        KMeans(3, init=np.zeros((2, 2))).fit(X)
    with pytest.raises(ValueError):
        _core.gmm_fit(X, n_components=2, covariance_type="round")


def test_on_degenerate_reseed():
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.randn(200, 2), np.zeros((5, 2)) + 10])
    means = np.array([[0.0, 0.0], [10.0, 10.0], [10.0, 10.0]])
    kw = dict(n_components=3, means_init=means, weights_init=[0.9, 0.05, 0.05],
              precisions_init=np.repeat(np.eye(2)[None], 3, axis=0), reg_covar=0.0,
              tol=0.0, max_iter=5, random_state=0)
    with pytest.raises(ValueError, match="ill-defined"):
        GaussianMixture(**kw).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(on_degenerate="reseed", **kw).fit(X)
    assert gm.reseeds_ and all(len(r) == 3 for r in gm.reseeds_)
    assert np.isfinite(gm.score(X))


def test_warm_start_continues():
    X = dataset("stretched")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(4, warm_start=True, max_iter=3, tol=0.0, random_state=0)
        gm.fit(X)
        gm.fit(X)
        ref = GaussianMixture(4, max_iter=6, tol=0.0, random_state=0).fit(X)
    np.testing.assert_allclose(gm.means_, ref.means_, rtol=1e-12)
    np.testing.assert_allclose(gm.lower_bounds_, ref.lower_bounds_[3:], rtol=1e-12)


def test_kmeans_init_options():
    X = dataset("blobs")
    centers = X[[0, 100, 200, 300]]
    with pytest.warns(RuntimeWarning, match="only one init"):
        KMeans(4, init=centers, n_init=3).fit(X)
    calls = []

    def init(X, k, random_state):
        calls.append(k)
        return X[random_state.choice(len(X), k, replace=False)]

    km = KMeans(4, init=init, n_init=3, random_state=0).fit(X)
    assert calls == [4, 4, 4] and km.cluster_centers_.shape == (4, 2)
    a = KMeans(4, init="random", random_state=0).fit(X)
    b = KMeans(4, init="random", n_init=10, random_state=0).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    elkan = KMeans(4, algorithm="elkan", random_state=0).fit(X)
    np.testing.assert_array_equal(elkan.labels_, KMeans(4, random_state=0).fit(X).labels_)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        KMeans(3, random_state=0).fit(np.repeat(X[:2], 5, axis=0))


def test_pickle_and_verbose(capsys):
    X = dataset("blobs")
    gm = GaussianMixture(4, random_state=0, verbose=2, verbose_interval=1).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Initialization converged." in out
    gm2 = pickle.loads(pickle.dumps(gm))
    np.testing.assert_array_equal(gm2.predict_proba(X), gm.predict_proba(X))


def test_works_without_scikit_learn():
    """With scikit-learn hidden, the estimators still fit, predict, validate and warn."""
    code = r"""
import sys, warnings
sys.modules["sklearn"] = None  # import sklearn -> ImportError
import numpy as np
import gaussmix
assert not gaussmix.HAVE_SKLEARN
from gaussmix import GaussianMixture, KMeans, ConvergenceWarning
assert issubclass(ConvergenceWarning, UserWarning)
rng = np.random.RandomState(0)
X = np.concatenate([rng.randn(100, 2), rng.randn(100, 2) + 6])
gm = GaussianMixture(2, random_state=0).fit(X)
assert gm.predict(X).shape == (200,) and gm.n_features_in_ == 2
assert "n_components=2" in repr(gm) and gm.get_params()["n_threads"] is None
gm.set_params(n_threads=1)
assert gm.fit_predict(X).shape == (200,)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    GaussianMixture(2, max_iter=1, tol=0, random_state=0).fit(X)
assert any(issubclass(x.category, ConvergenceWarning) for x in w)
for bad in (dict(n_components=0), dict(covariance_type="round"), dict(tol=-1)):
    try:
        GaussianMixture(**bad).fit(X)
    except ValueError:
        pass
    else:
        raise AssertionError(bad)
try:
    gm.predict(np.zeros((2, 3)))
except ValueError as e:
    assert "features" in str(e)
try:
    GaussianMixture(2).predict(X)
except gaussmix._compat.NotFittedError:
    pass
km = KMeans(2, random_state=0).fit(X)
assert km.transform(X).shape == (200, 2) and km.fit_transform(X).shape == (200, 2)
assert list(km.get_feature_names_out()) == ["kmeans0", "kmeans1"]
try:
    gm.to_sklearn()
except ImportError:
    pass
# Sample weights and the Bayesian mixture, with the stand-ins' checks and messages.
from gaussmix import BayesianGaussianMixture
w = rng.randint(0, 3, size=200)
a = GaussianMixture(2, random_state=0).fit(X, sample_weight=w)
b = BayesianGaussianMixture(n_components=3, random_state=0).fit(X, sample_weight=w)
assert b.weights_.shape == (3,) and isinstance(b.weight_concentration_, tuple)
assert np.isfinite(KMeans(2, random_state=0).fit(X, sample_weight=w).score(X, sample_weight=w))
for sw, msg in ((np.zeros(200), "non-zero"), (-np.ones(200), "Negative"),
                (np.ones(3), "shape"), (np.r_[np.nan, np.ones(199)], "NaN")):
    for est in (GaussianMixture(2), BayesianGaussianMixture(n_components=2), KMeans(2)):
        try:
            est.fit(X, sample_weight=sw)
        except ValueError as e:
            assert msg in str(e), (msg, str(e))
        else:
            raise AssertionError(msg)
for bad in (dict(weight_concentration_prior=0.0), dict(weight_concentration_prior_type="x")):
    try:
        BayesianGaussianMixture(**bad).fit(X)
    except ValueError:
        pass
    else:
        raise AssertionError(bad)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=pathlib.Path(__file__).parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
