"""The catalog: one registry entry per public loss, three concerns in three places.

* Discovery -- :func:`register`, next to each loss: tasks, input kind, the
  peer implementation it matches, references (rendered into the docstring's
  References section, so each fact is written once), aliases and, for a
  compound loss, the names of its parts. The family is not written: it is the
  package the loss is defined in (``jaxloss.<family>.<kind>``).
* Editorial grades -- :mod:`jaxloss.catalog._grades`, one table: the three
  grades of the survey's comparison table (computational efficiency,
  implementation complexity, gradient stability) with a one-line note;
  ``graded_by="survey"`` rows are the survey's own (Elharrouss et al. 2025,
  "Computation and Evaluation of Loss Functions").
* Test fixtures -- :mod:`jaxloss.catalog.cases`: valid example inputs, edge
  cases, bad inputs and contract flags, used by the tests and benchmarks and
  never imported by ``import jaxloss``.

The catalog drives ``jaxloss list``, the docs' catalog page, the contract tests
and the benchmarks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from jaxloss.catalog._grades import GRADES

LEVELS = ("high", "medium", "low")

# The survey every family cites (one definition; losses list it in ``references``).
SURVEY = ("Elharrouss et al., Loss Functions in Deep Learning: A Comprehensive Review, "
          "arXiv:2504.04242, 2025")
# A family is a package ``jaxloss.<family>``; a loss's family is read off its module.
FAMILIES = (
    "regression", "classification", "segmentation", "detection", "tracking",
    "embedding", "generative", "image", "probabilistic", "adaptive",
    "scalable", "video", "alignment", "self_supervised",
    "distillation", "distribution",
)


@dataclasses.dataclass(frozen=True)
class Grade:
  """One of the survey's grades: a level and a one-line note."""

  level: str
  note: str = ""

  def __post_init__(self):
    if self.level not in LEVELS:
      raise ValueError(f"grade level must be one of {LEVELS}, got {self.level!r}")


@dataclasses.dataclass(frozen=True)
class LossInfo:
  """Discovery metadata of one registered loss (test fixtures are in :mod:`jaxloss.catalog.cases`).

  Attributes:
    name: public name, ``jaxloss.<name>``.
    fn: the loss function.
    family: task family: the package the loss is defined in.
    module: the module it is defined in (``jaxloss.segmentation.overlap``).
    tasks: tasks it is used for (survey vocabulary: "regression",
      "image classification", "semantic segmentation", ...).
    input_kind: what the first argument holds ("values", "logits",
      "probabilities", "log-probabilities", "embeddings", "boxes", "images").
    peer: the peer implementation whose convention it matches ("" if none).
    references: papers (and peer docs) it follows; rendered into the
      docstring's References section.
    efficiency, complexity, stability: the survey's three grades (from
      :mod:`jaxloss.catalog._grades`).
    graded_by: "survey" when the grades are the survey table's, else "jaxloss".
    aliases: other public names of the same function.
    components: names of the parts a compound loss returns with
      ``return_components=True`` (empty for a loss without parts).
  """

  name: str
  fn: Callable
  family: str
  module: str
  tasks: tuple[str, ...]
  input_kind: str
  peer: str
  references: tuple[str, ...]
  efficiency: Grade
  complexity: Grade
  stability: Grade
  graded_by: str = "jaxloss"
  aliases: tuple[str, ...] = ()
  components: tuple[str, ...] = ()


_REGISTRY: dict[str, LossInfo] = {}


def _render_references(doc: str, peer: str, references: Sequence[str]) -> str:
  """Inserts a ``References:`` section, rendered from the registry, before ``Examples:``."""
  if not doc or (not peer and not references):
    return doc
  lines = doc.split("\n")
  indent = next((ln[: len(ln) - len(ln.lstrip())] for ln in lines[1:] if ln.strip()), "  ")
  if any(ln.strip() == "References:" for ln in lines):
    raise ValueError("a registered loss's References section is rendered from register(); "
                     "move its papers to references= and its remarks to a Notes: section")
  body = [f"{indent}References:"]
  body += [f"{indent}  {r}" + ("" if r.endswith(".") else ".") for r in references]
  if peer:
    body.append(f"{indent}  Matches ``{peer}``.")
  body.append("")
  at = next((k for k, ln in enumerate(lines) if ln.strip() == "Examples:"), None)
  if at is None:
    while lines and not lines[-1].strip():
      lines.pop()
    return "\n".join([*lines, "", *body[:-1], indent])
  return "\n".join([*lines[:at], *body, *lines[at:]])


