"""The IoU family of box regression losses: IoU, GIoU, DIoU, CIoU, EIoU, SIoU, Alpha-IoU.
See :mod:`jaxloss.detection` for the conventions.
"""


from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.detection import boxes as bx
from jaxloss.detection._common import (
  _BOX_TASKS,
  _DIOU_PAPER,
  _box_pair,
  _pow,
)

__all__ = ["alpha_iou_loss", "ciou_loss", "diou_loss", "eiou_loss", "giou_loss", "iou_loss",
           "siou_loss"]


# --------------------------------------------------------------------------
# IoU-based losses.
# --------------------------------------------------------------------------


@register(tasks=_BOX_TASKS,
          peer="mmdet.models.losses.IoULoss (modes linear/log) with torchvision's eps placement",
          references=("Yu et al., UnitBox: An Advanced Object Detection Network, ACM MM 2016",
                      SURVEY),
          input_kind="boxes")
@loss_function(static=("mode",), choices={"mode": ("linear", "log")}, ranges={"eps": "> 0"})
def iou_loss(predictions, targets, *, mode="linear", eps=1e-7, weights=None, where=None,
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
    predictions: predicted boxes ``(..., 4)``, xyxy.
    targets: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
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

  Notes:
    The modes are those of mmdetection's ``IoULoss``, which clamps the IoU at
    ``eps = 1e-6`` and puts its eps in ``max(union, eps)``; here eps is added
    to the union, as in torchvision.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 2., 2.]]); b = jnp.array([[1., 0., 3., 2.]])
    >>> print(jaxloss.iou_loss(a, b))
    0.666667
  """
  b1, b2 = _box_pair(predictions, targets, where)
  iou = bx.elementwise_iou(b1, b2, eps=eps)
  if mode == "linear":
    values = 1.0 - iou
  else:
    values = -jnp.log(jnp.maximum(iou, eps))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_BOX_TASKS, peer="torchvision.ops.generalized_box_iou_loss",
          references=("Rezatofighi et al., Generalized Intersection over Union, CVPR 2019",
                      SURVEY),
          input_kind="boxes")
@loss_function(ranges={"eps": ">= 0"})
def giou_loss(predictions, targets, *, eps=1e-7, weights=None, where=None, reduction="mean"):
  r"""Generalized IoU loss of corresponding xyxy boxes.

  .. math::
    \ell = 1 - \mathrm{IoU} + \frac{|C| - |B_1 \cup B_2|}{|C| + \varepsilon},\qquad
    \mathrm{IoU} = \frac{|B_1 \cap B_2|}{|B_1 \cup B_2| + \varepsilon}

  ``C`` is the smallest box enclosing both; the loss is in ``[0, 2)`` and 0
  for identical boxes of positive area. Two identical zero-area boxes give 1
  (torchvision issue #7746), with a finite gradient.

  Args:
    predictions: predicted boxes ``(..., 4)``, xyxy.
    targets: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    eps: added to the union and to the enclosing area, >= 0 (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast;
      under ``chex.chexify``, boxes with ``x2 < x1`` or ``y2 < y1``.

  Notes:
    Same eps placement as torchvision; only the default reduction differs
    (torchvision: ``"none"``, here ``"mean"``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 1., 1.]]); b = jnp.array([[2., 0., 3., 1.]])
    >>> print(jaxloss.giou_loss(a, b, reduction="none"))
    [1.333333]
  """
  b1, b2 = _box_pair(predictions, targets, where)
  values = 1.0 - bx.elementwise_giou(b1, b2, eps=eps)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_BOX_TASKS, peer="torchvision.ops.distance_box_iou_loss",
          references=(_DIOU_PAPER, SURVEY),
          input_kind="boxes")
@loss_function(ranges={"eps": ">= 0"})
def diou_loss(predictions, targets, *, eps=1e-7, weights=None, where=None, reduction="mean"):
  r"""Distance-IoU loss of corresponding xyxy boxes.

  .. math::
    \ell = 1 - \mathrm{IoU} + \frac{\rho^2(b_1, b_2)}{c^2 + \varepsilon}

  ``rho`` is the distance between the box centres and ``c`` the diagonal of
  the smallest enclosing box; the IoU is ``inter / (union + eps)``.

  Args:
    predictions: predicted boxes ``(..., 4)``, xyxy.
    targets: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    eps: added to the union and to ``c^2``, >= 0 (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast;
      under ``chex.chexify``, boxes with ``x2 < x1`` or ``y2 < y1``.

  Notes:
    Only the default reduction differs from torchvision's (``"none"``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 1., 1.]]); b = jnp.array([[2., 0., 3., 1.]])
    >>> print(jaxloss.diou_loss(a, b, reduction="none"))
    [1.4]
  """
  b1, b2 = _box_pair(predictions, targets, where)
  values = 1.0 - bx.elementwise_diou(b1, b2, eps=eps)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_BOX_TASKS, peer="torchvision.ops.complete_box_iou_loss",
          references=(_DIOU_PAPER, SURVEY),
          input_kind="boxes")
@loss_function(ranges={"eps": ">= 0"})
def ciou_loss(predictions, targets, *, eps=1e-7, weights=None, where=None, reduction="mean"):
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
    predictions: predicted boxes ``(..., 4)``, xyxy.
    targets: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    eps: in the denominator of ``alpha``, >= 0 (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast;
      under ``chex.chexify``, boxes with ``x2 < x1`` or ``y2 < y1``.

  Notes:
    Differs from torchvision only in the default reduction (torchvision:
    ``"none"``) and in the finite values at ``h = 0`` described above.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 2., 1.]]); b = jnp.array([[0., 0., 1., 1.]])
    >>> print(jaxloss.ciou_loss(a, b, reduction="none"))
    [0.553248]
  """
  b1, b2 = _box_pair(predictions, targets, where)
  values = 1.0 - bx.elementwise_ciou(b1, b2, eps=eps)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_BOX_TASKS,
          peer="",
          references=("Zhang et al., Focal and Efficient IOU Loss for Accurate Bounding Box "
                      "Regression, Neurocomputing 2022",),
          input_kind="boxes")
