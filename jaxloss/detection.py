"""Detection losses: box regression, the IoU family and Gaussian (rotated-box) losses.

Conventions of this module:

* Box losses take ``(boxes1 (..., 4), boxes2 (..., 4))`` xyxy boxes (the
  prediction first) whose leading shapes broadcast; ``reduction="none"``
  returns one value per box pair, shape ``(...)``. ``where`` and ``weights``
  broadcast to that shape. Masked pairs are replaced by a unit box before any
  arithmetic, so a NaN there reaches neither the value nor the gradient.
* Every division and square root is a safe (double-where) one: identical,
  disjoint, far-apart, nested, zero-width, zero-height and point boxes give
  finite values and gradients. Identical boxes of positive area give 0.
* Boxes must satisfy ``x1 <= x2`` and ``y1 <= y2``. The check needs data
  values, so it runs only under ``chex.chexify`` (or ``checkify``); on the fast
  path an inverted box is not corrected: its width/height enter the formulas
  with their sign, as in torchvision, and the result is finite but meaningless.
* Reductions default to ``"mean"`` (our convention). torchvision's box losses
  default to ``reduction="none"``; pass it explicitly for the same output.
* bfloat16/float16 boxes (e.g. pixel coordinates up to 4096) are computed in
  float32 and return float32.

The survey (Elharrouss et al. 2025, "Object Detection", "Object Tracking")
lists Smooth L1, IoU/GIoU/DIoU/CIoU and Gaussian Wasserstein for localisation;
the tracking losses are in :mod:`jaxloss.tracking`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from jaxloss import _examples as ex
from jaxloss import _numerics as nx
from jaxloss import boxes as bx
from jaxloss._api import (
    LossInputError,
    check_broadcastable,
    check_floating,
    check_same_shape,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import register
from jaxloss.regression import smooth_l1_loss

__all__ = [
    "alpha_iou_loss", "ciou_loss", "diou_loss", "eiou_loss", "gaussian_wasserstein_loss",
    "giou_loss", "iou_loss", "kld_loss", "siou_loss", "smooth_l1_box_loss",
]

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


_BOX = dict(family="detection", input_kind="boxes", example=_iou_example,
            edge_cases=_box_edges, grad_argnums=(0, 1), where_trailing=1)
_BOX_TASKS = ("object detection", "bounding-box regression", "object tracking")


def _pow(x, alpha):
  """``max(x, 0) ** alpha`` with a finite gradient at 0 (double where)."""
  pos = x > 0
  return jnp.where(pos, jnp.where(pos, x, 1.0) ** alpha, 0.0)


# --------------------------------------------------------------------------
# IoU-based losses.
# --------------------------------------------------------------------------


@register(tasks=_BOX_TASKS,
          peer="mmdet.models.losses.IoULoss (modes linear/log) with torchvision's eps placement",
          references=("Yu et al., UnitBox: An Advanced Object Detection Network, ACM MM 2016",
                      _SURVEY),
          efficiency=("medium", "a dozen elementwise ops per box pair"),
          complexity=("medium", "overlap geometry and degenerate-box conventions"),
          stability=("low", "zero gradient without overlap; -log IoU unbounded"),
          graded_by="survey", **_BOX)
@loss_function(static=("mode",), choices={"mode": ("linear", "log")}, ranges={"eps": "> 0"})
def iou_loss(boxes1, boxes2, *, mode="linear", eps=1e-7, weights=None, where=None,
             reduction="mean"):
  r"""IoU loss, ``1 - IoU`` or ``-log IoU``, of corresponding xyxy boxes.

  .. math::
    \mathrm{IoU} = \frac{|B_1 \cap B_2|}{|B_1 \cup B_2| + \varepsilon},\qquad
    \ell = 1 - \mathrm{IoU}\ \ (\text{linear}),\quad
    \ell = -\log\max(\mathrm{IoU}, \varepsilon)\ \ (\text{log})

  The IoU has a zero gradient when the boxes do not overlap (the reason for
  GIoU/DIoU). ``"log"`` is UnitBox's form; its value at IoU 0 is
  ``-log(eps)`` (about 16.1).

  Args:
    boxes1: predicted boxes ``(..., 4)``, xyxy.
    boxes2: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    mode: "linear" (default) | "log", static.
    eps: added to the union and the floor of the log, > 0 (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; the broadcast leading shape ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast;
      under ``chex.chexify``, boxes with ``x2 < x1`` or ``y2 < y1``.

  References:
    Yu et al. 2016 (UnitBox). Modes as mmdetection's ``IoULoss`` (which clamps
    IoU at ``eps = 1e-6`` and puts its eps in ``max(union, eps)``; here eps is
    added to the union as in torchvision).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 2., 2.]]); b = jnp.array([[1., 0., 3., 2.]])
    >>> print(jaxloss.iou_loss(a, b))
    0.6666666
  """
  b1, b2 = _box_pair(boxes1, boxes2, where)
  iou = bx.elementwise_iou(b1, b2, eps=eps)
  if mode == "linear":
    values = 1.0 - iou
  else:
    values = -jnp.log(jnp.maximum(iou, eps))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_BOX_TASKS, peer="torchvision.ops.generalized_box_iou_loss",
          references=("Rezatofighi et al., Generalized Intersection over Union, CVPR 2019",
                      _SURVEY),
          efficiency=("medium", "IoU plus the enclosing box"),
          complexity=("medium", "overlap and enclosing-box geometry"),
          stability=("medium", "gradient without overlap; slow when one box encloses the other"),
          **_BOX)
@loss_function(ranges={"eps": ">= 0"})
def giou_loss(boxes1, boxes2, *, eps=1e-7, weights=None, where=None, reduction="mean"):
  r"""Generalized IoU loss of corresponding xyxy boxes.

  .. math::
    \ell = 1 - \mathrm{IoU} + \frac{|C| - |B_1 \cup B_2|}{|C| + \varepsilon},\qquad
    \mathrm{IoU} = \frac{|B_1 \cap B_2|}{|B_1 \cup B_2| + \varepsilon}

  ``C`` is the smallest box enclosing both; the loss is in ``[0, 2)`` and 0
  for identical boxes of positive area. Two identical zero-area boxes give 1
  (torchvision issue #7746), with a finite gradient.

  Args:
    boxes1: predicted boxes ``(..., 4)``, xyxy.
    boxes2: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    eps: added to the union and to the enclosing area, >= 0 (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast;
      under ``chex.chexify``, boxes with ``x2 < x1`` or ``y2 < y1``.

  References:
    Rezatofighi et al. 2019. Matches ``torchvision.ops.generalized_box_iou_loss``
    (same eps placement) except the default reduction: torchvision defaults to
    ``"none"``, we to ``"mean"``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 1., 1.]]); b = jnp.array([[2., 0., 3., 1.]])
    >>> print(jaxloss.giou_loss(a, b, reduction="none"))
    [1.3333333]
  """
  b1, b2 = _box_pair(boxes1, boxes2, where)
  values = 1.0 - bx.elementwise_giou(b1, b2, eps=eps)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_BOX_TASKS, peer="torchvision.ops.distance_box_iou_loss",
          references=(_DIOU_PAPER, _SURVEY),
          efficiency=("medium", "IoU plus centre distance and enclosing diagonal"),
          complexity=("medium", "overlap and enclosing-box geometry"),
          stability=("medium", "bounded penalty, gradient without overlap"),
          **_BOX)
@loss_function(ranges={"eps": ">= 0"})
def diou_loss(boxes1, boxes2, *, eps=1e-7, weights=None, where=None, reduction="mean"):
  r"""Distance-IoU loss of corresponding xyxy boxes.

  .. math::
    \ell = 1 - \mathrm{IoU} + \frac{\rho^2(b_1, b_2)}{c^2 + \varepsilon}

  ``rho`` is the distance between the box centres and ``c`` the diagonal of
  the smallest enclosing box; the IoU is ``inter / (union + eps)``.

  Args:
    boxes1: predicted boxes ``(..., 4)``, xyxy.
    boxes2: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    eps: added to the union and to ``c^2``, >= 0 (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast;
      under ``chex.chexify``, boxes with ``x2 < x1`` or ``y2 < y1``.

  References:
    Zheng et al. 2020. Matches ``torchvision.ops.distance_box_iou_loss``
    except the default reduction (torchvision: ``"none"``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 1., 1.]]); b = jnp.array([[2., 0., 3., 1.]])
    >>> print(jaxloss.diou_loss(a, b, reduction="none"))
    [1.4]
  """
  b1, b2 = _box_pair(boxes1, boxes2, where)
  values = 1.0 - bx.elementwise_diou(b1, b2, eps=eps)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_BOX_TASKS, peer="torchvision.ops.complete_box_iou_loss",
          references=(_DIOU_PAPER, _SURVEY),
          efficiency=("medium", "DIoU plus two arctangents"),
          complexity=("medium", "aspect term with a stop-gradient weight"),
          stability=("medium", "atan(w/h) made safe at h = 0; alpha without gradient"),
          **_BOX)
@loss_function(ranges={"eps": ">= 0"})
def ciou_loss(boxes1, boxes2, *, eps=1e-7, weights=None, where=None, reduction="mean"):
  r"""Complete-IoU loss of corresponding xyxy boxes.

  .. math::
    \ell = 1 - \mathrm{IoU} + \frac{\rho^2}{c^2 + 10^{-7}} + \alpha v,\quad
    v = \tfrac{4}{\pi^2}\Big(\arctan\tfrac{w_2}{h_2} - \arctan\tfrac{w_1}{h_1}\Big)^2,\quad
    \alpha = \operatorname{sg}\Big[\frac{v}{1 - \mathrm{IoU} + v + \varepsilon}\Big]

  As torchvision: ``alpha`` carries no gradient (``sg``), and the DIoU part
  uses ``eps = 1e-7`` whatever ``eps`` is (torchvision calls its DIoU helper
  with the default); ``eps`` only enters ``alpha``. ``atan(w/h)`` at ``h = 0``
  is ``+-pi/2`` (torch's value of ``atan(+-inf)``) with a zero gradient, and 0
  for a point box (torch: NaN).

  Args:
    boxes1: predicted boxes ``(..., 4)``, xyxy.
    boxes2: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    eps: in the denominator of ``alpha``, >= 0 (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast;
      under ``chex.chexify``, boxes with ``x2 < x1`` or ``y2 < y1``.

  References:
    Zheng et al. 2020. Matches ``torchvision.ops.complete_box_iou_loss``
    except the default reduction (torchvision: ``"none"``) and the finite
    values at ``h = 0`` described above.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 2., 1.]]); b = jnp.array([[0., 0., 1., 1.]])
    >>> print(jaxloss.ciou_loss(a, b, reduction="none"))
    [0.55324817]
  """
  b1, b2 = _box_pair(boxes1, boxes2, where)
  values = 1.0 - bx.elementwise_ciou(b1, b2, eps=eps)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_BOX_TASKS,
          peer="",
          references=("Zhang et al., Focal and Efficient IOU Loss for Accurate Bounding Box "
                      "Regression, Neurocomputing 2022",),
          efficiency=("medium", "DIoU plus two squared size differences"),
          complexity=("medium", "enclosing-box geometry"),
          stability=("medium", "all penalties bounded, no arctangent"),
          **_BOX)
@loss_function(ranges={"eps": ">= 0"})
def eiou_loss(boxes1, boxes2, *, eps=1e-7, weights=None, where=None, reduction="mean"):
  r"""Efficient-IoU loss: DIoU with separate width and height penalties.

  .. math::
    \ell = 1 - \mathrm{IoU} + \frac{\rho^2(b_1, b_2)}{c^2 + \varepsilon}
      + \frac{(w_1 - w_2)^2}{C_w^2 + \varepsilon} + \frac{(h_1 - h_2)^2}{C_h^2 + \varepsilon}

  ``C_w, C_h`` are the width and height of the smallest enclosing box.

  Args:
    boxes1: predicted boxes ``(..., 4)``, xyxy.
    boxes2: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    eps: added to the union and to every squared enclosing size, >= 0
      (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast.

  References:
    Zhang et al. 2022 (the EIoU part of Focal-EIoU, without the focal
    ``IoU^gamma`` weighting), with torchvision's eps placement. Not
    mmdetection's ``EIoULoss``, which is a different loss (Extended-IoU, Peng
    et al. 2021, with a ``smooth_point``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 2., 1.]]); b = jnp.array([[0., 0., 1., 1.]])
    >>> print(jaxloss.eiou_loss(a, b, reduction="none"))
    [0.8]
  """
  b1, b2 = _box_pair(boxes1, boxes2, where)
  iou, pen = bx._diou_parts(b1, b2, eps)  # noqa: SLF001 - shared geometry
  cw, ch = bx._enclosing_wh(b1, b2)  # noqa: SLF001
  dw = (b1[..., 2] - b1[..., 0]) - (b2[..., 2] - b2[..., 0])
  dh = (b1[..., 3] - b1[..., 1]) - (b2[..., 3] - b2[..., 1])
  values = (1.0 - iou + pen + nx.safe_div(dw * dw, cw * cw + eps)
            + nx.safe_div(dh * dh, ch * ch + eps))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_BOX_TASKS,
          peer="mmyolo bbox_overlaps(iou_mode='siou') up to its O(eps) offsets",
          references=("Gevorgyan, SIoU Loss: More Powerful Learning for Bounding Box "
                      "Regression, arXiv:2205.12740, 2022",),
          efficiency=("medium", "IoU plus angle, distance and shape costs (exp, sqrt)"),
          complexity=("high", "three extra cost terms and a branch on the angle"),
          stability=("medium", "angle cost in closed form, no arcsin at 1"),
          **_BOX)
@loss_function(ranges={"theta": "> 0", "eps": ">= 0"})
def siou_loss(boxes1, boxes2, *, theta=4.0, eps=1e-7, weights=None, where=None,
              reduction="mean"):
  r"""SCYLLA-IoU loss: IoU with angle-aware distance and shape costs.

  .. math::
    \ell = 1 - \mathrm{IoU} + \tfrac12(\Delta + \Omega),\quad
    \Lambda = \sin(2\arcsin s) = 2 s\sqrt{1 - s^2},\quad
    \Delta = \sum_{t \in \{x, y\}} \big(1 - e^{-(2 - \Lambda)\rho_t}\big),\quad
    \Omega = \sum_{t \in \{w, h\}} \big(1 - e^{-\omega_t}\big)^\theta

  with ``s`` the sine of the smaller angle between the centre offset and an
  axis (``min(|dx|, |dy|) / ||d||``), ``rho_x = (dx / C_w)^2``,
  ``rho_y = (dy / C_h)^2`` (``C`` the enclosing box) and
  ``omega_w = |w_1 - w_2| / max(w_1, w_2)`` (same for ``h``). The angle cost
  ``1 - 2 sin^2(arcsin s - pi/4)`` of the paper equals ``sin(2 arcsin s)``,
  used here in the closed form (no arcsin, whose gradient is infinite at 1).

  Args:
    boxes1: predicted boxes ``(..., 4)``, xyxy.
    boxes2: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    theta: shape-cost exponent > 0 (default 4, the paper's).
    eps: added to the union, >= 0 (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast.

  References:
    Gevorgyan 2022. Same terms as mmyolo's ``bbox_overlaps(iou_mode='siou')``,
    which in addition adds eps to the centre offsets and to the heights and
    clamps SIoU to [-1, 1]; here the divisions are safe instead, so identical
    boxes give exactly 0 (the two differ by O(eps)).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 2., 2.]]); b = jnp.array([[1., 1., 3., 3.]])
    >>> print(jaxloss.siou_loss(a, b, reduction="none"))
    [0.9623036]
  """
  b1, b2 = _box_pair(boxes1, boxes2, where)
  inter, union = bx._inter_union(b1, b2)  # noqa: SLF001
  iou = nx.safe_div(inter, union + eps)
  cw, ch = bx._enclosing_wh(b1, b2)  # noqa: SLF001
  dx = (b2[..., 0] + b2[..., 2] - b1[..., 0] - b1[..., 2]) / 2
  dy = (b2[..., 1] + b2[..., 3] - b1[..., 1] - b1[..., 3]) / 2
  dist = nx.safe_sqrt(dx * dx + dy * dy)
  s = nx.safe_div(jnp.minimum(jnp.abs(dx), jnp.abs(dy)), dist)
  angle = 2.0 * s * nx.safe_sqrt(1.0 - s * s)
  gamma = 2.0 - angle
  rho_x = nx.safe_div(dx, cw) ** 2
  rho_y = nx.safe_div(dy, ch) ** 2
  distance = (1.0 - jnp.exp(-gamma * rho_x)) + (1.0 - jnp.exp(-gamma * rho_y))
  w1, h1 = b1[..., 2] - b1[..., 0], b1[..., 3] - b1[..., 1]
  w2, h2 = b2[..., 2] - b2[..., 0], b2[..., 3] - b2[..., 1]
  om_w = nx.safe_div(jnp.abs(w1 - w2), jnp.maximum(w1, w2))
  om_h = nx.safe_div(jnp.abs(h1 - h2), jnp.maximum(h1, h2))
  shape = _pow(1.0 - jnp.exp(-om_w), theta) + _pow(1.0 - jnp.exp(-om_h), theta)
  values = 1.0 - iou + 0.5 * (distance + shape)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_BOX_TASKS, peer="",
          references=("He et al., Alpha-IoU: A Family of Power Intersection over Union Losses "
                      "for Bounding Box Regression, NeurIPS 2021",),
          efficiency=("medium", "an IoU-family loss plus powers"),
          complexity=("medium", "one power and a base-loss mode"),
          stability=("medium", "powers made safe at 0; alpha > 1 sharpens gradients"),
          **_BOX)
@loss_function(static=("mode",), choices={"mode": ("iou", "giou", "diou", "ciou")},
               ranges={"alpha": "> 0", "eps": ">= 0"})
def alpha_iou_loss(boxes1, boxes2, *, alpha=3.0, mode="iou", eps=1e-7, weights=None,
                   where=None, reduction="mean"):
  r"""Alpha-IoU: the IoU family with every term raised to the power ``alpha``.

  .. math::
    \ell = 1 - \mathrm{IoU}^\alpha + \mathcal{R}^\alpha,\quad
    \mathcal{R} \in \Big\{0,\ \tfrac{|C| - |B_1\cup B_2|}{|C| + \varepsilon},\
    \tfrac{\rho^2}{c^2 + \varepsilon}\Big\},\qquad
    \ell_{\mathrm{ciou}} = 1 - \mathrm{IoU}^\alpha + \Big(\tfrac{\rho^2}{c^2 + \varepsilon}\Big)^\alpha
      + (\beta v)^\alpha

  for ``mode = "iou" | "giou" | "diou"`` and ``"ciou"`` (``beta``, ``v`` as in
  :func:`ciou_loss`, ``beta`` without gradient). ``alpha = 1`` recovers the
  base loss; the paper recommends ``alpha = 3``.

  Args:
    boxes1: predicted boxes ``(..., 4)``, xyxy.
    boxes2: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    alpha: power > 0 (default 3.0); may be traced.
    mode: base loss, "iou" (default) | "giou" | "diou" | "ciou", static.
    eps: torchvision's eps of the base loss, >= 0 (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4, leading shapes that do not broadcast,
      unknown ``mode`` or a concrete ``alpha <= 0``.

  References:
    He et al. 2021, equations of alpha-IoU / alpha-GIoU / alpha-DIoU /
    alpha-CIoU (their code adds eps differently; this uses torchvision's).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 2., 2.]]); b = jnp.array([[1., 0., 3., 2.]])
    >>> print(jaxloss.alpha_iou_loss(a, b, reduction="none"))
    [0.962963]
  """
  b1, b2 = _box_pair(boxes1, boxes2, where)
  inter, union = bx._inter_union(b1, b2)  # noqa: SLF001
  iou = nx.safe_div(inter, union + eps)
  values = 1.0 - _pow(iou, alpha)
  if mode == "giou":
    cw, ch = bx._enclosing_wh(b1, b2)  # noqa: SLF001
    area_c = cw * ch
    values = values + _pow(nx.safe_div(area_c - union, area_c + eps), alpha)
  elif mode in ("diou", "ciou"):
    _, pen = bx._diou_parts(b1, b2, eps)  # noqa: SLF001
    values = values + _pow(pen, alpha)
    if mode == "ciou":
      v = bx._aspect_v(b1, b2)  # noqa: SLF001
      beta = jax.lax.stop_gradient(nx.safe_div(v, 1.0 - iou + v + eps))
      values = values + _pow(beta * v, alpha)
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Delta regression.
# --------------------------------------------------------------------------


def _delta_example(key):
  k1, k2 = jax.random.split(key)
  return (ex.normal(k1, (8, 4), 0.5), ex.normal(k2, (8, 4), 0.5)), {}


def _delta_edges(key):
  (d, t), _ = _delta_example(key)
  return [((t, t), {}), ((d * 1e3, t), {}), ((d, t), {"beta": 0.0})]


@register(family="detection", tasks=("object detection", "object tracking"),
          input_kind="values",
          peer="torchvision Faster R-CNN box loss: smooth_l1_loss(beta=1/9) summed over the 4 deltas",
          references=("Girshick, Fast R-CNN, ICCV 2015",
                      "Ren et al., Faster R-CNN, NeurIPS 2015", _SURVEY),
          efficiency=("high", "elementwise with one select"),
          complexity=("low", "one threshold; boxes encoded beforehand"),
          stability=("high", "gradient bounded by 1"),
          graded_by="survey", example=_delta_example, edge_cases=_delta_edges,
          grad_argnums=(0, 1), where_trailing=1)
@loss_function(ranges={"beta": ">= 0"})
def smooth_l1_box_loss(deltas, target_deltas, *, beta=1.0 / 9.0, weights=None, where=None,
                       reduction="mean"):
  r"""Smooth L1 loss on encoded box deltas, summed over the 4 coordinates.

  .. math::
    \ell_i = \sum_{k=1}^{4} \mathrm{smoothL1}_\beta(d_{ik} - t_{ik})

  The box regression loss of Fast/Faster R-CNN on anchor-relative deltas
  (see :func:`jaxloss.boxes.encode_boxes`); ``jaxloss.smooth_l1_loss`` per
  coordinate, summed per box.

  Args:
    deltas: predicted deltas ``(..., 4)``.
    target_deltas: encoded targets ``(..., 4)``, same shape.
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

  References:
    Girshick 2015; Ren et al. 2015. torchvision's ``fastrcnn_loss`` sums over
    the positive boxes and divides by *all* sampled RoIs; with ``where`` =
    positives, ``reduction="sum"`` divided by that count reproduces it, while
    ``"mean"`` here divides by the number of positives.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> d = jnp.array([[0.05, 0., 1., 0.]]); t = jnp.zeros((1, 4))
    >>> print(jaxloss.smooth_l1_box_loss(d, t, reduction="none"))
    [0.95569444]
  """
  check_floating("deltas", deltas)
  check_same_shape("deltas", deltas, "target_deltas", target_deltas)
  if deltas.ndim < 1 or deltas.shape[-1] != 4:
    raise LossInputError(f"deltas has shape {deltas.shape}; expected (..., 4)")
  dtype = nx.compute_dtype(deltas, target_deltas)
  d = nx.mask_fill(deltas.astype(dtype), where, trailing=1)
  t = nx.mask_fill(jnp.asarray(target_deltas).astype(dtype), where, trailing=1)
  values = jnp.sum(smooth_l1_loss(d, t, beta=beta, reduction="none"), axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Gaussian (rotated-box) losses.
# --------------------------------------------------------------------------


def _gaussians(b):
  """Mean, covariance entries and log-determinant of rotated boxes."""
  mu, sigma = bx.rotated_box_to_gaussian(b)
  wh = jnp.clip(b[..., 2:4], 1e-7, 1e7)
  # det = (w h / 4)^2 exactly; computing it from Sigma would cancel.
  logdet = 2.0 * (jnp.log(wh[..., 0]) + jnp.log(wh[..., 1]) - math.log(4.0))
  return mu, sigma, logdet


def _rbox_example(key):
  ks = jax.random.split(key, 5)
  def make(k1, k2, k3):
    xy = ex.uniform(k1, (8, 2), 0.0, 10.0)
    wh = ex.uniform(k2, (8, 2), 1.0, 5.0)
    ang = ex.uniform(k3, (8, 1), -1.5, 1.5)
    return jnp.concatenate([xy, wh, ang], -1)
  p = make(ks[0], ks[1], ks[2])
  t = make(ks[3], ks[4], ks[0])
  return (p, t), {}


def _rbox_edges(key):
  (p, t), _ = _rbox_example(key)
  sq = p.at[:, 3].set(p[:, 2])                          # equal width and height
  zero = p.at[:, 2].set(0.0)                            # zero width
  return [((p, p), {}), ((sq, sq), {}), ((sq, t), {}), ((zero, t), {}),
          ((p, p.at[:, :2].add(1e3)), {}), ((p * jnp.array([400., 400, 400, 400, 1]), t), {})]


_RBOX = dict(family="detection", tasks=("rotated object detection", "object detection"),
             input_kind="boxes", example=_rbox_example, edge_cases=_rbox_edges,
             grad_argnums=(0, 1), where_trailing=1)


def _normalise(dist, fun, tau):
  f = nx.safe_sqrt(dist) if fun == "sqrt" else jnp.log1p(dist)
  return 1.0 - 1.0 / (tau + f)


@register(peer="mmrotate GDLoss_v1(loss_type='gwd', fun='sqrt', tau=1.0)",
          references=("Yang et al., Rethinking Rotated Object Detection with Gaussian "
                      "Wasserstein Distance Loss, ICML 2021", _SURVEY),
          efficiency=("low", "closed-form 2x2 optimal transport per box pair"),
          complexity=("high", "box-to-Gaussian conversion and matrix square roots"),
          stability=("low", "square roots of near-zero quantities"),
          graded_by="survey", **_RBOX)
@loss_function(static=("fun",), choices={"fun": ("sqrt", "log1p")}, ranges={"tau": ">= 0"})
def gaussian_wasserstein_loss(pred, target, *, fun="sqrt", tau=1.0, weights=None, where=None,
                              reduction="mean"):
  r"""Gaussian Wasserstein distance (GWD) loss of rotated boxes.

  Each box ``(cx, cy, w, h, angle)`` is the Gaussian
  ``N(c, R diag(w^2/4, h^2/4) R^T)`` (:func:`jaxloss.boxes.rotated_box_to_gaussian`).

  .. math::
    d^2 = \|\mu_p - \mu_t\|^2 + \operatorname{tr}\Sigma_p + \operatorname{tr}\Sigma_t
      - 2\sqrt{\operatorname{tr}(\Sigma_p\Sigma_t) + 2\sqrt{\det\Sigma_p\det\Sigma_t}},\qquad
    \ell = 1 - \frac{1}{\tau + f(\max(d^2, 10^{-6}))}

  with ``f = sqrt`` or ``log1p``. The coupling term
  ``tr((Sigma_p^1/2 Sigma_t Sigma_p^1/2)^1/2)`` uses the 2x2 closed form
  ``tr(M^1/2) = sqrt(tr M + 2 sqrt(det M))``: no eigen-decomposition, so the
  gradient is finite at equal widths and heights. ``d^2`` is clamped at
  ``1e-6`` as in mmrotate, so identical boxes give ``1 - 1/(tau + 1e-3)``
  (about 1e-3 for the defaults), not 0.

  Args:
    pred: predicted rotated boxes ``(..., 5)`` ``(cx, cy, w, h, angle)``,
      angle in radians (axis-aligned boxes have angle 0).
    target: target rotated boxes ``(..., 5)``; leading shapes broadcast.
    fun: "sqrt" (default) | "log1p", static.
    tau: >= 0 (default 1.0); may be traced.
    weights: optional per-box weights, broadcastable to ``(...)``.
    where: optional boolean mask over boxes, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 5 or leading shapes that do not broadcast.

  References:
    Yang et al. 2021, eq. of the normalised GWD loss. Matches mmrotate's
    ``gaussian_dist_loss_v1.gwd_loss`` as used by ``GDLoss_v1`` (defaults
    ``fun='sqrt', tau=1.0``; the bare function's default is ``tau=2.0``), not
    the later ``GDLoss`` (which normalises ``d`` by ``(det det)^{1/8}``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[0., 0., 2., 2., 0.]]); t = jnp.array([[3., 4., 2., 2., 0.]])
    >>> print(jaxloss.gaussian_wasserstein_loss(p, t, reduction="none"))
    [0.8333333]
  """
  p, t = _box_pair(pred, target, where, last=5, fill=_UNIT_RBOX, check=False)
  mu_p, s_p, logdet_p = _gaussians(p)
  mu_t, s_t, logdet_t = _gaussians(t)
  dmu = mu_p - mu_t
  tr_p = s_p[..., 0, 0] + s_p[..., 1, 1]
  tr_t = s_t[..., 0, 0] + s_t[..., 1, 1]
  tr_pt = jnp.sum(s_p * s_t, axis=(-2, -1))  # tr(A B) for symmetric A, B
  sqrt_det = jnp.exp(0.5 * (logdet_p + logdet_t))
  coupling = nx.safe_sqrt(jnp.maximum(tr_pt + 2.0 * sqrt_det, 0.0))
  d2 = jnp.sum(dmu * dmu, -1) + tr_p + tr_t - 2.0 * coupling
  d2 = jnp.maximum(d2, 1e-6)
  values = _normalise(d2, fun, jnp.asarray(tau, d2.dtype))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(peer="mmrotate GDLoss_v1(loss_type='kld', fun='log1p', tau=1.0)",
          references=("Yang et al., Learning High-Precision Bounding Box for Rotated Object "
                      "Detection via Kullback-Leibler Divergence, NeurIPS 2021",),
          efficiency=("medium", "closed-form 2x2 inverse and log-determinants"),
          complexity=("high", "box-to-Gaussian conversion"),
          stability=("medium", "log-determinants from the sizes; 1/h^2 growth for thin boxes"),
          **_RBOX)
@loss_function(static=("fun",), choices={"fun": ("log1p", "sqrt")}, ranges={"tau": ">= 0"})
def kld_loss(pred, target, *, fun="log1p", tau=1.0, weights=None, where=None,
             reduction="mean"):
  r"""Kullback–Leibler divergence (KLD) loss between rotated-box Gaussians.

  .. math::
    D = (\mu_p - \mu_t)^\top\Sigma_t^{-1}(\mu_p - \mu_t)
      + \operatorname{tr}(\Sigma_t^{-1}\Sigma_p) + \log\frac{\det\Sigma_t}{\det\Sigma_p} - 2
      = 2\,\mathrm{KL}(\mathcal N_p \,\|\, \mathcal N_t),\qquad
    \ell = 1 - \frac{1}{\tau + f(\max(D, 10^{-6}))}

  with ``f = log1p`` (default) or ``sqrt``. ``Sigma_t^{-1}`` is the 2x2
  adjugate over the determinant, and the log-determinants come from the box
  sizes (``det Sigma = (w h / 4)^2``), not from a decomposition.

  Args:
    pred: predicted rotated boxes ``(..., 5)`` ``(cx, cy, w, h, angle)``.
    target: target rotated boxes ``(..., 5)``; leading shapes broadcast.
    fun: "log1p" (default) | "sqrt", static.
    tau: >= 0 (default 1.0); may be traced.
    weights: optional per-box weights, broadcastable to ``(...)``.
    where: optional boolean mask over boxes, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 5 or leading shapes that do not broadcast.

  References:
    Yang et al. 2021 (KLD). Matches mmrotate's ``gaussian_dist_loss_v1.kld_loss``
    (``GDLoss_v1(loss_type='kld', fun='log1p', tau=1)``, the configuration of
    mmrotate's KLD configs): ``D`` is twice the KL divergence of the paper
    and is clamped at ``1e-6``. mmrotate's later ``GDLoss`` uses
    ``KL(N_t || N_p)`` and a square root before ``f``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[0., 0., 2., 2., 0.]]); t = jnp.array([[1., 0., 2., 2., 0.]])
    >>> print(jaxloss.kld_loss(p, t, reduction="none"))
    [0.4093839]
  """
  p, t = _box_pair(pred, target, where, last=5, fill=_UNIT_RBOX, check=False)
  mu_p, s_p, logdet_p = _gaussians(p)
  mu_t, s_t, logdet_t = _gaussians(t)
  det_t = jnp.exp(logdet_t)
  a, b, d = s_t[..., 0, 0], s_t[..., 0, 1], s_t[..., 1, 1]
  inv = jnp.stack([jnp.stack([d, -b], -1), jnp.stack([-b, a], -1)], -2)
  inv = nx.safe_div(inv, det_t[..., None, None])
  dmu = mu_p - mu_t
  maha = jnp.einsum("...i,...ij,...j->...", dmu, inv, dmu)
  trace = jnp.sum(inv * s_p, axis=(-2, -1))
  dist = jnp.maximum(maha + trace + logdet_t - logdet_p - 2.0, 1e-6)
  values = _normalise(dist, fun, jnp.asarray(tau, dist.dtype))
  return reduce_loss(values, reduction, where=where, weights=weights)
