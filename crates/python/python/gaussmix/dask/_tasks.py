"""What the workers run: one function per chunk (the chunk's statistics under broadcast
parameters, computed by the Rust kernels) and the pairwise merges of their results.

Module-level functions, pickled by reference (the workers import ``gaussmix``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _core
from ._pieces import _load_piece

_RANDOM_BLOCK_ROWS = 1 << 16


def _task_threads(n_threads):
    return 1 if n_threads is None else int(n_threads)


# -- running a function on one part of the data --------------------------------------------
#
# Every task on a chunk goes through ``_on_block`` / ``_on_piece`` with ``where``, the part's
# ``(index, first global row, declared rows, features, who)``: the chunk is checked to be what
# its Dask array declares (a ``from_delayed`` chunk can deliver anything), and a NaN or infinity
# the engine finds is reported by its global row and the estimator method the user called.


def _located(e, start, who):
    """The engine's NonFiniteError as a ValueError with the global row."""
    row = f"row {start + e.row}" if start is not None else f"row {e.row} of its chunk"
    return ValueError(
        f"{who}: the data contains {e.value} at {row}, column {e.col} (0-based, counted over "
        "the whole data); remove or impute non-finite values first"
    )


def _checked(block, where):
    index, start, size, d, who = where
    shape = getattr(block, "shape", None)
    dtype = getattr(block, "dtype", None)
    stop = "?" if start is None or size is None else start + size
    if (
        not isinstance(block, np.ndarray)
        or block.ndim != 2
        or (size is not None and shape[0] != size)
        or shape[1] != d
    ):
        declared = f"({'?' if size is None else size}, {d})"
        raise ValueError(
            f"{who}: chunk {index} (rows {start} to {stop} of the data) delivered "
            f"{type(block).__name__} of shape {shape} where its Dask array declares a chunk of "
            f"shape {declared}; give the Dask array the chunks' true shapes (e.g. "
            "da.from_delayed(..., shape=...)), or chunks of unknown size (NaN) to have them "
            "computed"
        )
    if dtype.kind not in "biuf":
        raise ValueError(
            f"{who}: chunk {index} (rows {start} to {stop} of the data) delivered an array of "
            f"dtype {dtype}, which is not real numbers"
        )
    if dtype not in (np.float32, np.float64):
        block = block.astype(np.float64)
    return block


def _run(fn, X, where, args, sides=None):
    kw = {} if not sides else {k: _side(src, k, where) for k, src in sides.items()}
    try:
        return fn(X, *args, **kw)
    except _core.NonFiniteError as e:
        raise _located(e, where[1], where[4]) from None


def _on_piece(fn, path, start, stop, where, sides, *args):
    return _run(fn, _checked(_load_piece(path, start, stop), where), where, args, sides)


def _on_block(fn, block, where, sides, *args):
    return _run(fn, _checked(block, where), where, args, sides)


# -- per-row side data: sample weights ("w") and initial labels ("labels") ------------------
#
# Each part of the data gets its rows' side values from a source: ("array", values) (a NumPy
# slice shipped with the task), ("block", values) (a Dask array block, aligned with the part),
# or ("files", [(path, start, stop), ...]) (the ``.npy`` segments holding the part's rows,
# memory-mapped where the task runs).

_SIDE_NAMES = {"w": "sample_weight", "labels": "init_labels"}


def _load_side_segments(segments):
    out = []
    for path, a, b in segments:
        v = np.load(path, mmap_mode="r")
        out.append(np.asarray(v[a:b]))
    return np.concatenate(out) if out else np.empty(0)