def family_of(fn) -> str:
  """The family of a loss: the package it is defined in, ``jaxloss.<family>.<kind>``."""
  parts = fn.__module__.split(".")
  if len(parts) < 3 or parts[0] != "jaxloss" or parts[1] not in FAMILIES:
    raise ValueError(f"{fn.__module__}.{fn.__name__}: a registered loss must be defined in a "
                     f"family package jaxloss.<family>.<kind>, <family> one of {FAMILIES}")
  return parts[1]


def register(*, tasks: Sequence[str], input_kind: str, peer: str = "",
             references: Sequence[str] = (), aliases: Sequence[str] = (),
             components: Sequence[str] = ()):
  """Decorator registering a loss in the catalog (returns it, with its References rendered).

  Args:
    tasks: tasks the loss is used for (survey vocabulary).
    input_kind: what the first argument holds.
    peer: the peer implementation it matches ("" if none).
    references: papers it follows.
    aliases: other public names of the same function.
    components: part names of a compound loss (``return_components=True``).

  The family is the package the function is defined in; the grades come from
  :data:`jaxloss.catalog._grades.GRADES`.
  """
  def deco(fn):
    loss_name = fn.__name__
    if loss_name in _REGISTRY:
      raise ValueError(f"loss {loss_name!r} registered twice")
    if loss_name not in GRADES:
      raise ValueError(f"loss {loss_name!r} has no row in jaxloss/catalog/_grades.py")
    eff, comp, stab, by = GRADES[loss_name]
    fn.__doc__ = _render_references(fn.__doc__ or "", peer, references)
    _REGISTRY[loss_name] = LossInfo(
        name=loss_name, fn=fn, family=family_of(fn), module=fn.__module__, tasks=tuple(tasks),
        input_kind=input_kind, peer=peer, references=tuple(references),
        efficiency=Grade(*eff), complexity=Grade(*comp), stability=Grade(*stab),
        graded_by=by, aliases=tuple(aliases),
        components=tuple(components))
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
  import jaxloss._exports  # noqa: F401


def markdown_table() -> str:
  """The docs' loss table (``docs/catalog.md``), generated from the catalog."""
  rows = ["| family | loss | module | matches | reference | efficiency / complexity / stability |",
          "|---|---|---|---|---|---|"]
  for i in all_losses():
    names = f"`{i.name}`" + "".join(f" (`{a}`)" for a in i.aliases)
    grades = f"{i.efficiency.level} / {i.complexity.level} / {i.stability.level}"
    if i.graded_by == "survey":
      grades += " (survey)"
    refs = "; ".join(i.references)
    peer = (i.peer or "—").replace("|", "\\|")
    rows.append(f"| {i.family} | {names} | `{i.module}` | {peer} | {refs} | {grades} |")
  return "\n".join(rows)


def snapshot() -> dict:
  """The catalog as plain JSON data, for ``jaxloss list`` / ``show`` without JAX.

  Written to ``jaxloss/catalog/snapshot.json`` by ``scripts/gen_api_docs.py``;
  ``tests/test_cli.py`` fails when the file is stale.
  """
  import inspect

  rows = []
  for i in all_losses():
    rows.append({
        "name": i.name, "family": i.family, "module": i.module, "tasks": list(i.tasks),
        "input_kind": i.input_kind, "peer": i.peer, "references": list(i.references),
        "efficiency": [i.efficiency.level, i.efficiency.note],
        "complexity": [i.complexity.level, i.complexity.note],
        "stability": [i.stability.level, i.stability.note],
        "graded_by": i.graded_by, "aliases": list(i.aliases), "components": list(i.components),
        "signature": str(inspect.signature(i.fn)), "doc": i.fn.__doc__ or "",
    })
  return {"families": list(families()), "losses": rows}
