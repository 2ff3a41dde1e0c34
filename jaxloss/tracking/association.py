"""Association losses of tracking-by-detection: the Deep SORT Mahalanobis distance.

The survey (Elharrouss et al. 2025, "Object Tracking").
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

__all__ = ['mahalanobis_loss']


@register(tasks=("multi-object tracking", "data association"),
          input_kind="values",
          peer="deep_sort KalmanFilter.gating_distance (squared Mahalanobis via Cholesky)",
          references=("Wojke et al., Simple Online and Realtime Tracking with a Deep "
                      "Association Metric (Deep SORT), ICIP 2017",
                      "Mahalanobis, On the generalized distance in statistics, 1936", SURVEY))
@loss_function
def mahalanobis_loss(predictions, targets, *, covariance=None, precision=None, weights=None,
                     where=None, reduction="mean"):
  r"""Squared Mahalanobis distance between ``predictions`` and ``targets``.

  .. math::
    \ell = (p - t)^\top \Sigma^{-1} (p - t) = \|L^{-1}(p - t)\|^2,\quad
    \Sigma = L L^\top

  With ``covariance=`` the distance is computed by a triangular solve against
  the Cholesky factor (never forming ``Sigma^{-1}``), as Deep SORT's gating
  distance; with ``precision=`` (``P = Sigma^{-1}``) it is ``d^T P d``
  (``d = p - t``). Exactly one of the two must be given. ``Sigma`` is the
  covariance of the residual ``p - t``; the value is symmetric in
  ``predictions`` and ``targets``.

  Args:
    predictions: floating ``(..., D)``, the predicted vectors (e.g. a track's
      Kalman-projected mean in measurement space).
    targets: ``(..., D)``, same shape, the observed vectors (e.g. the
      detections the track is gated against).
    covariance: symmetric positive definite ``(..., D, D)``, broadcastable
      against the leading shape (e.g. the track's projected covariance, one
      ``(D, D)`` for every detection).
    precision: inverse covariance ``(..., D, D)``, instead of ``covariance``.
    weights: optional per-vector weights, broadcastable to ``(...)``.
    where: optional boolean mask over vectors, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-1]`` for "none".

  Raises:
    LossInputError: shape mismatch, a matrix whose last two axes are not
      ``(D, D)``, or not exactly one of ``covariance`` / ``precision``.

  Notes:
    As Deep SORT's gating distance: the squared distance, by a Cholesky factor
    and ``solve_triangular``. A non-positive-definite covariance gives NaN
    (the Cholesky factor does not exist).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> cov = jnp.array([[4., 0.], [0., 1.]])
    >>> print(jaxloss.mahalanobis_loss(jnp.array([[2., 1.]]), jnp.zeros((1, 2)), covariance=cov))
    2.0
  """
  check_floating("predictions", predictions)
  check_same_shape("predictions", predictions, "targets", targets)
  if (covariance is None) == (precision is None):
    raise LossInputError("give exactly one of covariance= or precision= (matrix shape (D, D))")
  if predictions.ndim < 1:
    raise LossInputError(f"predictions has shape {predictions.shape}; expected (..., D)")
  dim = predictions.shape[-1]
  name, mat = ("covariance", covariance) if covariance is not None else ("precision", precision)
  mat = jnp.asarray(mat)
  if mat.ndim < 2 or mat.shape[-2:] != (dim, dim):
    raise LossInputError(f"{name} has shape {mat.shape}; expected (..., {dim}, {dim})")
  dtype = nx.compute_dtype(predictions, targets, mat)
  d = nx.mask_fill(predictions.astype(dtype) - jnp.asarray(targets).astype(dtype), where,
                   trailing=1)
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

