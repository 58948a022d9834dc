"""The command line's JSON model file: ``load_model`` and ``save_model``.

The format (version 1), exactly as ``gaussmix fit -o`` / ``gaussmix kmeans -o`` write it::

    {"format": "gaussmix-model", "version": 1, "kind": "gaussian_mixture",
     "covariance_type": "full", "n_components": K, "n_features": d,
     "weights": [K], "means": [K][d],
     "covariances": full [K][d][d] | tied [d][d] | diag [K][d] | spherical [K],
     "precisions_cholesky": same shapes,
     "converged": bool, "n_iter": int, "lower_bound": float or null (-inf), "lower_bounds": [float]}

    {"format": "gaussmix-model", "version": 1, "kind": "kmeans", "n_clusters": K,
     "n_features": d, "centers": [K][d], "inertia": float, "n_iter": int, "converged": bool}

Floats are written with Python's shortest round-tripping repr, so they read back exactly.
"""

from __future__ import annotations

import json
import math
import os
import tempfile

import numpy as np

FORMAT = "gaussmix-model"
VERSION = 1
#: A model file's weights sum to 1 within this (the command line checks the same).
WEIGHTS_SUM_TOL = 1e-6


def _float(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _nested(a):
    return np.asarray(a, dtype=np.float64).tolist()


def _gmm_json(est):
    from .mixture import check_consistent, covariances_shape

    means = np.asarray(est.means_, dtype=np.float64)
    k, d = means.shape
    t = est.covariance_type
    shape = covariances_shape(t, k, d)
    cov = np.asarray(est.covariances_, dtype=np.float64)
    pc = np.asarray(est.precisions_cholesky_, dtype=np.float64)
    if cov.shape != shape or pc.shape != shape:
        raise ValueError(
            f"covariances_ {cov.shape} / precisions_cholesky_ {pc.shape} do not have the "
            f"shape {shape} of a {t!r} mixture with {k} components and {d} features"
        )
    values = [est.weights_, means, cov, pc, est.lower_bounds_]
    if not all(np.isfinite(np.asarray(v, dtype=np.float64)).all() for v in values):
        raise ValueError("the model contains NaN or infinity; it cannot be written")
    total = float(np.sum(np.asarray(est.weights_, dtype=np.float64)))
    if abs(total - 1.0) > WEIGHTS_SUM_TOL:
        # What load_model (and the command line) would refuse is not written.
        raise ValueError(
            f"the weights sum to {total!r}, not 1, so the model cannot be written: a model "
            "file holds a mixture. An initialisation-only fit (max_iter=0 with "
            "init_params='random_from_data' or 'k-means++') keeps scikit-learn's unnormalised "
            "weights N_k / n; fit with max_iter >= 1, or normalise weights_ first"
        )
    check_consistent(
        {"covariance_type": t, "weights": est.weights_, "means": means, "covariances": cov,
         "precisions_cholesky": pc}
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": "gaussian_mixture",
        "covariance_type": t,
        "n_components": int(k),
        "n_features": int(d),
        "weights": _nested(est.weights_),
        "means": _nested(means),
        "covariances": _nested(cov),
        "precisions_cholesky": _nested(pc),
        "converged": bool(est.converged_),
        "n_iter": int(est.n_iter_),
        "lower_bound": _float(est.lower_bound_),
        "lower_bounds": [float(v) for v in est.lower_bounds_],
    }


def _kmeans_json(est):
    centers = np.asarray(est.cluster_centers_, dtype=np.float64)
    if not np.isfinite(centers).all():
        raise ValueError("the centres contain NaN or infinity; they cannot be written")
    k, d = centers.shape
    converged = getattr(est, "_converged", None)
    if converged is None:  # scikit-learn's KMeans does not record it
        converged = int(est.n_iter_) < int(getattr(est, "max_iter", 300))
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": "kmeans",
        "n_clusters": int(k),
        "n_features": int(d),
        "centers": _nested(centers),
        "inertia": _float(est.inertia_),
        "n_iter": int(est.n_iter_),
        "converged": bool(converged),
    }


def model_json(estimator) -> dict:
    """The model file's JSON object for a fitted estimator (gaussmix's or scikit-learn's
    ``GaussianMixture`` / ``KMeans``)."""
    if hasattr(estimator, "cluster_centers_"):
        return _kmeans_json(estimator)
    if hasattr(estimator, "precisions_cholesky_"):
        return _gmm_json(estimator)
    raise TypeError(
        f"{type(estimator).__name__} is not a fitted GaussianMixture or KMeans"
    )


def save_model(estimator, path) -> None:
    """Write a fitted estimator to ``path`` as the command line's JSON model file.

    Accepts gaussmix's and scikit-learn's fitted ``GaussianMixture`` and ``KMeans``. The file
    is written to a temporary file in the same directory and renamed, so a failed write never
    leaves half a file.
    """
    obj = model_json(estimator)
    text = json.dumps(obj, indent=2, allow_nan=False) + "\n"
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".gaussmix-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _count(obj, key):
    v = obj.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"missing or invalid {key!r} (a positive integer)")
    return v


