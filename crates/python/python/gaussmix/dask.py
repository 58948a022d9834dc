"""``gaussmix.dask``: Gaussian mixtures and k-means fitted on a Dask cluster.

``GaussianMixture`` and ``KMeans`` take the parameters of the in-memory estimators
(``gaussmix.GaussianMixture``, ``gaussmix.KMeans``) and fit data that live on the workers:

- a row-chunked ``dask.array`` (column chunks are merged), or
- a list of ``.npy`` file pieces: a path (the whole file, split into the fewest pieces of at
  most ``PIECE_BYTES``, of equal sizes), or ``(path, (start, stop))`` /
  ``(path, range(start, stop))`` (those rows, one task).
  Each task receives only the path and the row range and memory-maps the file itself
  (``np.load(path, mmap_mode="r")``): no array and no memmap goes through the scheduler.

Each EM (or Lloyd) iteration is one Dask graph: the current parameters are one node of it
(computed once, fetched by each worker that needs it: the broadcast), every chunk's partial
statistics are computed on the workers by the Rust kernel (``gaussmix.stats`` for the mixture,
centred on the broadcast means; per-cluster sums and counts for k-means), merged pairwise in a
fixed tree by chunk index (so the result does not depend on which worker finishes first), and
the merged statistics come back to the client, where the M-step runs. Nothing is kept on the
workers between iterations: a worker that dies is replaced and Dask recomputes its tasks from
the graph, with the same result.

The fitted estimator is an ordinary in-memory one as well (``model_``): ``predict``,
``predict_proba``, ``score_samples`` and ``transform`` take NumPy arrays (computed locally) or
Dask arrays (computed chunk-wise on the workers, returned as Dask arrays).

Tasks run with ``n_threads`` threads each (default 1: Dask's parallelism is across tasks, as
its nannies set ``OMP_NUM_THREADS=1``); the client's own work (k-means on the initialisation
sample, predictions on NumPy arrays) uses ``n_threads`` (default: every core).

Progress is logged per iteration on the logger ``"gaussmix.dask"`` (level INFO: iteration,
lower bound or inertia, change, seconds) and printed with ``verbose``.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
import warnings
from numbers import Integral

import numpy as np

try:
    import dask
    import dask.array as da
    from dask import delayed
except ImportError as e:  # pragma: no cover - exercised without dask
    raise ImportError(
        "gaussmix.dask needs Dask: pip install 'gaussmix[dask]' "
        "(dask[array] and distributed)"
    ) from e

from . import _core
from ._base import float_array, validate_params
from ._compat import HAVE_SKLEARN, ConvergenceWarning, Interval, check_random_state, seed_from
from .cluster import KMeans as _KMeans
from .mixture import GaussianMixture as _GaussianMixture
from .mixture import covariances_shape

__all__ = ["GaussianMixture", "KMeans", "from_npy", "npy_pieces", "INIT_SAMPLE_ROWS", "PIECE_BYTES"]

logger = logging.getLogger("gaussmix.dask")

#: Default number of rows gathered to the client for the k-means / k-means++ initialisations.
INIT_SAMPLE_ROWS = 100_000
#: A whole ``.npy`` file given as a path is read in pieces of at most this many bytes.
PIECE_BYTES = 128 * 2**20
_EPS10 = 10.0 * np.finfo(np.float64).eps
# Rows per block of the "random" initial responsibilities (a stream per global block, so the
# responsibilities do not depend on the chunking).
_RANDOM_BLOCK_ROWS = 1 << 16


# -- tasks (run on the workers; module-level functions, pickled by reference) ----------------


def _task_threads(n_threads):
    return 1 if n_threads is None else int(n_threads)


def _rows_of(X, start, stop, path="the file"):
    if X.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array (n_samples, n_features), got {X.ndim}-D")
    if not (0 <= start <= stop <= X.shape[0]):
        raise ValueError(f"{path}: rows {start}:{stop} are not within its {X.shape[0]} rows")
    chunk = X[start:stop]
    if chunk.dtype not in (np.float32, np.float64):
        chunk = np.asarray(chunk, dtype=np.float64)
    return chunk


def _load_piece(path, start, stop):
    """Rows ``start:stop`` of a ``.npy`` file, memory-mapped (read lazily, where it runs)."""
    return np.asarray(_rows_of(np.load(path, mmap_mode="r"), start, stop, path))


def _on_piece(fn, path, start, stop, *args):
    return fn(_load_piece(path, start, stop), *args)


def _on_block(fn, block, *args):
    return fn(block, *args)


def _piece_meta(path, start, stop):
    X = np.load(path, mmap_mode="r")
    if X.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array (n_samples, n_features), got {X.ndim}-D")
    stop = X.shape[0] if stop is None else stop
    start = 0 if start is None else start
    if not (0 <= start < stop <= X.shape[0]):
        raise ValueError(f"{path}: rows {start}:{stop} are not within its {X.shape[0]} rows")
    return start, stop, X.shape[1], X.dtype.str, X.dtype.itemsize


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


# -- data on the workers ---------------------------------------------------------------------


def _is_path(p):
    return isinstance(p, (str, os.PathLike))


def _is_pieces(X):
    if _is_path(X):
        return True
    if isinstance(X, (list, tuple)) and len(X) > 0:
        return all(_is_path(p) or (isinstance(p, tuple) and p and _is_path(p[0])) for p in X)
    return False


def _parse_piece(p):
    """``(path, start or None, stop or None)`` of one piece spec."""
    if _is_path(p):
        return os.fspath(p), None, None
    path, rest = os.fspath(p[0]), p[1:]
    if len(rest) == 1:
        r = rest[0]
        if isinstance(r, range):
            if r.step != 1:
                raise ValueError(f"piece {p!r}: a row range must have step 1")
            return path, r.start, r.stop
        if isinstance(r, slice):
            if r.step not in (None, 1):
                raise ValueError(f"piece {p!r}: a row range must have step 1")
            return path, r.start or 0, r.stop
        if isinstance(r, (tuple, list)) and len(r) == 2:
            return path, int(r[0]), int(r[1])
    if len(rest) == 2 and all(isinstance(v, Integral) for v in rest):
        return path, int(rest[0]), int(rest[1])
    raise ValueError(
        f"a file piece is a path or (path, (start, stop)) / (path, range(start, stop)); "
        f"got {p!r}"
    )


def _split(path, start, stop, itemsize, d, piece_bytes):
    """Rows ``start:stop`` in the fewest pieces of at most ``piece_bytes``, of equal sizes (to
    within a row), so that the tasks take equal times."""
    n = stop - start
    m = max(1, -(-n * itemsize * d // int(piece_bytes)))
    cuts = [start + i * n // m for i in range(m + 1)]
    return [(path, a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def npy_pieces(paths, rows_per_piece=None):
    """``(path, (start, stop))`` pieces covering ``.npy`` files (or given pieces), each of
    ``rows_per_piece`` rows (the last of a file fewer), or by default each file in the fewest
    pieces of at most ``PIECE_BYTES``, of equal sizes. Reads the files' headers where it runs
    (the client), so the files must be visible there."""
    if _is_path(paths):
        paths = [paths]
    out = []
    for p in paths:
        path, a, b = _parse_piece(p)
        start, stop, d, _, itemsize = _piece_meta(path, a, b)
        if rows_per_piece is None:
            pieces = _split(path, start, stop, itemsize, d, PIECE_BYTES)
        else:
            r = int(rows_per_piece)
            pieces = [(path, s, min(s + r, stop)) for s in range(start, stop, r)]
        out.extend((path, (s, e)) for path, s, e in pieces)
    return out


def from_npy(paths, rows_per_chunk=None):
    """A Dask array of ``.npy`` files (or pieces), one chunk per piece, each chunk a task that
    memory-maps its file and returns its rows (nothing but the path and the range is shipped).
    The headers are read where this runs; see ``npy_pieces``."""
    chunks = []
    dtype = None
    for path, (a, b) in npy_pieces(paths, rows_per_chunk):
        _, _, d, dt, _ = _piece_meta(path, a, b)
        dt = np.dtype(dt)
        dt = dt if dt in (np.float32, np.float64) else np.dtype(np.float64)
        dtype = dt if dtype is None else np.promote_types(dtype, dt)
        name = f"gaussmix-npy-{dask.base.tokenize(path, a, b)}"
        chunks.append(
            da.from_delayed(
                delayed(_load_piece, pure=True)(path, a, b, dask_key_name=name),
                shape=(b - a, d),
                dtype=dt,
            )
        )
    if not chunks:
        raise ValueError("no file pieces given")
    X = da.concatenate(chunks, axis=0)
    return X if X.dtype == dtype else X.astype(dtype)


class _Data:
    """The data of a fit: parts (Dask array blocks or file pieces) with their global rows."""

    def __init__(self, X, n_threads):
        self.n_threads = n_threads
        if _is_pieces(X):
            self._init_pieces([X] if _is_path(X) else list(X))
        else:
            if not isinstance(X, da.Array):
                X = np.asarray(X)
                if X.ndim != 2:
                    raise ValueError(
                        f"Expected 2D array, got {X.ndim}D array instead (a Dask array, "
                        "a NumPy array or a list of .npy file pieces)"
                    )
                X = da.from_array(X, chunks=(max(1, X.shape[0] // 4 or 1), -1))
            self._init_array(X)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        self.n = int(np.sum(self.sizes))
        self._moments = None

    def _init_array(self, X):
        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if X.numblocks[1] != 1:
            X = X.rechunk({1: -1})
        if any(math.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()
        self.array = X
        self.d = int(X.shape[1])
        self.sizes = [int(c) for c in X.chunks[0]]
        self.parts = [("block", b) for b in X.to_delayed(optimize_graph=True).ravel()]

    def _init_pieces(self, pieces):
        specs = [_parse_piece(p) for p in pieces]
        metas = dask.compute(
            *[delayed(_piece_meta, pure=True)(path, a, b) for path, a, b in specs]
        )
        ds = {m[2] for m in metas}
        if len(ds) != 1:
            raise ValueError(f"the file pieces have different numbers of features: {sorted(ds)}")
        self.d = ds.pop()
        self.parts, self.sizes, self._dtypes = [], [], []
        for (path, a, b), (start, stop, d, dt, itemsize) in zip(specs, metas):
            dt = np.dtype(dt)
            dt = dt if dt in (np.float32, np.float64) else np.dtype(np.float64)
            ranges = (
                _split(path, start, stop, itemsize, d, PIECE_BYTES)
                if a is None and b is None
                else [(path, start, stop)]
            )
            for path_, s, e in ranges:
                self.parts.append(("piece", path_, s, e))
                self.sizes.append(e - s)
                self._dtypes.append(dt)
        self.array = None

    # The Dask array of the data (for lazy predictions), built from the pieces if need be.
    def as_array(self):
        if self.array is None:
            chunks = []
            for (_, path, s, e), dt in zip(self.parts, self._dtypes):
                name = f"gaussmix-npy-{dask.base.tokenize(path, s, e)}"
                chunks.append(
                    da.from_delayed(
                        delayed(_load_piece, pure=True)(path, s, e, dask_key_name=name),
                        shape=(e - s, self.d),
                        dtype=dt,
                    )
                )
            self.array = da.concatenate(chunks, axis=0)
        return self.array

    def map(self, name, fn, *args, per_part=None):
        """One task per part, ``fn(chunk, *args[, per_part[i]])``, in part order."""
        tok = uuid.uuid4().hex[:12]
        out = []
        for i, part in enumerate(self.parts):
            extra = () if per_part is None else (per_part[i],)
            key = (f"gaussmix-{name}-{tok}", i)
            if part[0] == "block":
                out.append(
                    delayed(_on_block, pure=True)(fn, part[1], *args, *extra, dask_key_name=key)
                )
            else:
                _, path, s, e = part
                out.append(
                    delayed(_on_piece, pure=True)(fn, path, s, e, *args, *extra, dask_key_name=key)
                )
        return out

    @staticmethod
    def tree(parts, merge, name, *args):
        """Pairwise merge by index: ((0, 1), (2, 3), ...), then the same on the results, so the
        grouping is fixed whatever the order the parts finish in."""
        tok = uuid.uuid4().hex[:12]
        level = 0
        while len(parts) > 1:
            nxt = [
                delayed(merge, pure=True)(
                    parts[i], parts[i + 1], *args,
                    dask_key_name=(f"gaussmix-{name}-{tok}-{level}", i // 2),
                )
                for i in range(0, len(parts) - 1, 2)
            ]
            if len(parts) % 2:
                nxt.append(parts[-1])
            parts, level = nxt, level + 1
        return parts[0]

    def reduce(self, name, fn, merge, *args, per_part=None, merge_args=()):
        parts = self.map(name, fn, *args, per_part=per_part)
        root = self.tree(parts, merge, name + "-merge", *merge_args)
        return dask.compute(root)[0]

    @staticmethod
    def broadcast(obj, name):
        """One graph node holding ``obj``: computed once, fetched by every worker needing it."""
        return delayed(obj, name=f"gaussmix-{name}-{uuid.uuid4().hex[:12]}")

    def moments(self):
        """(n, column means, mean per-feature variance), one pass, cached."""
        if self._moments is None:
            n, mean, m2 = self.reduce("moments", _moments, _merge_moments, self.n_threads)
            self._moments = (int(n), np.asarray(mean), float(np.mean(m2 / n)))
        return self._moments

    def sample(self, m, rng):
        """``m`` distinct rows drawn uniformly with ``rng`` (all rows if ``m >= n``), gathered to
        the client in row order: ``(global indices, rows float64)``."""
        if m >= self.n:
            idx = np.arange(self.n, dtype=np.int64)
        else:
            idx = np.sort(rng.choice(self.n, size=m, replace=False)).astype(np.int64)
        local = []
        for s, z in zip(self.starts, self.sizes):
            lo, hi = np.searchsorted(idx, [s, s + z])
            local.append(idx[lo:hi] - s)
        parts = dask.compute(*self.map("sample", _take, per_part=local))
        rows = np.concatenate(parts, axis=0) if parts else np.empty((0, self.d))
        return idx, rows


# -- k-means on the workers ------------------------------------------------------------------


def _lloyd(data, centers, max_iter, tol, n_threads, verbose=0, what="k-means"):
    """Lloyd's algorithm over all rows, from ``centers``, with the in-memory k-means' rules
    (data centred on their column means; empty clusters take the farthest rows; stop when no
    label changes or the centres move less than ``tol`` times the mean feature variance).

    Returns ``(centers, inertia, n_iter, converged, counts)``.
    """
    _, offset, mean_var = data.moments()
    tol_abs = 0.0 if tol == 0 else tol * mean_var
    k = centers.shape[0]
    c_int = np.asarray(centers, dtype=np.float64) - offset
    previous = None
    converged = reuse = False
    n_iter = 0
    step = None
    for it in range(int(max_iter)):
        t0 = time.perf_counter()
        n_iter = it + 1
        ext = c_int + offset
        step = data.reduce(
            "lloyd", _kmeans_step, _merge_kmeans, data.broadcast(ext, "centers"), offset, n_threads
        )
        sums, counts = step["sums"].copy(), step["counts"].copy()
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            far = data.reduce(
                "farthest",
                _farthest,
                _merge_farthest,
                data.broadcast(ext, "centers"),
                int(empty.size),
                offset,
                n_threads,
                per_part=list(data.starts),
                merge_args=(int(empty.size),),
            )
            for c, i_old, row in zip(empty, far[2], far[3]):
                v = row - offset
                sums[i_old] -= v
                sums[c] = v
                counts[c] = 1.0
                counts[i_old] -= 1.0
        shift = 0.0
        for c in range(k):
            if counts[c] > 0:
                v = sums[c] * (1.0 / counts[c])
                delta = v - c_int[c]
                shift += float(np.dot(delta, delta))
                c_int[c] = v
        dt = time.perf_counter() - t0
        logger.info(
            "%s iteration %d  inertia %.10g  centre shift %.3e  (%d empty)  %.3f s",
            what, n_iter, step["inertia"], shift, empty.size, dt,
        )
        if verbose:
            print(f"Iteration {it}, inertia {step['inertia']}.")
        if previous == step["fingerprint"]:
            # No label changed (the in-memory "strict convergence"): the centres are those of
            # the last pass, unless an empty cluster was just re-seeded.
            converged, reuse = True, not empty.size
            if verbose:
                print(f"Converged at iteration {it}: strict convergence.")
            break
        previous = step["fingerprint"]
        if shift <= tol_abs:
            converged = True
            if verbose:
                print(
                    f"Converged at iteration {it}: center shift {shift} within tolerance "
                    f"{tol_abs}."
                )
            break
    final = c_int + offset
    if not reuse:
        # One more pass for the inertia and the cluster sizes under the final centres.
        step = data.reduce(
            "lloyd-final", _kmeans_step, _merge_kmeans, data.broadcast(final, "centers"), offset,
            n_threads,
        )
    return final, float(step["inertia"]), n_iter, converged, step["counts"]


# -- the estimators --------------------------------------------------------------------------


def _is_dask(X):
    return isinstance(X, da.Array)


def _rowwise(X):
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    return X


def _check_features(est, d):
    if d != est.n_features_in_:
        raise ValueError(
            f"X has {d} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )


def _sample_size(est, k):
    return max(int(est.init_sample_size), int(k))


class _Applied:
    """What the Dask estimators share: the fitted check, and methods that run chunk-wise on the
    workers for a Dask array (``_dask_apply``, per estimator) and locally on ``model_`` else."""

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            from ._compat import check_is_fitted

            check_is_fitted(self, "model_")

    def _apply(self, X, what):
        self._check_fitted()
        if _is_dask(X):
            return self._dask_apply(X, what)
        return getattr(self.model_, what)(X)

    def to_sklearn(self):
        """scikit-learn's fitted estimator with this model (see the in-memory one)."""
        self._check_fitted()
        return self.model_.to_sklearn()


