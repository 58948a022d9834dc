"""load_model / save_model: the command line's JSON model file."""

import json
import math
import subprocess
import warnings

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixture, KMeans, load_model, save_model

from .conftest import dataset, repo_cli

TYPES = ["full", "tied", "diag", "spherical"]


@pytest.mark.parametrize("covariance_type", TYPES)
def test_gmm_round_trip_is_exact(tmp_path, covariance_type):
    X = dataset("stretched")
    gm = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(X)
    path = tmp_path / "model.json"
    save_model(gm, path)
    obj = json.loads(path.read_text())
    assert obj["format"] == "gaussmix-model" and obj["version"] == 1
    assert obj["kind"] == "gaussian_mixture"
    assert obj["covariance_type"] == covariance_type
    assert set(obj) == {
        "format", "version", "kind", "covariance_type", "n_components", "n_features",
        "weights", "means", "covariances", "precisions_cholesky", "converged", "n_iter",
        "lower_bound", "lower_bounds",
    }
    back = load_model(path)
    assert isinstance(back, GaussianMixture)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        np.testing.assert_array_equal(getattr(back, name), getattr(gm, name))
    assert back.lower_bounds_ == gm.lower_bounds_
    assert (back.converged_, back.n_iter_, back.lower_bound_) == (
        gm.converged_, gm.n_iter_, gm.lower_bound_,
    )
    assert back.n_features_in_ == 2 and back.n_components == 4
    np.testing.assert_array_equal(back.predict_proba(X), gm.predict_proba(X))


def test_initialised_only_model_writes_null_lower_bound(tmp_path):
    X = dataset("blobs")
    gm = GaussianMixture(4, max_iter=0, random_state=0).fit(X)
    assert gm.lower_bound_ == -math.inf
    save_model(gm, tmp_path / "m.json")
    obj = json.loads((tmp_path / "m.json").read_text())
    assert obj["lower_bound"] is None and obj["lower_bounds"] == []
    assert load_model(tmp_path / "m.json").lower_bound_ == -math.inf


def test_kmeans_round_trip(tmp_path):
    X = dataset("blobs")
    km = KMeans(4, random_state=0).fit(X)
    save_model(km, tmp_path / "km.json")
    obj = json.loads((tmp_path / "km.json").read_text())
    assert obj["kind"] == "kmeans"
    assert set(obj) == {
        "format", "version", "kind", "n_clusters", "n_features", "centers", "inertia",
        "n_iter", "converged", "precision",
    }
    assert obj["precision"] == "f64"  # float64 data
    back = load_model(tmp_path / "km.json")
    assert isinstance(back, KMeans)
    np.testing.assert_array_equal(back.cluster_centers_, km.cluster_centers_)
    assert back.inertia_ == km.inertia_ and back.n_iter_ == km.n_iter_
    np.testing.assert_array_equal(back.predict(X), km.labels_)


def test_reads_a_file_in_the_cli_layout(tmp_path):
    # As `gaussmix fit -o` writes it (serde_json: keys sorted, pretty-printed).
    text = """{
  "converged": true,
  "covariance_type": "diag",
  "format": "gaussmix-model",
  "kind": "gaussian_mixture",
  "lower_bound": -1.5,
  "lower_bounds": [-3.0, -1.5],
  "means": [[0.0, 0.0], [5.0, 5.0]],
  "covariances": [[1.0, 2.0], [0.5, 0.25]],
  "n_components": 2,
  "n_features": 2,
  "n_iter": 2,
  "precisions_cholesky": [[1.0, 0.7071067811865475], [1.4142135623730951, 2.0]],
  "version": 1,
  "weights": [0.25, 0.75]
}
"""
    (tmp_path / "cli.json").write_text(text)
    gm = load_model(tmp_path / "cli.json", n_threads=1)
    assert gm.covariance_type == "diag" and gm.n_threads == 1
    np.testing.assert_array_equal(gm.covariances_, [[1.0, 2.0], [0.5, 0.25]])
    assert gm.lower_bounds_ == [-3.0, -1.5] and gm.converged_ and gm.n_iter_ == 2
    assert gm.predict(np.array([[0.1, 0.0], [5.0, 4.9]])).tolist() == [0, 1]
    # precisions_cholesky alone is enough.
    obj = json.loads(text)
    del obj["covariances"]
    (tmp_path / "pc.json").write_text(json.dumps(obj))
    np.testing.assert_allclose(load_model(tmp_path / "pc.json").covariances_, gm.covariances_)


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"format": "other"}, "format"),
        ({"version": 9}, "version"),
        ({"kind": "tree"}, "kind"),
        ({"weights": [0.5, 0.6]}, "sum to"),
        ({"means": [[1.0, 2.0]]}, "wrong shape"),
        ({"covariances": [[1.0, -2.0], [0.5, 0.25]], "precisions_cholesky": None}, "not positive"),
        ({"covariance_type": "round"}, "covariance_type"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path, change, needle):
    X = dataset("blobs")
    gm = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    save_model(gm, tmp_path / "m.json")
    obj = json.loads((tmp_path / "m.json").read_text())
    for k, v in change.items():
        if v is None:
            del obj[k]
        else:
            obj[k] = v
    (tmp_path / "bad.json").write_text(json.dumps(obj))
    with pytest.raises(ValueError, match=needle) as e:
        load_model(tmp_path / "bad.json")
    assert "bad.json" in str(e.value)
    (tmp_path / "trunc.json").write_text(json.dumps(obj)[:40])
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model(tmp_path / "trunc.json")