def _show(v):
    """A JSON value as the file spells it (shortened), for the errors."""
    try:
        text = json.dumps(v)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(x):
    """``x`` as a finite float if it is a JSON number (not a bool), else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    try:
        f = float(x)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def _array(obj, key, shape):
    """``obj[key]``: nested lists of exactly ``shape`` holding finite numbers, as float64."""
    if key not in obj:
        raise ValueError(f"missing {key!r}")
    out = []

    def walk(v, dims):
        if not dims:
            f = _number(v)
            if f is None:
                raise ValueError(f"{key!r} holds {_show(v)}, which is not a finite number")
            out.append(f)
            return
        if not isinstance(v, list):
            raise ValueError(
                f"{key!r} has the wrong shape: expected {tuple(shape)}, found {_show(v)} where a "
                f"list of {dims[0]} was expected"
            )
        if len(v) != dims[0]:
            raise ValueError(
                f"{key!r} has the wrong shape: expected {tuple(shape)}, found a list of "
                f"{len(v)} where {dims[0]} were expected"
            )
        for item in v:
            walk(item, dims[1:])

    walk(obj[key], list(shape))
    return np.asarray(out, dtype=np.float64).reshape(shape)


def _optional_bool(obj, key):
    v = obj.get(key, False)
    if not isinstance(v, bool):
        raise ValueError(f"{key!r} must be true or false, found {_show(v)}")
    return v


def _optional_n_iter(obj):
    from ._base import MAX_COUNT

    v = obj.get("n_iter", 0)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_COUNT:
        raise ValueError(f"'n_iter' must be an integer from 0 to {MAX_COUNT}, found {_show(v)}")
    return v


def _optional_float(obj, key, null):
    """``obj[key]``: a finite number, or ``null`` for JSON null or a missing key."""
    v = obj.get(key)
    if v is None:
        return null
    f = _number(v)
    if f is None:
        raise ValueError(f"{key!r} must be a finite number or null, found {_show(v)}")
    return f


def model_from_json(obj, **estimator_params):
    """A fitted ``gaussmix.GaussianMixture`` or ``gaussmix.KMeans`` from the model file's
    JSON object, checked as the command line checks it."""
    from .cluster import KMeans
    from .mixture import COVARIANCE_TYPES, GaussianMixture, covariances_shape

    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    fmt = obj.get("format")
    if fmt != FORMAT:
        if fmt is None:
            raise ValueError(f'missing "format": {FORMAT!r} (not a gaussmix model file?)')
        raise ValueError(f'"format" is {fmt!r}, expected {FORMAT!r}')
    version = obj.get("version")
    if version != VERSION or isinstance(version, bool):
        raise ValueError(
            f"unsupported version {version!r} (this gaussmix reads version {VERSION})"
        )
    kind = obj.get("kind")
    if kind == "gaussian_mixture":
        t = obj.get("covariance_type")
        if t not in COVARIANCE_TYPES:
            raise ValueError(
                '"covariance_type" must be one of "full", "tied", "diag", "spherical"'
            )
        k = _count(obj, "n_components")
        d = _count(obj, "n_features")
        shape = covariances_shape(t, k, d)
        weights = _array(obj, "weights", (k,))
        total = float(np.sum(weights))
        if abs(total - 1.0) > WEIGHTS_SUM_TOL:
            # A model file holds a fitted mixture: its weights sum to 1 (the CLI checks the same).
            raise ValueError(f'"weights": the weights sum to {total!r}, not 1')
        params = {
            "covariance_type": t,
            "weights": weights,
            "means": _array(obj, "means", (k, d)),
        }
        if "covariances" in obj:
            params["covariances"] = _array(obj, "covariances", shape)
        if "precisions_cholesky" in obj:
            params["precisions_cholesky"] = _array(obj, "precisions_cholesky", shape)
        if "covariances" not in params and "precisions_cholesky" not in params:
            raise ValueError('the file needs "covariances" or "precisions_cholesky"')
        params["converged"] = _optional_bool(obj, "converged")
        params["n_iter"] = _optional_n_iter(obj)
        params["lower_bound"] = _optional_float(obj, "lower_bound", -math.inf)
        lbs = obj.get("lower_bounds", [])
        if not isinstance(lbs, list):
            raise ValueError(f"'lower_bounds' must be a list of numbers, found {_show(lbs)}")
        params["lower_bounds"] = _array({"lower_bounds": lbs}, "lower_bounds", (len(lbs),))
        return GaussianMixture.from_params(params, **estimator_params)
    if kind == "kmeans":
        k = _count(obj, "n_clusters")
        d = _count(obj, "n_features")
        centers = _array(obj, "centers", (k, d))
        return KMeans.from_centers(
            centers,
            inertia=_optional_float(obj, "inertia", math.nan),
            n_iter=_optional_n_iter(obj),
            converged=_optional_bool(obj, "converged"),
            **estimator_params,
        )
    if kind is None:
        raise ValueError('missing "kind"')
    raise ValueError(f'unknown "kind" {kind!r} (expected "gaussian_mixture" or "kmeans")')


def load_model(path, **estimator_params):
    """Read a JSON model file (written by ``gaussmix fit -o``, ``gaussmix kmeans -o`` or
    ``save_model``) as a fitted ``gaussmix.GaussianMixture`` or ``gaussmix.KMeans``.

    ``estimator_params`` (e.g. ``n_threads=4``, ``random_state=0``) are passed to the
    estimator's constructor. Raises ValueError naming the file and the problem.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise OSError(f"cannot read model file {path}: {e.strerror or e}") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"invalid model file {path}: not UTF-8 text (byte {e.start} is {raw[e.start]:#04x}); "
            "a model file is JSON in UTF-8, as gaussmix writes it"
        ) from None
    try:
        obj = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(
            f"invalid model file {path}: its JSON is nested too deeply to be a model file"
        ) from None
    except ValueError as e:  # json.JSONDecodeError, NaN/Infinity, over-long integers
        raise ValueError(f"invalid model file {path}: not valid JSON ({e})") from None
    try:
        return model_from_json(obj, **estimator_params)
    except ValueError as e:
        raise ValueError(f"invalid model file {path}: {e}") from None


def _refuse_constant(name):
    # JSON has no NaN or Infinity; Python's json module would accept them.
    raise ValueError(f"{name} is not a JSON number")
