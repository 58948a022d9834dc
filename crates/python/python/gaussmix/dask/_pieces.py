"""``.npy`` file pieces: a path (a whole file, split into pieces of at most ``PIECE_BYTES``) or
``(path, (start, stop))`` / ``(path, range(start, stop))``; each task memory-maps its file
itself, so only the path and the row range go through the scheduler."""

from __future__ import annotations

import os
from numbers import Integral

import dask
import dask.array as da
import numpy as np
from dask import delayed

from ._base import check_dtype

#: A whole ``.npy`` file given as a path is read in pieces of at most this many bytes.
PIECE_BYTES = 128 * 2**20


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


def _piece_meta(path, start, stop):
    X = np.load(path, mmap_mode="r")
    if X.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array (n_samples, n_features), got {X.ndim}-D")
    stop = X.shape[0] if stop is None else stop
    start = 0 if start is None else start
    if not (0 <= start <= stop <= X.shape[0]):
        raise ValueError(f"{path}: rows {start}:{stop} are not within its {X.shape[0]} rows")
    return start, stop, X.shape[1], X.dtype.str, X.dtype.itemsize


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
        check_dtype(dt, f"from_npy ({path})")
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