def test_saves_scikit_learn_estimators(tmp_path):
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    X = dataset("blobs")
    sk = SkGaussianMixture(4, covariance_type="tied", random_state=0).fit(X)
    save_model(sk, tmp_path / "sk.json")
    gm = load_model(tmp_path / "sk.json")
    np.testing.assert_allclose(gm.score_samples(X), sk.score_samples(X), rtol=1e-12)
    skm = SkKMeans(4, random_state=0, n_init=1).fit(X)
    save_model(skm, tmp_path / "skm.json")
    np.testing.assert_array_equal(load_model(tmp_path / "skm.json").predict(X), skm.predict(X))


def test_the_command_line_reads_and_writes_the_same_files(tmp_path):
    cli = repo_cli()
    if cli is None:
        pytest.skip("no gaussmix binary built (cargo build --release) and GAUSSMIX_CLI unset")
    X = dataset("blobs")
    np.save(tmp_path / "x.npy", X)
    # CLI -> Python.
    subprocess.run(
        [cli, "fit", str(tmp_path / "x.npy"), "-k", "4", "--seed", "3", "--quiet",
         "-o", str(tmp_path / "cli.json"), "--proba", str(tmp_path / "proba.npy")],
        check=True,
    )
    gm = load_model(tmp_path / "cli.json")
    np.testing.assert_array_equal(gm.predict_proba(X), np.load(tmp_path / "proba.npy"))
    # The same seed from Python: the same model, bit for bit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = GaussianMixture(4, random_state=3).fit(X)
    np.testing.assert_array_equal(ours.means_, gm.means_)
    # Python -> CLI.
    save_model(ours, tmp_path / "py.json")
    subprocess.run(
        [cli, "predict", str(tmp_path / "py.json"), str(tmp_path / "x.npy"),
         "-o", str(tmp_path / "labels.npy")],
        check=True,
    )
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), ours.predict(X))


def test_public_names():
    for name in ("GaussianMixture", "BayesianGaussianMixture", "KMeans", "load_model",
                 "save_model", "stats", "ConvergenceWarning"):
        assert hasattr(gaussmix, name)


def _saved(tmp_path, est):
    save_model(est, tmp_path / "m.json")
    return json.loads((tmp_path / "m.json").read_text())


def _gmm_file(tmp_path):
    return _saved(tmp_path, GaussianMixture(2, covariance_type="diag", random_state=0)
                  .fit(dataset("blobs")))


def _kmeans_file(tmp_path):
    return _saved(tmp_path, KMeans(2, random_state=0).fit(dataset("blobs")))


def _edit(make, **changes):
    def edit(tmp_path):
        obj = make(tmp_path)
        obj.update(changes)
        return json.dumps(obj).encode()
    return edit


def _raw(make, key, text):
    """The file with ``key``'s value written as ``text`` (JSON json.dumps cannot write)."""
    def edit(tmp_path):
        obj = make(tmp_path)
        obj[key] = "@@"
        return json.dumps(obj).replace('"@@"', text).encode()
    return edit


