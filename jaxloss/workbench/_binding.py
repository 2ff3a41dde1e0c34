"""Binding a catalog loss to a task's model outputs by its signature."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import jax.numpy as jnp


class LossIncompatible(ValueError):
  """A loss cannot be applied to a task's model outputs."""


# Values for keyword-only hyperparameters that have no default in a loss's
# signature (the loss's paper's recommended setting).
KW_DEFAULTS = {"t1": 0.8, "t2": 1.2, "alpha": 1.0, "scale": 1.0}


def bind_loss(fn: Callable, pred, target, extras: dict | None = None, kwargs: dict | None = None):
  """Call catalog loss ``fn`` on a task's outputs, binding by signature.

  ``fn(pred, target, *more)``: required positional parameters after the second
  are taken from ``extras`` by name (``var``, ``std``, ``scale``,
  ``class_weights``, ...). A loss with a single positional parameter is a
  residual loss and gets ``pred - target``; a pair loss ``fn(x1, x2, labels)``
  gets each embedding paired with the next one in the batch. Keyword-only parameters without a
  default come from ``extras``, then from :data:`KW_DEFAULTS`. ``kwargs``
  override everything. Raises :class:`LossIncompatible` when a required
  argument cannot be supplied.
  """
  extras = extras or {}
  name = getattr(fn, "__name__", "loss")
  params = inspect.signature(fn).parameters.values()
  positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                and p.default is p.empty]
  if len(positional) == 1:
    args = [pred - target]
  elif [p.name for p in positional] == ["x1", "x2", "labels"]:
    args = _pairs(fn, name, pred, target)
  else:
    args = [pred, target]
    for p in positional[2:]:
      if p.name not in extras:
        raise LossIncompatible(f"{name} needs a {p.name!r} argument that this task's model "
                               f"does not provide (it provides: {', '.join(extras) or 'none'})")
      args.append(extras[p.name])
  kw = {}
  for p in params:
    if p.kind == p.KEYWORD_ONLY and p.default is p.empty:
      if p.name in extras:
        kw[p.name] = extras[p.name]
      elif p.name in KW_DEFAULTS:
        kw[p.name] = KW_DEFAULTS[p.name]
      else:
        raise LossIncompatible(f"{name} needs a {p.name!r} keyword this task cannot choose")
  kw.update(kwargs or {})
  return fn(*args, **kw)


def _pairs(fn, name, emb, labels):
  """A pair loss ``fn(x1, x2, same)`` on a batch of embeddings with class labels:
  each example paired with the next one in the batch (cyclically), ``same``
  marking pairs of one class (1/0 for contrastive_loss, +1/-1 for
  cosine_embedding_loss)."""
  if not jnp.issubdtype(jnp.asarray(labels).dtype, jnp.integer):
    raise LossIncompatible(f"{name} is a pair loss; it needs integer class labels to form pairs")
  partner = jnp.roll(emb, 1, axis=0)
  same = labels == jnp.roll(labels, 1, axis=0)
  pm1 = name in ("cosine_embedding_loss", "margin_ranking_loss")   # +1/-1 labels, else 1/0
  return [emb, partner, jnp.where(same, 1, -1) if pm1 else same.astype(emb.dtype)]


def _as_objective_value(out):
  """A loss returns an array or ``(loss, aux)``; make it ``(scalar, aux)``."""
  if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
    loss, aux = out
  else:
    loss, aux = out, {}
  loss = jnp.mean(loss)
  return loss, {k: jnp.mean(v) for k, v in aux.items() if jnp.ndim(v) <= 1}
