"""Tracking losses: SiamFC cross-correlation, Deep SORT Mahalanobis, DiMP logistic.

The survey (Elharrouss et al. 2025, "Object Tracking") lists the balanced
logistic (cross-correlation) loss of Siamese trackers, the Mahalanobis gating
distance of Deep SORT and the logistic regression loss of DiMP's score maps.
Conventions as in :mod:`jaxloss.detection`: ``reduction`` defaults to
``"mean"``, ``where``/``weights`` broadcast to the unreduced loss, bfloat16
inputs compute in float32.
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

_SURVEY = ("Elharrouss et al., Loss Functions in Deep Learning: A Comprehensive Review, "
           "arXiv:2504.04242, 2025")

__all__ = ["cross_correlation_loss", "logistic_regression_loss", "mahalanobis_loss",
           "siamfc_label_map"]

# --------------------------------------------------------------------------
# Tracking.
# --------------------------------------------------------------------------


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


@register(family="tracking", tasks=("visual object tracking",),
          input_kind="logits", peer="siamfc-pytorch BalancedLoss (per response map)",
          references=("Bertinetto et al., Fully-Convolutional Siamese Networks for Object "
                      "Tracking, ECCV Workshops 2016", _SURVEY),
          efficiency=("high", "one softplus per response cell"),
          complexity=("low", "label map plus class balancing"),
          stability=("high", "logistic loss from logits"),
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


def _maha_example(key):
  k1, k2, k3 = jax.random.split(key, 3)
  a = ex.normal(k3, (4, 4))
  cov = a @ a.T + jnp.eye(4)
  return (ex.normal(k1, (8, 4)), ex.normal(k2, (8, 4))), {"covariance": cov}


def _maha_edges(key):
  (x, m), kw = _maha_example(key)
  prec = jnp.linalg.inv(kw["covariance"])
  return [((m, m), kw), ((x * 1e3, m), kw), ((x, m), {"precision": prec}),
          ((m, m), {"precision": prec}), ((x, m), {"covariance": jnp.eye(4) * 1e-6})]


@register(family="tracking", tasks=("multi-object tracking", "data association"),
          input_kind="values",
          peer="deep_sort KalmanFilter.gating_distance (squared Mahalanobis via Cholesky)",
          references=("Wojke et al., Simple Online and Realtime Tracking with a Deep "
                      "Association Metric (Deep SORT), ICIP 2017",
                      "Mahalanobis, On the generalized distance in statistics, 1936", _SURVEY),
          efficiency=("low", "a Cholesky factorisation per covariance"),
          complexity=("high", "needs a covariance estimate"),
          stability=("low", "ill-conditioned covariances amplify gradients"),
          graded_by="survey", example=_maha_example, edge_cases=_maha_edges,
          grad_argnums=(0, 1), where_trailing=1)
@loss_function
def mahalanobis_loss(x, mean, *, covariance=None, precision=None, weights=None, where=None,
                     reduction="mean"):
  r"""Squared Mahalanobis distance of ``x`` from ``mean``.

  .. math::
    \ell = (x - \mu)^\top \Sigma^{-1} (x - \mu) = \|L^{-1}(x - \mu)\|^2,\quad
    \Sigma = L L^\top

  With ``covariance=`` the distance is computed by a triangular solve against
  the Cholesky factor (never forming ``Sigma^{-1}``), as Deep SORT's gating
  distance; with ``precision=`` (``P = Sigma^{-1}``) it is ``d^T P d``.
  Exactly one of the two must be given.

  Args:
    x: floating ``(..., D)`` (e.g. detections in measurement space).
    mean: ``(..., D)``, same shape (e.g. the track's projected mean).
    covariance: symmetric positive definite ``(..., D, D)``, broadcastable
      against the leading shape (e.g. one ``(D, D)`` for every detection).
    precision: inverse covariance ``(..., D, D)``, instead of ``covariance``.
    weights: optional per-vector weights, broadcastable to ``(...)``.
    where: optional boolean mask over vectors, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``x.shape[:-1]`` for "none".

  Raises:
    LossInputError: shape mismatch, a matrix whose last two axes are not
      ``(D, D)``, or not exactly one of ``covariance`` / ``precision``.

  References:
    Mahalanobis 1936; Deep SORT's ``KalmanFilter.gating_distance`` (squared
    distance, Cholesky + ``solve_triangular``). A non-positive-definite
    covariance gives NaN (the Cholesky factor does not exist).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> cov = jnp.array([[4., 0.], [0., 1.]])
    >>> print(jaxloss.mahalanobis_loss(jnp.array([[2., 1.]]), jnp.zeros((1, 2)), covariance=cov))
    2.0
  """
  check_floating("x", x)
  check_same_shape("x", x, "mean", mean)
  if (covariance is None) == (precision is None):
    raise LossInputError("give exactly one of covariance= or precision= (matrix shape (D, D))")
  if x.ndim < 1:
    raise LossInputError(f"x has shape {x.shape}; expected (..., D)")
  dim = x.shape[-1]
  name, mat = ("covariance", covariance) if covariance is not None else ("precision", precision)
  mat = jnp.asarray(mat)
  if mat.ndim < 2 or mat.shape[-2:] != (dim, dim):
    raise LossInputError(f"{name} has shape {mat.shape}; expected (..., {dim}, {dim})")
  dtype = nx.compute_dtype(x, mean, mat)
  d = nx.mask_fill(x.astype(dtype) - jnp.asarray(mean).astype(dtype), where, trailing=1)
  lead = np.broadcast_shapes(d.shape[:-1], mat.shape[:-2])
  d = jnp.broadcast_to(d, lead + (dim,))
  mat = jnp.broadcast_to(mat.astype(dtype), lead + (dim, dim))
  if covariance is not None:
    chol = jnp.linalg.cholesky(mat)
    z = jax.scipy.linalg.solve_triangular(chol, d[..., None], lower=True)[..., 0]
    values = jnp.sum(z * z, axis=-1)
  else:
    values = jnp.einsum("...i,...ij,...j->...", d, mat, d)
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


@register(family="tracking", tasks=("visual object tracking",), input_kind="logits",
          peer="torch.nn.functional.binary_cross_entropy_with_logits (elementwise)",
          references=("Bhat et al., Learning Discriminative Model Prediction for Tracking "
                      "(DiMP), ICCV 2019", _SURVEY),
          efficiency=("high", "one softplus per score"),
          complexity=("low", "no hyperparameter"),
          stability=("high", "computed from logits"),
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