@pytest.mark.parametrize(
    "contents, needle",
    [
        (lambda p: b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (lambda p: json.dumps(_gmm_file(p)).encode("utf-16"), "not UTF-8"),
        (lambda p: bytes(range(256)), "not UTF-8"),
        (lambda p: b"\xef\xbb\xbf" + json.dumps(_gmm_file(p)).encode(), "not valid JSON"),
        (_raw(_gmm_file, "weights", "[NaN, 0.5]"), "NaN"),
        (lambda p: b'{"format": "gaussmix-model", "version": 1, "n": 1' + b"0" * 5000 + b"}",
         "not valid JSON"),
        (_edit(_gmm_file, converged="no"), "converged"),
        (_edit(_gmm_file, n_iter=-1), "n_iter"),
        (_edit(_gmm_file, n_iter=10**30), "n_iter"),
        (_edit(_gmm_file, n_iter=2.5), "n_iter"),
        (_edit(_gmm_file, n_iter=True), "n_iter"),
        (_edit(_gmm_file, lower_bound="high"), "lower_bound"),
        (_edit(_gmm_file, lower_bounds="low"), "lower_bounds"),
        (_edit(_gmm_file, lower_bounds=[1.0, None]), "lower_bounds"),
        (_edit(_gmm_file, weights=["0.5", "0.5"]), "weights"),
        (_edit(_gmm_file, weights=[True, 0.0]), "weights"),
        (_edit(_gmm_file, means=[[1.0, 2.0], [3.0, [4.0]]]), "means"),
        (_raw(_gmm_file, "covariances", "[[1e400, 1.0], [1.0, 1.0]]"), "covariances"),
        (_edit(_kmeans_file, n_iter=None), "n_iter"),
        (_edit(_kmeans_file, converged=1), "converged"),
        (_edit(_kmeans_file, inertia="x"), "inertia"),
        (_edit(_kmeans_file, centers=[[1, 2], [3, "4"]]), "centers"),
    ],
)
def test_malformed_files_are_value_errors_naming_the_file(tmp_path, contents, needle):
    path = tmp_path / "bad file.json"
    path.write_bytes(contents(tmp_path))
    with pytest.raises(ValueError, match=needle) as e:
        load_model(path)
    assert type(e.value) is ValueError
    assert str(path) in str(e.value)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_covariances_must_agree_with_precisions_cholesky(tmp_path, covariance_type):
    X = dataset("stretched")
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    obj = _saved(tmp_path, gm)
    # Written by one fit: they agree (to rounding) and the file loads; so does a file whose
    # covariances are off in the 12th digit.
    close = dict(obj, covariances=(np.asarray(obj["covariances"]) * (1 + 1e-12)).tolist())
    (tmp_path / "close.json").write_text(json.dumps(close))
    assert load_model(tmp_path / "close.json").n_components == 3
    # Covariances four times too large: sample would use them, predict the factors.
    far = dict(obj, covariances=(np.asarray(obj["covariances"]) * 4).tolist())
    (tmp_path / "far.json").write_text(json.dumps(far))
    with pytest.raises(ValueError, match="describe different models") as e:
        load_model(tmp_path / "far.json")
    assert "far.json" in str(e.value)
    with pytest.raises(ValueError, match="describe different models"):
        GaussianMixture.from_params(
            {"covariance_type": covariance_type, "weights": gm.weights_, "means": gm.means_,
             "covariances": gm.covariances_ * 4, "precisions_cholesky": gm.precisions_cholesky_}
        )
    # An estimator edited that way is not written either.
    gm.covariances_ = gm.covariances_ * 4
    with pytest.raises(ValueError, match="describe different models"):
        save_model(gm, tmp_path / "edited.json")
    assert not (tmp_path / "edited.json").exists()


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_what_save_model_writes_load_model_reads(tmp_path, init_params, covariance_type):
    X = dataset("blobs")
    for max_iter in (0, 1, 100):
        gm = GaussianMixture(4, covariance_type=covariance_type, init_params=init_params,
                             max_iter=max_iter, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm.fit(X)
        path = tmp_path / f"m{max_iter}.json"
        try:
            save_model(gm, path)
        except ValueError as e:
            # Only the initialisation-only fits whose weights scikit-learn leaves unnormalised.
            assert max_iter == 0 and init_params in ("k-means++", "random_from_data"), e
            assert "sum to" in str(e) and "max_iter" in str(e)
            assert not path.exists() and not list(tmp_path.glob(".gaussmix-*"))
            continue
        back = load_model(path)
        np.testing.assert_array_equal(back.weights_, gm.weights_)
        np.testing.assert_array_equal(back.predict(X), gm.predict(X))
