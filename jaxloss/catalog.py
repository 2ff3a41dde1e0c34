"""The catalog: one registry entry per public loss.

Each loss is registered once, by the :func:`register` decorator next to its
definition, with its family, tasks, input kind, the peer implementation it
matches, its references, the three grades of the survey's comparison table
(computational efficiency, implementation complexity, gradient stability) and
an ``example(key)`` returning valid inputs. The catalog drives the README
table, ``jaxloss list``, the contract tests and the benchmarks.

Grades come from the comparison table of Elharrouss et al. (2025), section
"Computation and Evaluation of Loss Functions", where it grades the loss
(``graded_by="survey"``); other losses are graded by us on the same scale
with the reason in the note (``graded_by="jaxloss"``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

LEVELS = ("high", "medium", "low")
FAMILIES = (
    "regression", "classification", "segmentation", "detection", "tracking",
    "embedding", "generative", "image", "probabilistic", "adaptive",
    "composite", "scalable", "video",
)


@dataclasses.dataclass(frozen=True)
class Grade:
  """One of the survey's grades: a level and a one-line note."""

  level: str
  note: str = ""

  def __post_init__(self):
    if self.level not in LEVELS:
      raise ValueError(f"grade level must be one of {LEVELS}, got {self.level!r}")


Example = Callable[[Any], tuple[tuple, dict]]


@dataclasses.dataclass(frozen=True)
class LossInfo:
  """Metadata of one registered loss.

  Attributes:
    name: public name, ``jaxloss.<name>``.
    fn: the loss function.
    family: task family (module) it belongs to.
    tasks: tasks it is used for (survey vocabulary: "regression",
      "image classification", "semantic segmentation", ...).
    input_kind: what the first argument holds ("values", "logits",
      "probabilities", "log-probabilities", "embeddings", "boxes", "images").
    peer: the peer implementation whose convention it matches ("" if none).
    references: papers (and peer docs) it follows.
    efficiency, complexity, stability: the survey's three grades.
    graded_by: "survey" when the grades are the survey table's, else "jaxloss".
    example: ``example(key) -> (args, kwargs)`` of valid, batched inputs.
    edge_cases: optional ``edge_cases(key) -> [(args, kwargs), ...]`` inputs at
      the loss's edges (perfect predictions, saturated logits, ...) on which the
      value and gradient must be finite.
    grad_argnums: positional arguments the loss is differentiable in.
    per_example: ``f(x)[i] == f(x[i])`` along the leading axis with
      ``reduction="none"`` (False for set-level losses such as batch Dice).
    where_trailing: how many trailing axes the first argument has beyond the
      unreduced loss (1 for a class axis), used to place ``where`` masks; None
      when the loss takes no ``where``.
    aliases: other public names of the same function.
    bad_input: optional ``bad_input(key) -> (args, kwargs)`` that must raise a
      shape error naming the loss (default: the second argument's last axis
      shortened by one).
    reductions: the ``reduction`` values the loss accepts. Losses without
      "none" (compounds of parts with different unreduced shapes, as MONAI's
      ``DiceCELoss``) have their own "mean"/"sum" rule, tested in their module.
  """

  name: str
  fn: Callable
  family: str
  tasks: tuple[str, ...]
  input_kind: str
  peer: str
  references: tuple[str, ...]
  efficiency: Grade
  complexity: Grade
  stability: Grade
  example: Example
  graded_by: str = "jaxloss"
  edge_cases: Callable[[Any], list[tuple[tuple, dict]]] | None = None
  grad_argnums: tuple[int, ...] = (0,)
  per_example: bool = True
  where_trailing: int | None = 0
  aliases: tuple[str, ...] = ()
  bad_input: Callable[[Any], tuple[tuple, dict]] | None = None
  reductions: tuple[str, ...] = ("mean", "sum", "none")


_REGISTRY: dict[str, LossInfo] = {}


def _grade(g) -> Grade:
  if isinstance(g, Grade):
    return g
  if isinstance(g, str):
    return Grade(g)
  return Grade(*g)


def register(*, family: str, tasks: Sequence[str], input_kind: str,
             peer: str = "", references: Sequence[str] = (),
             efficiency, complexity, stability, example: Example,
             graded_by: str = "jaxloss", name: str | None = None, **extra):
  """Decorator registering a loss in the catalog (returns it unchanged)."""
  if family not in FAMILIES:
    raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
  if graded_by not in ("survey", "jaxloss"):
    raise ValueError("graded_by must be 'survey' or 'jaxloss'")

  def deco(fn):
    loss_name = name or fn.__name__
    if loss_name in _REGISTRY:
      raise ValueError(f"loss {loss_name!r} registered twice")
    _REGISTRY[loss_name] = LossInfo(
        name=loss_name, fn=fn, family=family, tasks=tuple(tasks),
        input_kind=input_kind, peer=peer, references=tuple(references),
        efficiency=_grade(efficiency), complexity=_grade(complexity),
        stability=_grade(stability), example=example, graded_by=graded_by,
        **extra)
    return fn

  return deco


def all_losses() -> list[LossInfo]:
  """Every registered loss, sorted by family then name."""
  _load_all()
  return sorted(_REGISTRY.values(), key=lambda i: (FAMILIES.index(i.family), i.name))


def by_family(family: str) -> list[LossInfo]:
  """The losses of one family."""
  if family not in FAMILIES:
    raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
  return [i for i in all_losses() if i.family == family]


def by_task(task: str) -> list[LossInfo]:
  """The losses used for ``task`` (case-insensitive substring match)."""
  t = task.lower()
  return [i for i in all_losses() if any(t in x.lower() for x in i.tasks)]


def get(name: str) -> LossInfo:
  """The entry of one loss, by name or alias."""
  _load_all()
  if name in _REGISTRY:
    return _REGISTRY[name]
  for info in _REGISTRY.values():
    if name in info.aliases:
      return info
  raise KeyError(f"no loss named {name!r}; see jaxloss.catalog.all_losses()")


def families() -> list[str]:
  """The families that have at least one registered loss."""
  present = {i.family for i in all_losses()}
  return [f for f in FAMILIES if f in present]


def _load_all() -> None:
  # Importing the package imports every family module, which registers them.
  import jaxloss  # noqa: F401


def markdown_table() -> str:
  """The README's loss table, generated from the catalog."""
  rows = ["| family | loss | matches | reference | efficiency / complexity / stability |",
          "|---|---|---|---|---|"]
  for i in all_losses():
    names = f"`{i.name}`" + "".join(f" (`{a}`)" for a in i.aliases)
    grades = f"{i.efficiency.level} / {i.complexity.level} / {i.stability.level}"
    if i.graded_by == "survey":
      grades += " (survey)"
    refs = "; ".join(i.references)
    rows.append(f"| {i.family} | {names} | {i.peer or '—'} | {refs} | {grades} |")
  return "\n".join(rows)
