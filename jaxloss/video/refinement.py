"""The RAFT-style sequence loss over iterative refinements."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import LossInputError, check_floating, loss_function, reduce_loss, shape_of
from jaxloss.catalog import SURVEY, register
from jaxloss.regression import mae
from jaxloss.video._common import RAFT

__all__ = ["sequence_loss"]


@register(tasks=("optical flow", "stereo", "motion detection", "video"),
          input_kind="values", peer="RAFT train.py sequence_loss (gamma=0.8, L1)",
          references=(RAFT, SURVEY))
@loss_function(static=("loss_fn",), ranges={"gamma": "> 0"})
def sequence_loss(predictions, targets, *, gamma=0.8, loss_fn=None, weights=None, where=None,
                  reduction="mean"):
  r"""Exponentially weighted loss over a sequence of iterative refinements.

  .. math::
    L = \sum_{i=0}^{N-1} \gamma^{\,N-1-i}\, \ell(\hat y_i, y)

  RAFT's convention: the last (best) refinement has weight 1, each earlier
  one a factor ``gamma`` less. ``loss_fn`` gives the per-step *unreduced*
  loss; the weighted sum is reduced once, so "mean" is the weighted sum of the
  per-step means (RAFT's ``sum_i gamma^(N-1-i) mean|flow_i - gt|``).

  Args:
    predictions: the ``N`` refinements stacked on a leading axis,
      ``(N, *targets.shape)``, or a list/tuple of ``N`` arrays of
      ``targets.shape``.
    targets: floating ground truth (e.g. a flow ``(B, H, W, 2)``).
    gamma: decay (default 0.8, RAFT); may be traced.
    loss_fn: per-step loss called as ``loss_fn(prediction, targets,
      reduction="none")`` (plus ``where=where`` when given), e.g. any
      elementwise jaxloss loss; static (a hashable callable). Default None:
      L1 (:func:`jaxloss.mae`), as RAFT.
    weights: optional weights, broadcastable to the unreduced loss.
    where: optional boolean mask, broadcastable to the per-step unreduced
      loss (for a flow, ``valid[..., None]`` of shape ``(B, H, W, 1)``; RAFT
      also drops ground truth with ``|flow| >= 400``: build that into it).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``loss_fn``'s unreduced shape for "none".

  Raises:
    LossInputError: empty ``predictions`` or shape not ``(N, *targets.shape)``.

  Notes:
    A deliberate difference from RAFT's ``train.py``: RAFT averages
    ``valid * |d|`` over *all* pixels; "mean" here averages over the pixels
    ``where`` keeps (use ``reduction="sum"`` and divide yourself to reproduce
    RAFT's count). The survey's "Sequence Loss".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> preds = jnp.array([[2.], [1.], [0.]])      # three refinements of one value
    >>> print(jaxloss.sequence_loss(preds, jnp.zeros(1)))   # 0.64 * 2 + 0.8 * 1 + 0
    2.08
  """
  if isinstance(predictions, (list, tuple)):
    if not predictions:
      raise LossInputError("predictions is empty; expected N >= 1 refinements")
    predictions = jnp.stack([jnp.asarray(p) for p in predictions])
  check_floating("predictions", predictions)
  t_shape = shape_of(targets)
  if shape_of(predictions)[1:] != t_shape or not shape_of(predictions)[0]:
    raise LossInputError(
        f"predictions has shape {shape_of(predictions)}; expected (N,) + targets shape "
        f"{t_shape} (N >= 1 stacked refinements)")
  fn = mae if loss_fn is None else loss_fn
  kw = {"reduction": "none"} if where is None else {"reduction": "none", "where": where}
  steps = jax.vmap(lambda p: fn(p, targets, **kw))(predictions)  # (N, *U)
  n = predictions.shape[0]
  dtype = nx.compute_dtype(steps)
  decay = jnp.power(jnp.asarray(gamma, dtype), jnp.arange(n - 1, -1, -1, dtype=dtype))
  values = jnp.tensordot(decay, steps.astype(dtype), axes=1)
  return reduce_loss(values, reduction, where=where, weights=weights)