@loss_function(ranges={"eps": ">= 0"})
def eiou_loss(predictions, targets, *, eps=1e-7, weights=None, where=None, reduction="mean"):
  r"""Efficient-IoU loss: DIoU with separate width and height penalties.

  .. math::
    \ell = 1 - \mathrm{IoU} + \frac{\rho^2(b_1, b_2)}{c^2 + \varepsilon}
      + \frac{(w_1 - w_2)^2}{C_w^2 + \varepsilon} + \frac{(h_1 - h_2)^2}{C_h^2 + \varepsilon}

  ``C_w, C_h`` are the width and height of the smallest enclosing box.

  Args:
    predictions: predicted boxes ``(..., 4)``, xyxy.
    targets: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    eps: added to the union and to every squared enclosing size, >= 0
      (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast.

  Notes:
    The EIoU part of Focal-EIoU, without the focal ``IoU^gamma`` weighting,
    with torchvision's eps placement. Not mmdetection's ``EIoULoss``, which is
    a different loss (Extended-IoU, Peng et al. 2021, with a ``smooth_point``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 2., 1.]]); b = jnp.array([[0., 0., 1., 1.]])
    >>> print(jaxloss.eiou_loss(a, b, reduction="none"))
    [0.8]
  """
  b1, b2 = _box_pair(predictions, targets, where)
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
          input_kind="boxes")
@loss_function(ranges={"theta": "> 0", "eps": ">= 0"})
def siou_loss(predictions, targets, *, theta=4.0, eps=1e-7, weights=None, where=None,
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
    predictions: predicted boxes ``(..., 4)``, xyxy.
    targets: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
    theta: shape-cost exponent > 0 (default 4, the paper's).
    eps: added to the union, >= 0 (default 1e-7).
    weights: optional per-pair weights, broadcastable to ``(...)``.
    where: optional boolean mask over pairs, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: last axis not 4 or leading shapes that do not broadcast.

  Notes:
    Same terms as mmyolo's ``bbox_overlaps(iou_mode='siou')``, which in
    addition adds eps to the centre offsets and to the heights and clamps SIoU
    to [-1, 1]; here the divisions are safe instead, so identical boxes give
    exactly 0 (the two differ by O(eps)).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 2., 2.]]); b = jnp.array([[1., 1., 3., 3.]])
    >>> print(jaxloss.siou_loss(a, b, reduction="none"))
    [0.962304]
  """
  b1, b2 = _box_pair(predictions, targets, where)
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
          input_kind="boxes")
@loss_function(static=("mode",), choices={"mode": ("iou", "giou", "diou", "ciou")},
               ranges={"alpha": "> 0", "eps": ">= 0"})
def alpha_iou_loss(predictions, targets, *, alpha=3.0, mode="iou", eps=1e-7, weights=None,
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
    predictions: predicted boxes ``(..., 4)``, xyxy.
    targets: target boxes ``(..., 4)``, xyxy; leading shapes broadcast.
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

  Notes:
    The paper's equations of alpha-IoU / alpha-GIoU / alpha-DIoU / alpha-CIoU;
    its code adds eps differently, this uses torchvision's placement.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0., 2., 2.]]); b = jnp.array([[1., 0., 3., 2.]])
    >>> print(jaxloss.alpha_iou_loss(a, b, reduction="none"))
    [0.962963]
  """
  b1, b2 = _box_pair(predictions, targets, where)
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


