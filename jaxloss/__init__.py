"""jaxloss: every loss function, in JAX — correct, numerically safe, jit-ready.

Every public loss is importable as ``jaxloss.<name>``; the catalog
(:mod:`jaxloss.catalog`) lists them with their metadata. Each family module
defines ``__all__``; this file re-exports them (one import line per family,
and the family in ``_FAMILY_MODULES``).
"""

import importlib

from jaxloss import boxes, catalog
from jaxloss._api import LossInputError, LossTypeError
from jaxloss.adaptive import *  # noqa: F403
from jaxloss.composite import *  # noqa: F403
from jaxloss.detection import *  # noqa: F403
from jaxloss.image import *  # noqa: F403
from jaxloss.regression import *  # noqa: F403
from jaxloss.robust import *  # noqa: F403
from jaxloss.tracking import *  # noqa: F403

__version__ = "0.1.0"

_FAMILY_MODULES = ("adaptive", "composite", "detection", "image", "regression", "robust",
                   "tracking")

__all__ = sorted(
    {"boxes", "catalog", "LossInputError", "LossTypeError"}.union(
        *(importlib.import_module(f"jaxloss.{m}").__all__ for m in _FAMILY_MODULES)))