class GaussianMixture(_Applied, _GaussianMixture):
    """``gaussmix.GaussianMixture`` fitted on a Dask cluster (see the module docstring).

    Parameters are the in-memory estimator's, plus ``init_sample_size``; fitted attributes are
    its as well (``weights_``, ``means_``, ``covariances_``, ``precisions_``,
    ``precisions_cholesky_``, ``converged_``, ``n_iter_``, ``lower_bound_``, ``lower_bounds_``,
    ``n_features_in_``), and ``model_`` is the fitted in-memory ``gaussmix.GaussianMixture``.

    Initialisation (per ``n_init`` run, from ``random_state``):

    - ``weights_init`` / ``means_init`` / ``precisions_init``: taken exactly as the in-memory
      estimator takes them (with all three, nothing else is computed, and the fit equals the
      in-memory fit from them, to rounding);
    - ``init_params="kmeans"`` (default): k-means++ and Lloyd (in-memory ``gaussmix.KMeans``)
      on ``min(n, init_sample_size)`` rows drawn uniformly without replacement and gathered to
      the client, then Lloyd over all rows on the workers (as the in-memory initialisation's
      k-means runs over all rows: ``max_iter=300``, ``tol=1e-4``), then one pass: each row's
      responsibility is one-hot on its nearest centre, whose statistics give the initial
      parameters (weights ``N_k / n``, as scikit-learn's initialisation);
    - ``"k-means++"``: k-means++ seeding on the sample; each component starts from one chosen
      row;
    - ``"random_from_data"``: ``n_components`` distinct rows drawn from the sample;
    - ``"random"``: uniform random responsibilities per row, normalised, drawn on the workers
      from a stream per block of rows (independent of the chunking).

    Differences from the in-memory estimator: ``on_degenerate="reseed"`` is not supported
    (NotImplementedError); ``verbose`` prints as the fit goes (per iteration) rather than after
    it; the k-means and random initialisations draw other random numbers.
    """

    if HAVE_SKLEARN:
        _parameter_constraints: dict = {
            **_GaussianMixture._parameter_constraints,
            "init_sample_size": [Interval(Integral, 1, None, closed="left")],
        }

    _rules = {**_GaussianMixture._rules, "init_sample_size": ("int>=", 1)}

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_threads=None,
        on_degenerate="error",
        init_sample_size=INIT_SAMPLE_ROWS,
    ):
        super().__init__(
            n_components,
            covariance_type=covariance_type,
            tol=tol,
            reg_covar=reg_covar,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            weights_init=weights_init,
            means_init=means_init,
            precisions_init=precisions_init,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
            n_threads=n_threads,
            on_degenerate=on_degenerate,
        )
        self.init_sample_size = init_sample_size

    # -- fitting -------------------------------------------------------------------------

    def fit(self, X, y=None):
        """Fit by distributed EM; returns self. ``X``: a Dask array, a NumPy array or a list of
        ``.npy`` file pieces (see the module docstring)."""
        self._fit_dask(X)
        return self

    def fit_predict(self, X, y=None):
        """Fit, then the labels of ``X`` under the fitted model (a Dask array unless ``X`` is
        a NumPy array)."""
        data = self._fit_dask(X)
        if isinstance(X, np.ndarray):
            return self.model_.predict(X)
        return self.predict(data.as_array())

    def _fit_dask(self, X):
        validate_params(self, self._rules)
        if self.on_degenerate != "error":
            raise NotImplementedError(
                "gaussmix.dask.GaussianMixture supports on_degenerate='error' only"
            )
        data = _Data(X, self.n_threads)
        n, d = data.n, data.d
        if n < 2:
            raise ValueError(
                f"Found array with {n} sample(s) (shape=({n}, {d})) while a minimum of 2 is "
                "required by GaussianMixture."
            )
        if n < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, n_samples = {n}"
            )
        k, t = int(self.n_components), self.covariance_type
        fixed = self._given_inits(k, d)
        warm = None
        if self.warm_start and hasattr(self, "converged_"):
            if self.means_.shape != (k, d):
                raise ValueError("the warm-start model does not match the data's shape")
            warm = (self._model(covariances=True), float(self.lower_bound_))
        seed = seed_from(self.random_state)
        rng = np.random.default_rng(seed)
        n_init = 1 if warm is not None else int(self.n_init)
        sample = None

        max_lb = -math.inf
        best = None
        for init in range(n_init):
            t_init = time.perf_counter()
            if warm is not None:
                params, lower_bound = dict(warm[0]), warm[1]
            else:
                if sample is None and self.init_params != "random" and not (
                    fixed is not None and len(fixed["given"]) == 3
                ):
                    sample = data.sample(min(n, _sample_size(self, k)), rng)
                params = self._initialize(data, rng, sample, fixed)
                lower_bound = -math.inf
            if self.verbose:
                print(f"Initialization {init}")
            if self.max_iter == 0:
                best = (params, 0, [], False)
                continue
            lower_bounds, converged, n_iter = [], False, 0
            t_prev = time.perf_counter()
            for it in range(1, int(self.max_iter) + 1):
                n_iter = it
                prev = lower_bound
                # Broadcast what the E-step reads: weights, means, precision Cholesky factors.
                model = {
                    key: params[key]
                    for key in ("covariance_type", "weights", "means", "precisions_cholesky")
                }
                total = data.reduce(
                    "estep", _estep, _merge_stats, data.broadcast(model, "params"), self.n_threads
                )
                params = _core.m_step(total, float(self.reg_covar))
                lower_bound = float(params["lower_bound"])
                lower_bounds.append(lower_bound)
                change = lower_bound - prev
                now = time.perf_counter()
                logger.info(
                    "init %d iteration %d  lower bound %.12g  change %.6g  %.3f s",
                    init, it, lower_bound, change, now - t_prev,
                )
                if self.verbose and it % self.verbose_interval == 0:
                    if self.verbose == 1:
                        print(f"  Iteration {it}")
                    else:
                        print(
                            f"  Iteration {it}\t time lapse {now - t_prev:.5f}s\t "
                            f"ll change {change:.5f}"
                        )
                t_prev = now
                if abs(change) < self.tol:
                    converged = True
                    break
            if self.verbose:
                msg = "converged" if converged else "did not converge"
                if self.verbose == 1:
                    print(f"Initialization {msg}.")
                else:
                    print(
                        f"Initialization {msg}.\t time lapse "
                        f"{time.perf_counter() - t_init:.5f}s\t lower bound {lower_bound:.5f}."
                    )
            if lower_bound > max_lb or max_lb == -math.inf:
                max_lb = lower_bound
                best = (params, n_iter, lower_bounds, converged)

        params, n_iter, lower_bounds, converged = best
        model = {
            "covariance_type": t,
            "weights": params["weights"],
            "means": params["means"],
            "precisions_cholesky": params["precisions_cholesky"],
            "covariances": params.get("covariances"),
            "converged": converged,
            "n_iter": n_iter,
            "lower_bound": max_lb,
            "lower_bounds": np.asarray(lower_bounds, dtype=np.float64),
        }
        est_params = {
            key: v for key, v in self.get_params(deep=False).items() if key != "init_sample_size"
        }
        est_params.pop("n_components")
        est_params.pop("covariance_type")
        self.model_ = _GaussianMixture.from_params(model, **est_params)
        for name in (
            "weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_",
            "converged_", "n_iter_", "lower_bound_", "lower_bounds_", "reseeds_", "n_features_in_",
        ):
            setattr(self, name, getattr(self.model_, name))
        if not converged and self.max_iter > 0:
            warnings.warn(_core.CONVERGENCE_WARNING, ConvergenceWarning, stacklevel=3)
        return data

    def _given_inits(self, k, d):
        """The user's weights_init / means_init / precisions_init as the engine takes them
        (checked, precisions factorised), or None when none is given. With some missing, the
        others are returned with placeholders the caller replaces."""
        t = self.covariance_type
        given = {}
        if self.weights_init is not None:
            given["weights_init"] = float_array(self.weights_init, "weights", (k,))
        if self.means_init is not None:
            given["means_init"] = float_array(self.means_init, "means", (k, d))
        if self.precisions_init is not None:
            given["precisions_init"] = float_array(
                self.precisions_init, f"{t} precision", covariances_shape(t, k, d)
            )
        if not given:
            return None
        # The engine's own treatment of the given values (its checks, the precision Cholesky
        # factors): an initialisation-only fit of placeholder rows with every value given.
        full = {
            "weights_init": np.full(k, 1.0 / k),
            "means_init": np.zeros((k, d)),
            "precisions_init": _identity_precisions(t, k, d),
            **given,
        }
        r = _core.gmm_fit(
            np.zeros((max(k, 2), d)),
            n_components=k,
            covariance_type=t,
            reg_covar=float(self.reg_covar),
            max_iter=0,
            **full,
        )
        return {
            "given": set(given),
            "weights": r["weights"],
            "means": r["means"],
            "precisions_cholesky": r["precisions_cholesky"],
            "covariances": r["covariances"],
        }

    def _initialize(self, data, rng, sample, fixed):
        t = self.covariance_type
        if fixed is not None and len(fixed["given"]) == 3:
            keys = ("weights", "means", "precisions_cholesky", "covariances")
            return {"covariance_type": t, **{key: fixed[key] for key in keys}}
        stats = _initial_stats(self, data, rng, sample)
        precisions_given = fixed is not None and "precisions_init" in fixed["given"]
        try:
            est = _core.m_step(stats, float(self.reg_covar))
        except ValueError:
            if not precisions_given:
                raise
            est = None  # the engine does not factorise covariances it replaces
        nk = stats["nk"] + _EPS10
        shift = stats["shift"]
        if est is None:
            means = shift + (stats["s1"] - _EPS10 * shift) / nk[:, None]
        else:
            means = est["means"]
        params = {
            "covariance_type": t,
            # scikit-learn's initialisation divides by n_samples, not by the sum of N_k.
            "weights": nk / int(stats["n_samples"]),
            "means": means,
            "precisions_cholesky": None if est is None else est["precisions_cholesky"],
            "covariances": None if est is None else est["covariances"],
        }
        if fixed is not None:
            if "weights_init" in fixed["given"]:
                params["weights"] = fixed["weights"]
            if "means_init" in fixed["given"]:
                params["means"] = fixed["means"]
            if precisions_given:
                params["precisions_cholesky"] = fixed["precisions_cholesky"]
                params["covariances"] = fixed["covariances"]
        return params

    # -- predictions ---------------------------------------------------------------------

    def _dask_apply(self, X, what):
        X = _rowwise(X)
        _check_features(self, X.shape[1])
        model = delayed(self.model_._model(), name=f"gaussmix-model-{uuid.uuid4().hex[:12]}")
        nt = self.n_threads
        if what == "predict_proba":
            return X.map_blocks(
                _gmm_predict, model, what, nt, dtype=np.float64,
                chunks=(X.chunks[0], (self.n_components,)),
            )
        return X.map_blocks(
            _gmm_predict, model, what, nt, drop_axis=1,
            dtype=np.int64 if what == "predict" else np.float64,
        )

    def predict(self, X):
        """Labels, int64: a Dask array for a Dask array (computed chunk-wise on the workers),
        else a NumPy array (computed locally)."""
        return self._apply(X, "predict")

    def predict_proba(self, X):
        """Posterior probabilities ``(n_samples, n_components)``, as ``predict`` returns."""
        return self._apply(X, "predict_proba")

    def score_samples(self, X):
        """Log-likelihood of each row, as ``predict`` returns."""
        return self._apply(X, "score_samples")

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of X (a float; computed on the workers for a Dask
        array)."""
        self._check_fitted()
        if _is_dask(X):
            return float(self._dask_apply(X, "score_samples").mean().compute())
        return self.model_.score(X)


class KMeans(_Applied, _KMeans):
    """``gaussmix.KMeans`` (Lloyd) fitted on a Dask cluster (see the module docstring).

    Parameters are the in-memory estimator's, plus ``init_sample_size``; fitted attributes are
    its as well (``cluster_centers_``, ``inertia_``, ``n_iter_``, ``n_features_in_``, and
    ``labels_``: a Dask array computed chunk-wise when used), and ``model_`` is the fitted
    in-memory ``gaussmix.KMeans``.

    Each Lloyd iteration is one pass over the data on the workers: under the broadcast centres,
    each chunk's per-cluster sums and counts (and inertia, and a fingerprint of its labels), in
    Rust, merged in a fixed tree. The in-memory estimator's rules are kept: the data are
    centred on their column means (one extra pass first, which also gives the variance ``tol``
    is relative to), an empty cluster takes the row farthest from its centre, the run stops
    when no label changes or the centres move less than ``tol``. From given centres the result
    is the in-memory one, to rounding.

    Initialisation: an array of centres as given; ``"k-means++"`` (default): k-means++ seeding
    and Lloyd (in-memory ``gaussmix.KMeans``) on ``min(n, init_sample_size)`` rows drawn
    uniformly without replacement and gathered to the client, whose centres start Lloyd over
    all rows; ``"random"``: ``n_clusters`` distinct rows of that sample; a callable is called
    on the sample. ``n_init`` as the in-memory estimator (``"auto"``: 1 for k-means++ and
    given centres, 10 otherwise); the run with the lowest inertia is kept.
    """

    if HAVE_SKLEARN:
        _parameter_constraints: dict = {
            **_KMeans._parameter_constraints,
            "init_sample_size": [Interval(Integral, 1, None, closed="left")],
        }

    _rules = {**_KMeans._rules, "init_sample_size": ("int>=", 1)}

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        algorithm="lloyd",
        n_threads=None,
        init_sample_size=INIT_SAMPLE_ROWS,
    ):
        super().__init__(
            n_clusters,
            init=init,
            n_init=n_init,
            max_iter=max_iter,
            tol=tol,
            verbose=verbose,
            random_state=random_state,
            copy_x=copy_x,
            algorithm=algorithm,
            n_threads=n_threads,
        )
        self.init_sample_size = init_sample_size

    def fit(self, X, y=None):
        """Compute k-means clustering on the workers; returns self. ``X``: a Dask array, a
        NumPy array or a list of ``.npy`` file pieces (see the module docstring)."""
        self._fit_dask(X)
        return self

    def _fit_dask(self, X):
        validate_params(self, self._rules)
        data = _Data(X, self.n_threads)
        n, d, k = data.n, data.d, int(self.n_clusters)
        self.n_features_in_ = d
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        init = self.init
        if not (isinstance(init, str) or callable(init)):
            init = self._centers(init, np.empty((0, d)))
        n_init = self._n_init_for(self.init)
        seed = seed_from(self.random_state)
        rng = np.random.default_rng(seed)
        sample = None
        best = None
        for _ in range(n_init):
            if isinstance(init, np.ndarray):
                c0 = init
            else:
                if sample is None:
                    sample = data.sample(min(n, _sample_size(self, k)), rng)[1]
                if callable(init):
                    rs = check_random_state(int(rng.integers(np.iinfo(np.int32).max)))
                    c0 = self._centers(init(sample, k, random_state=rs), sample)
                elif init == "random":
                    c0 = sample[np.sort(rng.choice(len(sample), size=k, replace=False))]
                else:
                    c0 = _KMeans(
                        k, init="k-means++", n_init=1, max_iter=self.max_iter, tol=self.tol,
                        random_state=int(rng.integers(np.iinfo(np.int32).max)),
                        n_threads=self.n_threads,
                    ).fit(sample).cluster_centers_
            res = _lloyd(data, c0, self.max_iter, self.tol, self.n_threads, self.verbose)
            if best is None or res[1] < best[1]:
                best = res
        centers, inertia, n_iter, converged, counts = best
        params = {
            key: v for key, v in self.get_params(deep=False).items()
            if key not in ("init_sample_size", "n_clusters")
        }
        self.model_ = _KMeans.from_centers(
            centers, inertia=inertia, n_iter=n_iter, converged=converged, **params
        )
        self.cluster_centers_ = self.model_.cluster_centers_
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self._converged = converged
        self._n_features_out = k
        self.labels_ = self.predict(data.as_array())
        if self.verbose:
            print("Initialization complete")
            how = "converged" if converged else "stopped at max_iter"
            print(f"Lloyd {how} after {n_iter} iterations, inertia {inertia}.")
        distinct = int(np.count_nonzero(counts))
        if distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than "
                f"n_clusters ({k}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return data

    def fit_predict(self, X, y=None):
        """Fit and return ``labels_`` (a Dask array unless X is a NumPy array)."""
        self._fit_dask(X)
        if isinstance(X, np.ndarray):
            return self.model_.predict(X)
        return self.labels_

    def fit_transform(self, X, y=None):
        """Fit and return the distances of each row to each centre (as ``transform``)."""
        data = self._fit_dask(X)
        return self.transform(X if isinstance(X, np.ndarray) else data.as_array())

    def _dask_apply(self, X, what):
        X = _rowwise(X)
        _check_features(self, X.shape[1])
        c = self.cluster_centers_
        if what == "transform":
            return X.map_blocks(
                _km_predict, c, what, self.n_threads, dtype=np.float64,
                chunks=(X.chunks[0], (c.shape[0],)),
            )
        return X.map_blocks(_km_predict, c, what, self.n_threads, drop_axis=1, dtype=np.int64)

    def predict(self, X):
        """Nearest centre of each row: a Dask array for a Dask array, else NumPy."""
        return self._apply(X, "predict")

    def transform(self, X):
        """Distances to the centres, as ``predict`` returns."""
        return self._apply(X, "transform")

    def score(self, X, y=None):
        """Opposite of the inertia on X (computed on the workers for a Dask array)."""
        self._check_fitted()
        if _is_dask(X):
            X = _rowwise(X)
            _check_features(self, X.shape[1])
            data = _Data(X, self.n_threads)
            c = data.broadcast(self.cluster_centers_, "centers")
            return -float(data.reduce("inertia", _km_inertia, _add, c, self.n_threads))
        return self.model_.score(X)


def _identity_precisions(t, k, d):
    return {
        "full": np.repeat(np.eye(d)[None], k, axis=0),
        "tied": np.eye(d),
        "diag": np.ones((k, d)),
        "spherical": np.ones(k),
    }[t]


def _initial_stats(est, data, rng, sample):
    """One pass: the statistics of all rows under the initial responsibilities of
    ``est.init_params`` (see ``GaussianMixture``)."""
    k, t = int(est.n_components), est.covariance_type
    how = est.init_params
    if how == "random":
        sample_mean = None
        # The shift only has to be near the data for accuracy: the mean of a small sample.
        idx, rows = data.sample(min(data.n, 1000), rng)
        sample_mean = rows.mean(axis=0)
        shift = np.repeat(sample_mean[None], k, axis=0)
        payload = int(rng.integers(2**63 - 1))
        kind = "random"
    else:
        idx, rows = sample
        sub_seed = int(rng.integers(np.iinfo(np.int32).max))
        if how == "kmeans":
            c0 = _KMeans(
                k, init="k-means++", n_init=1, random_state=sub_seed, n_threads=est.n_threads
            ).fit(rows).cluster_centers_
            centers = _lloyd(data, c0, 300, 1e-4, est.n_threads, what="init k-means")[0]
            shift, payload, kind = centers, centers, "nearest"
        elif how == "k-means++":
            # The engine's k-means++ seeding on the sample: an initialisation-only in-memory
            # fit, whose means are the chosen rows (to rounding); each is mapped back to its row.
            g = _GaussianMixture(
                k, covariance_type="diag", init_params="k-means++", max_iter=0,
                random_state=sub_seed, n_threads=est.n_threads,
            ).fit(rows)
            chosen = np.array([np.argmin(((rows - m) ** 2).sum(axis=1)) for m in g.means_])
            shift, payload, kind = rows[chosen], idx[chosen], "rows"
        else:  # random_from_data
            chosen = rng.choice(len(rows), size=k, replace=False)
            shift, payload, kind = rows[chosen], idx[chosen], "rows"
    return data.reduce(
        "init",
        _init_stats,
        _merge_stats,
        data.broadcast(np.ascontiguousarray(shift, dtype=np.float64), "shift"),
        t,
        kind,
        data.broadcast(payload, "init"),
        est.n_threads,
        per_part=list(data.starts),
    )
