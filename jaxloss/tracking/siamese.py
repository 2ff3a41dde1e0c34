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

from jaxloss import _examples as ex
from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_same_shape,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import register
from jaxloss.classification import binary_cross_entropy

__all__ = ['cross_correlation_loss', 'logistic_regression_loss', 'siamfc_label_map']


_SURVEY = ("Elharrouss et al., Loss Functions in Deep Learning: A Comprehensive Review, "
           "arXiv:2504.04242, 2025")


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


def _xcorr_example(key):
  r = ex.normal(key, (4, 17, 17), 2.0)
  return (r, jnp.broadcast_to(siamfc_label_map((17, 17)), r.shape)), {}


def _xcorr_edges(key):
  (r, y), _ = _xcorr_example(key)
  return [((r * 1e4, y), {}), ((jnp.where(y > 0, 50.0, -50.0), y), {}),
          ((r, jnp.zeros_like(y)), {}), ((r, jnp.full_like(y, 0.5)), {})]


@register(tasks=("visual object tracking",),
          input_kind="logits", peer="siamfc-pytorch BalancedLoss (per response map)",
          references=("Bertinetto et al., Fully-Convolutional Siamese Networks for Object "
                      "Tracking, ECCV Workshops 2016", _SURVEY),
          example=_xcorr_example, edge_cases=_xcorr_edges, where_trailing=2)
@loss_function(ranges={"neg_weight": ">= 0"})
def cross_correlation_loss(responses, labels, *, neg_weight=1.0, weights=None, where=None,
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
    responses: response-map logits ``(..., H, W)`` (the cross-correlation of
      exemplar and search features).
    labels: ``(..., H, W)`` (or broadcastable) in {0, 1} (0.5 = neutral), e.g.
      :func:`siamfc_label_map`.
    neg_weight: relative weight ``lambda >= 0`` of the negatives (default 1).
    weights: optional per-map weights, broadcastable to ``(...)``.
    where: optional boolean mask over maps, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``responses.shape[:-2]`` for "none".

  Raises:
    LossInputError: ``responses`` of rank < 2 or ``labels`` that do not
      broadcast to it.

  References:
    Bertinetto et al. 2016. siamfc-pytorch's ``BalancedLoss`` normalises the
    weights over the whole batch; here per map, which is the same when every
    map has the same label map (the usual case).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> r = jnp.zeros((5, 5)); y = jaxloss.siamfc_label_map((5, 5), r_pos=8.0)
    >>> print(jaxloss.cross_correlation_loss(r, y))
    0.69314736
  """
  check_floating("responses", responses)
  if responses.ndim < 2:
    raise LossInputError(f"responses has shape {responses.shape}; expected (..., H, W)")
  y = jnp.asarray(labels)
  try:
    ok = np.broadcast_shapes(y.shape, responses.shape) == responses.shape
  except ValueError:
    ok = False
  if not ok:
    raise LossInputError(
        f"labels has shape {y.shape}, which does not broadcast to the responses shape "
        f"{responses.shape}")
  dtype = nx.compute_dtype(responses)
  v = nx.mask_fill(responses.astype(dtype), where, trailing=2)
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


def _logreg_example(key):
  k1, _ = jax.random.split(key)
  r = ex.normal(k1, (4, 9, 9), 2.0)
  g = jnp.exp(-0.5 * ((jnp.arange(9) - 4.0) ** 2)[:, None] / 2.0
              - 0.5 * ((jnp.arange(9) - 4.0) ** 2)[None, :] / 2.0)
  return (r, jnp.broadcast_to(g, r.shape)), {}


def _logreg_edges(key):
  (r, y), _ = _logreg_example(key)
  return [((r * 1e4, y), {}), ((jnp.where(y > 0.5, 1e4, -1e4), (y > 0.5).astype(r.dtype)), {})]


@register(tasks=("visual object tracking",), input_kind="logits",
          peer="torch.nn.functional.binary_cross_entropy_with_logits (elementwise)",
          references=("Bhat et al., Learning Discriminative Model Prediction for Tracking "
                      "(DiMP), ICCV 2019", _SURVEY),
          example=_logreg_example, edge_cases=_logreg_edges, grad_argnums=(0, 1))
@loss_function
def logistic_regression_loss(scores, labels, *, weights=None, where=None, reduction="mean"):
  r"""Logistic regression loss on target-classifier score maps (DiMP-style).

  .. math::
    \ell_u = \operatorname{softplus}(s_u) - y_u s_u
      = -\big[y_u\log\sigma(s_u) + (1 - y_u)\log(1 - \sigma(s_u))\big]

  Elementwise binary cross-entropy from logits, with hard or soft (e.g.
  Gaussian-shaped) labels in ``[0, 1]``.

  Args:
    scores: score-map logits of any shape, e.g. ``(..., H, W)``.
    labels: targets in ``[0, 1]``, same shape.
    weights: optional per-entry weights (e.g. DiMP's spatial weight map),
      broadcastable to the scores.
    where: optional boolean mask, broadcastable to the scores.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``scores.shape`` for "none".

  Raises:
    LossInputError: shape mismatch.

  References:
    The survey's DiMP entry ("Logistic Regression Loss"). It is
    :func:`jaxloss.binary_cross_entropy` (torch's
    ``binary_cross_entropy_with_logits``) on score maps with {0, 1} or soft
    labels; :func:`jaxloss.logistic_loss` is the same loss for ±1 labels. (DiMP's released model trains its classifier with a hinge-like
    ``LBHinge`` loss; this is the logistic variant the survey names.)

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.logistic_regression_loss(jnp.array([0., 2.]), jnp.array([1., 1.]),
    ...                                        reduction="none"))
    [0.6931472 0.126928 ]
  """
  check_floating("scores", scores)
  check_same_shape("scores", scores, "labels", labels)
  return binary_cross_entropy(scores, labels, weights=weights, where=where, reduction=reduction)

