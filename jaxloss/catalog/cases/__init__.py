"""The cases table: test fixtures and contract flags of every registered loss.

One module per family (``jaxloss/catalog/cases/<family>.py``) registers, for
each loss of the family, with :func:`case`:

* ``example(key) -> (args, kwargs)`` -- valid, batched, deterministic inputs;
* ``edge_cases(key) -> [(args, kwargs), ...]`` -- inputs at the loss's edges
  (perfect predictions, saturated logits, empty masks, identical boxes ...) on
  which the value and the gradient must be finite;
* ``bad_input(key) -> (args, kwargs)`` -- a call that must raise a shape error
  naming the loss (default: the second argument's last axis shortened by one);
* ``grad_argnums`` -- positional arguments the loss is differentiable in;
* ``per_example`` -- ``f(x)[i] == f(x[i])`` along the leading axis with
  ``reduction="none"`` (False for set-level losses such as batch Dice);
* ``where_shape(args, kwargs) -> shape`` -- the shape of a ``where`` mask for
  the example's inputs, when it is not the unreduced (``reduction="none"``)
  output's shape (e.g. the items of a ranking loss, the pixels of a compound
  segmentation loss); by default the contract tests take the unreduced shape.
  Every loss that takes ``where`` has its masks tested;
* ``reductions`` -- the ``reduction`` values the loss accepts;
* ``components_total(parts, kwargs) -> total`` -- for a compound loss, how its
  parts (``return_components=True``) combine into the total with the
  example's options (the contract tests check it).

The tests (``tests/test_contract.py``) and the benchmarks read this table; the
library never imports it (``import jaxloss`` does not load these modules).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

Example = Callable[[Any], tuple[tuple, dict]]


@dataclasses.dataclass(frozen=True)
class Case:
  """Fixtures and contract flags of one loss (see the module docstring)."""

  example: Example
  edge_cases: Callable[[Any], list[tuple[tuple, dict]]] | None = None
  bad_input: Example | None = None
  grad_argnums: tuple[int, ...] = (0,)
  per_example: bool = True
  where_shape: Callable[[tuple, dict], tuple[int, ...]] | None = None
  reductions: tuple[str, ...] = ("mean", "sum", "none")
  components_total: Callable[[dict, dict], Any] | None = None


_CASES: dict[str, Case] = {}


def case(name: str, example: Example, **flags) -> Case:
  """Registers the cases of loss ``name`` (called by the family modules)."""
  if name in _CASES:
    raise ValueError(f"cases of {name!r} registered twice")
  c = Case(example=example, **flags)
  _CASES[name] = c
  return c


_LOADED = False


def _load_all() -> None:
  # The family modules register their cases when imported; import them once.
  global _LOADED
  if not _LOADED:
    for m in pkgutil.iter_modules(__path__):
      if not m.name.startswith("_"):
        importlib.import_module(f"{__name__}.{m.name}")
    _LOADED = True


def get(name: str) -> Case:
  """The cases of one registered loss (by its catalog name)."""
  from jaxloss import catalog

  _load_all()
  info = catalog.get(name)
  if info.name in _CASES:
    return _CASES[info.name]
  raise KeyError(f"no cases for loss {info.name!r}; add them to "
                 f"jaxloss/catalog/cases/{info.family}.py")