def _side(src, key, where):
    """The side values of one part, checked: one per row, weights finite and non-negative,
    labels integers >= 0; errors name the global row and the method called."""
    index, start, size, _, who = where
    kind, v = src
    if kind == "files":
        v = _load_side_segments(v)
    v = np.asarray(v)
    name = _SIDE_NAMES[key]
    if v.ndim != 1 or (size is not None and v.shape[0] != size):
        raise ValueError(
            f"{who}: {name} for chunk {index} (rows {start} to "
            f"{'?' if start is None or size is None else start + size}) has shape {v.shape}, "
            f"expected ({size},): one value per row, chunked as the data"
        )
    if key == "w":
        if v.dtype.kind not in "biuf":
            raise ValueError(f"{who}: {name} has dtype {v.dtype}, which is not numbers")
        v = np.ascontiguousarray(v, dtype=np.float64)
        bad = np.flatnonzero(~(np.isfinite(v) & (v >= 0)))
        if bad.size:
            i = int(bad[0])
            row = f"row {start + i}" if start is not None else f"row {i} of its chunk"
            raise ValueError(
                f"{who}: {name} is {v[i]} at {row} (0-based, counted over the whole data); "
                "weights must be finite and non-negative"
            )
        return v
    if v.dtype.kind not in "iu":
        raise ValueError(f"{who}: {name} has dtype {v.dtype}; labels must be integers")
    v = v.astype(np.int64)
    bad = np.flatnonzero(v < 0)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{who}: {name} is {v[i]} at row {start + i if start is not None else i}; labels "
            "must be component indices in [0, n_components)"
        )
    return v


def _on_side(src, where):
    """The weights of a part alone (the data not loaded): ``(total, rows, positive rows)``."""
    w = _side(src, "w", where)
    return float(w.sum()), w.shape[0], int(np.count_nonzero(w))


def _merge_side(a, b):
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _zero(w):
    """Whether a chunk's weights are all zero: it contributes nothing to a statistic."""
    return w is not None and w.size > 0 and not np.any(w)


def _block_where(block_info, d, who):
    """``where`` of a ``map_blocks`` block, from Dask's ``block_info`` (rows unknown for chunks
    of unknown size)."""
    info = (block_info or {}).get(0) or {}
    index = (info.get("chunk-location") or ("?",))[0]
    loc = info.get("array-location")
    start = size = None
    if loc and not any(math.isnan(v) for v in loc[0]):
        a, b = loc[0]
        start, size = int(a), int(b - a)
    return index, start, size, d, who


def _estep(X, params, n_threads, w=None):
    if _zero(w):
        return None
    return _core.sufficient_statistics(params, X, _task_threads(n_threads), w)


def _data_stats(X, shift, covariance_type, n_threads, w=None):
    """The chunk's statistics as one component of ``covariance_type`` centred on ``shift``
    ``(1, d)`` (every responsibility 1): a Bayesian mixture's default priors."""
    if _zero(w):
        return None
    labels = np.zeros(X.shape[0], dtype=np.int64)
    return _core.responsibility_statistics(
        X, shift, covariance_type, labels=labels, n_threads=_task_threads(n_threads),
        sample_weight=w,
    )


def _merge_stats(a, b):
    """Statistics merged in order; ``None`` (a chunk of zero weight) adds nothing."""
    if a is None or b is None:
        return b if a is None else a
    return _core.merge_statistics(a, b)


def _kmeans_step(X, centers, offset, n_threads, w=None):
    r = _core.kmeans_partial(centers, X, offset, _task_threads(n_threads), w)
    r["fingerprint"] = (r["fingerprint"],)
    return r


def _merge_kmeans(a, b):
    return {
        "n_samples": a["n_samples"] + b["n_samples"],
        "counts": a["counts"] + b["counts"],
        "sums": a["sums"] + b["sums"],
        "inertia": a["inertia"] + b["inertia"],
        "fingerprint": a["fingerprint"] + b["fingerprint"],
    }


def _moments(X, n_threads):
    return _core.column_moments(X, _task_threads(n_threads))


def _merge_moments(a, b):
    # Chan et al.'s pairwise update of (count, mean, centred sum of squares).
    na, ma, qa = a
    nb, mb, qb = b
    n = na + nb
    if na == 0 or nb == 0:
        return a if nb == 0 else b
    delta = mb - ma
    return n, ma + delta * (nb / n), qa + qb + delta * delta * (na * nb / n)


def _take(X, local, w=None):
    rows = np.array(X[local], dtype=np.float64)
    return rows, (np.ones(len(local)) if w is None else np.array(w[local]))


