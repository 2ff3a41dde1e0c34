"""Adaptive losses: Barron's general and adaptive robust loss.

The survey's "adaptive loss functions" direction (Elharrouss et al. 2025,
"Future directions"): a loss whose robustness is a continuous, learnable
parameter. ``general_robust_loss`` is one family that contains L2,
pseudo-Huber/Charbonnier, Cauchy/Lorentzian, Geman–McClure and Welsch, with
``alpha`` (shape) and ``scale`` traced, so a training step can learn them.

Conventions: ``x`` is a residual array of any shape; ``alpha`` and ``scale``
broadcast to it (scalars or per-dimension arrays); the unreduced loss has
``x.shape``; ``where``/``weights``/``reduction`` as everywhere in jaxloss.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import check_broadcastable, check_floating, loss_function, reduce_loss
from jaxloss.adaptive import _barron_table
from jaxloss.catalog import register

__all__ = ['adaptive_robust_loss', 'barron_log_partition', 'general_robust_loss']


_BARRON = "Barron, A General and Adaptive Robust Loss Function, CVPR 2019"


@register(tasks=("regression", "robust regression", "image restoration", "optical flow",
                 "depth estimation"),
          input_kind="values",
          peer="google-research robust_loss (Barron) general.lossfun",
          references=(_BARRON,))
@loss_function(ranges={"scale": "> 0"})
def general_robust_loss(x, *, alpha, scale, weights=None, where=None, reduction="mean"):
  r"""Barron's general robust loss, with ``alpha`` and ``scale`` learnable.

  .. math::
    \rho(x, \alpha, c) = \frac{|\alpha - 2|}{\alpha}
      \left[\left(\frac{(x/c)^2}{|\alpha - 2|} + 1\right)^{\alpha/2} - 1\right]

  with its limits at the special shapes:

  ============  ===========================================  ==================
  ``alpha``      :math:`\rho`                                 known as
  ============  ===========================================  ==================
  2              :math:`\tfrac12 (x/c)^2`                      L2
  1              :math:`\sqrt{(x/c)^2 + 1} - 1`                pseudo-Huber / Charbonnier
  0              :math:`\log(\tfrac12 (x/c)^2 + 1)`            Cauchy / Lorentzian
  -2             :math:`2 (x/c)^2 / ((x/c)^2 + 4)`             Geman–McClure
  -inf           :math:`1 - \exp(-\tfrac12 (x/c)^2)`           Welsch / Leclerc
  +inf           :math:`\exp(\tfrac12 (x/c)^2) - 1`
  ============  ===========================================  ==================

  The general case is evaluated as
  ``(b / a) * expm1(alpha/2 * log1p((x/c)^2 / b))`` with ``b = max(eps, |alpha - 2|)``
  and ``a = sign(alpha) * max(eps, |alpha|)`` (Barron's own stable form), and
  exact ``alpha`` values 0, 2, ±inf take the closed forms above; every branch
  is evaluated on sanitised inputs (double where), so the value and the
  gradients w.r.t. ``x``, ``alpha`` and ``scale`` are finite at and near the
  special values. For ``alpha -> +inf`` the loss grows as ``exp(x^2/2c^2)``
  and overflows for ``|x/c| > ~13`` in float32 (as the formula does).

  Args:
    x: floating residuals, any shape.
    alpha: shape parameter, a scalar or an array broadcastable to ``x``
      (per-dimension), any real or ±inf; may be traced (learnable).
    scale: scale ``c > 0``, scalar or broadcastable to ``x``; may be traced.
    weights: optional per-entry weights, broadcastable to ``x``.
    where: optional boolean mask, broadcastable to ``x``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``x.shape`` for "none".

  Raises:
    LossInputError: ``alpha`` or ``scale`` does not broadcast to ``x``; a
      concrete ``scale <= 0``.

  Notes:
    Barron 2019, Eq. 1 and its limits (Eq. 2–8). Matches
    ``general.lossfun(x, alpha, scale)`` in both the JAX and the PyTorch
    versions of google-research/robust_loss.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([0., 1., 10.])
    >>> print(jaxloss.general_robust_loss(x, alpha=2.0, scale=1.0, reduction="none"))
    [ 0.   0.5 50. ]
    >>> print(jaxloss.general_robust_loss(x, alpha=0.0, scale=1.0, reduction="none"))
    [0.        0.405465 3.931826]
  """
  check_floating("x", x)
  check_broadcastable("alpha", jnp.asarray(alpha), x.shape, "x")
  check_broadcastable("scale", jnp.asarray(scale), x.shape, "x")
  dtype = nx.compute_dtype(x)
  x = nx.mask_fill(x.astype(dtype), where)
  alpha = jnp.broadcast_to(jnp.asarray(alpha, dtype), x.shape)
  scale = jnp.broadcast_to(jnp.asarray(scale, dtype), x.shape)
  eps = jnp.finfo(dtype).eps
  z = (x / scale) ** 2

  is_two = alpha == 2.0
  is_zero = alpha == 0.0
  is_neg_inf = alpha == -jnp.inf
  is_pos_inf = alpha == jnp.inf
  special = is_two | is_zero | is_neg_inf | is_pos_inf

  # General branch on a sanitised alpha (a value it can evaluate safely).
  a_gen = jnp.where(special, 1.0, alpha)
  b = jnp.maximum(eps, jnp.abs(a_gen - 2.0))
  a = jnp.where(a_gen >= 0, 1.0, -1.0) * jnp.maximum(eps, jnp.abs(a_gen))
  general = (b / a) * jnp.expm1(0.5 * a_gen * jnp.log1p(z / b))

  l2 = 0.5 * z
  cauchy = jnp.log1p(0.5 * z)
  welsch = -jnp.expm1(-0.5 * z)
  z_pos = jnp.where(is_pos_inf, z, 0.0)  # keeps exp from overflowing elsewhere
  pos_inf = jnp.expm1(0.5 * z_pos)

  values = jnp.where(is_two, l2, jnp.where(is_zero, cauchy, jnp.where(
      is_neg_inf, welsch, jnp.where(is_pos_inf, pos_inf, general))))
  return reduce_loss(values, reduction, where=where, weights=weights)


_LOG_Z = np.asarray(_barron_table.LOG_Z)


_DLOG_Z = np.asarray(_barron_table.DLOG_Z)


_ALPHA_MAX = _barron_table.ALPHA_MAX


def barron_log_partition(alpha):
  r"""``log Z(alpha)`` of Barron's distribution, smooth and differentiable in ``alpha``.

  .. math::
    Z(\alpha) = \int_{-\infty}^{\infty} \exp(-\rho(x, \alpha, 1))\, dx

  Tabulated offline on 129 points of ``[0, 4]`` with ``scipy.integrate.quad``
  (``scripts/make_partition_table.py``) together with ``d log Z / d alpha``, and
  evaluated by cubic Hermite interpolation (C1 in alpha, so its gradient is
  continuous). ``alpha`` outside ``[0, 4]`` is clipped (Z is infinite for
  ``alpha < 0``: the distribution only exists for ``alpha >= 0``). Exact
  values: ``Z(0) = pi sqrt(2)``, ``Z(2) = sqrt(2 pi)``.
  """
  alpha = jnp.asarray(alpha)
  dtype = nx.compute_dtype(alpha)
  n = _LOG_Z.shape[0]
  h = _ALPHA_MAX / (n - 1)
  t = jnp.clip(alpha.astype(dtype), 0.0, _ALPHA_MAX) / h
  i = jnp.clip(jnp.floor(t), 0, n - 2).astype(jnp.int32)
  u = t - i
  y0, y1 = jnp.asarray(_LOG_Z, dtype)[i], jnp.asarray(_LOG_Z, dtype)[i + 1]
  d0, d1 = jnp.asarray(_DLOG_Z, dtype)[i] * h, jnp.asarray(_DLOG_Z, dtype)[i + 1] * h
  u2, u3 = u * u, u * u * u
  return ((2 * u3 - 3 * u2 + 1) * y0 + (u3 - 2 * u2 + u) * d0
          + (-2 * u3 + 3 * u2) * y1 + (u3 - u2) * d1)


@register(tasks=("regression", "robust regression", "image restoration", "optical flow"),
          input_kind="values",
          peer="google-research robust_loss (Barron) distribution.nllfun / adaptive.lossfun",
          references=(_BARRON,))
@loss_function(ranges={"scale": "> 0", "alpha": "[0, 4]"})
def adaptive_robust_loss(x, *, alpha, scale, weights=None, where=None, reduction="mean"):
  r"""Barron's adaptive robust loss: the NLL of his distribution, for learning alpha.

  .. math::
    -\log p(x \mid \alpha, c) = \rho(x, \alpha, c) + \log c + \log Z(\alpha)

  Minimising :func:`general_robust_loss` over ``alpha`` just picks the most
  robust shape; the negative log-likelihood adds the log-partition term, so
  learning ``alpha`` and ``scale`` by gradient descent fits the residuals'
  tail behaviour (heavy tails -> small alpha, Gaussian tails -> alpha near 2).
  Use :class:`AdaptiveRobustLoss` to hold latent per-dimension alpha and scale
  as Flax NNX parameters.

  Args:
    x: floating residuals, any shape.
    alpha: shape in [0, 4] (clipped to it), scalar or broadcastable to ``x``;
      may be traced.
    scale: scale > 0, scalar or broadcastable to ``x``; may be traced.
    weights: optional per-entry weights, broadcastable to ``x``.
    where: optional boolean mask, broadcastable to ``x``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``x.shape`` for "none".

  Raises:
    LossInputError: ``alpha``/``scale`` do not broadcast to ``x``; a concrete
      ``scale <= 0`` or ``alpha`` outside [0, 4].

  Notes:
    Barron 2019, Sec. 2 (the probability distribution and its partition
    function). The reference implementation interpolates log Z with a spline
    in a transformed alpha; here it is tabulated on [0, 4] and interpolated
    by cubic Hermite polynomials (difference < 1e-6 from direct integration).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> # At alpha = 2 this is the Gaussian NLL with sigma = scale.
    >>> print(jaxloss.adaptive_robust_loss(jnp.array([0., 1.]), alpha=2.0, scale=1.0,
    ...                                    reduction="none"))
    [0.918938 1.418939]
  """
  check_floating("x", x)
  check_broadcastable("alpha", jnp.asarray(alpha), x.shape, "x")
  check_broadcastable("scale", jnp.asarray(scale), x.shape, "x")
  dtype = nx.compute_dtype(x)
  alpha = jnp.clip(jnp.asarray(alpha, dtype), 0.0, _ALPHA_MAX)
  scale = jnp.asarray(scale, dtype)
  rho = general_robust_loss.__wrapped__(x, alpha=alpha, scale=scale, where=where,
                                        reduction="none")
  values = rho + jnp.log(scale) + barron_log_partition(alpha)
  return reduce_loss(jnp.broadcast_to(values, x.shape), reduction, where=where,
                     weights=weights)

