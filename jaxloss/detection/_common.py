"""Shared input handling of the detection losses.
See :mod:`jaxloss.detection` for the conventions.
"""


from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  broadcast_mask,
  check_broadcastable,
)

_DIOU_PAPER = ("Zheng et al., Distance-IoU Loss: Faster and Better Learning for Bounding Box "
               "Regression, AAAI 2020")
_UNIT_BOX = (0.0, 0.0, 1.0, 1.0)
_UNIT_RBOX = (0.0, 0.0, 1.0, 1.0, 0.0)


# --------------------------------------------------------------------------
# Shared input handling.
# --------------------------------------------------------------------------


def _debug_check_boxes(name, b):
  checkify.debug_check(
      jnp.all((b[..., 2] >= b[..., 0]) & (b[..., 3] >= b[..., 1])),
      f"{name} must be xyxy boxes with x1 <= x2 and y1 <= y2")


def _fill(b, where, fill):
  if where is None:
    return b
  check_broadcastable("where", where, b.shape[:-1], "unreduced loss")
  mask = broadcast_mask("where", where, b.shape[:-1], "box")[..., None]
  return jnp.where(mask, b, jnp.asarray(fill, b.dtype))


def _box_pair(predictions, targets, where, *, last=4, fill=_UNIT_BOX, check=True):
  """Validates, broadcasts and mask-fills a (predictions, targets) pair of box arrays."""
  b1 = jnp.asarray(predictions)
  b2 = jnp.asarray(targets)
  for name, b in (("predictions", b1), ("targets", b2)):
    if b.ndim < 1 or b.shape[-1] != last:
      raise LossInputError(f"{name} has shape {b.shape}; expected (..., {last}) boxes")
  try:
    lead = np.broadcast_shapes(b1.shape[:-1], b2.shape[:-1])
  except ValueError:
    raise LossInputError(
        f"targets has shape {b2.shape} but predictions has shape {b1.shape}; expected "
        f"broadcastable leading shapes") from None
  dtype = nx.compute_dtype(b1, b2)
  b1 = jnp.broadcast_to(b1.astype(dtype), lead + (last,))
  b2 = jnp.broadcast_to(b2.astype(dtype), lead + (last,))
  b1, b2 = _fill(b1, where, fill), _fill(b2, where, fill)
  if check:
    _debug_check_boxes("predictions", b1)
    _debug_check_boxes("targets", b2)
  return b1, b2


_BOX_TASKS = ("object detection", "bounding-box regression", "object tracking")


def _pow(x, alpha):
  """``max(x, 0) ** alpha`` with a finite gradient at 0 (double where)."""
  pos = x > 0
  return jnp.where(pos, jnp.where(pos, x, 1.0) ** alpha, 0.0)


