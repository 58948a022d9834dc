#!/usr/bin/env python3
"""Side-by-side benchmark: gaussmix vs scikit-learn vs Armadillo vs oneDAL vs faiss, seconds per EM /
Lloyd iteration, and default whole fits (load / initialisation / iterations) vs scikit-learn and
sklearnex.

    python benches/compare.py [--quick | --scale F] [--workloads W1,W2,...] [--iters N] [--repeat R]
                              [--out FILE.md] [--keep DIR] [--gaussmix PATH]
                              [--no-whole | --only-whole]

One run generates every workload once (numpy, fixed seeds), gives every tool the same initial
model, times each tool with the differential method -- (t(N iterations) - t(1 iteration)) /
(N - 1), median over R repeats -- checks that gaussmix and scikit-learn did the same work
(relative difference of the final lower bound, or of the k-means inertia), and prints a
markdown table. See benches/README.md.

Whole fits (on W5 and W3 when selected): each tool's defaults from its own seeding, seed 0 --
`gaussmix kmeans -k 64` against scikit-learn's `KMeans(64)` with `algorithm="lloyd"` and
`"elkan"` and sklearnex's `KMeans(64)`; `gaussmix fit -k 16` against scikit-learn's
`GaussianMixture(16)` -- median seconds over R runs, with gaussmix's own split (`--json`'s
`seconds_load`, `seconds_init`, `seconds_iter`) and scikit-learn's initialisation timed on its
own (`kmeans_plusplus`; for the mixture, the `KMeans(n_init=1)` fit it initialises from).

Per-iteration columns besides scikit-learn: Armadillo; oneDAL, through daal4py's `em_gmm` for the
mixtures and sklearnex's `KMeans` for k-means, in float64 and (on the -f32 rows) float32; faiss-cpu's
`faiss.Kmeans` (float32 only) for k-means. All from the same initial model or centres.

Needs numpy and scikit-learn in the running Python. Armadillo (libarmadillo-dev and g++),
oneDAL (pip install scikit-learn-intelex: daal4py and sklearnex) and faiss (pip install faiss-cpu)
are optional: without them their columns read "n/a" and the output says why.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HARNESS_SRC = Path(__file__).resolve().parent / "armadillo" / "arma_bench.cpp"

try:
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
except ImportError as e:  # pragma: no cover - depends on the environment
    sys.exit(f"compare.py needs numpy and scikit-learn ({e}); pip install scikit-learn")

# Iterations per timed run. The default N (--iters) applies unless a (tool, workload) pair is
# listed here: on a 2-core machine scikit-learn takes ~10 s (W3) and ~10-40 s (W4) per iteration
# of the large full-covariance workloads, Armadillo ~5 s (W3) and ~20 s (W4), so N is capped
# there to keep the default run under ~20 minutes. The cap never raises N above --iters.
SLOW_CAP = {
    ("scikit-learn", "W3"): 3,
    ("scikit-learn", "W4"): 3,
    ("scikit-learn", "K6"): 3,
    ("Armadillo", "W3"): 3,
    ("Armadillo", "W4"): 2,
    ("Armadillo", "K6"): 2,
}
# W1 iterations take microseconds (gaussmix) to a millisecond (scikit-learn): N is multiplied
# by this so that the difference t(N) - t(1) is well above timer and scheduling noise.
W1_SCALE = 10

TOOLS = ("gaussmix", "scikit-learn", "Armadillo", "oneDAL", "faiss")


@dataclass
class Workload:
    name: str
    kind: str  # "gmm" or "kmeans"
    n: int
    d: int
    k: int
    cov: str | None  # "full" / "diag" for GMM
    f32_capable: bool = False
    lesson: bool = False
    f32: bool = False  # also time gaussmix on float32 data (set by the selection)

    def data_key(self) -> str:
        return "lesson" if self.lesson else f"blobs-{self.n}x{self.d}-c{self.k}"

    def shape(self) -> str:
        what = f"K={self.k} {self.cov}" if self.kind == "gmm" else f"{self.k} clusters"
        return f"{self.n:,}×{self.d}, {what}"


def all_workloads() -> dict[str, Workload]:
    return {
        "W1": Workload("W1", "gmm", 400, 2, 4, "full", lesson=True),
        "W2": Workload("W2", "gmm", 1_000_000, 2, 4, "full"),
        "W3": Workload("W3", "gmm", 1_000_000, 16, 16, "full", f32_capable=True),
        "W3d": Workload("W3d", "gmm", 1_000_000, 16, 16, "diag"),
        "W4": Workload("W4", "gmm", 200_000, 64, 32, "full", f32_capable=True),
        "W5": Workload("W5", "kmeans", 1_000_000, 16, 64, None, f32_capable=True),
        "K6": Workload("K6", "kmeans", 500_000, 128, 1024, None, f32_capable=True),
    }


class ToolError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------


def cpu_description() -> str:
    model, flags = "", ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = f" {value.strip()} "
    except OSError:
        pass
    model = model or platform.processor() or platform.machine() or "unknown CPU"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    isa = "AVX-512" if " avx512f " in flags else "AVX2" if " avx2 " in flags else ""
    return f"{model}, {cores} cores" + (f" ({isa})" if isa else "")


def loadavg() -> str:
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def threadpool_summary() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    parts = []
    for p in threadpool_info():
        name = p.get("internal_api", "?")
        version = p.get("version") or ""
        layer = p.get("threading_layer")
        extra = f", {layer}" if layer and layer not in ("unknown", name) else ""
        parts.append(
            f"{name} {version} ({p.get('user_api', '?')}{extra}, {p.get('num_threads')} threads)".replace(
                "  ", " "
            )
        )
    return "; ".join(parts) if parts else "none loaded"


def sources_newer_than(binary: Path) -> list[Path]:
    t = binary.stat().st_mtime
    roots = [REPO / "src", REPO / "crates"]
    files = [REPO / "Cargo.toml", REPO / "Cargo.lock", REPO / "datasets" / "blobs400.npy"]
    for r in roots:
        files += [p for p in r.rglob("*") if p.is_file() and p.suffix in (".rs", ".toml")]
    return [p for p in files if p.exists() and p.stat().st_mtime > t]


def ensure_gaussmix(explicit: str | None) -> Path:
    if explicit:
        path = Path(explicit)
        if not path.exists():
            sys.exit(f"--gaussmix {path}: no such file")
        return path
    path = REPO / "target" / "release" / "gaussmix"
    reason = None
    if not path.exists():
        reason = "is missing"
    else:
        newer = sources_newer_than(path)
        if newer:
            reason = f"is older than {newer[0].relative_to(REPO)} (and {len(newer) - 1} more)"
    if reason:
        cmd = ["cargo", "build", "--release", "-p", "gaussmix"]
        if shutil.which("cargo") is None:
            sys.exit(f"{path} {reason} and cargo is not on PATH: build it with {shlex.join(cmd)}")
        log(f"{path.relative_to(REPO)} {reason}: running {shlex.join(cmd)}")
        env = dict(os.environ, CARGO_TARGET_DIR=str(REPO / "target"))
        r = subprocess.run(cmd, cwd=REPO, env=env)
        if r.returncode != 0 or not path.exists():
            sys.exit("building gaussmix failed")
    return path


def build_armadillo(workdir: Path) -> tuple[Path | None, str, dict]:
    """Compiles the harness. Returns (binary or None, description or reason, version info)."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        return None, "not run: no C++ compiler (g++) found", {}
    out = workdir / "arma_bench"
    base = [cxx, "-O3", "-march=native", "-std=c++17", str(HARNESS_SRC), "-o", str(out)]
    errors = ""
    # OpenMP first: Armadillo's gmm_full / gmm_diag / kmeans split the samples over
    # omp_get_max_threads() threads only when compiled with it.
    for flags in (["-fopenmp"], []):
        cmd = base[:4] + flags + base[4:] + ["-larmadillo"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 0:
            v = subprocess.run([str(out), "--version"], capture_output=True, text=True)
            try:
                info = json.loads(v.stdout)
            except ValueError:
                return None, f"not run: the harness does not start ({v.stderr.strip()[-200:]})", {}
            info["compile"] = shlex.join(["g++"] + cmd[1:]).replace(str(HARNESS_SRC), "arma_bench.cpp")
            info["compile"] = info["compile"].replace(str(out), "arma_bench")
            return out, f"Armadillo {info['version']}", info
        errors = r.stderr
    if "armadillo" in errors and ("No such file" in errors or "cannot find" in errors):
        return None, "not installed (apt install libarmadillo-dev): Armadillo columns skipped", {}
    tail = " ".join(errors.strip().splitlines()[-3:])[-300:]
    return None, f"not run: the harness did not compile ({tail})", {}


# --------------------------------------------------------------------------------------------
# Data and initial models
# --------------------------------------------------------------------------------------------


@dataclass
class Files:
    npy: Path
    raw: Path | None = None  # raw little-endian float64, row-major (Armadillo)
    npy32: Path | None = None
    init_json: Path | None = None  # gaussmix model file
    init_prefix: Path | None = None  # Armadillo .means/.covs/.hefts
    centers_npy: Path | None = None
    centers_raw: Path | None = None
    weights: np.ndarray | None = None
    means: np.ndarray | None = None
    precisions: np.ndarray | None = None


def initial_model(w: Workload, X: np.ndarray):
    n = X.shape[0]
    idx = [(i * 7919 + 13) % n for i in range(w.k)]
    means = np.ascontiguousarray(X[idx], dtype=np.float64)
    weights = np.full(w.k, 1.0 / w.k)
    if w.cov == "full":
        covs = np.broadcast_to(np.eye(w.d), (w.k, w.d, w.d)).copy()
    else:
        covs = np.ones((w.k, w.d))
    return weights, means, covs


def generate(workloads: list[Workload], workdir: Path, need_raw: bool) -> dict[str, Files]:
    files: dict[str, Files] = {}
    data: dict[str, Path] = {}
    for w in workloads:
        key = w.data_key()
        npy = workdir / f"{key}.npy"
        if key not in data:
            t0 = time.perf_counter()
            if w.lesson:
                X = np.load(REPO / "datasets" / "blobs400.npy")
            else:
                X, _ = make_blobs(
                    n_samples=w.n, n_features=w.d, centers=w.k, cluster_std=1.0, random_state=0
                )
            X = np.ascontiguousarray(X, dtype=np.float64)
            np.save(npy, X)
            if need_raw:
                X.astype("<f8").tofile(workdir / f"{key}.f64")
            log(f"generated {key} {X.shape} in {time.perf_counter() - t0:.1f} s")
            data[key] = npy
        X = np.load(npy, mmap_mode="r")
        f = Files(npy=npy, raw=(workdir / f"{key}.f64") if need_raw else None)
        if w.f32:
            f.npy32 = workdir / f"{key}-f32.npy"
            if not f.npy32.exists():
                np.save(f.npy32, np.ascontiguousarray(X, dtype=np.float32))
        weights, means, covs = initial_model(w, X)
        if w.kind == "gmm":
            f.weights, f.means = weights, means
            f.precisions = covs.copy()  # identity: its own inverse
            model = {
                "format": "gaussmix-model",
                "version": 1,
                "kind": "gaussian_mixture",
                "covariance_type": w.cov,
                "n_components": w.k,
                "n_features": w.d,
                "weights": weights.tolist(),
                "means": means.tolist(),
                "covariances": covs.tolist(),
            }
            f.init_json = workdir / f"{w.name}-init.json"
            f.init_json.write_text(json.dumps(model))
            if need_raw:
                f.init_prefix = workdir / f"{w.name}-init"
                means.astype("<f8").tofile(f"{f.init_prefix}.means")
                covs.astype("<f8").tofile(f"{f.init_prefix}.covs")
                weights.astype("<f8").tofile(f"{f.init_prefix}.hefts")
        else:
            f.means = means
            f.centers_npy = workdir / f"{w.name}-centers.npy"
            np.save(f.centers_npy, means)
            if need_raw:
                f.centers_raw = workdir / f"{w.name}-centers.f64"
                means.astype("<f8").tofile(f.centers_raw)
        files[w.name] = f
    return files


# --------------------------------------------------------------------------------------------
# Runners: each returns {"seconds", "n_iter", and "lower_bound" or "inertia"}
# --------------------------------------------------------------------------------------------


def run_json(cmd: list[str]) -> dict:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise ToolError(f"{shlex.join(cmd)} exited with {r.returncode}: {r.stderr.strip()[-400:]}")
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError) as e:
        raise ToolError(f"{shlex.join(cmd)}: no JSON on stdout ({e}): {r.stdout[-200:]}")


