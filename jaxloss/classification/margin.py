"""Margin (hinge) classification losses on raw scores.

Binary hinge losses take {-1, +1} labels of the scores' shape and are
elementwise; :func:`multiclass_hinge_loss` takes ``[..., C]`` scores and integer
labels and returns one value per example.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _examples as ex
from jaxloss import _numerics as nx
from jaxloss._api import LossInputError, debug_check_in_set, loss_function, reduce_loss
from jaxloss.catalog import register
from jaxloss.classification._common import SURVEY, binary_inputs, class_inputs, class_vector

__all__ = ["hinge_loss", "multiclass_hinge_loss", "squared_hinge_loss"]

_CORTES = "Cortes & Vapnik, Support-Vector Networks, Machine Learning 1995"


def _signs_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 5), 2.0), ex.signs(k2, (8, 5))), {}


def _signs_edges(key):
  (s, y), _ = _signs_example(key)
  return [((y * 1e4, y), {}), ((-y * 1e4, y), {}), ((y * 3.0, y), {})]


def _hinge(scores, labels, where):
  s, y, where = binary_inputs(scores, labels, where, logits_name="scores")
  debug_check_in_set("labels", y if where is None else jnp.where(where, y, 1.0), (-1.0, 1.0))
  return jax.nn.relu(1.0 - y * s), where


_MARGIN = dict(input_kind="scores", grad_argnums=(0,),
               example=_signs_example, edge_cases=_signs_edges)


@register(tasks=("binary classification", "support vector machines"),
          peer="optax.losses.hinge_loss",
          references=(_CORTES, SURVEY),
          **_MARGIN)
@loss_function
def hinge_loss(scores, labels, *, weights=None, where=None, reduction="mean"):
  r"""Hinge loss with labels in {-1, +1}.

  .. math::
    \ell_i = \max(0,\ 1 - y_i s_i)

  Args:
    scores: floating scores, any shape.
    labels: {-1, +1} labels of the same shape (checked under chexify).
    weights: optional per-entry weights, broadcastable to ``scores``.
    where: optional boolean mask, broadcastable to ``scores``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``scores.shape`` for "none".

  Raises:
    LossInputError: shape mismatch.

  References:
    Cortes & Vapnik 1995. Matches ``optax.losses.hinge_loss`` (elementwise);
    Keras ``hinge`` additionally maps {0, 1} labels to ±1 and averages the
    last axis.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.hinge_loss(jnp.array([2., 0.5, -1.]), jnp.array([1., 1., 1.]),
    ...                          reduction="none"))
    [0.  0.5 2. ]
  """
  values, where = _hinge(scores, labels, where)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("binary classification", "support vector machines"),
          peer="keras.losses.squared_hinge (with ±1 labels, elementwise)",
          references=(_CORTES, "Rosasco et al., Are Loss Functions All the Same?, 2004"),
          **_MARGIN)
@loss_function
def squared_hinge_loss(scores, labels, *, weights=None, where=None, reduction="mean"):
  r"""Squared hinge loss with labels in {-1, +1}.

  .. math::
    \ell_i = \max(0,\ 1 - y_i s_i)^2

  Args:
    scores: floating scores, any shape.
    labels: {-1, +1} labels of the same shape (checked under chexify).
    weights: optional per-entry weights, broadcastable to ``scores``.
    where: optional boolean mask, broadcastable to ``scores``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``scores.shape`` for "none".

  Raises:
    LossInputError: shape mismatch.

  References:
    Matches Keras ``squared_hinge`` elementwise (Keras averages the last axis
    and maps {0, 1} labels to ±1).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.squared_hinge_loss(jnp.array([2., 0.5, -1.]), jnp.array([1., 1., 1.]),
    ...                                  reduction="none"))
    [0.   0.25 4.  ]
  """
  values, where = _hinge(scores, labels, where)
  return reduce_loss(values * values, reduction, where=where, weights=weights)


def _mc_example(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  return (logits, labels), {}


def _mc_edges(key):
  logits, labels = ex.logits_and_labels(key, (8, 5))
  onehot = jax.nn.one_hot(labels, 5)
  return [((onehot * 1e4, labels), {}), (((1 - onehot) * 1e4, labels), {"p": 2}),
          ((logits, labels), {"class_weights": jnp.arange(1.0, 6.0), "margin": 0.5})]


@register(tasks=("multi-class classification", "support vector machines"),
          peer="torch.nn.functional.multi_margin_loss",
          references=("Weston & Watkins, Support Vector Machines for Multi-Class Pattern "
                      "Recognition, ESANN 1999", _CORTES),
          input_kind="scores", where_trailing=1, grad_argnums=(0,),
          example=_mc_example, edge_cases=_mc_edges)
@loss_function(static=("p",), choices={"p": (1, 2)})
def multiclass_hinge_loss(scores, labels, *, p=1, margin=1.0, class_weights=None, weights=None,
                          where=None, reduction="mean"):
  r"""Multi-class hinge loss, Weston--Watkins form (torch's ``multi_margin_loss``).

  .. math::
    \ell_i = \frac{w_{y_i}}{C} \sum_{j \ne y_i} \max(0,\ m - s_{i,y_i} + s_{i,j})^p

  The class weight multiplies each hinge term *after* the power (torch's
  kernel, ``LossMultiMargin.cpp``; its docstring formula puts it inside), and
  "mean" is the plain mean over examples (not torch CE's weighted mean). Note
  ``optax.losses.multiclass_hinge_loss`` and Keras ``categorical_hinge`` are
  the Crammer--Singer form :math:`\max(0, m + \max_{j \ne y} s_j - s_y)` (one
  term, no 1/C), which differs.

  Args:
    scores: floating ``[..., C]`` scores (classes last).
    labels: integer ``[...]`` class ids.
    p: 1 (default) or 2, static.
    margin: :math:`m` (default 1.0); may be traced.
    class_weights: optional ``[C]`` weights (torch's ``weight``).
    weights: optional per-entry weights, broadcastable to ``scores.shape[:-1]``.
    where: optional boolean mask, broadcastable to ``scores.shape[:-1]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``scores.shape[:-1]`` for "none".

  Raises:
    LossInputError: ``labels`` not ``scores.shape[:-1]`` integers;
      ``class_weights`` not ``[C]``; ``p`` not 1 or 2.

  References:
    Weston & Watkins 1999. Matches ``torch.nn.functional.multi_margin_loss``
    (classes last).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> s = jnp.array([[0.1, 0.2, 0.4, 0.8]])
    >>> print(jaxloss.multiclass_hinge_loss(s, jnp.array([3])))
    0.325
  """
  s, labels, kind, where = class_inputs(scores, labels, -1, where, logits_name="scores")
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
