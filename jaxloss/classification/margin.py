"""Margin (hinge) classification losses on raw scores.

The scores are the ``logits`` argument (the shared ``(logits, labels)`` pair).
Binary hinge losses take {-1, +1} labels of the logits' shape and are
elementwise; :func:`multiclass_hinge_loss` takes ``[..., C]`` logits and
integer labels and returns one value per example.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import LossInputError, debug_check_in_set, loss_function, reduce_loss
from jaxloss.catalog import SURVEY, register
from jaxloss.classification._common import binary_inputs, class_inputs, class_vector

__all__ = ["hinge_loss", "multiclass_hinge_loss", "squared_hinge_loss"]

_CORTES = "Cortes & Vapnik, Support-Vector Networks, Machine Learning 1995"


def _hinge(logits, labels, where):
  s, y, where = binary_inputs(logits, labels, where)
  debug_check_in_set("labels", y if where is None else jnp.where(where, y, 1.0), (-1.0, 1.0))
  return jax.nn.relu(1.0 - y * s), where


@register(tasks=("binary classification", "support vector machines"),
          peer="optax.losses.hinge_loss",
          references=(_CORTES, SURVEY),
          input_kind="scores")
@loss_function
def hinge_loss(logits, labels, *, weights=None, where=None, reduction="mean"):
  r"""Hinge loss with labels in {-1, +1}.

  .. math::
    \ell_i = \max(0,\ 1 - y_i z_i)

  Args:
    logits: floating scores, any shape.
    labels: {-1, +1} labels of the same shape (checked under chexify).
    weights: optional per-entry weights, broadcastable to ``logits``.
    where: optional boolean mask, broadcastable to ``logits``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape`` for "none".

  Raises:
    LossInputError: shape mismatch.

  Notes:
    optax's ``hinge_loss`` is elementwise (``reduction="none"``); Keras
    ``hinge`` additionally maps {0, 1} labels to ±1 and averages the last
    axis.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.hinge_loss(jnp.array([2., 0.5, -1.]), jnp.array([1., 1., 1.]),
    ...                          reduction="none"))
    [0.  0.5 2. ]
  """
  values, where = _hinge(logits, labels, where)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("binary classification", "support vector machines"),
          peer="keras.losses.squared_hinge (with ±1 labels, elementwise)",
          references=(_CORTES, "Rosasco et al., Are Loss Functions All the Same?, 2004"),
          input_kind="scores")
@loss_function
def squared_hinge_loss(logits, labels, *, weights=None, where=None, reduction="mean"):
  r"""Squared hinge loss with labels in {-1, +1}.

  .. math::
    \ell_i = \max(0,\ 1 - y_i z_i)^2

  Args:
    logits: floating scores, any shape.
    labels: {-1, +1} labels of the same shape (checked under chexify).
    weights: optional per-entry weights, broadcastable to ``logits``.
    where: optional boolean mask, broadcastable to ``logits``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape`` for "none".

  Raises:
    LossInputError: shape mismatch.

  Notes:
    Keras ``squared_hinge`` also averages the last axis and maps {0, 1}
    labels to ±1.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.squared_hinge_loss(jnp.array([2., 0.5, -1.]), jnp.array([1., 1., 1.]),
    ...                                  reduction="none"))
    [0.   0.25 4.  ]
  """
  values, where = _hinge(logits, labels, where)
  return reduce_loss(values * values, reduction, where=where, weights=weights)


@register(tasks=("multi-class classification", "support vector machines"),
          peer="torch.nn.functional.multi_margin_loss",
          references=("Weston & Watkins, Support Vector Machines for Multi-Class Pattern "
                      "Recognition, ESANN 1999", _CORTES),
          input_kind="scores")
@loss_function(static=("p", "ignore_index"), choices={"p": (1, 2)})
def multiclass_hinge_loss(logits, labels, *, p=1, margin=1.0, class_weights=None,
                          ignore_index=None, weights=None, where=None, reduction="mean"):
  r"""Multi-class hinge loss, Weston--Watkins form (torch's ``multi_margin_loss``).

  .. math::
    \ell_i = \frac{w_{y_i}}{C} \sum_{j \ne y_i} \max(0,\ m - z_{i,y_i} + z_{i,j})^p

  The class weight multiplies each hinge term *after* the power (torch's
  kernel, ``LossMultiMargin.cpp``; its docstring formula puts it inside), and
  "mean" is the plain mean over examples (not torch CE's weighted mean). Note
  ``optax.losses.multiclass_hinge_loss`` and Keras ``categorical_hinge`` are
  the Crammer--Singer form :math:`\max(0, m + \max_{j \ne y} z_j - z_y)` (one
  term, no 1/C), which differs.

  Args:
    logits: floating ``[..., C]`` scores (classes last).
    labels: integer ``[...]`` class ids.
    p: 1 (default) or 2, static.
    margin: :math:`m` (default 1.0); may be traced.
    class_weights: optional ``[C]`` weights (torch's ``weight``).
    ignore_index: optional integer label value (static, default None) whose
      entries are excluded from the loss, the gradient and the "mean"
      denominator (an addition: torch's ``multi_margin_loss`` has none).
    weights: optional per-entry weights, broadcastable to ``logits.shape[:-1]``.
    where: optional boolean mask, broadcastable to ``logits.shape[:-1]``.
    reduction: "mean" (default, over the kept entries) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: ``labels`` not ``logits.shape[:-1]`` integers;
      ``class_weights`` not ``[C]``; ``p`` not 1 or 2.

  Notes:
    Classes are last (torch puts them second); ``class_weights`` is torch's
    ``weight``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> s = jnp.array([[0.1, 0.2, 0.4, 0.8]])
    >>> print(jaxloss.multiclass_hinge_loss(s, jnp.array([3])))
    0.325
  """
  s, labels, kind, where = class_inputs(logits, labels, -1, where, ignore_index=ignore_index)
  if kind != "int":
    raise LossInputError(
        f"labels has shape {labels.shape} and a floating dtype; multiclass_hinge_loss "
        f"expects integer labels of shape {s.shape[:-1]}")
  num_classes = s.shape[-1]
  w = class_vector("class_weights", class_weights, num_classes, s.dtype)
  s_y = nx.take_along_last(s, labels)
  h = jax.nn.relu(jnp.asarray(margin, s.dtype) - s_y[..., None] + s)
  if p == 2:
    h = h * h
  h = jnp.where(jax.nn.one_hot(labels, num_classes, dtype=bool), 0.0, h)
  values = jnp.sum(h, axis=-1) / num_classes
  if w is not None:
    values = values * jnp.take(w, jnp.clip(labels, 0, num_classes - 1))
  return reduce_loss(values, reduction, where=where, weights=weights)
