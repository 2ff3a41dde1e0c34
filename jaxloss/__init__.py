"""jaxloss: every loss function, in JAX — correct, numerically safe, jit-ready.

Every public loss is importable as ``jaxloss.<name>``; the catalog
(:mod:`jaxloss.catalog`) lists them with their metadata. Each family module
defines ``__all__``; this file re-exports them (one line per family).
"""

from jaxloss import catalog
from jaxloss import embedding as _embedding
from jaxloss import regression as _regression
from jaxloss._api import LossInputError, LossTypeError
from jaxloss.embedding import *  # noqa: F403
from jaxloss.regression import *  # noqa: F403

__version__ = "0.1.0"

__all__ = sorted(
    ["catalog", "LossInputError", "LossTypeError"]
    + list(_regression.__all__)
    + list(_embedding.__all__)
)
