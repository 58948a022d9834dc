"""float32/float64 row-major arrays reach the engine without a copy; other layouts are
converted (never read as if row-major) and give the same answers."""

import numpy as np
import pytest

from gaussmix import GaussianMixture, KMeans, _core, stats


def data(dtype=np.float64, n=1000, d=3, seed=0):
    rng = np.random.RandomState(seed)
    X = np.concatenate([rng.randn(n // 2, d), rng.randn(n - n // 2, d) * 0.5 + 4])
    return np.ascontiguousarray(X, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_c_contiguous_input_is_not_copied(dtype):
    X = data(dtype)
    assert _core._data_pointer(X) == X.ctypes.data
    gm = GaussianMixture(2, random_state=0)
    gm.fit(X)
    assert _core._last_data_pointer() == X.ctypes.data
    for method in (gm.predict, gm.predict_proba, gm.score_samples, gm.score):
        method(X)
        assert _core._last_data_pointer() == X.ctypes.data, method.__name__
    km = KMeans(2, random_state=0).fit(X)
    assert _core._last_data_pointer() == X.ctypes.data
    for method in (km.predict, km.transform, km.score):
        method(X)
        assert _core._last_data_pointer() == X.ctypes.data, method.__name__
    stats.sufficient_statistics(gm, X)
    assert _core._last_data_pointer() == X.ctypes.data


def test_readonly_and_strided_rows_are_not_copied():
    X = data()
    X.setflags(write=False)
    assert _core._data_pointer(X) == X.ctypes.data
    wide = data(d=5)
    view = wide[:, :3]  # rows of 3 contiguous values, 5 apart
    assert not view.flags.c_contiguous
    assert _core._data_pointer(view) == view.ctypes.data
    gm = GaussianMixture(2, random_state=0).fit(view)
    ref = GaussianMixture(2, random_state=0).fit(np.ascontiguousarray(view))
    np.testing.assert_array_equal(gm.means_, ref.means_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fortran_order_is_converted_and_gives_the_same_answer(dtype):
    X = data(dtype)
    F = np.asfortranarray(X)
    assert F.flags.f_contiguous and not F.flags.c_contiguous
    assert _core._data_pointer(F) != F.ctypes.data
    for covariance_type in ("full", "tied", "diag", "spherical"):
        a = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
        b = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(F)
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(F))
        np.testing.assert_array_equal(a.score_samples(X), a.score_samples(F))
    ka = KMeans(2, random_state=0).fit(X)
    kb = KMeans(2, random_state=0).fit(F)
    np.testing.assert_array_equal(ka.cluster_centers_, kb.cluster_centers_)
    np.testing.assert_array_equal(ka.transform(X), kb.transform(F))


def test_other_layouts_and_types_are_converted():
    X = data()
    gm = GaussianMixture(2, random_state=0).fit(X)
    expected = gm.score_samples(X)
    for other in (
        X[::-1][::-1],  # a view with a negative then positive stride: same data
        X[:, ::-1][:, ::-1],
        X.copy(),
        X.tolist(),
        X.astype(">f8"),  # byte-swapped
    ):
        np.testing.assert_array_equal(gm.score_samples(other), expected)
    # Columns reversed: a negative column stride is copied in logical order.
    R = X[:, ::-1]
    np.testing.assert_array_equal(
        GaussianMixture(2, random_state=0).fit(R).means_,
        GaussianMixture(2, random_state=0).fit(np.ascontiguousarray(R)).means_,
    )
    # Every other row: strided, positive, copied or not, the same.
    np.testing.assert_array_equal(gm.score_samples(X[::2]), expected[::2])
    # Unaligned float64 data is copied.
    buf = np.zeros(X.size * 8 + 1, dtype=np.uint8)
    U = buf[1:].view(np.float64).reshape(X.shape)
    assert not U.flags.aligned
    U[...] = X
    assert _core._data_pointer(U) != U.ctypes.data
    np.testing.assert_array_equal(gm.score_samples(U), expected)
