"""The data of a fit on the workers: its parts (Dask array blocks or file pieces) with their
global rows, one task per part, merges in a fixed tree, samples gathered to the client."""

from __future__ import annotations

import math
import uuid

import dask
import dask.array as da
import numpy as np
from dask import delayed

from . import _pieces
from ._pieces import _is_path, _is_pieces, _load_piece, _parse_piece, _piece_meta, _split
from ._base import _rowwise, check_dtype, numeric
from ._tasks import (
    _merge_moments,
    _merge_side,
    _moments,
    _on_block,
    _on_piece,
    _on_side,
    _take,
)


class _Data:
    """The data of a fit: parts (Dask array blocks or file pieces) with their global rows.

    ``who`` (the estimator method the user called, e.g. ``"GaussianMixture.fit"``) names the
    errors. The input is checked before any task runs: real numbers only (``check_dtype``),
    2-D. Empty parts (a 0-row chunk, as a boolean filter makes) contribute nothing and are
    left out; data with no rows at all is an error.
    """

    def __init__(self, X, n_threads, who, sample_weight=None, init_labels=None):
        self.n_threads = n_threads
        self.who = who
        if _is_pieces(X):
            self._init_pieces([X] if _is_path(X) else list(X))
        else:
            X = numeric(X, who)
            if not isinstance(X, da.Array):
                if X.ndim != 2:
                    raise ValueError(
                        f"{who}: expected a 2-D array (n_samples, n_features), got a "
                        f"{X.ndim}-D array (give a Dask array, a NumPy array or a list of .npy "
                        "file pieces)"
                    )
                X = da.from_array(X, chunks=(max(1, X.shape[0] // 4 or 1), -1))
            self._init_array(X)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        self.n = int(np.sum(self.sizes))
        if self.n == 0:
            raise ValueError(
                f"{who}: the data has no rows (its {self.n_parts} chunks or pieces are all "
                "empty); at least one row is needed"
            )
        self._moments = None
        # Per-row side data of each part (see _tasks._side): {"w": source, "labels": source}.
        self.sides = [{} for _ in self.parts]
        self.weighted = sample_weight is not None
        self.total_weight = float(self.n)
        if sample_weight is not None:
            self._attach("w", sample_weight)
            self._check_weights()
        if init_labels is not None:
            self._attach("labels", init_labels)

    def _init_array(self, X):
        X = _rowwise(X, self.who)
        if any(math.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()
        self.array = X
        self.d = int(X.shape[1])
        sizes = [int(c) for c in X.chunks[0]]
        blocks = X.to_delayed(optimize_graph=True).ravel()
        self.n_parts = len(sizes)
        self._all_sizes = sizes
        # (global chunk index, block), empty chunks left out.
        self.parts = [("block", i, b) for i, (b, z) in enumerate(zip(blocks, sizes)) if z > 0]
        self.sizes = [z for z in sizes if z > 0]

    def _init_pieces(self, pieces):
        specs = [_parse_piece(p) for p in pieces]
        metas = dask.compute(
            *[delayed(_piece_meta, pure=True)(path, a, b) for path, a, b in specs]
        )
        ds = {m[2] for m in metas}
        if len(ds) != 1:
            raise ValueError(f"the file pieces have different numbers of features: {sorted(ds)}")
        self.d = ds.pop()
        for (path, _, _), meta in zip(specs, metas):
            check_dtype(meta[3], f"{self.who} ({path})")
        self.parts, self.sizes, self._dtypes = [], [], []
        index = 0
        for (path, a, b), (start, stop, d, dt, itemsize) in zip(specs, metas):
            dt = np.dtype(dt)
            dt = dt if dt in (np.float32, np.float64) else np.dtype(np.float64)
            ranges = (
                _split(path, start, stop, itemsize, d, _pieces.PIECE_BYTES)
                if a is None and b is None
                else [(path, start, stop)]
            )
            for path_, s, e in ranges:
                if e > s:
                    self.parts.append(("piece", index, path_, s, e))
                    self.sizes.append(e - s)
                    self._dtypes.append(dt)
                index += 1
        self.n_parts = index
        self.array = None

    # The Dask array of the data (for lazy predictions), built from the pieces if need be.
    def as_array(self):
        if self.array is None:
            chunks = []
            for (_, _, path, s, e), dt in zip(self.parts, self._dtypes):
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

    # -- per-row side data ---------------------------------------------------------------

    def _attach(self, key, value):
        """Gives each part its rows' values of ``value`` (``sample_weight`` or
        ``init_labels``): a NumPy array (or list, or a number for weights) of one value per
        row, a 1-D Dask array of as many rows (rechunked to the parts), or ``.npy`` file pieces
        of 1-D arrays whose rows, in order, are the data's rows in order."""
        name = {"w": "sample_weight", "labels": "init_labels"}[key]
        who = f"{self.who}: {name}"
        if _pieces._is_pieces(value):
            segs = _side_file_segments(value, who)
            total = sum(b - a for _, a, b in segs)
            if total != self.n:
                raise ValueError(
                    f"{who} files hold {total} values, but the data has {self.n} rows"
                )
            for i, (start, size) in enumerate(zip(self.starts, self.sizes)):
                self.sides[i][key] = ("files", _segments_of(segs, int(start), int(size)))
            return
        if isinstance(value, da.Array):
            if value.ndim != 1:
                raise ValueError(f"{who} must be 1-D (one value per row), got {value.ndim}-D")
            check_dtype(value.dtype, who)
            if any(math.isnan(c) for c in value.chunks[0]):
                value = value.compute_chunk_sizes()
            if value.shape[0] != self.n:
                raise ValueError(
                    f"{who} has {value.shape[0]} values, but the data has {self.n} rows"
                )
            # Aligned with the chunks of a Dask array (its empty chunks included), or with the
            # file pieces.
            sizes = getattr(self, "_all_sizes", None)
            if sizes is not None:
                blocks = value.rechunk((tuple(sizes),)).to_delayed().ravel()
                blocks = [b for b, z in zip(blocks, sizes) if z > 0]
            else:
                blocks = value.rechunk((tuple(self.sizes),)).to_delayed().ravel()
            for i, b in enumerate(blocks):
                self.sides[i][key] = ("block", b)
            return
        if np.isscalar(value) and key == "w":
            value = np.full(self.n, value, dtype=np.float64)
        v = np.asarray(value)
        if v.ndim != 1 or v.shape[0] != self.n:
            raise ValueError(
                f"{who} has shape {v.shape}, expected ({self.n},): one value per row of X"
            )
        check_dtype(v.dtype, who)
        for i, (start, size) in enumerate(zip(self.starts, self.sizes)):
            self.sides[i][key] = ("array", v[int(start):int(start) + int(size)])

    def _check_weights(self):
        """One pass over the weights alone (the data not loaded): each checked on its worker
        (finite, non-negative; the first bad one named by its global row), their total, not
        all zero (scikit-learn's rules)."""
        tok = uuid.uuid4().hex[:12]
        parts = [
            delayed(_on_side, pure=True)(
                side["w"], (part[1], int(self.starts[i]), self.sizes[i], self.d, self.who),
                dask_key_name=(f"gaussmix-weights-{tok}", i),
            )
            for i, (part, side) in enumerate(zip(self.parts, self.sides))
        ]
        total, _, positive = dask.compute(self.tree(parts, _merge_side, "weights-merge"))[0]
        if positive == 0:
            raise ValueError(
                f"{self.who}: Sample weights must contain at least one non-zero number."
            )
        self.total_weight = float(total)
        self.positive_rows = int(positive)

    def map(self, name, fn, *args, per_part=None, sides=()):
        """One task per part, ``fn(chunk, *args[, per_part[i]], **side)``, in part order, with
        the part's side data named in ``sides`` (``"w"``: its weights, ``"labels"``: its
        initial labels) that the fit has."""
        tok = uuid.uuid4().hex[:12]
        out = []
        for i, part in enumerate(self.parts):
            extra = () if per_part is None else (per_part[i],)
            key = (f"gaussmix-{name}-{tok}", i)
            where = (part[1], int(self.starts[i]), self.sizes[i], self.d, self.who)
            side = {k: self.sides[i][k] for k in sides if k in self.sides[i]}
            if part[0] == "block":
                out.append(
                    delayed(_on_block, pure=True)(
                        fn, part[2], where, side, *args, *extra, dask_key_name=key
                    )
                )
            else:
                _, _, path, s, e = part
                out.append(
                    delayed(_on_piece, pure=True)(
                        fn, path, s, e, where, side, *args, *extra, dask_key_name=key
                    )
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

    def reduce(self, name, fn, merge, *args, per_part=None, merge_args=(), sides=()):
        parts = self.map(name, fn, *args, per_part=per_part, sides=sides)
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
        the client in row order: ``(global indices, rows float64, their weights)`` (weights 1
        without sample weights)."""
        if m >= self.n:
            idx = np.arange(self.n, dtype=np.int64)
        else:
            idx = np.sort(rng.choice(self.n, size=m, replace=False)).astype(np.int64)
        local = []
        for s, z in zip(self.starts, self.sizes):
            lo, hi = np.searchsorted(idx, [s, s + z])
            local.append(idx[lo:hi] - s)
        parts = dask.compute(*self.map("sample", _take, per_part=local, sides=("w",)))
        rows = np.concatenate([p[0] for p in parts], axis=0) if parts else np.empty((0, self.d))
        weights = np.concatenate([p[1] for p in parts]) if parts else np.empty(0)
        bad = np.argwhere(~np.isfinite(rows))
        if bad.size:
            # The sample is checked here, before the client's k-means sees it, so that the
            # error gives the global row and the estimator the user called.
            i, j = bad[0]
            raise ValueError(
                f"{self.who}: the data contains {rows[i, j]} at row {idx[i]}, column {j} "
                "(0-based, counted over the whole data); remove or impute non-finite values "
                "first"
            )
        return idx, rows, weights


def _side_file_segments(value, who):
    """``(path, start, stop)`` of each piece of 1-D ``.npy`` side data, in order (headers read
    here, on the client)."""
    segs = []
    for p in [value] if _pieces._is_path(value) else list(value):
        path, a, b = _pieces._parse_piece(p)
        v = np.load(path, mmap_mode="r")
        if v.ndim != 1:
            raise ValueError(f"{who}: {path} holds a {v.ndim}-D array; expected 1-D")
        check_dtype(v.dtype, f"{who} ({path})")
        a = 0 if a is None else a
        b = v.shape[0] if b is None else b
        if not 0 <= a <= b <= v.shape[0]:
            raise ValueError(f"{who}: {path}: rows {a}:{b} are not within its {v.shape[0]}")
        segs.append((path, a, b))
    return segs


def _segments_of(segs, start, size):
    """The pieces of ``segs`` (in order, end to end) holding global rows
    ``start:start + size``."""
    out, offset, stop = [], 0, start + size
    for path, a, b in segs:
        lo, hi = offset, offset + (b - a)
        if hi > start and lo < stop:
            out.append((path, a + max(start, lo) - lo, a + min(stop, hi) - lo))
        offset = hi
    return out