class Gaussmix:
    def __init__(self, binary: Path):
        self.binary = binary
        self.cache: dict[tuple, dict] = {}

    def run(self, w: Workload, f: Files, n_iter: int, f32: bool = False) -> dict:
        data = str(f.npy32 if f32 else f.npy)
        if w.kind == "gmm":
            cmd = [str(self.binary), "fit", data, "--init-model", str(f.init_json)]
        else:
            cmd = [str(self.binary), "kmeans", data, "-k", str(w.k), "--init-centers", str(f.centers_npy)]
        cmd += ["--max-iter", str(n_iter), "--tol", "0", "--json", "--quiet"]
        out = run_json(cmd)
        self.cache[(w.name, f32, n_iter)] = out
        return out

    def result_at(self, w: Workload, f: Files, n_iter: int, f32: bool = False) -> dict:
        key = (w.name, f32, n_iter)
        return self.cache[key] if key in self.cache else self.run(w, f, n_iter, f32)


def run_sklearn(w: Workload, X: np.ndarray, f: Files, n_iter: int) -> dict:
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if w.kind == "gmm":
            est = GaussianMixture(
                n_components=w.k,
                covariance_type=w.cov,
                tol=0,
                reg_covar=1e-6,
                max_iter=n_iter,
                weights_init=f.weights,
                means_init=f.means,
                precisions_init=f.precisions,
            )
            t0 = time.perf_counter()
            est.fit(X)
            seconds = time.perf_counter() - t0
            return {"seconds": seconds, "n_iter": int(est.n_iter_), "lower_bound": float(est.lower_bound_)}
        est = KMeans(
            n_clusters=w.k, init=f.means, n_init=1, max_iter=n_iter, tol=0, algorithm="lloyd"
        )
        t0 = time.perf_counter()
        est.fit(X)
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "n_iter": int(est.n_iter_), "inertia": float(est.inertia_)}


