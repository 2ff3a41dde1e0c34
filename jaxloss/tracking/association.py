"""Association losses of tracking-by-detection: the Deep SORT Mahalanobis distance.

The survey (Elharrouss et al. 2025, "Object Tracking").
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

__all__ = ['mahalanobis_loss']


_SURVEY = ("Elharrouss et al., Loss Functions in Deep Learning: A Comprehensive Review, "
           "arXiv:2504.04242, 2025")


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


@register(tasks=("multi-object tracking", "data association"),
          input_kind="values",
          peer="deep_sort KalmanFilter.gating_distance (squared Mahalanobis via Cholesky)",
          references=("Wojke et al., Simple Online and Realtime Tracking with a Deep "
                      "Association Metric (Deep SORT), ICIP 2017",
                      "Mahalanobis, On the generalized distance in statistics, 1936", _SURVEY),
          example=_maha_example, edge_cases=_maha_edges,
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

