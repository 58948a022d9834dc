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

    {"format": "gaussmix-model", "version": 1, "kind": "bayesian_gaussian_mixture",
     ... every field of a "gaussian_mixture" file (lower_bound: the evidence lower bound) ...,
     "weight_concentration_prior_type": "dirichlet_process" | "dirichlet_distribution",
     "weight_concentration": process [[K], [K]] | distribution [K],
     "mean_precision": [K], "degrees_of_freedom": [K] (tied: a number),
     "weight_concentration_prior": float, "mean_precision_prior": float,
     "degrees_of_freedom_prior": float, "mean_prior": [d],
     "covariance_prior": full, tied [d][d] | diag [d] | spherical a number}

A Bayesian file's weights must be those its concentrations give (to ``BAYES_WEIGHTS_TOL``).

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
#: A Bayesian model file's weights equal those its weight concentrations give within this
#: (absolute, per component).
BAYES_WEIGHTS_TOL = 1e-9


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


def _bayes_json(est):
    out = _gmm_json(est)
    out["kind"] = "bayesian_gaussian_mixture"
    t = out["covariance_type"]
    prior_type = est.weight_concentration_prior_type
    wc = est.weight_concentration_
    if prior_type == "dirichlet_process":
        wc = [_nested(wc[0]), _nested(wc[1])]
    else:
        wc = _nested(wc)
    dof = est.degrees_of_freedom_
    cp = est.covariance_prior_
    out.update(
        {
            "weight_concentration_prior_type": prior_type,
            "weight_concentration": wc,
            "mean_precision": _nested(est.mean_precision_),
            "degrees_of_freedom": (
                float(np.ravel(dof)[0]) if t == "tied" else _nested(dof)
            ),
            "weight_concentration_prior": float(est.weight_concentration_prior_),
            "mean_precision_prior": float(est.mean_precision_prior_),
            "degrees_of_freedom_prior": float(est.degrees_of_freedom_prior_),
            "mean_prior": _nested(est.mean_prior_),
            "covariance_prior": (
                float(np.ravel(cp)[0]) if t == "spherical" else _nested(cp)
            ),
        }
    )
    # The file must read back: what load_model checks (shapes, the weights the
    # concentrations give, a valid posterior and priors) is checked before writing.
    model_from_json(out)
    return out


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
        # The arithmetic predictions use; scikit-learn's own KMeans computes float32 input in
        # float32, as "auto" does.
        "precision": str(getattr(est, "_precision", None) or getattr(est, "precision", "auto")),
    }


def model_json(estimator) -> dict:
    """The model file's JSON object for a fitted estimator (gaussmix's or scikit-learn's
    ``GaussianMixture`` / ``BayesianGaussianMixture`` / ``KMeans``)."""
    if hasattr(estimator, "cluster_centers_"):
        return _kmeans_json(estimator)
    if hasattr(estimator, "weight_concentration_") and hasattr(
        estimator, "precisions_cholesky_"
    ):
        return _bayes_json(estimator)
    if hasattr(estimator, "precisions_cholesky_"):
        return _gmm_json(estimator)
    raise TypeError(
        f"{type(estimator).__name__} is not a fitted GaussianMixture, "
        "BayesianGaussianMixture or KMeans"
    )