def run_armadillo(binary: Path, w: Workload, f: Files, n_iter: int) -> dict:
    if w.kind == "gmm":
        mode, init = w.cov, str(f.init_prefix)
    else:
        mode, init = "kmeans", str(f.centers_raw)
    n = np.load(f.npy, mmap_mode="r").shape[0]
    out = run_json([str(binary), mode, str(f.raw), str(n), str(w.d), str(w.k), init, str(n_iter)])
    if "last_avg_log_p" in out:
        out["lower_bound"] = out["last_avg_log_p"]
    return out


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return "?"


class OneDAL:
    """oneDAL through scikit-learn-intelex: daal4py's `em_gmm` for the mixtures, sklearnex's
    `KMeans` for k-means. `em_gmm` / `kmeans` are None (and `why_gmm` / `why_kmeans` say why)
    when the package is absent or does not import."""

    def __init__(self):
        self.em_gmm = self.kmeans = None
        self.why_gmm = self.why_kmeans = ""
        missing = "not installed (pip install scikit-learn-intelex): its column is skipped"
        try:
            import daal4py

            self.em_gmm = daal4py.em_gmm
        except ImportError:
            self.why_gmm = missing
        except Exception as e:  # a broken install is reported, not fatal
            self.why_gmm = f"not run: daal4py does not import ({e})"
        self.kmeans, self.why_kmeans = sklearnex_kmeans()
        self.fallbacks: list[str] = []
        if self.kmeans is not None:
            import logging

            # sklearnex logs (at INFO) whether each fit ran on oneDAL or fell back to
            # scikit-learn: a fallback would time scikit-learn under oneDAL's name.
            outer = self

            class Watch(logging.Handler):
                def emit(self, record):
                    msg = record.getMessage()
                    if "fallback" in msg.lower():
                        outer.fallbacks.append(msg)

            lg = logging.getLogger("sklearnex")
            lg.setLevel(logging.INFO)
            lg.handlers = [Watch()]  # watched, not printed
            lg.propagate = False

    def describe(self) -> str:
        v = _version("scikit-learn-intelex")
        gmm = f"daal4py {v} `em_gmm`" if self.em_gmm is not None else f"daal4py {self.why_gmm}"
        km = f"sklearnex {v} `KMeans`" if self.kmeans is not None else f"sklearnex {self.why_kmeans}"
        return f"{gmm}; {km}"

    def available(self, w: Workload) -> bool:
        return (self.em_gmm if w.kind == "gmm" else self.kmeans) is not None

    def run(self, w: Workload, X: np.ndarray, f: Files, n_iter: int) -> dict:
        """One fit of `n_iter` iterations from the shared initial model, in X's precision."""
        gc.collect()
        dt = X.dtype
        if w.kind == "gmm":
            if w.cov == "full":
                covs = [np.eye(w.d, dtype=dt) for _ in range(w.k)]
                storage = "full"
            else:
                covs = [np.ones((1, w.d), dtype=dt) for _ in range(w.k)]
                storage = "diagonal"
            algo = self.em_gmm(
                nComponents=w.k,
                fptype="float" if dt == np.float32 else "double",
                maxIterations=n_iter,
                accuracyThreshold=0.0,
                regularizationFactor=1e-6,
                covarianceStorage=storage,
            )
            weights = f.weights.reshape(1, -1).astype(dt)
            means = f.means.astype(dt)
            t0 = time.perf_counter()
            r = algo.compute(X, weights, means, covs)
            seconds = time.perf_counter() - t0
            goal = float(np.asarray(r.goalFunction).ravel()[0])
            # goalFunction: the log-likelihood of the data (a sum), reported as a mean like
            # scikit-learn's lower bound.
            return {
                "seconds": seconds,
                "n_iter": int(np.asarray(r.nIterations).ravel()[0]),
                "lower_bound": goal / X.shape[0],
            }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            before = len(self.fallbacks)
            est = self.kmeans(
                n_clusters=w.k, init=f.means.astype(dt), n_init=1, max_iter=n_iter, tol=0, algorithm="lloyd"
            )
            t0 = time.perf_counter()
            est.fit(X)
            seconds = time.perf_counter() - t0
        if len(self.fallbacks) > before:
            raise ToolError(f"sklearnex fell back to scikit-learn: {self.fallbacks[-1]}")
        return {"seconds": seconds, "n_iter": int(est.n_iter_), "inertia": float(est.inertia_)}


