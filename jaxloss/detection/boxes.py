"""Box geometry for detection losses: formats, areas, overlaps, box coding, Gaussians.

Not losses (nothing here is in the catalog); :mod:`jaxloss.detection` builds its
losses on these functions. Conventions:

* Axis-aligned boxes are ``(..., 4)`` arrays. The default format is ``xyxy``
  ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2`` (torchvision's);
  ``xywh`` is ``(x1, y1, w, h)`` and ``cxcywh`` is ``(cx, cy, w, h)``.
* Rotated boxes are ``(..., 5)`` arrays ``(cx, cy, w, h, angle)`` with the
  angle in radians (mmrotate's ``xy_wh_r``).
* Element-wise overlaps (``elementwise_iou`` ...) broadcast their two inputs
  and keep every division and square root finite, in value *and* gradient, at
  zero-area, point, disjoint and identical boxes (see each docstring); the
  pairwise matrix ``box_iou`` returns ``(N, M)``.
* bfloat16/float16 inputs are computed in float32 (image coordinates up to a
  few thousand pixels overflow float16 areas).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import LossInputError

__all__ = [
    "box_area", "box_convert", "box_iou", "cxcywh_to_xyxy", "decode_boxes",
    "elementwise_ciou", "elementwise_diou", "elementwise_giou", "elementwise_iou",
    "encode_boxes", "rotated_box_to_gaussian", "xywh_to_xyxy", "xyxy_to_cxcywh",
    "xyxy_to_xywh",
]

FORMATS = ("xyxy", "xywh", "cxcywh")
DEFAULT_EPS = 1e-7
# torchvision.models.detection._utils.BoxCoder's clamp of the log-size deltas.
BBOX_XFORM_CLIP = math.log(1000.0 / 16)


def _as_boxes(name, boxes, last=4):
  boxes = nx.upcast(jnp.asarray(boxes))
  if not jnp.issubdtype(boxes.dtype, jnp.floating):
    boxes = boxes.astype(jnp.float32)  # integer boxes are up-cast (torchvision)
  if boxes.ndim < 1 or boxes.shape[-1] != last:
    raise LossInputError(f"{name} has shape {boxes.shape}; expected (..., {last}) boxes")
  return boxes


def xyxy_to_xywh(boxes):
  """``(x1, y1, x2, y2)`` to ``(x1, y1, w, h)``."""
  b = _as_boxes("boxes", boxes)
  return jnp.concatenate([b[..., :2], b[..., 2:] - b[..., :2]], axis=-1)


def xywh_to_xyxy(boxes):
  """``(x1, y1, w, h)`` to ``(x1, y1, x2, y2)``."""
  b = _as_boxes("boxes", boxes)
  return jnp.concatenate([b[..., :2], b[..., :2] + b[..., 2:]], axis=-1)


def xyxy_to_cxcywh(boxes):
  """``(x1, y1, x2, y2)`` to ``(cx, cy, w, h)``."""
  b = _as_boxes("boxes", boxes)
  return jnp.concatenate([(b[..., :2] + b[..., 2:]) / 2, b[..., 2:] - b[..., :2]], axis=-1)


def cxcywh_to_xyxy(boxes):
  """``(cx, cy, w, h)`` to ``(x1, y1, x2, y2)``."""
  b = _as_boxes("boxes", boxes)
  half = b[..., 2:] / 2
  return jnp.concatenate([b[..., :2] - half, b[..., :2] + half], axis=-1)


def box_convert(boxes, in_fmt: str, out_fmt: str):
  """Converts boxes between ``"xyxy"``, ``"xywh"`` and ``"cxcywh"``.

  Same formats and names as ``torchvision.ops.box_convert``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss.boxes import box_convert
    >>> print(box_convert(jnp.array([1., 2., 3., 6.]), "xyxy", "cxcywh"))
    [2. 4. 2. 4.]
  """
  for n, f in (("in_fmt", in_fmt), ("out_fmt", out_fmt)):
    if f not in FORMATS:
      raise LossInputError(f"box_convert: {n} must be one of {FORMATS}, got {f!r}")
  b = _as_boxes("boxes", boxes)
  if in_fmt == out_fmt:
    return b
  xyxy = {"xyxy": lambda x: x, "xywh": xywh_to_xyxy, "cxcywh": cxcywh_to_xyxy}[in_fmt](b)
  return {"xyxy": lambda x: x, "xywh": xyxy_to_xywh, "cxcywh": xyxy_to_cxcywh}[out_fmt](xyxy)


def box_area(boxes):
  """Area ``(x2 - x1) * (y2 - y1)`` of ``(..., 4)`` xyxy boxes; shape ``(...)``."""
  b = _as_boxes("boxes", boxes)
  return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])


def _inter_union(b1, b2):
  """Intersection and union areas, torchvision's ``_loss_inter_union`` convention.

  The intersection is 0 unless both overlap extents are strictly positive
  (a select, so the gradient through a non-overlapping pair is 0, not NaN).
  """
  x1, y1, x2, y2 = (b1[..., i] for i in range(4))
  x1g, y1g, x2g, y2g = (b2[..., i] for i in range(4))
  iw = jnp.minimum(x2, x2g) - jnp.maximum(x1, x1g)
  ih = jnp.minimum(y2, y2g) - jnp.maximum(y1, y1g)
  overlap = (iw > 0) & (ih > 0)
  inter = jnp.where(overlap, jnp.where(overlap, iw, 0.0) * jnp.where(overlap, ih, 0.0), 0.0)
  union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
  return inter, union


def _enclosing_wh(b1, b2):
  cw = jnp.maximum(b1[..., 2], b2[..., 2]) - jnp.minimum(b1[..., 0], b2[..., 0])
  ch = jnp.maximum(b1[..., 3], b2[..., 3]) - jnp.minimum(b1[..., 1], b2[..., 1])
  return cw, ch


def _center_dist2(b1, b2):
  dx = (b1[..., 0] + b1[..., 2]) / 2 - (b2[..., 0] + b2[..., 2]) / 2
  dy = (b1[..., 1] + b1[..., 3]) / 2 - (b2[..., 1] + b2[..., 3]) / 2
  return dx * dx + dy * dy


def _pair(boxes1, boxes2):
  b1 = _as_boxes("boxes1", boxes1)
  b2 = _as_boxes("boxes2", boxes2)
  dtype = nx.compute_dtype(b1, b2)
  return b1.astype(dtype), b2.astype(dtype)


def elementwise_iou(boxes1, boxes2, *, eps=DEFAULT_EPS):
  r"""IoU of corresponding xyxy boxes, ``inter / (union + eps)``.

  .. math::
    \mathrm{IoU} = \frac{|B_1 \cap B_2|}{|B_1 \cup B_2| + \varepsilon}

  Inputs broadcast against each other; returns shape ``(...)``. ``eps`` sits
  where torchvision puts it (added to the union), so two identical zero-area
  boxes have IoU 0 (torchvision issue #7746).

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss.boxes import elementwise_iou
    >>> print(elementwise_iou(jnp.array([0., 0., 2., 2.]), jnp.array([1., 0., 3., 2.])))
    0.333333
  """
  b1, b2 = _pair(boxes1, boxes2)
  inter, union = _inter_union(b1, b2)
  return nx.safe_div(inter, union + eps)


def elementwise_giou(boxes1, boxes2, *, eps=DEFAULT_EPS):
  r"""Generalized IoU (Rezatofighi et al. 2019) of corresponding xyxy boxes.

  .. math::
    \mathrm{GIoU} = \mathrm{IoU} - \frac{|C| - |B_1 \cup B_2|}{|C| + \varepsilon}

  with ``C`` the smallest enclosing box; in ``(-1, 1]``. torchvision's eps
  placement (``generalized_box_iou_loss``).
  """
  b1, b2 = _pair(boxes1, boxes2)
  inter, union = _inter_union(b1, b2)
  cw, ch = _enclosing_wh(b1, b2)
  area_c = cw * ch
  return nx.safe_div(inter, union + eps) - nx.safe_div(area_c - union, area_c + eps)


def _diou_parts(b1, b2, eps):
  inter, union = _inter_union(b1, b2)
  iou = nx.safe_div(inter, union + eps)
  cw, ch = _enclosing_wh(b1, b2)
  diag2 = cw * cw + ch * ch + eps
  return iou, nx.safe_div(_center_dist2(b1, b2), diag2)


def elementwise_diou(boxes1, boxes2, *, eps=DEFAULT_EPS):
  r"""Distance IoU (Zheng et al. 2020) of corresponding xyxy boxes.

  .. math::
    \mathrm{DIoU} = \mathrm{IoU} - \frac{\rho^2(b_1, b_2)}{c^2 + \varepsilon}

  ``rho`` is the distance between the centres and ``c`` the diagonal of the
  smallest enclosing box (torchvision's eps placement: added to ``c^2``).
  """
  b1, b2 = _pair(boxes1, boxes2)
  iou, pen = _diou_parts(b1, b2, eps)
  return iou - pen


def _atan_ratio(w, h):
  """``atan(w / h)`` with torchvision's values, finite gradient at ``h == 0``.

  At ``h == 0`` the ratio is ``+-inf`` in torch and its arctangent ``+-pi/2``;
  here that value is selected without dividing (gradient 0 there). ``w == h
  == 0`` (a point box) gives 0 where torch gives NaN.
  """
  nonzero = h != 0
  safe_h = jnp.where(nonzero, h, 1.0)
  at = jnp.arctan(jnp.where(nonzero, w, 0.0) / safe_h)
  return jnp.where(nonzero, at, jnp.sign(w) * (math.pi / 2))


def _aspect_v(b1, b2):
  w1, h1 = b1[..., 2] - b1[..., 0], b1[..., 3] - b1[..., 1]
  w2, h2 = b2[..., 2] - b2[..., 0], b2[..., 3] - b2[..., 1]
  d = _atan_ratio(w2, h2) - _atan_ratio(w1, h1)
  return (4 / math.pi**2) * d * d


def elementwise_ciou(boxes1, boxes2, *, eps=DEFAULT_EPS):
  r"""Complete IoU (Zheng et al. 2020) of corresponding xyxy boxes.

  .. math::
    \mathrm{CIoU} = \mathrm{DIoU} - \alpha v,\quad
    v = \tfrac{4}{\pi^2}\big(\arctan\tfrac{w_2}{h_2} - \arctan\tfrac{w_1}{h_1}\big)^2,\quad
    \alpha = \operatorname{sg}\Big[\frac{v}{1 - \mathrm{IoU} + v + \varepsilon}\Big]

  As ``torchvision.ops.complete_box_iou_loss``: ``alpha`` carries no gradient
  (``sg`` = stop_gradient) and the DIoU part always uses ``eps = 1e-7``; the
  given ``eps`` only enters ``alpha``.
  """
  b1, b2 = _pair(boxes1, boxes2)
  iou, pen = _diou_parts(b1, b2, DEFAULT_EPS)
  v = _aspect_v(b1, b2)
  alpha = jax.lax.stop_gradient(nx.safe_div(v, 1.0 - iou + v + eps))
  return iou - pen - alpha * v


def box_iou(boxes1, boxes2):
  """Pairwise IoU matrix of ``(N, 4)`` and ``(M, 4)`` xyxy boxes, shape ``(N, M)``.

  As ``torchvision.ops.box_iou`` (no epsilon: ``inter / union``), except that
  a zero union gives IoU 0 instead of NaN.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss.boxes import box_iou
    >>> a = jnp.array([[0., 0., 2., 2.]]); b = jnp.array([[1., 0., 3., 2.], [0., 0., 2., 2.]])
    >>> print(box_iou(a, b))
    [[0.333333 1.        ]]
  """
  b1, b2 = _pair(boxes1, boxes2)
  if b1.ndim != 2 or b2.ndim != 2:
    raise LossInputError(
        f"box_iou: expected boxes1 (N, 4) and boxes2 (M, 4), got shapes {b1.shape} and {b2.shape}")
  lt = jnp.maximum(b1[:, None, :2], b2[None, :, :2])
  rb = jnp.minimum(b1[:, None, 2:], b2[None, :, 2:])
  wh = jnp.clip(rb - lt, 0.0)
  inter = wh[..., 0] * wh[..., 1]
  union = box_area(b1)[:, None] + box_area(b2)[None, :] - inter
  return nx.safe_div(inter, union)


def _coder_weights(weights, dtype):
  w = jnp.asarray(weights, dtype)
  if w.shape != (4,):
    raise LossInputError(f"weights has shape {w.shape}; expected (4,) (wx, wy, ww, wh)")
  return w


def encode_boxes(boxes, anchors, *, weights=(1.0, 1.0, 1.0, 1.0)):
  r"""Faster R-CNN deltas of xyxy ``boxes`` relative to xyxy ``anchors``.

  .. math::
    d_x = w_x \frac{x - x_a}{w_a},\ d_y = w_y \frac{y - y_a}{h_a},\
    d_w = w_w \log\frac{w}{w_a},\ d_h = w_h \log\frac{h}{h_a}

  (centres ``x, y``, sizes ``w, h``). As torchvision's
  ``BoxCoder(weights).encode_single(boxes, anchors)`` (its RPN uses weights
  ``(1, 1, 1, 1)``, its RoI heads ``(10, 10, 5, 5)``). Boxes and anchors must
  have positive sizes (the log of a zero size is ``-inf``, as in torchvision).

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss.boxes import encode_boxes, decode_boxes
    >>> a = jnp.array([0., 0., 4., 4.]); b = jnp.array([1., 1., 5., 9.])
    >>> d = encode_boxes(b, a)
    >>> print(d, decode_boxes(d, a))
    [0.25      0.75      0.        0.693147] [1. 1. 5. 9.]
  """
  b, a = _pair(boxes, anchors)
  w = _coder_weights(weights, b.dtype)
  bc, ac = xyxy_to_cxcywh(b), xyxy_to_cxcywh(a)
  dxy = w[:2] * (bc[..., :2] - ac[..., :2]) / ac[..., 2:]
  dwh = w[2:] * jnp.log(bc[..., 2:] / ac[..., 2:])
  return jnp.concatenate([dxy, dwh], axis=-1)


def decode_boxes(deltas, anchors, *, weights=(1.0, 1.0, 1.0, 1.0),
                 bbox_xform_clip=BBOX_XFORM_CLIP):
  r"""Inverse of :func:`encode_boxes`: xyxy boxes from deltas and anchors.

  .. math::
    x = \frac{d_x}{w_x} w_a + x_a,\quad
    w = w_a \exp\big(\min(d_w / w_w, \text{clip})\big)

  The log-size deltas are clamped at ``bbox_xform_clip = log(1000 / 16)``
  before ``exp``, as in torchvision's ``BoxCoder.decode_single``.
  """
  d, a = _pair(deltas, anchors)
  w = _coder_weights(weights, d.dtype)
  ac = xyxy_to_cxcywh(a)
  d = d / w
  dwh = jnp.minimum(d[..., 2:], bbox_xform_clip)
  ctr = d[..., :2] * ac[..., 2:] + ac[..., :2]
  size = jnp.exp(dwh) * ac[..., 2:]
  return jnp.concatenate([ctr - 0.5 * size, ctr + 0.5 * size], axis=-1)


def rotated_box_to_gaussian(boxes):
  r"""2-D Gaussians of rotated boxes ``(cx, cy, w, h, angle)``.

  .. math::
    \mu = (c_x, c_y),\quad
    \Sigma = R(\theta)\,\mathrm{diag}\big(\tfrac{w^2}{4}, \tfrac{h^2}{4}\big)\,R(\theta)^\top

  Sizes are clamped to ``[1e-7, 1e7]`` first, as mmrotate's
  ``xy_wh_r_2_xy_sigma`` (so a zero-size box still has an invertible
  covariance). Returns ``(mu (..., 2), sigma (..., 2, 2))``.

  Examples:
    >>> import jax.numpy as jnp
    >>> from jaxloss.boxes import rotated_box_to_gaussian
    >>> mu, sigma = rotated_box_to_gaussian(jnp.array([1., 2., 4., 2., 0.]))
    >>> print(mu, sigma)
    [1. 2.] [[4. 0.]
     [0. 1.]]
  """
  b = _as_boxes("boxes", boxes, last=5)
  b = b.astype(nx.compute_dtype(b))
  wh = jnp.clip(b[..., 2:4], 1e-7, 1e7)
  c, s = jnp.cos(b[..., 4]), jnp.sin(b[..., 4])
  a, d = wh[..., 0] ** 2 / 4, wh[..., 1] ** 2 / 4
  # R diag(a, d) R^T written out (symmetric by construction).
  sxx = c * c * a + s * s * d
  syy = s * s * a + c * c * d
  sxy = c * s * (a - d)
  sigma = jnp.stack([jnp.stack([sxx, sxy], -1), jnp.stack([sxy, syy], -1)], -2)
  return b[..., :2], sigma
