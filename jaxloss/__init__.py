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
from jaxloss.classification import *  # noqa: F403
from jaxloss.composite import *  # noqa: F403
from jaxloss.detection import *  # noqa: F403
from jaxloss.embedding import *  # noqa: F403
from jaxloss.forecasting import *  # noqa: F403
from jaxloss.generative import *  # noqa: F403
from jaxloss.image import *  # noqa: F403
from jaxloss.probabilistic import *  # noqa: F403
from jaxloss.regression import *  # noqa: F403
from jaxloss.robust import *  # noqa: F403
from jaxloss.scalable import *  # noqa: F403
from jaxloss.segmentation import *  # noqa: F403
from jaxloss.sequence import *  # noqa: F403
from jaxloss.tracking import *  # noqa: F403
from jaxloss.video import *  # noqa: F403

__version__ = "0.1.0"

_FAMILY_MODULES = ("adaptive", "classification", "composite", "detection", "embedding", "forecasting", "generative", "image",
                   "probabilistic", "regression", "robust", "scalable", "segmentation", "sequence", "tracking", "video")

__all__ = sorted(
    {"boxes", "catalog", "LossInputError", "LossTypeError"}.union(
        *(importlib.import_module(f"jaxloss.{m}").__all__ for m in _FAMILY_MODULES)))

# The workbench pieces (Flax models, training loop, bundled data, the compare
# command) load on first use, so ``import jaxloss`` stays light: after
# ``import jaxloss``, ``jaxloss.data.digits()`` or ``jaxloss.models.UNet`` work
# without a separate import (PEP 562).
_LAZY_MODULES = ("data", "models", "training", "workbench", "cli")


def __getattr__(name):
  if name in _LAZY_MODULES:
    return importlib.import_module(f"jaxloss.{name}")
  raise AttributeError(f"module 'jaxloss' has no attribute {name!r}")