def faiss_kmeans():
    """faiss's module and a description, or (None, why not)."""
    try:
        import faiss
    except ImportError:
        return None, "not installed (pip install faiss-cpu): its column is skipped"
    except Exception as e:
        return None, f"not run: faiss does not import ({e})"
    return faiss, f"faiss-cpu {getattr(faiss, '__version__', _version('faiss-cpu'))} `Kmeans` (float32)"


def run_faiss(faiss, w: Workload, X32: np.ndarray, f: Files, n_iter: int) -> dict:
    """`faiss.Kmeans` for `n_iter` Lloyd iterations from the shared initial centres, on float32
    data (faiss has no float64 k-means); no subsampling (`max_points_per_centroid` = n)."""
    gc.collect()
    n = X32.shape[0]
    km = faiss.Kmeans(
        w.d, w.k, niter=n_iter, seed=0, verbose=False,
        max_points_per_centroid=n, min_points_per_centroid=1,
    )
    init = np.ascontiguousarray(f.means, dtype=np.float32)
    t0 = time.perf_counter()
    km.train(X32, init_centroids=init)
    seconds = time.perf_counter() - t0
    # obj[i]: the inertia of iteration i's assignment (before its centres move).
    return {"seconds": seconds, "n_iter": len(km.obj), "inertia": float(km.obj[-1])}


# --------------------------------------------------------------------------------------------
# Whole fits: every tool's defaults, from its own initialisation
# --------------------------------------------------------------------------------------------

WHOLE = ("W5", "W3")  # the workloads whole fits run on (k-means, mixture)


def sklearnex_kmeans():
    """sklearnex's KMeans class and a description, or (None, why not)."""
    try:
        from sklearnex.cluster import KMeans as XKMeans
    except ImportError:
        return None, "not installed (pip install scikit-learn-intelex): its column is skipped"
    except Exception as e:  # a broken install is reported, not fatal
        return None, f"not run: sklearnex does not import ({e})"
    try:
        from importlib.metadata import version

        v = version("scikit-learn-intelex")
    except Exception:
        v = "?"
    return XKMeans, f"sklearnex {v}"


def whole_gaussmix(binary: Path, w: Workload, f: Files) -> dict:
    cmd = [str(binary), "kmeans" if w.kind == "kmeans" else "fit", str(f.npy), "-k", str(w.k), "--json", "--quiet"]
    out = run_json(cmd)
    value = out["inertia"] if w.kind == "kmeans" else out["lower_bound"]
    return {
        "total": out["seconds"], "load": out.get("seconds_load"), "init": out.get("seconds_init"),
        "iter": out.get("seconds_iter"), "n_iter": out["n_iter"], "value": value,
        "computed": out.get("distances_computed"),
    }


def whole_sklearn(w: Workload, X: np.ndarray, algorithm: str | None, xkmeans=None) -> dict:
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if w.kind == "kmeans":
            if xkmeans is not None:
                est = xkmeans(n_clusters=w.k, random_state=0)
            else:
                est = KMeans(n_clusters=w.k, random_state=0, algorithm=algorithm)
            t0 = time.perf_counter()
            est.fit(X)
            total = time.perf_counter() - t0
            init = None
            if xkmeans is None:
                from sklearn.cluster import kmeans_plusplus

                t0 = time.perf_counter()
                kmeans_plusplus(X, w.k, random_state=0)
                init = time.perf_counter() - t0
            return {"total": total, "init": init, "n_iter": int(est.n_iter_), "value": float(est.inertia_)}
        est = GaussianMixture(n_components=w.k, covariance_type=w.cov, random_state=0)
        t0 = time.perf_counter()
        est.fit(X)
        total = time.perf_counter() - t0
        # Its initialisation: the labels of one KMeans fit (GaussianMixture._initialize).
        t0 = time.perf_counter()
        KMeans(n_clusters=w.k, n_init=1, random_state=0).fit(X)
        init = time.perf_counter() - t0
        return {"total": total, "init": init, "n_iter": int(est.n_iter_), "value": float(est.lower_bound_)}


def run_whole(workloads, files, binary, repeat) -> tuple[dict, str]:
    xk, xk_desc = sklearnex_kmeans()
    log(f"sklearnex: {xk_desc}")
    results = {}
    for w in workloads:
        if w.name not in WHOLE:
            continue
        X = np.load(files[w.name].npy)
        tools = [("gaussmix", None)]
        if w.kind == "kmeans":
            tools += [("scikit-learn lloyd", "lloyd"), ("scikit-learn elkan", "elkan")]
            if xk is not None:
                tools.append(("sklearnex", "sklearnex"))
        else:
            tools.append(("scikit-learn", None))
        runs = {t: [] for t, _ in tools}
        for r in range(repeat):
            for tool, alg in tools:
                try:
                    if tool == "gaussmix":
                        out = whole_gaussmix(binary, w, files[w.name])
                    elif tool == "sklearnex":
                        out = whole_sklearn(w, X, None, xk)
                    else:
                        out = whole_sklearn(w, X, alg)
                except Exception as e:
                    log(f"whole {w.name} {tool}: FAILED: {e}")
                    continue
                runs[tool].append(out)
                log(f"whole {w.name} {tool} {r + 1}/{repeat}: {out['total']:.3f} s, n_iter {out['n_iter']}")
        del X
        gc.collect()
        results[w.name] = runs
    return results, xk_desc


