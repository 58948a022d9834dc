#!/usr/bin/env bash
# CI for the Python package: a fresh venv, the build requirements from PyPI, the package built
# and installed the way a user installs it (`pip install ./crates/python`: maturin compiles the
# extension in release mode), then its pytest suite, including the distributed fits of
# tests/test_dask.py on a Dask LocalCluster (dask[array] and distributed are installed for them).
# Works from a clean clone; about 8-12 minutes on 2 cores, most of it compiling the extension
# (7 minutes) and the Dask tests (LocalCluster fits, 2-3 minutes).
#
# Environment: PYTHON (default python3, >= 3.11), GAUSSMIX_PY_VENV (where to create the venv;
# default a fresh temporary directory, removed at the end).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"

if [[ -n "${GAUSSMIX_PY_VENV:-}" ]]; then
    venv="$GAUSSMIX_PY_VENV"
    rm -rf "$venv"
else
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    venv="$tmp/venv"
fi

echo "== python: $("$python" --version) -> venv $venv"
"$python" -m venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet maturin numpy scikit-learn pytest threadpoolctl \
    pandas "dask[array]" distributed
"$venv/bin/python" -m pip list 2>/dev/null \
    | grep -iE '^(maturin|numpy|scikit-learn|scipy|pandas|pytest|dask|distributed) '

echo "== pip install ./crates/python (maturin, release build)"
start=$SECONDS
"$venv/bin/python" -m pip install "$here"
echo "built and installed in $((SECONDS - start)) s"

echo "== pytest crates/python/tests"
cd "$here"
# Import the installed package, not the source tree.
"$venv/bin/python" -c 'import gaussmix, sys; assert "site-packages" in gaussmix.__file__, gaussmix.__file__; print("gaussmix", gaussmix.__version__, "from", gaussmix.__file__)'
# The Dask tests must run here, not be skipped: fail early if Dask is missing.
"$venv/bin/python" -c 'import dask.array, distributed; print("dask", dask.__version__, "distributed", distributed.__version__)'
"$venv/bin/python" -m pytest tests -q -p no:cacheprovider
