"""Optimal-transport distances between sample sets: sliced Wasserstein, Sinkhorn divergence.

Part of the ``distribution`` family (see :mod:`jaxloss.distribution`): ``x
(..., N, D)`` and ``y (..., M, D)``, one value per pair of sets.
:func:`sinkhorn_divergence` wraps ott-jax, an optional dependency
(``pip install jaxloss[ot]``) imported on first call only.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import check_integer, loss_function, reduce_loss
from jaxloss.catalog import register
from jaxloss.distribution._common import sample_sets, sample_weights

__all__ = ["sinkhorn_divergence", "sliced_wasserstein"]

_TASKS = ("generative modelling", "domain adaptation", "distribution matching")


def _quantile_grid(n: int, m: int):
  """The merged quantile grid of two uniform empirical measures of sizes n and m (static).

  The quantile functions of the two sorted samples are step functions with
  steps at ``i/n`` and ``j/m``; on each interval of the merged grid both are
  constant. Returns the interval lengths and, per interval, the sample index
  of each quantile function (exact integer arithmetic in units of ``1/(n m)``).
  """
  edges = np.union1d(np.arange(n + 1) * m, np.arange(m + 1) * n)   # in units of 1/(n m)
  lengths = np.diff(edges) / (n * m)
  mid2 = edges[:-1] + edges[1:]                                     # 2 * midpoint
  ix = np.minimum(mid2 // (2 * m), n - 1)
  iy = np.minimum(mid2 // (2 * n), m - 1)
  return lengths, ix, iy


@register(tasks=_TASKS, input_kind="samples",
          peer="ot.sliced_wasserstein_distance (POT)",
          references=("Bonneel et al., Sliced and Radon Wasserstein Barycenters of Measures, "
                      "JMIV 51, 2015",
                      "Deshpande et al., Generative Modeling using the Sliced Wasserstein "
                      "Distance, CVPR 2018"))
@loss_function(static=("n_projections",), ranges={"p": ">= 1", "n_projections": ">= 1"})
def sliced_wasserstein(x, y, key, *, n_projections=50, p=2.0, weights=None, where=None,
                       reduction="mean"):
  r"""Monte-Carlo sliced p-Wasserstein distance between two sample sets.

  .. math::
    \mathrm{SW}_p(\mu, \nu) = \Big(\frac1L\sum_{l=1}^{L}
      W_p^p(\theta_{l\#}\mu, \theta_{l\#}\nu)\Big)^{1/p},
    \quad W_p^p = \int_0^1 \lvert F^{-1}_{\theta\#\mu}(t) - F^{-1}_{\theta\#\nu}(t)\rvert^p\,dt

  with ``L = n_projections`` directions :math:`\theta_l` drawn uniformly on
  the unit sphere (normalised Gaussians from ``key``) and the 1-D optimal
  transport cost computed by sorting the projections. Like POT it returns the
  ``p``-th root of the *mean over projections* of :math:`W_p^p` (a distance,
  not its ``p``-th power). ``N != M`` is exact: the two empirical quantile
  functions are compared on their merged grid of steps ``i/N`` and ``j/M``
  (``N + M - 1`` intervals at most, a static index pattern), as POT's
  ``wasserstein_1d`` does. All sets of a batch share the same directions.

  The gradient is finite at ``x == y`` (``safe_pow`` for ``|.|^p`` and the
  root); the value is a random estimate, unbiased for :math:`\mathrm{SW}_p^p`.

  Args:
    x: floating ``(..., N, D)``.
    y: ``(..., M, D)``, same batch axes and D.
    key: a JAX PRNG key for the projection directions.
    n_projections: number of random directions L (default 50, POT's), static.
    p: the Wasserstein order, ``>= 1`` (default 2, POT's); may be traced.
    weights: optional per-set weights, broadcastable to ``x.shape[:-2]``.
    where: optional boolean mask over the batch shape ``x.shape[:-2]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``x.shape[:-2]`` for "none".

  Raises:
    LossInputError: ``y`` not ``(..., M, D)`` with ``x``'s batch axes and D;
      concrete ``p < 1``.

  Notes:
    Equals ``ot.sliced_wasserstein_distance(x, y, n_projections=L, p=p,
    projections=theta)`` for the same directions ``theta`` (POT draws its own
    from a NumPy seed, so values agree in distribution, not per call). With
    ``D == 1`` every direction is ``+-1`` and the result is the exact 1-D
    ``W_p`` (``scipy.stats.wasserstein_distance`` for ``p = 1``). POT's
    per-sample weights ``a`` / ``b`` are not supported (uniform samples only).

  Examples:
    >>> import jax, jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0.], [1.], [2.]])
    >>> print(round(float(jaxloss.sliced_wasserstein(x, x + 0.5, jax.random.key(0))), 4))
    0.5
  """
  x, y, _ = sample_sets(x, y, where)
  key = jnp.asarray(key)
  if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    check_integer("key", key)
  n, m, d = x.shape[-2], y.shape[-2], x.shape[-1]
  theta = jax.random.normal(key, (d, n_projections), x.dtype)
  theta = theta / jnp.linalg.norm(theta, axis=0, keepdims=True)
  xp = jnp.sort(jnp.einsum("...nd,dl->...ln", x, theta,
                           precision=jax.lax.Precision.HIGHEST), axis=-1)
  yp = jnp.sort(jnp.einsum("...md,dl->...lm", y, theta,
                           precision=jax.lax.Precision.HIGHEST), axis=-1)
  lengths, ix, iy = _quantile_grid(n, m)
  diff = jnp.abs(xp[..., ix] - yp[..., iy])
  p = jnp.asarray(p, x.dtype)
  wpp = jnp.sum(jnp.asarray(lengths, x.dtype) * nx.safe_pow(diff, p), axis=-1)
  values = nx.safe_pow(jnp.mean(wpp, axis=-1), 1.0 / p)
  return reduce_loss(values, reduction, where=where, weights=weights)


def _import_ott():
  try:
    from ott.geometry import pointcloud
    from ott.tools import sinkhorn_divergence as sd
  except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "jaxloss.sinkhorn_divergence needs ott-jax, an optional dependency: "
        "pip install jaxloss[ot]  (or: pip install ott-jax)") from e
  return pointcloud, sd


@register(tasks=_TASKS, input_kind="samples",
          peer="ott.tools.sinkhorn_divergence.sinkhorn_divergence (PointCloud, SqEuclidean)",
          references=("Feydy et al., Interpolating between Optimal Transport and MMD using "
                      "Sinkhorn Divergences, AISTATS 2019",
                      "Genevay, Peyre & Cuturi, Learning Generative Models with Sinkhorn "
                      "Divergences, AISTATS 2018",
                      "Cuturi et al., Optimal Transport Tools (OTT), arXiv:2201.12324, 2022"))
@loss_function(static=("max_iterations",),
               ranges={"epsilon": "> 0", "threshold": "> 0", "max_iterations": ">= 1"})
def sinkhorn_divergence(x, y, *, epsilon=None, x_weights=None, y_weights=None, threshold=1e-3,
                        max_iterations=2000, weights=None, where=None, reduction="mean"):
  r"""Debiased Sinkhorn divergence between two weighted sample sets (Feydy et al. 2019).

  .. math::
    S_\varepsilon(\alpha, \beta) = \mathrm{OT}_\varepsilon(\alpha, \beta)
      - \tfrac12\mathrm{OT}_\varepsilon(\alpha, \alpha)
      - \tfrac12\mathrm{OT}_\varepsilon(\beta, \beta),
    \quad \mathrm{OT}_\varepsilon(\alpha, \beta) = \min_{P \in \Pi(a, b)}
      \langle P, C\rangle + \varepsilon\,\mathrm{KL}(P \,\|\, a \otimes b)

  with the squared Euclidean cost :math:`C_{ij} = \lVert x_i - y_j\rVert^2`
  (no 1/2: ott's ``SqEuclidean``; geomloss's ``p=2`` cost is half of it) and
  ``OT_eps`` evaluated as the dual objective :math:`\langle a, f\rangle +
  \langle b, g\rangle` at the Sinkhorn potentials. Non-negative, 0 iff the
  measures are equal, interpolating between OT (``epsilon -> 0``) and an MMD
  (``epsilon -> inf``).

  A thin wrapper of ott-jax's log-domain solver (an optional dependency,
  imported on first call: ``pip install jaxloss[ot]``): jit, vmap (batch
  axes) and grad go through ott, whose gradient is implicit differentiation
  of the fixed point (no backprop through the iterations). The symmetric
  terms use ott's symmetric Sinkhorn updates.

  Args:
    x: floating ``(..., N, D)``.
    y: ``(..., M, D)``, same batch axes and D.
    epsilon: entropic regularisation (> 0), in units of the cost. Default
      None: ott's default, ``0.05 * std`` of the ``x``--``y`` cost matrix
      (gradient stopped), shared by the three terms. May be traced.
    x_weights: optional per-sample weights of ``x`` (measure ``a``),
      broadcastable to ``(..., N)``, normalised to sum 1; default uniform.
    y_weights: the same for ``y`` (measure ``b``).
    threshold: Sinkhorn stopping tolerance on the marginal error (default 1e-3, ott's).
    max_iterations: Sinkhorn iteration cap (default 2000, ott's), static.
    weights: optional per-set weights, broadcastable to ``x.shape[:-2]``.
    where: optional boolean mask over the batch shape ``x.shape[:-2]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``x.shape[:-2]`` for "none".

  Raises:
    ImportError: ott-jax is not installed (the message names ``pip install jaxloss[ot]``).
    LossInputError: ``y`` not ``(..., M, D)`` with ``x``'s batch axes and D;
      concrete ``epsilon <= 0``.

  Notes:
    Equals ``ott.tools.sinkhorn_divergence.sinkhorn_divergence(PointCloud, x,
    y, a=..., b=..., epsilon=epsilon, solve_kwargs={"threshold": ...,
    "max_iterations": ...})[0]`` for each pair of sets. The value is accurate
    to about ``threshold`` (relative): lower it for a tighter estimate.

  Examples:
    >>> import pytest; _ = pytest.importorskip("ott")  # needs ott-jax: pip install jaxloss[ot]
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0., 0.], [1., 0.]])
    >>> print(round(float(jaxloss.sinkhorn_divergence(x, x + 1.0, epsilon=0.1, threshold=1e-6)), 3))
    2.0
  """
  x, y, batch = sample_sets(x, y, where)
  pointcloud, sd = _import_ott()
  dtype = x.dtype
  n, m, d = x.shape[-2], y.shape[-2], x.shape[-1]
  wx = sample_weights("x_weights", x_weights, x.shape[:-1], dtype)
  wy = sample_weights("y_weights", y_weights, y.shape[:-1], dtype)
  eps = None if epsilon is None else jnp.asarray(epsilon, dtype)
  size = math.prod(batch)
  solve = {"threshold": threshold, "max_iterations": max_iterations}

  def one(xi, yi, ai, bi):
    out, _ = sd.sinkhorn_divergence(pointcloud.PointCloud, xi, yi, a=ai, b=bi, epsilon=eps,
                                    solve_kwargs=solve)
    return out

  values = jax.vmap(one)(x.reshape(size, n, d), y.reshape(size, m, d),
                         wx.reshape(size, n), wy.reshape(size, m)).reshape(batch)
  return reduce_loss(values, reduction, where=where, weights=weights)
