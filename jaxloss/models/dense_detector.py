"""A small dense (FCOS-style, anchor-free) detector head on a stride-4 grid."""

import math

import jax.numpy as jnp
from flax import nnx


class DenseDetector(nnx.Module):
  """A conv trunk down to a stride-4 grid, then per cell ``C`` class logits and the 4
  distances from the cell's centre to the sides of its box (FCOS's ``l, t, r, b``).

  Images ``(B, H, W, in_channels)`` with ``H, W`` divisible by 4 in; out
  ``(logits, boxes)``: class logits ``(B, H/4, W/4, C)`` and ``xyxy`` boxes
  ``(B, H/4, W/4, 4)`` in ``[0, 1]``-image coordinates (the same as the data's),
  decoded from the distances, which are positive through a softplus (in grid
  cells, so a fresh head predicts boxes of about one cell a side around each cell):
  every box is valid, so box losses never see ``x2 < x1``.

  The trunk is shared; the class and box branches have one 3x3 conv each
  ("towers", as FCOS has four). The class bias starts at ``-log((1 - p) / p)`` with
  ``p = prior_prob`` (RetinaNet's initialisation; 0.01), so at the start every
  cell predicts background with probability 0.99 and the (many) negatives do not
  swamp the first steps.
  """

  stride = 4

  def __init__(self, in_channels: int, num_classes: int, width: int = 32, *,
               prior_prob: float = 0.01, rngs: nnx.Rngs):
    w = width
    self.num_classes = num_classes
    self.c1 = nnx.Conv(in_channels, w // 2, kernel_size=(3, 3), rngs=rngs)
    self.c2 = nnx.Conv(w // 2, w, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
    self.c3 = nnx.Conv(w, w, kernel_size=(3, 3), rngs=rngs)
    self.c4 = nnx.Conv(w, w, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
    self.c5 = nnx.Conv(w, w, kernel_size=(3, 3), rngs=rngs)
    self.c6 = nnx.Conv(w, w, kernel_size=(3, 3), kernel_dilation=(2, 2), rngs=rngs)
    self.cls_tower = nnx.Conv(w, w, kernel_size=(3, 3), rngs=rngs)
    self.box_tower = nnx.Conv(w, w, kernel_size=(3, 3), rngs=rngs)
    bias = -math.log((1 - prior_prob) / prior_prob)
    self.cls = nnx.Conv(w, num_classes, kernel_size=(3, 3),
                        bias_init=nnx.initializers.constant(bias), rngs=rngs)
    self.box = nnx.Conv(w, 4, kernel_size=(3, 3), rngs=rngs)

  def __call__(self, x):
    for c in (self.c1, self.c2, self.c3, self.c4, self.c5, self.c6):
      x = nnx.relu(c(x))
    logits = self.cls(nnx.relu(self.cls_tower(x)))
    ltrb = nnx.softplus(self.box(nnx.relu(self.box_tower(x))))
    gh, gw = x.shape[1], x.shape[2]
    cy, cx = cell_centres(gh, gw)
    # distances in cells -> image fractions
    sx, sy = 1.0 / gw, 1.0 / gh
    boxes = jnp.stack([cx - ltrb[..., 0] * sx, cy - ltrb[..., 1] * sy,
                       cx + ltrb[..., 2] * sx, cy + ltrb[..., 3] * sy], axis=-1)
    return logits, boxes


def cell_centres(gh: int, gw: int):
  """``(cy, cx)``, each ``(gh, gw)``: the centres of a ``gh x gw`` grid's cells in
  ``[0, 1]``-image coordinates."""
  cy = (jnp.arange(gh) + 0.5) / gh
  cx = (jnp.arange(gw) + 0.5) / gw
  return jnp.meshgrid(cy, cx, indexing="ij")