def med(runs: list[dict], key: str) -> float | None:
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def render_whole(workloads, whole, xk_desc, repeat) -> list[str]:
    if not whole:
        return []
    lines = [
        "",
        f"Default whole fits (each tool's defaults and its own seeding, seed 0; median of R={repeat}):",
        "",
        "| workload | tool | fit s | load s | init s | iterations s | n_iter | inertia / lower bound | gaussmix faster by |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for w in workloads:
        runs = whole.get(w.name)
        if not runs:
            continue
        shape = f"{w.name} ({w.n:,}×{w.d}, k={w.k}{'' if w.kind == 'kmeans' else ' ' + w.cov})"
        gm_total = med(runs["gaussmix"], "total")
        for tool, rs in runs.items():
            if not rs:
                lines.append(f"| {shape} | {tool} | failed | | | | | | |")
                continue
            total, init = med(rs, "total"), med(rs, "init")
            it = med(rs, "iter")
            approx = "" if tool == "gaussmix" else "≈ "
            lines.append(
                f"| {shape} | {tool} | {fs(total)} | {fs(med(rs, 'load')) if tool == 'gaussmix' else '–'} "
                f"| {approx + fs(init) if init is not None else '–'} "
                f"| {fs(it) if it is not None else '–'} | {rs[-1]['n_iter']} | {rs[-1]['value']!r} "
                f"| {'–' if tool == 'gaussmix' else fx(total, gm_total)} |"
            )
        comp = runs["gaussmix"][-1].get("computed") if runs["gaussmix"] else None
        if comp:
            lines.append(
                f"| {shape} | gaussmix: distances computed per pass | "
                + ", ".join(f"{c:.3g}" for c in comp) + " | | | | | | |"
            )
    lines += [
        "",
        "fit s: the fit alone (gaussmix's JSON `seconds`; scikit-learn's and sklearnex's `fit()` under "
        "`time.perf_counter`), the data already loaded; gaussmix's load (reading the .npy) is shown apart. "
        "gaussmix's init and iterations are its own split (`seconds_init`: set-up and seeding, for the "
        "mixture the whole k-means initialisation; `seconds_iter`: the iterations and their final pass). "
        "scikit-learn's init (≈) is timed separately: `kmeans_plusplus(X, k)` for k-means, the "
        "`KMeans(n_init=1)` fit `GaussianMixture` initialises from for the mixture. "
        f"sklearnex: {xk_desc}.",
    ]
    return lines


# --------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------


@dataclass
class Series:
    """Differential samples of one tool on one workload."""

    n_full: int
    samples: list[float] = field(default_factory=list)
    raw: list[dict] = field(default_factory=list)
    last: dict | None = None  # the last N-iteration result
    error: str | None = None

    def add(self, one: dict, full: dict) -> float | None:
        self.raw.append({"t1": one["seconds"], "tN": full["seconds"], "n1": one["n_iter"], "nN": full["n_iter"]})
        self.last = full
        di = full["n_iter"] - one["n_iter"]
        if di <= 0:
            return None
        v = (full["seconds"] - one["seconds"]) / di
        self.samples.append(v)
        return v

    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


def iters_for(tool: str, w: Workload, base: int) -> int:
    if w.name == "W1":
        return base * W1_SCALE
    return min(base, SLOW_CAP.get((tool, w.name), base))


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def fs(x: float | None) -> str:
    if x is None:
        return "–"
    if x <= 0:
        return f"{x:.2g} (noise)"
    return f"{x:.3g}"


def fx(num: float | None, den: float | None) -> str:
    if num is None or den is None or num <= 0 or den <= 0:
        return "–"
    r = num / den
    return f"{r:,.0f}×" if r >= 100 else f"{r:.3g}×"


def rel(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(b), 1e-300)


def fr(r: float | None) -> str:
    if r is None:
        return "–"
    return "0" if r == 0 else f"{r:.1e}"


def parity_cell(w: Workload, gm: dict | None, sk: dict | None) -> str:
    if gm is None or sk is None:
        return "–"
    key = "lower_bound" if w.kind == "gmm" else "inertia"
    label = "LB" if w.kind == "gmm" else "inertia"
    cell = f"{label} {fr(rel(gm.get(key), sk.get(key)))}"
    if gm["n_iter"] != sk["n_iter"]:
        cell += f" (n_iter {gm['n_iter']} vs {sk['n_iter']})"
    return cell


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_workloads(spec: str | None) -> list[Workload]:
    table = all_workloads()
    if not spec:
        chosen = list(table.values())
        for w in chosen:
            w.f32 = w.f32_capable
        return chosen
    picked: dict[str, Workload] = {}
    lookup = {k.lower(): k for k in table}
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        name, f32 = item, False
        if item.lower().endswith("-f32"):
            name, f32 = item[:-4], True
        key = lookup.get(name.lower())
        if key is None or (f32 and not table[key].f32_capable):
            valid = ", ".join(list(table) + [f"{k}-f32" for k, v in table.items() if v.f32_capable])
            sys.exit(f"unknown workload {item!r}; choose from {valid}")
        w = picked.setdefault(key, table[key])
        w.f32 = w.f32 or f32
    return [w for k, w in table.items() if k in picked]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n / 10 (except W1), N=5: a check in a few minutes")
    ap.add_argument("--scale", type=float, help="multiply n by this (except W1; n stays at least 2K); --quick is 0.1")
    ap.add_argument("--workloads", help="comma-separated: W1,W2,W3,W3d,W4,W5,K6,W3-f32,W4-f32,W5-f32,K6-f32 (default: all)")
    ap.add_argument("--iters", type=int, help="N, iterations of the long run (default 10; quick 5)")
    ap.add_argument("--repeat", type=int, default=3, help="R, repeats; the median is reported (default 3)")
    ap.add_argument("--out", help="also write the markdown to this file")
    ap.add_argument("--keep", metavar="DIR", help="generate the data in DIR and keep it (and raw timings)")
    ap.add_argument("--gaussmix", metavar="PATH", help="gaussmix binary (default: target/release/gaussmix, built if stale)")
    ap.add_argument("--no-whole", action="store_true", help="skip the default whole fits (W5, W3)")
    ap.add_argument("--only-whole", action="store_true", help="only the default whole fits (W5, W3)")
    args = ap.parse_args()
    if args.no_whole and args.only_whole:
        ap.error("--no-whole and --only-whole exclude each other")
    base_iters = args.iters if args.iters is not None else (5 if args.quick else 10)
    if base_iters < 2:
        ap.error("--iters must be at least 2 (the differential needs N > 1)")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    workloads = parse_workloads(args.workloads)
    scale = args.scale if args.scale is not None else (0.1 if args.quick else 1.0)
    if not 0 < scale <= 1:
        ap.error("--scale must be in (0, 1]")
    if scale != 1.0:
        for w in workloads:
            if not w.lesson:
                w.n = max(int(w.n * scale), 2 * w.k)

    started = time.time()
    load_start = loadavg()
    gaussmix = Gaussmix(ensure_gaussmix(args.gaussmix))
    gm_version = subprocess.run([str(gaussmix.binary), "--version"], capture_output=True, text=True).stdout.strip()

    if args.keep:
        workdir = Path(args.keep).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory(prefix="gaussmix-compare-")
        workdir = Path(tmp.name)
    log(f"work directory {workdir}")

    try:
        arma_bin, arma_desc, arma_info = build_armadillo(workdir)
        log(f"Armadillo: {arma_desc}")
        onedal = OneDAL()
        log(f"oneDAL: {onedal.describe()}")
        faiss, faiss_desc = faiss_kmeans()
        log(f"faiss: {faiss_desc}")
        files = generate(workloads, workdir, need_raw=arma_bin is not None)

        # Warm-up (untimed): imports, BLAS / OpenMP thread pools.
        w1 = all_workloads()["W1"]
        Xw = np.load(REPO / "datasets" / "blobs400.npy")
        fw = Files(npy=REPO / "datasets" / "blobs400.npy")
        fw.weights, fw.means, covs = initial_model(w1, Xw)
        fw.precisions = covs
        run_sklearn(w1, Xw, fw, 2)
        KMeans(n_clusters=4, init=fw.means, n_init=1, max_iter=2).fit(Xw)
        pools = threadpool_summary()

        results: dict[str, dict] = {}
        for w in [] if args.only_whole else workloads:
            f = files[w.name]
            X = np.load(f.npy)
            tools = [("gaussmix", False)]
            if w.f32:
                tools.append(("gaussmix", True))
            tools.append(("scikit-learn", False))
            if arma_bin is not None:
                tools.append(("Armadillo", False))
            if onedal.available(w):
                tools.append(("oneDAL", False))
                if w.f32:
                    tools.append(("oneDAL", True))
            if faiss is not None and w.kind == "kmeans":
                tools.append(("faiss", True))
            X32 = None
            if any(b for t, b in tools if t != "gaussmix"):
                X32 = np.load(f.npy32) if f.npy32 is not None else np.ascontiguousarray(X, dtype=np.float32)
            series = {t: Series(iters_for(t[0], w, base_iters)) for t in tools}
            log(f"{w.name}: {w.shape()}; N = " + ", ".join(
                f"{t}{' f32' if b else ''} {s.n_full}" for (t, b), s in series.items()))
            for r in range(args.repeat):
                for (tool, f32), s in series.items():
                    if s.error:
                        continue
                    try:
                        if tool == "gaussmix":
                            one, full = gaussmix.run(w, f, 1, f32), gaussmix.run(w, f, s.n_full, f32)
                        elif tool == "scikit-learn":
                            one, full = run_sklearn(w, X, f, 1), run_sklearn(w, X, f, s.n_full)
                        elif tool == "oneDAL":
                            Xt = X32 if f32 else X
                            one, full = onedal.run(w, Xt, f, 1), onedal.run(w, Xt, f, s.n_full)
                        elif tool == "faiss":
                            one, full = run_faiss(faiss, w, X32, f, 1), run_faiss(faiss, w, X32, f, s.n_full)
                        else:
                            one, full = run_armadillo(arma_bin, w, f, 1), run_armadillo(arma_bin, w, f, s.n_full)
                    except Exception as e:  # a failing tool is reported, the others go on
                        s.error = str(e) or type(e).__name__
                        log(f"{w.name} {tool}: FAILED: {e}")
                        continue
                    v = s.add(one, full)
                    log(
                        f"{w.name} {tool}{' f32' if f32 else ''} repeat {r + 1}/{args.repeat}: "
                        f"t(1) {one['seconds']:.4g} s, t({full['n_iter']}) {full['seconds']:.4g} s -> "
                        + (f"{v:.4g} s/iter" if v is not None else "no iterations to difference")
                    )
            del X, X32
            gc.collect()

            # Parity: gaussmix at scikit-learn's iteration count, and at Armadillo's.
            sk = series[("scikit-learn", False)]
            parity = {}
            try:
                if sk.last is not None:
                    parity["f64"] = parity_cell(w, gaussmix.result_at(w, f, sk.n_full), sk.last)
                    if w.f32:
                        parity["f32"] = parity_cell(w, gaussmix.result_at(w, f, sk.n_full, True), sk.last)
                ar = series.get(("Armadillo", False))
                if ar is not None and ar.last is not None:
                    gm_at = gaussmix.result_at(w, f, ar.last["n_iter"])
                    key = "lower_bound" if w.kind == "gmm" else "inertia"
                    parity["arma"] = {
                        "n_iter": ar.last["n_iter"],
                        "n_full": ar.n_full,
                        "value": ar.last.get(key),
                        "gaussmix": gm_at.get(key),
                        "rel": rel(ar.last.get(key), gm_at.get(key)),
                        "sk_rel": rel(ar.last.get(key), sk.last.get(key))
                        if sk.last is not None and sk.last["n_iter"] == ar.last["n_iter"]
                        else None,
                    }
                od = series.get(("oneDAL", False))
                if od is not None and od.last is not None:
                    key = "lower_bound" if w.kind == "gmm" else "inertia"
                    gm_at = gaussmix.result_at(w, f, od.last["n_iter"])
                    parity["onedal"] = rel(od.last.get(key), gm_at.get(key))
            except Exception as e:
                log(f"{w.name}: parity run failed: {e}")
            results[w.name] = {"workload": w, "series": series, "parity": parity}

        whole, xk_desc = ({}, "") if args.no_whole else run_whole(workloads, files, gaussmix.binary, args.repeat)
        elapsed = time.time() - started
        per_iter = [w for w in workloads if w.name in results]
        md = render(
            per_iter, results, base_iters, args, gm_version, arma_bin, arma_desc, arma_info, pools,
            load_start, loadavg(), elapsed, onedal.describe(), faiss_desc, scale,
        ) if per_iter else ""
        md = "\n".join([md] + render_whole(workloads, whole, xk_desc, args.repeat)).strip("\n")
        if not per_iter:
            md += f"\n\nMachine: {cpu_description()}; load average {load_start} at start, {loadavg()} at end. " \
                  f"Versions: {gm_version}; scikit-learn {sklearn.__version__}; numpy {np.__version__}."
        print(md)
        if args.out:
            Path(args.out).write_text(md + "\n")
            log(f"wrote {args.out}")
        if args.keep:
            raw = {
                name: {
                    f"{t}{' f32' if b else ''}": {"N": s.n_full, "per_iter": s.samples, "runs": s.raw, "error": s.error}
                    for (t, b), s in res["series"].items()
                }
                for name, res in results.items()
            }
            (workdir / "results.json").write_text(json.dumps(raw, indent=1))
            log(f"raw timings in {workdir / 'results.json'}")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


def render(workloads, results, base_iters, args, gm_version, arma_bin, arma_desc, arma_info, pools,
           load_start, load_end, elapsed, onedal_desc="", faiss_desc="", scale=1.0) -> str:
    have_arma = arma_bin is not None
    lines = [
        "| workload | shape | scikit-learn s/iter | gaussmix s/iter | speed-up vs scikit-learn "
        "| Armadillo s/iter | gaussmix vs Armadillo | oneDAL s/iter | gaussmix vs oneDAL "
        "| faiss-cpu s/iter (f32) | gaussmix vs faiss | parity (rel. diff) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    onedal_par = []
    arma_rows = []
    n_notes = []
    for w in workloads:
        res = results[w.name]
        s = res["series"]
        gm = s[("gaussmix", False)]
        sk = s[("scikit-learn", False)]
        ar = s.get(("Armadillo", False))
        gm_t, sk_t = gm.median(), sk.median()
        ar_t = ar.median() if ar is not None else None
        od, od32, fa = s.get(("oneDAL", False)), s.get(("oneDAL", True)), s.get(("faiss", True))
        fa_t = fa.median() if fa is not None else None
        # A tool without this workload (faiss has no mixtures) reads "–"; one not installed "n/a".
        fa_na = "–" if w.kind == "gmm" else "n/a"

        def cell(series, t, na="n/a"):
            if series is None:
                return na
            if series.error:
                return "failed"
            return fs(t)

        def vs(series, t, g, na="n/a"):
            if series is None:
                return na
            return "–" if series.error else fx(t, g)

        od_t = od.median() if od is not None else None
        lines.append(
            f"| {w.name} | {w.shape()} | {cell(sk, sk_t)} | {cell(gm, gm_t)} | {fx(sk_t, gm_t)} "
            f"| {cell(ar, ar_t)} | {fx(ar_t, gm_t) if ar is not None else 'n/a'} "
            f"| {cell(od, od_t)} | {vs(od, od_t, gm_t)} "
            f"| {cell(fa, fa_t, fa_na)} | {vs(fa, fa_t, gm_t, fa_na)} "
            f"| {res['parity'].get('f64', '–')} |"
        )
        if "onedal" in res["parity"]:
            onedal_par.append(f"{w.name} {fr(res['parity']['onedal'])}")
        if w.f32:
            g32 = s[("gaussmix", True)]
            g32_t = g32.median()
            ratio = fx(gm_t, g32_t)
            od32_t = od32.median() if od32 is not None else None
            what = f"K={w.k} {w.cov}" if w.kind == "gmm" else f"{w.k} clusters"
            lines.append(
                f"| {w.name}-f32 | {w.n:,}×{w.d} float32, {what} | {cell(sk, sk_t)} (f64) "
                f"| {cell(g32, g32_t)} (f64/f32: {ratio}) | {fx(sk_t, g32_t)} | – | – "
                f"| {cell(od32, od32_t)} | {vs(od32, od32_t, g32_t)} "
                f"| {cell(fa, fa_t, fa_na)} | {vs(fa, fa_t, g32_t, fa_na)} "
                f"| {res['parity'].get('f32', '–')} (f32 vs f64) |"
            )
        ns = [f"gaussmix {gm.n_full}", f"scikit-learn {sk.n_full}"]
        if ar is not None:
            ns.append(f"Armadillo {ar.n_full}")
        if od is not None:
            ns.append(f"oneDAL {od.n_full}")
        if fa is not None:
            ns.append(f"faiss {fa.n_full}")
        n_notes.append(f"{w.name} " + "/".join(x.split()[-1] for x in ns))
        a = res["parity"].get("arma")
        if a is not None:
            what = "mean log-likelihood (last E-step)" if w.kind == "gmm" else "inertia"
            stopped = "" if a["n_iter"] == a["n_full"] else f" (stopped early: {a['n_iter']} of {a['n_full']})"
            arma_rows.append(
                f"| {w.name} | {a['n_iter']}{stopped} | {what} {a['value']!r} | {fr(a['rel'])} "
                f"| {fr(a['sk_rel']) if a['sk_rel'] is not None else '–'} |"
            )

    R = args.repeat
    cmd = shlex.join(["python", *sys.argv])
    notes = [
        "",
        f"Seconds per iteration: median over R={R} repeats of (t(N) − t(1)) / (n_iter(N) − n_iter(1)), "
        "where t is the fit time reported by the tool (gaussmix's JSON `seconds`, scikit-learn's "
        "`fit()` under `time.perf_counter`, Armadillo's `learn()` / `kmeans()` under `std::chrono`). "
        "Loading, validation, initialisation and scikit-learn's final E-step cancel in the difference. "
        "Every tool starts from the same model (weights 1/K, means = rows (i·7919 + 13) mod n, "
        "identity covariances), reg_covar 1e-6, tol 0.",
        "N per workload (gaussmix/scikit-learn, then Armadillo, oneDAL and faiss where they ran): "
        + "; ".join(n_notes)
        + f". Default N = {base_iters}; ×{W1_SCALE} on W1 (µs iterations); capped where one "
        "iteration takes seconds (scikit-learn W3/W4/K6: 3; Armadillo W3: 3, W4/K6: 2).",
        "Parity: relative difference between gaussmix's final lower bound (LB: the mean log-likelihood "
        "of the last E-step) and scikit-learn's `lower_bound_` after the same N iterations; for k-means, "
        "of the final inertia. f32 rows: gaussmix on float32 data; the scikit-learn column repeats its "
        "float64 time, \"f64/f32\" is gaussmix's float64 time over its float32 time (> 1: float32 is "
        "faster), and the parity compares the float32 lower bound with scikit-learn's float64 one.",
        f"Machine: {cpu_description()}; load average {load_start} at start, {load_end} at end "
        "(1/5/15 min; a shared machine: other load inflates all timings).",
        f"Versions: {gm_version}; scikit-learn {sklearn.__version__}; numpy {np.__version__}; "
        f"Python {platform.python_version()}; Armadillo: "
        + (
            f"{arma_info['version']} ({'OpenMP, ' + str(arma_info['threads']) + ' threads' if arma_info.get('openmp') else 'no OpenMP: 1 thread'})"
            if have_arma
            else arma_desc
        )
        + ".",
        f"scikit-learn thread pools (threadpoolctl, defaults left alone): {pools}.",
        f"oneDAL: {onedal_desc}: daal4py's `em_gmm(nComponents=K, maxIterations=N, accuracyThreshold=0, "
        "regularizationFactor=1e-6, covarianceStorage=full|diagonal, fptype=double|float).compute(X, weights, "
        "means, covariances)` for the mixtures, sklearnex's `KMeans(init=C, n_init=1, max_iter=N, tol=0, "
        "algorithm=\"lloyd\")` for k-means (a fallback to scikit-learn fails the column), both from the "
        "same start, in float64 and, on -f32 rows, in float32 on float32 data; oneDAL's result vs "
        "gaussmix's after the same N (mean log-likelihood, `goalFunction` / n, or inertia; oneDAL "
        "regularises covariances its own way, so the mixtures agree to ~1e-8 rather than ~1e-15): "
        + (", ".join(onedal_par) or "–") + ".",
        f"faiss: {faiss_desc}: `faiss.Kmeans(d, K, niter=N, max_points_per_centroid=n).train(X32, "
        "init_centroids=C)` on float32 data (faiss has no float64 k-means), no subsampling; it is shown "
        "against gaussmix float64 on the main rows and against gaussmix float32 on the -f32 rows.",
        f"Reproduce: `{cmd}` (R={R}, N={base_iters}{f', n × {scale:g} except W1' if scale != 1 else ''}); "
        f"this run took {elapsed / 60:.1f} min.",
    ]
    if have_arma:
        notes += [
            "",
            "Armadillo's own result after its N-iteration run, against gaussmix run for the same number of "
            "iterations (and against scikit-learn when the counts match):",
            "",
            "| workload | Armadillo iterations | Armadillo value | rel. diff vs gaussmix | rel. diff vs scikit-learn |",
            "|---|---:|---|---:|---:|",
            *arma_rows,
            "",
            "Armadillo notes: (1) `var_floor` = 1e-6 is not `reg_covar`: Armadillo clamps each variance "
            "(diagonal element) to at least 1e-6 after the M-step, where scikit-learn and gaussmix add 1e-6 "
            "to every diagonal, so its lower bounds differ at about 1e-8 relative. (2) Its EM stops early "
            "when the mean log-likelihood changes by ≤ 2.2e-16, and its k-means when no centre moves; the "
            "differential divides by the iterations actually run (counted from its verbose output). "
            "(3) The mean log-likelihood it reports is an average of per-thread averages. "
            "(4) k-means: when a cluster empties, scikit-learn (and gaussmix) move its centre to the "
            "points farthest from their centres, Armadillo to the last sample of a populated cluster; "
            "from such a start the trajectories, and so the inertias, part (the work per iteration is "
            "the same). "
            f"(5) Compiled as `{arma_info.get('compile', '')}`; its gmm and kmeans loops are its own "
            "(the BLAS it links is used only for per-component inverses and determinants).",
        ]
    return "\n".join(lines + notes)


if __name__ == "__main__":
    sys.exit(main())
