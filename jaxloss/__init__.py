"""jaxloss: every loss function, in JAX -- correct, numerically safe, jit-ready.

Every public loss is importable as ``jaxloss.<name>`` and lives in the package
of its family, ``jaxloss.<family>.<kind>`` (the catalog's family *is* the
package: ``jaxloss.catalog.get("dice_loss").family == "segmentation"``). The
re-exports below are explicit, so a reader sees where each name comes from.
Helpers that are not losses (combinators, task weighting, curricula,
adversarial perturbations, meta-learning) are in :mod:`jaxloss.objectives`.

``import jaxloss`` itself is light: the names load on first use (PEP 562; the
explicit re-exports are in :mod:`jaxloss._exports`; type checkers and IDEs read
the generated stub ``jaxloss/__init__.pyi``), then JAX, NumPy and optax only. The workbench layer
(Flax models, training loop, bundled data, the ``jaxloss`` command) is the
``[workbench]`` extra and loads on first use of ``jaxloss.data``,
``jaxloss.models``, ``jaxloss.training``, ``jaxloss.workbench`` or
``jaxloss.cli``; ``jaxloss.AdaptiveRobustLoss`` and ``jaxloss.LPIPS`` (Flax modules) likewise.
"""

import importlib
import sys

__version__ = "0.1.0"

_LAZY = {
    "data": "jaxloss.data", "models": "jaxloss.models", "training": "jaxloss.training",
    "workbench": "jaxloss.workbench", "cli": "jaxloss.cli", "catalog": "jaxloss.catalog",
}


def _load_exports():
  return importlib.import_module("jaxloss._exports")


def __getattr__(name):
  # PEP 562: the losses load on first use of any public name; the optional layer
  # (data, models, training, workbench, cli) on first use of its own name.
  if name in _LAZY:
    return importlib.import_module(_LAZY[name])
  if name == "AdaptiveRobustLoss":
    from jaxloss.adaptive.module import AdaptiveRobustLoss
    return AdaptiveRobustLoss
  if name == "LPIPS":
    from jaxloss.image.lpips_module import LPIPS
    return LPIPS
  if name.startswith("__") and name != "__all__":
    raise AttributeError(f"module 'jaxloss' has no attribute {name!r}")
  ex = _load_exports()
  if name == "__all__":   # the losses and helpers, plus the Flax module loaded on demand
    value = sorted([*ex.__all__, "AdaptiveRobustLoss", "LPIPS"], key=str.lower)
    setattr(sys.modules[__name__], name, value)
    return value
  if name in ex.__all__ or name == "boxes":
    value = getattr(ex, name)
    setattr(sys.modules[__name__], name, value)
    return value
  raise AttributeError(f"module 'jaxloss' has no attribute {name!r}")


def __dir__():
  return sorted(set(globals()) | set(_load_exports().__all__) | {"AdaptiveRobustLoss", "LPIPS"})
