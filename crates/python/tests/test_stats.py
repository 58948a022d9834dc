"""The sufficient-statistics API: E-step on chunks, merge, M-step == one EM iteration."""

import pickle
import warnings

import numpy as np
import pytest

from gaussmix import GaussianMixture, _core, stats

from .conftest import dataset

TYPES = ["full", "tied", "diag", "spherical"]


def fitted(X, covariance_type, max_iter):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianMixture(
            4, covariance_type=covariance_type, max_iter=max_iter, tol=0.0,
            init_params="kmeans", random_state=1,
        ).fit(X)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_chunks_merge_and_m_step_make_one_em_iteration(covariance_type):
    X = dataset("stretched")
    m0 = fitted(X, covariance_type, 0)  # initialised only
    m1 = fitted(X, covariance_type, 1)  # one iteration from the same start
    chunks = np.array_split(X, 5)
    parts = [stats.sufficient_statistics(m0, c) for c in chunks]
    # Plain dicts of NumPy arrays and scalars: they pickle (ship to Dask workers).
    parts = [pickle.loads(pickle.dumps(p)) for p in parts]
    for p in parts:
        assert all(isinstance(v, (np.ndarray, int, float, str)) for v in p.values())
    total = stats.merge_statistics(*parts)
    assert total["n_samples"] == len(X)
    params = stats.m_step(total, reg_covar=1e-6)
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        np.testing.assert_allclose(
            params[name], getattr(m1, name + "_"), rtol=1e-10, atol=1e-12, err_msg=name
        )
    np.testing.assert_allclose(params["lower_bound"], m1.lower_bounds_[0], rtol=1e-12)
    np.testing.assert_allclose(stats.lower_bound(total), m1.lower_bounds_[0], rtol=1e-12)
    # The whole data in one piece gives the same, and a fitted estimator from the result predicts.
    whole = stats.sufficient_statistics(stats.params_of(m0), X)
    np.testing.assert_allclose(whole["nk"], total["nk"], rtol=1e-12)
    est = GaussianMixture.from_params(params)
    np.testing.assert_array_equal(est.predict(X), m1.predict(X))


def test_em_loop_from_statistics_matches_fit():
    X = dataset("blobs")
    chunks = np.array_split(X, 3)
    params = stats.params_of(fitted(X, "full", 0))
    lower_bounds = []
    for _ in range(10):
        total = stats.merge_statistics(*[stats.sufficient_statistics(params, c) for c in chunks])
        params = stats.m_step(total)
        lower_bounds.append(params["lower_bound"])
    ref = fitted(X, "full", 10)
    np.testing.assert_allclose(lower_bounds, ref.lower_bounds_, rtol=1e-9)
    np.testing.assert_allclose(params["means"], ref.means_, rtol=1e-8)


def test_statistics_layout():
    X = dataset("blobs32")
    for t in TYPES:
        m = fitted(X[:200], t, 0)
        s = stats.sufficient_statistics(m, X[:200])
        K, d = 4, 32
        assert s["format"] == "gaussmix-sufficient-statistics" and s["version"] == 1
        assert s["covariance_type"] == t
        assert (s["n_components"], s["n_features"], s["n_samples"]) == (K, d, 200)
        assert s["shift"].shape == (K, d) and s["center"].shape == (d,)
        assert s["nk"].shape == (K,) and s["s1"].shape == (K, d)
        assert s["s2"].shape == {"full": (K, d, d), "tied": (d, d)}.get(t, (K, d))
        assert s["t1"].shape == ((d,) if t == "tied" else (0,))
        np.testing.assert_allclose(s["nk"].sum(), 200)
        # float32 chunks give the same statistics to float32 precision.
        s32 = stats.sufficient_statistics(m, X[:200].astype(np.float32))
        np.testing.assert_allclose(s32["nk"], s["nk"], rtol=1e-4, atol=1e-6)


def test_merging_refuses_statistics_of_different_models():
    X = dataset("blobs")
    a = stats.sufficient_statistics(fitted(X, "diag", 0), X)
    b = stats.sufficient_statistics(fitted(X, "diag", 1), X)
    with pytest.raises(ValueError, match="different models"):
        stats.merge_statistics(a, b)
    c = stats.sufficient_statistics(fitted(X, "full", 0), X)
    with pytest.raises(ValueError, match="shape mismatch"):
        stats.merge_statistics(a, c)
    bad = dict(a, nk=np.zeros(3))
    with pytest.raises(ValueError, match="nk"):
        _core.m_step(bad, 1e-6)
    with pytest.raises(ValueError, match="reg_covar"):
        stats.m_step(a, reg_covar=-1.0)
