""":class:`LPIPS`: :func:`jaxloss.lpips_loss` with its weights held by a Flax NNX module.

Imported on first use of ``jaxloss.LPIPS`` (it needs Flax, which ``import
jaxloss`` does not import).
"""

from __future__ import annotations

import jax
from flax import nnx

from jaxloss.image.lpips import _check_params, lpips_loss, lpips_params

__all__ = ["LPIPS"]


class LPIPS(nnx.Module):
  """LPIPS as a module: the weights are non-trainable ``nnx.Variable`` leaves.

  ``nnx.Param`` filters (an optimizer over ``nnx.Param``) do not see the
  weights, so a model holding an ``LPIPS`` trains only its own parameters.

  Example::

    lpips = LPIPS.from_file("lpips_alex.npz", net="alex")   # converted weights
    loss = lpips(predictions, targets)                      # (B, H, W, 3) in [-1, 1]
  """

  def __init__(self, params, *, net: str = "alex", normalize: bool = False):
    _check_params(params, net)
    self.net, self.normalize = net, normalize
    self.params = nnx.data(jax.tree.map(nnx.Variable, params))

  @classmethod
  def from_file(cls, path, net: str = "alex", *, normalize: bool = False) -> LPIPS:
    """An ``LPIPS`` with the weights of :func:`jaxloss.lpips_params` ``(path, net)``."""
    return cls(lpips_params(path, net), net=net, normalize=normalize)

  def __call__(self, predictions, targets, *, weights=None, where=None, reduction="mean"):
    params = jax.tree.map(lambda v: v[...], self.params,
                          is_leaf=lambda v: isinstance(v, nnx.Variable))
    return lpips_loss(predictions, targets, params, net=self.net, normalize=self.normalize,
                      weights=weights, where=where, reduction=reduction)
