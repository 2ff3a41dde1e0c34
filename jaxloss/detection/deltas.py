"""Regression of encoded box deltas (Fast/Faster R-CNN).
See :mod:`jaxloss.detection` for the conventions.
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
from jaxloss.catalog import SURVEY, register
from jaxloss.regression import smooth_l1_loss

__all__ = ["smooth_l1_box_loss"]


# --------------------------------------------------------------------------
# Delta regression.
# --------------------------------------------------------------------------


@register(tasks=("object detection", "object tracking"),
          input_kind="values",
          peer="torchvision Faster R-CNN box loss: smooth_l1_loss(beta=1/9) summed over the 4 deltas",
          references=("Girshick, Fast R-CNN, ICCV 2015",
                      "Ren et al., Faster R-CNN, NeurIPS 2015", SURVEY))
@loss_function(ranges={"beta": ">= 0"})
def smooth_l1_box_loss(predictions, targets, *, beta=1.0 / 9.0, weights=None, where=None,
                       reduction="mean"):
  r"""Smooth L1 loss on encoded box deltas, summed over the 4 coordinates.

  .. math::
    \ell_i = \sum_{k=1}^{4} \mathrm{smoothL1}_\beta(d_{ik} - t_{ik})

  The box regression loss of Fast/Faster R-CNN on anchor-relative deltas
  (see :func:`jaxloss.boxes.encode_boxes`); ``jaxloss.smooth_l1_loss`` per
  coordinate, summed per box.

  Args:
    predictions: predicted box deltas ``(..., 4)``.
    targets: encoded target deltas ``(..., 4)``, same shape.
    beta: smooth-L1 threshold >= 0 (default 1/9, torchvision's Faster R-CNN;
      Detectron2 uses 0, i.e. L1); may be traced.
    weights: optional per-box weights, broadcastable to ``(...)``.
    where: optional boolean mask over boxes (e.g. positive anchors),
      broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: shapes differ or the last axis is not 4.

  Notes:
    torchvision's ``fastrcnn_loss`` sums over the positive boxes and divides
    by *all* sampled RoIs; with ``where`` = positives, ``reduction="sum"``
    divided by that count reproduces it, while ``"mean"`` here divides by the
    number of positives.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> d = jnp.array([[0.05, 0., 1., 0.]]); t = jnp.zeros((1, 4))
    >>> print(jaxloss.smooth_l1_box_loss(d, t, reduction="none"))
    [0.955694]
  """
  check_floating("predictions", predictions)
  check_same_shape("predictions", predictions, "targets", targets)
  if predictions.ndim < 1 or predictions.shape[-1] != 4:
    raise LossInputError(f"predictions has shape {predictions.shape}; expected (..., 4)")
  dtype = nx.compute_dtype(predictions, targets)
  d = nx.mask_fill(predictions.astype(dtype), where, trailing=1)
  t = nx.mask_fill(jnp.asarray(targets).astype(dtype), where, trailing=1)
  values = jnp.sum(smooth_l1_loss(d, t, beta=beta, reduction="none"), axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)


