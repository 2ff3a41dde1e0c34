"""What ``compare`` trains with: a catalog name, a name with options, or any callable.

``jaxloss compare TASK --losses 'focal_loss:gamma=1,focal_loss:gamma=3'`` and
``workbench.compare(task, losses=[("focal γ=3", functools.partial(jaxloss.focal_loss,
gamma=3.0)), my_loss])`` both end up as a list of :class:`LossSpec`: a row label,
the function to call, the catalog entry when there is one (for the semantic fit
check, the recommendations and the GAN's label convention) and the options.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from jaxloss import catalog
from jaxloss.workbench._binding import LossIncompatible
from jaxloss.workbench.task import _info_of as catalog_info


@dataclasses.dataclass(frozen=True)
class LossSpec:
  """One row of a comparison.

  Attributes:
    label: the row's name in tables, plots and ``results.json``.
    fn: the loss, called as the task binds it (options already applied).
    info: the catalog entry of the underlying loss, or None for a user callable.
    options: keyword options applied on top of the loss's defaults.
  """

  label: str
  fn: Callable
  info: Any = None
  options: dict = dataclasses.field(default_factory=dict)

  @property
  def name(self) -> str:
    """The catalog name of the underlying loss (the label for a user callable)."""
    return self.info.name if self.info is not None else self.label


def _value(text: str):
  """An option value: a Python literal (1, 0.5, True, None, 'x', (1, 2)) or a bare string."""
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text


def _known_names() -> list[str]:
  infos = catalog.all_losses()
  return sorted({i.name for i in infos} | {a for i in infos for a in i.aliases})


def unknown_loss_message(name: str, candidates: Sequence[str] = ()) -> str:
  """``unknown loss 'x'; did you mean ...?`` with the task's candidates as a fallback."""
  close = difflib.get_close_matches(name, _known_names(), n=3, cutoff=0.6)
  msg = f"unknown loss {name!r}"
  if close:
    msg += f"; did you mean {' or '.join(close)}?"
  if candidates:
    msg += f" Losses for this task: {', '.join(candidates)}"
  return msg + " (`jaxloss list` shows the catalog)"


def _options_of(fn) -> dict[str, inspect.Parameter]:
  return {p.name: p for p in inspect.signature(fn).parameters.values()
          if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def _check_options(name: str, fn, options: dict) -> None:
  params = _options_of(fn)
  required_positional = [p for p in inspect.signature(fn).parameters.values()
                         if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                         and p.default is p.empty]
  allowed = {n for n, p in params.items() if p not in required_positional}
  for k in options:
    if k not in allowed:
      close = difflib.get_close_matches(k, sorted(allowed), n=2, cutoff=0.6)
      hint = f"; did you mean {' or '.join(close)}?" if close else ""
      raise LossIncompatible(f"{name} has no option {k!r}{hint} (its options: "
                             f"{', '.join(sorted(allowed)) or 'none'})")


def parse_loss(text: str) -> LossSpec:
  """``"name"`` or ``"name:opt=value:opt2=value"`` -> :class:`LossSpec`.

  Values are Python literals (``gamma=1``, ``squared_pred=True``,
  ``activation=None``, ``loss_type='hinge'``); anything else is a string.
  Raises :class:`LossIncompatible` naming an unknown loss or option.
  """
  text = text.strip()
  name, *parts = [p.strip() for p in text.split(":")]
  try:
    info = catalog.get(name)
  except KeyError:
    raise LossIncompatible(unknown_loss_message(name)) from None
  options = {}
  for p in parts:
    k, eq, v = p.partition("=")
    if not eq or not k.strip():
      raise LossIncompatible(f"loss option {p!r} in {text!r} is not of the form name=value "
                             "(e.g. focal_loss:gamma=3)")
    options[k.strip()] = _value(v.strip())
  _check_options(info.name, info.fn, options)
  fn = functools.partial(info.fn, **options) if options else info.fn
  label = info.name + "".join(f":{k}={v}" for k, v in options.items())
  return LossSpec(label, fn, info, options)


def _callable_label(fn) -> str:
  if isinstance(fn, functools.partial):
    inner = _callable_label(fn.func)
    return inner + "".join(f":{k}={v}" for k, v in fn.keywords.items())
  return getattr(fn, "__name__", type(fn).__name__)


def as_spec(item) -> LossSpec:
  """A loss given to :func:`~jaxloss.workbench.compare` as a :class:`LossSpec`.

  Accepts a catalog name (with ``:opt=value`` options), a callable (labelled by
  its name; a ``functools.partial`` by its function and keywords), a
  ``(label, callable)`` or ``(label, "name:opt=value")`` pair, or a
  :class:`LossSpec`.
  """
  if isinstance(item, LossSpec):
    return item
  if isinstance(item, str):
    return parse_loss(item)
  if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
    label, what = item
    spec = as_spec(what)
    return dataclasses.replace(spec, label=label)
  if callable(item):
    info = catalog_info(item)
    options = dict(item.keywords) if isinstance(item, functools.partial) else {}
    if info is not None and options:
      _check_options(info.name, info.fn, options)
    return LossSpec(_callable_label(item), item, info, options)
  raise TypeError(f"a loss to compare is a catalog name, a callable or a (label, callable) "
                  f"pair; got {item!r}")


def as_specs(items) -> list[LossSpec]:
  """:func:`as_spec` on each item, duplicates (same label) kept once, in order."""
  out: dict[str, LossSpec] = {}
  for item in items:
    s = as_spec(item)
    out.setdefault(s.label, s)
  return list(out.values())


def split_loss_list(text: str) -> list[str]:
  """The CLI's ``--losses`` value split at commas that are not inside brackets or quotes."""
  parts, depth, quote, cur = [], 0, None, []
  for ch in text:
    if quote:
      quote = None if ch == quote else quote
    elif ch in "'\"":
      quote = ch
    elif ch in "([{":
      depth += 1
    elif ch in ")]}":
      depth -= 1
    elif ch == "," and depth == 0:
      parts.append("".join(cur))
      cur = []
      continue
    cur.append(ch)
  parts.append("".join(cur))
  return [p.strip() for p in parts if p.strip()]
