"""Score-map losses of Siamese and discriminative trackers: SiamFC, DiMP.

The survey (Elharrouss et al. 2025, "Object Tracking") lists the balanced
logistic (cross-correlation) loss of Siamese trackers and the logistic
regression loss of DiMP's score maps. ``reduction`` defaults to ``"mean"``,
``where``/``weights`` broadcast to the unreduced loss, bfloat16 inputs
compute in float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_same_shape,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.classification import binary_cross_entropy

__all__ = ['cross_correlation_loss', 'logistic_regression_loss', 'siamfc_label_map']


def siamfc_label_map(shape, *, r_pos=16.0, r_neg=0.0, total_stride=8, dtype=jnp.float32):
  r"""SiamFC's label map over a response of ``shape = (H, W)``.

  .. math::
    y_u = \begin{cases} 1 & k\,\|u - c\|_1 \le R_{pos} \\
          \tfrac12 & k\,\|u - c\|_1 < R_{neg} \\ 0 & \text{otherwise} \end{cases}

  ``u`` is a response cell, ``c`` the centre cell and ``k`` the network's
  total stride: cells within ``r_pos`` input pixels of the centre are
  positive, cells within ``r_neg`` (if larger) neutral (0.5, ignored by
  :func:`cross_correlation_loss`), the rest negative. The L1 (city-block)
  distance and the defaults (``R = 16``, ``k = 8``, no neutral band) are
  those of the SiamFC code (Bertinetto et al.'s MATLAB release and
  siamfc-pytorch); the paper writes ``||u - c||``.

  Examples:
    >>> from jaxloss.tracking import siamfc_label_map
    >>> print(siamfc_label_map((5, 5), r_pos=8.0).astype(int))
    [[0 0 0 0 0]
     [0 0 1 0 0]
     [0 1 1 1 0]
     [0 0 1 0 0]
     [0 0 0 0 0]]
  """
  h, w = shape
  y = np.arange(h) - (h - 1) / 2
  x = np.arange(w) - (w - 1) / 2
  dist = np.abs(y)[:, None] + np.abs(x)[None, :]
  rp, rn = r_pos / total_stride, r_neg / total_stride
  labels = np.where(dist <= rp, 1.0, np.where(dist < rn, 0.5, 0.0))
  return jnp.asarray(labels, dtype)


@register(tasks=("visual object tracking",),
          input_kind="logits", peer="siamfc-pytorch BalancedLoss (per response map)",
          references=("Bertinetto et al., Fully-Convolutional Siamese Networks for Object "
                      "Tracking, ECCV Workshops 2016", SURVEY))
@loss_function(ranges={"neg_weight": ">= 0"})
def cross_correlation_loss(logits, labels, *, neg_weight=1.0, weights=None, where=None,
                           reduction="mean"):
  r"""SiamFC's class-balanced logistic loss over cross-correlation response maps.

  .. math::
    \ell = \sum_{u} w_u\big[\operatorname{softplus}(v_u) - y_u v_u\big],\quad
    w_u \propto \begin{cases} 1 / n_{pos} & y_u = 1 \\
      \lambda / n_{neg} & y_u = 0 \\ 0 & \text{otherwise}\end{cases},\quad \sum_u w_u = 1

  per response map: ``log(1 + exp(-y' v))`` with ``y' = 2y - 1`` as in the
  paper, positives and negatives weighted to equal total mass (``lambda =
  neg_weight`` scales the negatives). Other label values (0.5, neutral) are
  ignored. A map with no positive (or no negative) cell uses the other class
  only; a map with neither gives 0.

  Args:
    logits: response-map logits ``(..., H, W)`` (the cross-correlation of
      exemplar and search features).
    labels: ``(..., H, W)`` (or broadcastable) in {0, 1} (0.5 = neutral), e.g.
      :func:`siamfc_label_map`.
    neg_weight: relative weight ``lambda >= 0`` of the negatives (default 1).
    weights: optional per-map weights, broadcastable to ``(...)``.
    where: optional boolean mask over maps, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-2]`` for "none".

  Raises:
    LossInputError: ``logits`` of rank < 2 or ``labels`` that do not
      broadcast to it.

  Notes:
    siamfc-pytorch's ``BalancedLoss`` normalises the weights over the whole
    batch; here per map, which is the same when every map has the same label
    map (the usual case).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> r = jnp.zeros((5, 5)); y = jaxloss.siamfc_label_map((5, 5), r_pos=8.0)
    >>> print(jaxloss.cross_correlation_loss(r, y))
    0.693147
  """
  check_floating("logits", logits)
  if logits.ndim < 2:
    raise LossInputError(f"logits has shape {logits.shape}; expected (..., H, W)")
  y = jnp.asarray(labels)
  try:
    ok = np.broadcast_shapes(y.shape, logits.shape) == logits.shape
  except ValueError:
    ok = False
  if not ok:
    raise LossInputError(
        f"labels has shape {y.shape}, which does not broadcast to the logits shape "
        f"{logits.shape}")
  dtype = nx.compute_dtype(logits)
  v = nx.mask_fill(logits.astype(dtype), where, trailing=2)
  y = nx.mask_fill(jnp.broadcast_to(y.astype(dtype), v.shape), where, trailing=2)
  pos = (y == 1).astype(dtype)
  neg = (y == 0).astype(dtype)
  n_pos = jnp.sum(pos, axis=(-2, -1), keepdims=True)
  n_neg = jnp.sum(neg, axis=(-2, -1), keepdims=True)
  w = nx.safe_div(pos, n_pos) + jnp.asarray(neg_weight, dtype) * nx.safe_div(neg, n_neg)
  w = nx.safe_div(w, jnp.sum(w, axis=(-2, -1), keepdims=True))
  bce = jax.nn.softplus(v) - pos * v
  values = jnp.sum(w * bce, axis=(-2, -1))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("visual object tracking",), input_kind="logits",
          peer="torch.nn.functional.binary_cross_entropy_with_logits (elementwise)",
          references=("Bhat et al., Learning Discriminative Model Prediction for Tracking "
                      "(DiMP), ICCV 2019", SURVEY))
@loss_function
def logistic_regression_loss(logits, labels, *, weights=None, where=None, reduction="mean"):
  r"""Logistic regression loss on target-classifier score maps (DiMP-style).

  .. math::
    \ell_u = \operatorname{softplus}(s_u) - y_u s_u
      = -\big[y_u\log\sigma(s_u) + (1 - y_u)\log(1 - \sigma(s_u))\big]

  Elementwise binary cross-entropy from logits, with hard or soft (e.g.
  Gaussian-shaped) labels in ``[0, 1]``.

  Args:
    logits: score-map logits of any shape, e.g. ``(..., H, W)``.
    labels: hard ``{0, 1}`` or soft labels in ``[0, 1]`` (e.g. a Gaussian
      centred on the target), same shape.
    weights: optional per-entry weights (e.g. DiMP's spatial weight map),
      broadcastable to the logits.
    where: optional boolean mask, broadcastable to the logits.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape`` for "none".

  Raises:
    LossInputError: shape mismatch.

  Notes:
    The survey's DiMP entry ("Logistic Regression Loss"). It is
    :func:`jaxloss.binary_cross_entropy` (torch's
    ``binary_cross_entropy_with_logits``) on score maps with {0, 1} or soft
    labels; :func:`jaxloss.logistic_loss` is the same loss for ±1 labels.
    DiMP's released model trains its classifier with a hinge-like ``LBHinge``
    loss; this is the logistic variant the survey names.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.logistic_regression_loss(jnp.array([0., 2.]), jnp.array([1., 1.]),
    ...                                        reduction="none"))
    [0.693147 0.126928 ]
  """
  check_floating("logits", logits)
  check_same_shape("logits", logits, "labels", labels)
  return binary_cross_entropy(logits, labels, weights=weights, where=where, reduction=reduction)