def save_model(estimator, path) -> None:
    """Write a fitted estimator to ``path`` as the command line's JSON model file.

    Accepts gaussmix's and scikit-learn's fitted ``GaussianMixture``,
    ``BayesianGaussianMixture`` and ``KMeans``. The file
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
    """A fitted ``gaussmix.GaussianMixture``, ``gaussmix.BayesianGaussianMixture`` or
    ``gaussmix.KMeans`` from the model file's JSON object, checked as the command line checks
    it."""
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
    if kind in ("gaussian_mixture", "bayesian_gaussian_mixture"):
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
        if kind == "bayesian_gaussian_mixture":
            return _bayes_from_json(obj, params, k, d, t, estimator_params)
        return GaussianMixture.from_params(params, **estimator_params)
    if kind == "kmeans":
        k = _count(obj, "n_clusters")
        d = _count(obj, "n_features")
        centers = _array(obj, "centers", (k, d))
        # Files written before float32 arithmetic existed were fitted in float64.
        precision = obj.get("precision", "f64")
        if precision not in ("auto", "f64"):
            raise ValueError(f"'precision' must be \"auto\" or \"f64\", found {_show(precision)}")
        est = KMeans.from_centers(
            centers,
            inertia=_optional_float(obj, "inertia", math.nan),
            n_iter=_optional_n_iter(obj),
            converged=_optional_bool(obj, "converged"),
            **estimator_params,
        )
        est._precision = precision
        return est
    if kind is None:
        raise ValueError('missing "kind"')
    raise ValueError(
        f'unknown "kind" {kind!r} (expected "gaussian_mixture", '
        '"bayesian_gaussian_mixture" or "kmeans")'
    )


def _positive_number(obj, key):
    v = obj.get(key)
    f = _number(v)
    if f is None or f <= 0:
        raise ValueError(f"{key!r} must be a positive number, found {_show(v)}")
    return f


def _bayes_from_json(obj, params, k, d, t, estimator_params):
    """The Bayesian fields of a "bayesian_gaussian_mixture" file, checked, and the estimator."""
    from ._bayesian import PRIOR_TYPES, BayesianGaussianMixture
    from .mixture import GaussianMixture

    prior_type = obj.get("weight_concentration_prior_type")
    if prior_type not in PRIOR_TYPES:
        raise ValueError(
            '"weight_concentration_prior_type" must be "dirichlet_process" or '
            f'"dirichlet_distribution", found {_show(prior_type)}'
        )
    if prior_type == "dirichlet_process":
        wc = _array(obj, "weight_concentration", (2, k))
        wc = (wc[0].copy(), wc[1].copy())
    else:
        wc = _array(obj, "weight_concentration", (k,))
    if t == "tied":
        dof = obj.get("degrees_of_freedom")
        if _number(dof) is None:
            raise ValueError(
                f"'degrees_of_freedom' of a tied model must be a number, found {_show(dof)}"
            )
        dof = float(dof)
    else:
        dof = _array(obj, "degrees_of_freedom", (k,))
    if t == "spherical":
        cp = obj.get("covariance_prior")
        if _number(cp) is None:
            raise ValueError(
                "'covariance_prior' of a spherical model must be a number, found "
                f"{_show(cp)}"
            )
        cp = float(cp)
    else:
        cp = _array(obj, "covariance_prior", (d, d) if t in ("full", "tied") else (d,))
    bayes = {
        "covariance_type": t,
        "weight_concentration_prior_type": prior_type,
        "means": params["means"],
        "weight_concentration": wc,
        "mean_precision": _array(obj, "mean_precision", (k,)),
        "degrees_of_freedom": dof,
        "weight_concentration_prior": _positive_number(obj, "weight_concentration_prior"),
        "mean_precision_prior": _positive_number(obj, "mean_precision_prior"),
        "degrees_of_freedom_prior": _positive_number(obj, "degrees_of_freedom_prior"),
        "mean_prior": _array(obj, "mean_prior", (d,)),
        "covariance_prior": cp,
        "converged": params["converged"],
        "n_iter": params["n_iter"],
        "lower_bound": params["lower_bound"],
        "lower_bounds": params["lower_bounds"],
    }
    if "covariances" in params:
        bayes["covariances"] = params["covariances"]
        if "precisions_cholesky" in params:
            bayes["precisions_cholesky"] = params["precisions_cholesky"]
    else:
        # Only the precision Cholesky factors: the covariances they give.
        bayes["covariances"] = GaussianMixture.from_params(params).covariances_
        bayes["precisions_cholesky"] = params["precisions_cholesky"]
    est = BayesianGaussianMixture.from_params(bayes, **estimator_params)
    derived = np.asarray(est.weights_)
    err = np.abs(derived - params["weights"])
    if not np.all(err <= BAYES_WEIGHTS_TOL):
        c = int(np.argmax(err))
        raise ValueError(
            f'"weights" differ from those "weight_concentration" gives (component {c}: '
            f"{params['weights'][c]!r} in the file, {derived[c]!r} from the concentrations, "
            f"more than {BAYES_WEIGHTS_TOL:g} apart); keep both from one fitted model"
        )
    # The weights are the derived ones (as the command line's model has them), equal to the
    # file's to rounding.
    return est


def load_model(path, **estimator_params):
    """Read a JSON model file (written by ``gaussmix fit -o``, ``gaussmix kmeans -o`` or
    ``save_model``) as a fitted ``gaussmix.GaussianMixture``,
    ``gaussmix.BayesianGaussianMixture`` or ``gaussmix.KMeans``.

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
