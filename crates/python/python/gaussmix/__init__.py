"""gaussmix: Gaussian mixture models and k-means with scikit-learn's semantics, in Rust.

- ``GaussianMixture``, ``BayesianGaussianMixture`` and ``KMeans``: scikit-learn's estimators
  (same parameters, fitted attributes and methods), plus ``n_threads``, and ``sample_weight``
  on every ``fit``; fits and predictions release the GIL.
- ``load_model`` / ``save_model``: the command line's JSON model file.
- ``gaussmix.stats``: the sufficient-statistics API (E-step on a chunk, merge, M-step).
- ``gaussmix.dask`` (imported on its own; needs ``dask[array]`` and ``distributed``):
  ``GaussianMixture``, ``BayesianGaussianMixture`` and ``KMeans`` fitted on a Dask cluster,
  from Dask arrays or ``.npy`` file pieces.

scikit-learn is optional: with it installed the estimators are scikit-learn estimators
(``BaseEstimator`` and its mixins, its input validation and warnings) and ``to_sklearn()``
gives scikit-learn's own fitted estimator; without it they work on numpy alone.
"""

from . import _core, stats
from ._bayesian import BayesianGaussianMixture
from ._compat import HAVE_SKLEARN, ConvergenceWarning
from .cluster import KMeans
from .mixture import GaussianMixture
from .model_file import load_model, save_model

__version__ = _core.__version__

__all__ = [
    "GaussianMixture",
    "BayesianGaussianMixture",
    "KMeans",
    "load_model",
    "save_model",
    "stats",
    "ConvergenceWarning",
    "HAVE_SKLEARN",
    "__version__",
]
