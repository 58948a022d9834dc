"""``precision``: float32 input is computed in float32 arithmetic by Lloyd's passes ("auto", as
scikit-learn computes it) or in float64 ("f64"); predictions use the fit's arithmetic, and the
model file keeps it."""

import json

import numpy as np
import pytest

import gaussmix
from gaussmix import KMeans


def _near_tie(n=20, d=3):
    # Rows 1e-10 right of the middle of two centres 2 apart: float64 scores see the right centre
    # as nearer, float32 scores (1 ± 2e-10 rounds to 1) tie, and ties go to the lower index.
    x = np.zeros((n, d), dtype=np.float32)
    x[:, 0] = 1e-10
    centers = np.zeros((2, d))
    centers[0, 0], centers[1, 0] = -1.0, 1.0
    return x, centers


@pytest.mark.parametrize("d", [3, 24])
def test_float32_arithmetic_labels_float32_input(d):
    x, centers = _near_tie(d=d)
    auto = KMeans.from_centers(centers)
    assert (auto.predict(x) == 0).all()
    assert (auto.predict(x.astype(np.float64)) == 1).all()
    assert (KMeans.from_centers(centers, precision="f64").predict(x) == 1).all()


def test_fit_records_its_arithmetic_and_agrees_with_float64():
    rng = np.random.default_rng(0)
    centres = rng.uniform(-20, 20, size=(6, 30))
    x = (centres[rng.integers(0, 6, 3000)] + rng.normal(size=(3000, 30))).astype(np.float32)
    a = KMeans(6, random_state=0).fit(x)
    b = KMeans(6, random_state=0, precision="f64").fit(x)
    c = KMeans(6, random_state=0).fit(x.astype(np.float64))
    assert a._precision == "auto" and b._precision == "f64" and c._precision == "f64"
    np.testing.assert_array_equal(b.labels_, c.labels_)
    np.testing.assert_array_equal(b.cluster_centers_, c.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, c.labels_)
    np.testing.assert_allclose(a.inertia_, c.inertia_, rtol=1e-6)
    np.testing.assert_array_equal(a.predict(x), a.labels_)
    assert "precision" not in a.to_sklearn().get_params()


def test_model_file_keeps_the_precision(tmp_path):
    x, centers = _near_tie()
    for precision, want in [("auto", 0), ("f64", 1)]:
        est = KMeans.from_centers(centers, precision=precision)
        path = tmp_path / f"{precision}.json"
        gaussmix.save_model(est, path)
        assert json.loads(path.read_text())["precision"] == precision
        back = gaussmix.load_model(path)
        assert (back.predict(x) == want).all()
    # Files without the field were fitted in float64.
    obj = json.loads((tmp_path / "auto.json").read_text())
    del obj["precision"]
    (tmp_path / "old.json").write_text(json.dumps(obj))
    assert (gaussmix.load_model(tmp_path / "old.json").predict(x) == 1).all()
    obj["precision"] = "f16"
    (tmp_path / "bad.json").write_text(json.dumps(obj))
    with pytest.raises(ValueError, match="precision"):
        gaussmix.load_model(tmp_path / "bad.json")


def test_bad_precision_is_refused():
    with pytest.raises(ValueError, match="precision"):
        KMeans(2, precision="f16").fit(np.zeros((4, 2)))


def test_float32_mixtures_compute_in_float32_close_to_float64():
    rng = np.random.default_rng(1)
    centres = rng.uniform(-10, 10, size=(4, 12)) + 100.0
    x = centres[rng.integers(0, 4, 4000)] + rng.normal(size=(4000, 12))
    x32 = x.astype(np.float32)
    params = dict(n_components=4, max_iter=20, tol=0.0, random_state=0)
    a = gaussmix.GaussianMixture(**params).fit(x32)
    b = gaussmix.GaussianMixture(precision="f64", **params).fit(x32)
    c = gaussmix.GaussianMixture(**params).fit(x32.astype(np.float64))
    assert a.lower_bound_ != b.lower_bound_
    np.testing.assert_allclose(a.lower_bound_, b.lower_bound_, rtol=1e-6)
    np.testing.assert_allclose(a.means_, b.means_, atol=1e-3)
    assert b.lower_bound_ == c.lower_bound_
    np.testing.assert_array_equal(b.covariances_, c.covariances_)
    # Other covariance types compute in float64 whatever the precision.
    d1 = gaussmix.GaussianMixture(covariance_type="diag", **params).fit(x32)
    d2 = gaussmix.GaussianMixture(covariance_type="diag", **params).fit(x32.astype(np.float64))
    np.testing.assert_array_equal(d1.covariances_, d2.covariances_)
    assert "precision" not in a.to_sklearn().get_params()
    with pytest.raises(ValueError, match="precision"):
        gaussmix.GaussianMixture(precision="f16").fit(x32)
