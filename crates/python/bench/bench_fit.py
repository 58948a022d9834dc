"""EM seconds per iteration, gaussmix against scikit-learn, from the same initialisation.

    python bench/bench_fit.py [--n 1000000] [--d 16] [--k 16] [--covariance-type full]

Both fits start from the same weights_init / means_init / precisions_init and run max_iter=5
iterations with tol=0. What is not an iteration (scikit-learn computes an initialisation from
its init_params even when all three are given; input checks; its final E-step) is taken off by
timing a fit of one iteration too (max_iter=0 is not usable: scikit-learn 1.9 then fails with
every *_init given), so the figure is the cost of the EM iterations alone:
(t(max_iter=1+5) - t(max_iter=1)) / 5.
Both use every core (gaussmix: n_threads=None; scikit-learn: its BLAS threads, listed by
threadpoolctl below). To benchmark a current numpy where OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
are set for old OpenBLAS builds, unset both for this command.
"""

import argparse
import json
import platform
import time
import warnings

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--covariance-type", default="full")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=2, help="best of this many timings")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from sklearn.datasets import make_blobs
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    import gaussmix

    X, _ = make_blobs(
        n_samples=args.n, n_features=args.d, centers=args.k, cluster_std=2.0, random_state=0
    )
    X = np.ascontiguousarray(X)
    K, t = args.k, args.covariance_type
    rng = np.random.RandomState(1)
    means = X[rng.choice(len(X), K, replace=False)]
    weights = np.full(K, 1.0 / K)
    P = np.linalg.inv(np.cov(X, rowvar=False))
    P = (P + P.T) / 2
    precisions = {
        "full": np.repeat(P[None], K, axis=0),
        "tied": P,
        "diag": np.repeat((1.0 / X.var(axis=0))[None], K, axis=0),
        "spherical": np.full(K, 1.0 / X.var(axis=0).mean()),
    }[t]
    common = dict(
        n_components=K, covariance_type=t, tol=0.0, weights_init=weights, means_init=means,
        precisions_init=precisions, init_params="random_from_data", random_state=0,
    )

    def best(make, max_iter):
        times = []
        for _ in range(args.repeat):
            est = make(max_iter=max_iter, **common)
            t0 = time.perf_counter()
            est.fit(X)
            times.append(time.perf_counter() - t0)
        return min(times), est

    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", gaussmix.ConvergenceWarning)
        for name, make in (("gaussmix", gaussmix.GaussianMixture), ("sklearn", SkGaussianMixture)):
            t0, _ = best(make, 1)
            tn, est = best(make, 1 + args.iters)
            results[name] = {
                "one_iteration_fit_seconds": t0,
                "fit_seconds": tn,
                "seconds_per_iteration": (tn - t0) / args.iters,
                "lower_bound": est.lower_bound_,
            }
    ours, theirs = results["gaussmix"], results["sklearn"]
    agree = abs(ours["lower_bound"] - theirs["lower_bound"]) <= 1e-6 * abs(theirs["lower_bound"])
    try:
        from threadpoolctl import threadpool_info

        blas = [
            f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} x{i.get('num_threads')}"
            for i in threadpool_info()
        ]
    except ImportError:
        blas = []
    summary = {
        "n": args.n, "d": args.d, "k": K, "covariance_type": t, "iterations": args.iters,
        "results": results, "lower_bounds_agree": bool(agree),
        "speedup": theirs["seconds_per_iteration"] / ours["seconds_per_iteration"],
        "python": platform.python_version(), "numpy": np.__version__, "threadpools": blas,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.n} x {args.d}, K={K}, {t}, {args.iters} iterations, tol=0, same init")
    for name, r in results.items():
        print(
            f"  {name:9s} {r['seconds_per_iteration']:.3f} s/iteration "
            f"(fit of {1 + args.iters} iterations {r['fit_seconds']:.2f} s, "
            f"of 1 iteration {r['one_iteration_fit_seconds']:.2f} s)"
        )
    print(f"  speed-up {summary['speedup']:.1f}x; lower bounds agree: {agree}")
    print(f"  threadpools: {'; '.join(blas) or 'unknown'}")


if __name__ == "__main__":
    main()
