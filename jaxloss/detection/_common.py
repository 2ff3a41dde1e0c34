"""Shared input handling of the detection losses.
See :mod:`jaxloss.detection` for the conventions.
"""


from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from jaxloss import _examples as ex
from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_broadcastable,
)

_SURVEY = ("Elharrouss et al., Loss Functions in Deep Learning: A Comprehensive Review, "
           "arXiv:2504.04242, 2025")
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
  mask = jnp.broadcast_to(jnp.asarray(where, bool), b.shape[:-1])[..., None]
  return jnp.where(mask, b, jnp.asarray(fill, b.dtype))


def _box_pair(boxes1, boxes2, where, *, last=4, fill=_UNIT_BOX, check=True):
  """Validates, broadcasts and mask-fills a pair of box arrays."""
  b1 = jnp.asarray(boxes1)
  b2 = jnp.asarray(boxes2)
  for name, b in (("boxes1", b1), ("boxes2", b2)):
    if b.ndim < 1 or b.shape[-1] != last:
      raise LossInputError(f"{name} has shape {b.shape}; expected (..., {last}) boxes")
  try:
    lead = np.broadcast_shapes(b1.shape[:-1], b2.shape[:-1])
  except ValueError:
    raise LossInputError(
        f"boxes2 has shape {b2.shape} but boxes1 has shape {b1.shape}; expected "
        f"broadcastable leading shapes") from None
  dtype = nx.compute_dtype(b1, b2)
  b1 = jnp.broadcast_to(b1.astype(dtype), lead + (last,))
  b2 = jnp.broadcast_to(b2.astype(dtype), lead + (last,))
  b1, b2 = _fill(b1, where, fill), _fill(b2, where, fill)
  if check:
    _debug_check_boxes("boxes1", b1)
    _debug_check_boxes("boxes2", b2)
  return b1, b2


def _box_example(key, shape=(8,)):
  k1, k2, k3, k4 = jax.random.split(key, 4)
  xy1 = ex.uniform(k1, shape + (2,), 0.0, 10.0)
  wh1 = ex.uniform(k2, shape + (2,), 1.0, 5.0)
  xy2 = xy1 + ex.normal(k3, shape + (2,))
  wh2 = ex.uniform(k4, shape + (2,), 1.0, 5.0)
  return (jnp.concatenate([xy1, xy1 + wh1], -1), jnp.concatenate([xy2, xy2 + wh2], -1))


def _iou_example(key):
  return _box_example(key), {}


def _box_edges(key, kwargs=None):
  kw = kwargs or {}
  b1, b2 = _box_example(key)
  x = jnp.array
  return [
      ((b1, b1), kw),                                                  # identical
      ((b1, b1 + 100.0), kw),                                          # far apart
      ((x([[0., 0., 1., 1.]]), x([[2., 3., 4., 5.]])), kw),            # disjoint
      ((x([[1., 1., 2., 2.]]), x([[0., 0., 4., 4.]])), kw),            # nested
      ((x([[1., 1., 1., 3.]]), x([[0., 0., 2., 2.]])), kw),            # zero width
      ((x([[1., 1., 3., 1.]]), x([[0., 0., 2., 2.]])), kw),            # zero height
      ((x([[1., 1., 1., 1.]]), x([[0., 0., 2., 2.]])), kw),            # point box
      ((x([[0., 0., 0., 0.]]), x([[0., 0., 0., 0.]])), kw),            # all-zero vs itself
      ((x([[1., 1., 1., 1.]]), x([[1., 1., 1., 1.]])), kw),            # point vs itself
      ((b1 * 400.0, b2 * 400.0), kw),                                  # pixel scale (4096)
  ]


_BOX = dict(input_kind="boxes", example=_iou_example,
            edge_cases=_box_edges, grad_argnums=(0, 1), where_trailing=1)
_BOX_TASKS = ("object detection", "bounding-box regression", "object tracking")


def _pow(x, alpha):
  """``max(x, 0) ** alpha`` with a finite gradient at 0 (double where)."""
  pos = x > 0
  return jnp.where(pos, jnp.where(pos, x, 1.0) ** alpha, 0.0)


