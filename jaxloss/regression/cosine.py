"""Direction regression: the cosine-similarity loss between predicted and target vectors.

The unreduced loss reduces the feature ``axis``.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_same_shape,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import register

__all__ = ['cosine_similarity_loss']


def _check_axis_pair(x1, x2, axis, n1="predictions", n2="targets"):
  check_floating(n1, x1)
  check_same_shape(n1, x1, n2, x2)
  if not -x1.ndim <= axis < max(x1.ndim, 1):
    raise LossInputError(f"axis {axis} is out of range for {n1} of shape {x1.shape}")


@register(tasks=("embedding regression", "representation learning"),
          input_kind="embeddings",
          peer="optax.losses.cosine_distance; eps as torch.nn.functional.cosine_similarity",
          references=("optax cosine_distance", "torch cosine_similarity"))
@loss_function(static=("axis",), ranges={"eps": ">= 0"})
def cosine_similarity_loss(predictions, targets, *, axis=-1, eps=1e-8,
                           weights=None, where=None, reduction="mean"):
  r"""Cosine distance ``1 - cos(p, t)`` along ``axis``.

  .. math::
    \ell_i = 1 - \frac{p_i \cdot t_i}{\max(\|p_i\|_2, \varepsilon)\,\max(\|t_i\|_2, \varepsilon)}

  The norms are clamped at ``eps`` separately, as in
  ``torch.nn.functional.cosine_similarity``; a zero vector has cosine 0 (loss
  1) and a finite gradient.

  Args:
    predictions: floating ``[..., D]`` (features on ``axis``).
    targets: the same shape.
    axis: feature axis (default -1), static.
    eps: norm clamp >= 0 (default 1e-8).
    weights: optional per-vector weights, broadcastable to the unreduced loss.
    where: optional boolean mask over vectors (the shape without ``axis``).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; the input shape without ``axis`` for "none".

  Raises:
    LossInputError: shape mismatch or ``axis`` out of range.

  Notes:
    ``optax.losses.cosine_distance`` uses ``eps = 0``; the norm clamping is
    torch's.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.cosine_similarity_loss(jnp.array([[1., 0.]]), jnp.array([[1., 1.]])))
    0.292893
  """
  _check_axis_pair(predictions, targets, axis)
  dtype = nx.compute_dtype(predictions, targets)
  p = jnp.moveaxis(predictions.astype(dtype), axis, -1)
  t = jnp.moveaxis(jnp.asarray(targets).astype(dtype), axis, -1)
  p = nx.mask_fill(p, where, trailing=1)
  t = nx.mask_fill(t, where, trailing=1)
  num = jnp.sum(p * t, axis=-1)
  den = jnp.maximum(nx.safe_norm(p), eps) * jnp.maximum(nx.safe_norm(t), eps)
  values = 1.0 - nx.safe_div(num, den)
  return reduce_loss(values, reduction, where=where, weights=weights)

