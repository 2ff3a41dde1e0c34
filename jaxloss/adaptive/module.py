""":class:`AdaptiveRobustLoss`: the adaptive robust loss as a Flax NNX module.

Imported on first use of ``jaxloss.AdaptiveRobustLoss`` (it needs Flax, which
``import jaxloss`` does not import).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxloss.adaptive.barron import adaptive_robust_loss

__all__ = ['AdaptiveRobustLoss']


def _inv_softplus(y):
  return float(np.log(np.expm1(y)))


class AdaptiveRobustLoss(nnx.Module):
  """Latent per-dimension alpha and scale for :func:`adaptive_robust_loss`.

  ``alpha = lo + (hi - lo) * sigmoid(latent_alpha)`` and
  ``scale = scale_lo + softplus(latent_scale)`` keep both in their valid
  ranges while an optax step updates the latents (Barron's defaults:
  ``alpha in (0.001, 1.999)``, initial alpha 1, initial scale 1). Put it in
  your model (or next to it) and the ``nnx.Param`` latents train with it.

  Example::

    robust = AdaptiveRobustLoss(num_dims=3, rngs=None)
    loss = robust(residuals)            # residuals [..., 3]
  """

  def __init__(self, num_dims: int, *, alpha_lo: float = 0.001, alpha_hi: float = 1.999,
               alpha_init: float | None = None, scale_lo: float = 1e-5,
               scale_init: float = 1.0, rngs=None):
    del rngs  # deterministic initialisation
    if not 0.0 <= alpha_lo < alpha_hi < np.inf:
      raise ValueError(f"need 0 <= alpha_lo < alpha_hi < inf, got {alpha_lo}, {alpha_hi}")
    if scale_init <= scale_lo:
      raise ValueError(f"scale_init must be > scale_lo={scale_lo}, got {scale_init}")
    alpha_init = 0.5 * (alpha_lo + alpha_hi) if alpha_init is None else alpha_init
    if not alpha_lo < alpha_init < alpha_hi:
      raise ValueError(f"alpha_init must be in ({alpha_lo}, {alpha_hi}), got {alpha_init}")
    frac = (alpha_init - alpha_lo) / (alpha_hi - alpha_lo)
    self.alpha_lo, self.alpha_hi, self.scale_lo = alpha_lo, alpha_hi, scale_lo
    self.latent_alpha = nnx.Param(jnp.full((num_dims,), float(np.log(frac / (1 - frac)))))
    self.latent_scale = nnx.Param(jnp.full((num_dims,), _inv_softplus(scale_init - scale_lo)))

  def alpha(self):
    return self.alpha_lo + (self.alpha_hi - self.alpha_lo) * jax.nn.sigmoid(self.latent_alpha[...])

  def scale(self):
    return self.scale_lo + jax.nn.softplus(self.latent_scale[...])

  def __call__(self, x, *, where=None, weights=None, reduction="mean"):
    return adaptive_robust_loss(x, alpha=self.alpha(), scale=self.scale(), where=where,
                                weights=weights, reduction=reduction)