def _farthest(X, centers, n, offset, n_threads, start, w=None):
    """The chunk's ``n`` rows farthest from their centres (all rows, weighed or not, as the
    in-memory relocation considers them), with their rows and weights."""
    idx, dist, lab = _core.kmeans_farthest(centers, X, n, offset, _task_threads(n_threads))
    weights = np.ones(len(idx)) if w is None else np.array(w[idx])
    return idx + start, dist, lab, np.array(X[idx], dtype=np.float64), weights


def _merge_farthest(a, b, n):
    idx, dist, lab, rows, w = (np.concatenate([x, y]) for x, y in zip(a, b))
    order = np.lexsort((idx, -dist))[:n]
    return idx[order], dist[order], lab[order], rows[order], w[order]


def _random_resp(start, rows, k, seed):
    out = np.empty((rows, k))
    if rows == 0:
        return out
    B = _RANDOM_BLOCK_ROWS
    for b in range(start // B, (start + rows - 1) // B + 1):
        lo, hi = max(start, b * B), min(start + rows, (b + 1) * B)
        g = np.random.default_rng([seed, b]).random((B, k))
        out[lo - start : hi - start] = g[lo - b * B : hi - b * B]
    out /= out.sum(axis=1, keepdims=True)
    return out


def _init_stats(X, shift, covariance_type, how, payload, n_threads, start, w=None, labels=None):
    """Statistics of a chunk under the initial responsibilities (see ``_initial_stats``)."""
    if _zero(w):
        return None
    nt = _task_threads(n_threads)
    rows = X.shape[0]
    kw = {}
    if how == "labels":
        kw["labels"] = labels
    elif how == "nearest":
        kw["labels"] = _core.kmeans_predict(payload, X, nt)
    elif how == "rows":
        chosen = np.asarray(payload, dtype=np.int64)
        inside = np.flatnonzero((chosen >= start) & (chosen < start + rows))
        if len(np.unique(chosen)) == len(chosen):
            labels = np.full(rows, -1, dtype=np.int64)
            labels[chosen[inside] - start] = inside
            kw["labels"] = labels
        else:  # a row chosen for two components belongs to both, as in the engine
            resp = np.zeros((rows, len(chosen)))
            resp[chosen[inside] - start, inside] = 1.0
            kw["resp"] = resp
    elif how == "random":
        kw["resp"] = _random_resp(start, rows, shift.shape[0], payload)
    else:  # pragma: no cover
        raise ValueError(how)
    return _core.responsibility_statistics(
        X, shift, covariance_type, n_threads=nt, sample_weight=w, **kw
    )


_PREDICT = {
    "predict": (_core.gmm_predict, np.int64),
    "predict_proba": (_core.gmm_predict_proba, np.float64),
    "score_samples": (_core.gmm_score_samples, np.float64),
    "transform": (_core.kmeans_transform, np.float64),
    "km_predict": (_core.kmeans_predict, np.int64),
}


def _predict_block(X, model, what, n_threads, k, d, who, block_info=None):
    """``map_blocks`` task: a prediction of one block (``model`` a mixture's dict or k-means
    centres, ``k`` components, ``d`` features); an empty block gives an empty result without
    asking the engine."""
    where = _block_where(block_info, d, who)
    X = _checked(X, where)
    f, dtype = _PREDICT[what]
    if X.shape[0] == 0:
        shape = (0, k) if what in ("predict_proba", "transform") else (0,)
        return np.empty(shape, dtype=dtype)
    return _run(lambda x: f(model, x, _task_threads(n_threads)), X, where, ())


def _gmm_loglik(X, model, n_threads, w=None):
    """``(sum of the rows' (weighted) log-likelihoods, rows or their total weight)`` of a
    chunk."""
    ll = _core.gmm_score_samples(model, X, _task_threads(n_threads))
    if w is None:
        return float(np.sum(ll)), X.shape[0]
    keep = w != 0
    return float(np.dot(w[keep], ll[keep])), float(np.sum(w))


def _add_pairs(a, b):
    return a[0] + b[0], a[1] + b[1]


def _km_inertia(X, centers, n_threads, w=None):
    if _zero(w):
        return 0.0
    return _core.kmeans_inertia(centers, X, _task_threads(n_threads), w)


def _add(a, b):
    return a + b

