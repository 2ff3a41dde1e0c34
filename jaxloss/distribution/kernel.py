"""Kernel two-sample distances and the energy score: MMD, energy distance, energy score.

Part of the ``distribution`` family (see :mod:`jaxloss.distribution`): losses
between two *sets* of samples ``x (..., N, D)`` and ``y (..., M, D)``, one
value per pair of sets. Pairwise distances use the one-matmul expansion of
:func:`jaxloss.distribution._common.sq_distances` (O(N M) memory), except the
energy score, whose small ensembles take exact differences.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import LossInputError, check_floating, loss_function, reduce_loss, shape_of
from jaxloss.catalog import register
from jaxloss.distribution._common import (
    kernel_mean,
    sample_sets,
    sample_weights,
    self_sq_distances,
    sq_distances,
)

__all__ = ["energy_distance", "energy_score", "mmd_loss"]

_GRETTON = ("Gretton et al., A Kernel Two-Sample Test, JMLR 13, 2012")
_SZEKELY = ("Szekely & Rizzo, Energy statistics: A class of statistics based on distances, "
            "J. Stat. Planning and Inference 143, 2013")
_GNEITING = "Gneiting & Raftery, Strictly proper scoring rules, JASA 2007"
_TASKS = ("generative modelling", "two-sample testing", "domain adaptation")
KERNELS = ("rbf", "imq", "laplacian")
ESTIMATORS = ("unbiased", "biased")


def _kernel(d2, kernel, bandwidths):
  """Sum over bandwidths of the kernel at squared distances ``d2``."""
  s = jnp.reshape(jnp.asarray(bandwidths, d2.dtype), (-1,))
  d2 = d2[..., None]
  if kernel == "rbf":
    k = jnp.exp(-d2 / (2.0 * s * s))
  elif kernel == "imq":
    k = jnp.reciprocal(jnp.sqrt(1.0 + d2 / (s * s)))
  else:  # laplacian: exp(-|a - b| / sigma); zero (sub)gradient at coincident points
    k = jnp.exp(-nx.safe_sqrt(d2) / s)
  return jnp.sum(k, axis=-1)


def _two_sample(x, y, kxx, kyy, kxy, estimator, x_weights, y_weights):
  """``E k(x, x') + E k(y, y') - 2 E k(x, y)`` with the V- or U-statistic self terms."""
  dtype = x.dtype
  wx = sample_weights("x_weights", x_weights, x.shape[:-1], dtype)
  wy = sample_weights("y_weights", y_weights, y.shape[:-1], dtype)
  unbiased = estimator == "unbiased"
  return (kernel_mean(kxx, wx, wx, exclude_diagonal=unbiased)
          + kernel_mean(kyy, wy, wy, exclude_diagonal=unbiased)
          - 2.0 * kernel_mean(kxy, wx, wy))


def _need_two(estimator, x, y):
  if estimator == "unbiased" and min(x.shape[-2], y.shape[-2]) < 2:
    raise LossInputError(
        f"estimator='unbiased' needs at least 2 samples per set, got x of shape {x.shape} "
        f"and y of shape {y.shape}")


@register(tasks=_TASKS, input_kind="samples",
          peer="Gretton et al. (2012) MMD^2_u (eq. 3) / MMD^2_b (eq. 5)",
          references=(_GRETTON,
                      "Li, Swersky & Zemel, Generative Moment Matching Networks, ICML 2015"))
@loss_function(static=("kernel", "estimator"), choices={"kernel": KERNELS,
                                                        "estimator": ESTIMATORS})
def mmd_loss(x, y, *, kernel="rbf", bandwidths=(1.0,), estimator="unbiased", x_weights=None,
             y_weights=None, weights=None, where=None, reduction="mean"):
  r"""Squared maximum mean discrepancy (MMD²) between two sample sets, multi-bandwidth kernel.

  .. math::
    \mathrm{MMD}^2_u = \frac{1}{N(N-1)}\sum_{i \ne j} k(x_i, x_j)
      + \frac{1}{M(M-1)}\sum_{i \ne j} k(y_i, y_j) - \frac{2}{N M}\sum_{i,j} k(x_i, y_j),
    \qquad k(a, b) = \sum_{\sigma} \exp\Big(-\frac{\lVert a - b\rVert^2}{2\sigma^2}\Big)

  This is MMD *squared* (no square root: smooth at 0). ``estimator="unbiased"``
  (default) is Gretton et al.'s U-statistic :math:`\mathrm{MMD}^2_u`
  (eq. 3): the self-similarity sums exclude the diagonal ``i == j``, so it is
  unbiased and can be slightly negative for two samples of one distribution.
  ``estimator="biased"`` is the V-statistic :math:`\mathrm{MMD}^2_b` (eq. 5):
  all pairs, divided by ``N^2`` / ``M^2``, always ``>= 0`` and 0 when the
  sets are equal. The kernel is a sum over ``bandwidths`` (the multi-scale
  kernel of generative moment matching networks); other kernels:
  ``"imq"`` :math:`(1 + \lVert a-b\rVert^2/\sigma^2)^{-1/2}` and
  ``"laplacian"`` :math:`\exp(-\lVert a-b\rVert/\sigma)`.

  Squared distances come from one matmul, ``|a|^2 + |b|^2 - 2 a.b`` on
  centred data, clamped at 0 (O(N M) memory); the gradient is finite at
  coincident points.

  Args:
    x: floating ``(..., N, D)``: N samples of dimension D (e.g. generated).
    y: ``(..., M, D)``: M samples (e.g. data), same leading (batch) axes and D.
    kernel: "rbf" (default) | "imq" | "laplacian", static.
    bandwidths: kernel bandwidths sigma > 0 (default ``(1.0,)``), a sequence or
      array; the kernel is summed over them. May be traced.
    estimator: "unbiased" (default, U-statistic) | "biased" (V-statistic), static.
    x_weights: optional per-sample weights of ``x``, broadcastable to
      ``(..., N)``; normalised to sum 1. With "unbiased" the ``i != j`` sums
      are weighted by ``w_i w_j`` and renormalised (uniform weights give eq. 3).
    y_weights: the same for ``y``, ``(..., M)``.
    weights: optional per-set weights, broadcastable to the batch shape ``x.shape[:-2]``.
    where: optional boolean mask over the batch shape ``x.shape[:-2]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; the batch shape ``x.shape[:-2]`` for "none"
    (a scalar for unbatched ``(N, D)`` sets).

  Raises:
    LossInputError: ``y`` not ``(..., M, D)`` with ``x``'s batch axes and D;
      fewer than 2 samples with ``estimator="unbiased"``; weights of the wrong shape.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0.], [1.], [2.]])
    >>> print(round(float(jaxloss.mmd_loss(x, x + 3.0)), 4),
    ...       round(float(jaxloss.mmd_loss(x, x + 3.0, estimator="biased")), 4),
    ...       round(float(jaxloss.mmd_loss(x, x, estimator="biased")), 4))
    0.6964 1.0635 0.0
  """
  x, y, _ = sample_sets(x, y, where)
  _need_two(estimator, x, y)
  kxx = _kernel(self_sq_distances(x), kernel, bandwidths)
  kyy = _kernel(self_sq_distances(y), kernel, bandwidths)
  kxy = _kernel(sq_distances(x, y), kernel, bandwidths)
  values = _two_sample(x, y, kxx, kyy, kxy, estimator, x_weights, y_weights)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_TASKS, input_kind="samples",
          peer="scipy.stats.energy_distance(u, v) ** 2 (1-D, estimator='biased')",
          references=(_SZEKELY,
                      "Szekely & Rizzo, Testing for equal distributions in high dimension, "
                      "InterStat 2004"))
@loss_function(static=("estimator",), choices={"estimator": ESTIMATORS})
def energy_distance(x, y, *, estimator="biased", x_weights=None, y_weights=None,
                    weights=None, where=None, reduction="mean"):
  r"""Squared energy distance between two sample sets (Székely & Rizzo).

  .. math::
    \mathcal E^2(X, Y) = 2\,\mathbb E\lVert X - Y\rVert - \mathbb E\lVert X - X'\rVert
      - \mathbb E\lVert Y - Y'\rVert

  with the expectations over the empirical distributions (Euclidean norm over
  D). ``estimator="biased"`` (default) is the V-statistic: the self terms
  average all ``N^2`` (``M^2``) pairs, diagonal included, so the loss is
  ``>= 0`` and 0 for equal sets. ``estimator="unbiased"`` is the U-statistic
  (self terms over ``i != j``, divided by ``N(N-1)``); it can be slightly
  negative. It is MMD² (:func:`mmd_loss`) with the distance-induced kernel
  ``-||a - b||``.

  **scipy convention.** ``scipy.stats.energy_distance(u, v)`` (1-D only)
  returns the *square root* of the V-statistic above: this loss equals
  ``scipy.stats.energy_distance(u, v) ** 2`` (and with ``x_weights`` /
  ``y_weights`` its ``u_weights`` / ``v_weights``). The square is returned
  because it is smooth where the distance is 0 (a training loss drives it
  there). Székely & Rizzo's two-sample test statistic is ``N M / (N + M)``
  times it. Distances use ``safe_sqrt`` of the matmul expansion: the
  gradient is finite (zero) at coincident points.

  Args:
    x: floating ``(..., N, D)``.
    y: ``(..., M, D)``, same batch axes and D.
    estimator: "biased" (default, V-statistic, scipy's) | "unbiased", static.
    x_weights: optional per-sample weights of ``x``, broadcastable to
      ``(..., N)``, normalised to sum 1 (scipy's ``u_weights``).
    y_weights: the same for ``y`` (scipy's ``v_weights``).
    weights: optional per-set weights, broadcastable to ``x.shape[:-2]``.
    where: optional boolean mask over the batch shape ``x.shape[:-2]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``x.shape[:-2]`` for "none".

  Raises:
    LossInputError: ``y`` not ``(..., M, D)`` with ``x``'s batch axes and D;
      fewer than 2 samples with ``estimator="unbiased"``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x, y = jnp.array([[0.], [1.]]), jnp.array([[1.], [3.]])
    >>> print(round(float(jaxloss.energy_distance(x, y)), 4))
    1.5
  """
  x, y, _ = sample_sets(x, y, where)
  _need_two(estimator, x, y)
  dxx = nx.safe_sqrt(self_sq_distances(x))
  dyy = nx.safe_sqrt(self_sq_distances(y))
  dxy = nx.safe_sqrt(sq_distances(x, y))
  values = _two_sample(x, y, -dxx, -dyy, -dxy, estimator, x_weights, y_weights)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("probabilistic forecasting", "ensemble forecasting",
                 "multivariate forecasting"),
          input_kind="samples", peer="scoringrules.energy_score (estimator='nrg')",
          references=(_GNEITING,
                      "Gneiting et al., Assessing probabilistic forecasts of multivariate "
                      "quantities, TEST 17, 2008",
                      "Ferro, Fair scores for ensemble forecasts, QJRMS 2014"))
@loss_function(static=("fair",))
def energy_score(samples, targets, *, fair=False, weights=None, where=None, reduction="mean"):
  r"""Energy score of a multivariate ensemble forecast (the multivariate CRPS).

  .. math::
    \mathrm{ES} = \frac1M\sum_{i=1}^{M}\lVert x_i - y\rVert
      - \frac{1}{2M^2}\sum_{i,j=1}^{M}\lVert x_i - x_j\rVert

  ``fair=True`` divides the spread term by ``2 M (M - 1)`` instead (Ferro
  2014's fair score). In one dimension (``D == 1``) it is
  :func:`jaxloss.crps_ensemble` with the same ``fair``. Pairwise differences
  are taken exactly (O(M^2 D) memory: ensembles are small); norms use
  ``safe_norm``, so the gradient is finite (zero) when members coincide with
  each other or with the observation.

  Args:
    samples: floating ``(..., M, D)``: the ensemble (M members) on axis -2, the
      variables on axis -1.
    targets: ``(..., D)``: the observation.
    fair: use the fair spread term (default False), static.
    weights: optional weights, broadcastable to ``targets.shape[:-1]``.
    where: optional boolean mask, broadcastable to ``targets.shape[:-1]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``targets.shape[:-1]`` for "none".

  Raises:
    LossInputError: ``targets`` is not ``samples.shape[:-2] + samples.shape[-1:]``;
      ``fair=True`` with fewer than 2 members.

  Notes:
    ``fair=False`` equals ``scoringrules.energy_score(targets, samples)``
    (its default ``estimator="nrg"``); ``fair=True`` equals its
    ``estimator="fair"``. The observation comes second here (jaxloss's
    prediction-first order), first in scoringrules.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> ens = jnp.array([[0., 0.], [3., 4.]])
    >>> print(round(float(jaxloss.energy_score(ens, jnp.array([0., 0.]))), 4))
    1.25
  """
  check_floating("samples", samples)
  ss, ts = shape_of(samples), shape_of(targets)
  if len(ss) < 2 or ts != ss[:-2] + ss[-1:]:
    raise LossInputError(
        f"targets has shape {ts} but samples has shape {ss}; expected samples (..., M, D) "
        f"and targets of shape {ss[:-2] + ss[-1:] if len(ss) >= 2 else '(..., D)'}")
  m = ss[-2]
  if fair and m < 2:
    raise LossInputError(f"fair=True needs at least 2 members, got samples shape {ss}")
  dtype = nx.compute_dtype(samples, targets)
  x = nx.mask_fill(jnp.asarray(samples).astype(dtype), where, trailing=2)
  y = nx.mask_fill(jnp.asarray(targets).astype(dtype), where, trailing=1)
  skill = jnp.mean(nx.safe_norm(x - y[..., None, :], axis=-1), axis=-1)
  spread = jnp.sum(nx.safe_norm(x[..., :, None, :] - x[..., None, :, :], axis=-1),
                   axis=(-2, -1))
  values = skill - 0.5 * spread / (m * (m - 1) if fair else m * m)
  return reduce_loss(values, reduction, where=where, weights=weights)
