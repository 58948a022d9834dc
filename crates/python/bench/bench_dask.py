"""EM seconds per iteration on a Dask LocalCluster against the in-memory fit, same start.

    python bench/bench_dask.py [--n 10000000] [--d 16] [--k 16] [--covariance-type full]
                               [--iters 5] [--path /tmp/gaussmix-bench-10M.npy]

The data (blobs, float64) are written to ``--path`` as a .npy file first (kept for later runs
when the shape matches: 10M x 16 is 1.28 GB). Every fit starts from the same weights_init /
means_init / precisions_init and runs ``--iters`` iterations with tol=0.

- in-memory: ``gaussmix.GaussianMixture(n_threads=--threads)`` on the file loaded into RAM;
  seconds per iteration = (t(max_iter=1+iters) - t(max_iter=1)) / iters, so that input
  checks are not counted (as bench_fit.py does);
- distributed: ``gaussmix.dask.GaussianMixture`` on ``LocalCluster(n_workers=--workers,
  threads_per_worker=1)``, from (a) the file as pieces (each task memory-maps its rows),
  (b) ``gaussmix.dask.from_npy`` (a Dask array whose chunk tasks memory-map their rows),
  (c) the same array persisted on the workers; seconds per iteration are read from the
  per-iteration log lines (median over the iterations; the wall time of the fit is listed too,
  which includes the one-off metadata pass).

Both sides use every core of a 2-core machine. The distributed fit's parameters are checked
against the in-memory fit's (relative difference printed).
"""

import argparse
import json
import logging
import os
import re
import time
import warnings

import numpy as np


def make_data(path, n, d, k):
    if os.path.exists(path):
        X = np.load(path, mmap_mode="r")
        if X.shape == (n, d) and X.dtype == np.float64:
            return
    rng = np.random.default_rng(0)
    centres = rng.uniform(-10, 10, size=(k, d))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    step = 1_000_000
    for a in range(0, n, step):
        b = min(a + step, n)
        lab = rng.integers(k, size=b - a)
        out[a:b] = centres[lab] + 2.0 * rng.standard_normal((b - a, d))
    out.flush()
    del out


def start_of(X, k, t):
    rng = np.random.RandomState(1)
    sub = np.asarray(X[np.sort(rng.choice(len(X), 200_000, replace=False))])
    means = sub[rng.choice(len(sub), k, replace=False)]
    P = np.linalg.inv(np.cov(sub, rowvar=False))
    P = (P + P.T) / 2
    var = sub.var(axis=0)
    precisions = {
        "full": np.repeat(P[None], k, axis=0),
        "tied": P,
        "diag": np.repeat((1.0 / var)[None], k, axis=0),
        "spherical": np.full(k, 1.0 / var.mean()),
    }[t]
    return dict(weights_init=np.full(k, 1.0 / k), means_init=means, precisions_init=precisions)


class Seconds(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.seconds = []

    def emit(self, record):
        m = re.search(r"iteration \d+ .* ([0-9.]+) s$", record.getMessage())
        if m:
            self.seconds.append(float(m.group(1)))


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--covariance-type", default="full")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="n_threads of the in-memory fit")
    ap.add_argument("--rows-per-chunk", type=int, default=None,
                    help="rows per chunk / piece (default: about gaussmix.dask.PIECE_BYTES)")
    ap.add_argument("--path", default="/tmp/gaussmix-bench-10M.npy")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import dask.array  # noqa: F401
    from distributed import Client, LocalCluster

    import gaussmix
    import gaussmix.dask as gd

    t0 = time.perf_counter()
    make_data(args.path, args.n, args.d, args.k)
    print(f"data: {args.path} ({args.n} x {args.d} float64), ready in "
          f"{time.perf_counter() - t0:.1f} s")
    K, t = args.k, args.covariance_type
    start = start_of(np.load(args.path, mmap_mode="r"), K, t)
    common = dict(covariance_type=t, tol=0.0, **start)
    results = {}
    warnings.simplefilter("ignore", gaussmix.ConvergenceWarning)

    # In memory.
    X = np.load(args.path)
    times = {}
    for it in (1, 1 + args.iters):
        t0 = time.perf_counter()
        ref = gaussmix.GaussianMixture(K, max_iter=it, n_threads=args.threads, **common).fit(X)
        times[it] = time.perf_counter() - t0
    results["in-memory"] = {
        "seconds_per_iteration": (times[1 + args.iters] - times[1]) / args.iters,
        "fit_seconds": times[1 + args.iters],
    }
    del X
    print(f"in-memory, n_threads={args.threads}: "
          f"{results['in-memory']['seconds_per_iteration']:.3f} s/iteration")

    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    log = logging.getLogger("gaussmix.dask")
    log.setLevel(logging.INFO)
    try:
        pieces = gd.npy_pieces(args.path, args.rows_per_chunk)
        arr = gd.from_npy(args.path, args.rows_per_chunk)
        persisted = arr.persist()
        from distributed import wait

        wait(persisted)
        forms = {
            "dask, file pieces": pieces,
            "dask, from_npy array": arr,
            "dask, from_npy array persisted": persisted,
        }
        print(f"{len(pieces)} chunks of <= {pieces[0][1][1] - pieces[0][1][0]} rows, "
              f"{args.workers} workers x 1 thread")
        for name, data in forms.items():
            h = Seconds()
            log.addHandler(h)
            t0 = time.perf_counter()
            g = gd.GaussianMixture(K, max_iter=1 + args.iters, **common).fit(data)
            wall = time.perf_counter() - t0
            log.removeHandler(h)
            per = h.seconds[1:]  # the first iteration also fetches and maps the data
            results[name] = {
                "seconds_per_iteration": float(np.median(per)),
                "iteration_seconds": h.seconds,
                "fit_seconds": wall,
                "max_relative_difference": max(
                    rel(g.means_, ref.means_), rel(g.covariances_, ref.covariances_),
                    rel(g.weights_, ref.weights_),
                ),
            }
            r = results[name]
            print(f"{name}: {r['seconds_per_iteration']:.3f} s/iteration (iterations: "
                  + ", ".join(f"{s:.3f}" for s in h.seconds)
                  + f"; fit {wall:.1f} s); max rel. difference to in-memory "
                  f"{r['max_relative_difference']:.1e}")
    finally:
        client.close()
        cluster.close()
    if args.json:
        print(json.dumps({"args": vars(args), "results": results}, indent=1))


if __name__ == "__main__":
    main()
