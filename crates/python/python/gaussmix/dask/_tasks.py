"""What the workers run: one function per chunk (the chunk's statistics under broadcast
parameters, computed by the Rust kernels) and the pairwise merges of their results.

Module-level functions, pickled by reference (the workers import ``gaussmix``).
"""

from __future__ import annotations

import numpy as np

from .. import _core
from ._pieces import _load_piece

_RANDOM_BLOCK_ROWS = 1 << 16


def _task_threads(n_threads):
    return 1 if n_threads is None else int(n_threads)


def _on_piece(fn, path, start, stop, *args):
    return fn(_load_piece(path, start, stop), *args)


def _on_block(fn, block, *args):
    return fn(block, *args)


def _estep(X, params, n_threads):
    return _core.sufficient_statistics(params, X, _task_threads(n_threads))


def _merge_stats(a, b):
    return _core.merge_statistics(a, b)


def _kmeans_step(X, centers, offset, n_threads):
    r = _core.kmeans_partial(centers, X, offset, _task_threads(n_threads))
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


def _take(X, local):
    return np.array(X[local], dtype=np.float64)


def _farthest(X, centers, n, offset, n_threads, start):
    idx, dist, lab = _core.kmeans_farthest(centers, X, n, offset, _task_threads(n_threads))
    return idx + start, dist, lab, np.array(X[idx], dtype=np.float64)


def _merge_farthest(a, b, n):
    idx, dist, lab, rows = (np.concatenate([x, y]) for x, y in zip(a, b))
    order = np.lexsort((idx, -dist))[:n]
    return idx[order], dist[order], lab[order], rows[order]


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


def _init_stats(X, shift, covariance_type, how, payload, n_threads, start):
    """Statistics of a chunk under the initial responsibilities (see ``_initial_stats``)."""
    nt = _task_threads(n_threads)
    rows = X.shape[0]
    kw = {}
    if how == "nearest":
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
    return _core.responsibility_statistics(X, shift, covariance_type, n_threads=nt, **kw)


def _gmm_predict(X, model, what, n_threads):
    f = {
        "predict": _core.gmm_predict,
        "predict_proba": _core.gmm_predict_proba,
        "score_samples": _core.gmm_score_samples,
    }[what]
    return f(model, X, _task_threads(n_threads))


def _km_predict(X, centers, what, n_threads):
    f = {"predict": _core.kmeans_predict, "transform": _core.kmeans_transform}[what]
    return f(centers, X, _task_threads(n_threads))


def _km_inertia(X, centers, n_threads):
    return _core.kmeans_inertia(centers, X, _task_threads(n_threads))


def _add(a, b):
    return a + b

