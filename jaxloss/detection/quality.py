"""Quality-aware classification and heatmap losses of dense detectors (VFNet, GFL, CenterNet)
and Libra R-CNN's balanced L1 box regression.

Each matches the function of the same name in ``mmdet.models.losses`` (mmdetection 3.x);
differences are listed in each docstring's ``Notes``. See :mod:`jaxloss.detection` for the
family conventions.
"""


from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  broadcast_where,
  check_floating,
  check_integer,
  check_same_shape,
  debug_check_probabilities,
  loss_function,
  paired_inputs,
  reduce_loss,
)
from jaxloss.catalog import register

__all__ = [
  "balanced_l1_loss",
  "distribution_focal_loss",
  "gaussian_focal_loss",
  "quality_focal_loss",
  "varifocal_loss",
]

_VFNET = ("Zhang et al., VarifocalNet: An IoU-aware Dense Object Detector, CVPR 2021")
_GFL = ("Li et al., Generalized Focal Loss: Learning Qualified and Distributed Bounding Boxes "
        "for Dense Object Detection, NeurIPS 2020")
_CORNERNET = "Law & Deng, CornerNet: Detecting Objects as Paired Keypoints, ECCV 2018"
_CENTERNET = "Zhou, Wang & Krahenbuhl, Objects as Points, arXiv:1904.07850, 2019"
_LIBRA = "Pang et al., Libra R-CNN: Towards Balanced Learning for Object Detection, CVPR 2019"
_DENSE_TASKS = ("object detection", "dense prediction")


def _bce(x, y):
  """Sigmoid BCE from logits, ``-(y log s(x) + (1 - y) log s(-x))``; ``0 * -inf`` is 0."""
  return -(nx.mul_log(y, nx.log_sigmoid(x)) + nx.mul_log(1.0 - y, nx.log_sigmoid(-x)))


# --------------------------------------------------------------------------
# VarifocalNet.
# --------------------------------------------------------------------------


@register(tasks=_DENSE_TASKS, input_kind="logits",
          peer="mmdet.models.losses.varifocal_loss (mmdetection 3.x)",
          references=(_VFNET,))
@loss_function(ranges={"alpha": ">= 0", "gamma": ">= 0"}, static=("iou_weighted",))
def varifocal_loss(logits, labels, *, alpha=0.75, gamma=2.0, iou_weighted=True, weights=None,
                   where=None, reduction="mean"):
  r"""Varifocal loss (VFNet): sigmoid BCE against IoU-aware targets, asymmetrically weighted.

  .. math::
    \ell = \mathrm{BCE}(x, q)\cdot\begin{cases}
      q \ (\text{or } 1 \text{ if not iou\_weighted}) & q > 0\\
      \alpha\, |\sigma(x) - q|^{\gamma} & q \le 0\end{cases}

  where :math:`q` is the IoU-aware classification target: the IoU of the
  predicted box with its ground truth at the ground-truth class of a positive
  location, 0 elsewhere. Positives are weighted by their quality (not
  down-weighted by a focal factor); only negatives are focally down-weighted.

  Args:
    logits: floating class logits ``(..., C)`` (any shape).
    labels: IoU-aware targets in [0, 1] of the same shape.
    alpha: weight of the negatives' term >= 0 (default 0.75; not focal loss's
      positive-class alpha); may be traced.
    gamma: focusing exponent >= 0 of the negatives (default 2.0); may be traced.
    iou_weighted: weight positives by their target ``q`` (default True) or by 1.
    weights: optional per-entry weights, broadcastable to ``logits``.
    where: optional boolean mask, broadcastable to ``logits``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape`` for "none".

  Raises:
    LossInputError: ``labels`` shape differs from ``logits``; concrete
      ``alpha < 0`` or ``gamma < 0``.
    LossTypeError: ``logits`` not floating.

  Notes:
    Matches ``mmdet.models.losses.varifocal_loss``, including that the
    modulating factor :math:`|\sigma(x) - q|^\gamma` is *not* detached (it is
    differentiated, as in mmdet and the VFNet reference code). mmdet's heads
    call it with ``reduction="sum"``-like ``avg_factor`` = number of positives
    (VFNetHead: the sum of the positives' IoU targets); reproduce that with
    ``reduction="sum"`` divided by your normaliser. Labels are checked to lie
    in [0, 1] under ``jaxloss.set_checks``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[2., -1.], [0., 1.]]); q = jnp.array([[0.8, 0.], [0., 0.]])
    >>> print(jaxloss.varifocal_loss(x, q, reduction="none"))
    [[0.421542 0.016994]
     [0.129965 0.526401 ]]
  """
  check_floating("logits", logits)
  check_same_shape("logits", logits, "labels", labels)
  x, q = paired_inputs(logits, labels, where, names=("logits", "labels"))
  debug_check_probabilities("labels", q)
  pos = q > 0
  neg_w = alpha * nx.safe_pow(jnp.abs(jax.nn.sigmoid(x) - q), gamma)
  pos_w = q if iou_weighted else jnp.ones_like(q)
  values = _bce(x, q) * jnp.where(pos, pos_w, neg_w)
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Generalized Focal Loss.
# --------------------------------------------------------------------------


@register(tasks=_DENSE_TASKS, input_kind="logits",
          peer="mmdet.models.losses.quality_focal_loss (mmdetection 3.x, GFL)",
          references=(_GFL,))
@loss_function(ranges={"beta": ">= 0"})
def quality_focal_loss(logits, labels, quality, *, beta=2.0, weights=None, where=None,
                       reduction="mean"):
  r"""Quality focal loss (GFL): a joint class-and-IoU sigmoid score, focal on the score error.

  .. math::
    \ell_i = \sum_{c} \mathrm{BCE}(x_{ic}, y_{ic})\, |y_{ic} - \sigma(x_{ic})|^{\beta},
    \qquad y_{ic} = s_i\,[c = k_i]

  with :math:`k_i` the class id of location :math:`i` and :math:`s_i \in [0, 1]`
  its quality (the IoU of the predicted box with its ground truth). A
  background location (class id outside ``[0, C)``, mmdet's ``C``) has target 0
  in every class.

  Args:
    logits: floating class logits ``(..., C)``.
    labels: integer class ids ``(...)``; ids in ``[0, C)`` are foreground, any
      other id (mmdet's background id ``C``, or a negative id) is background.
    quality: quality targets ``(...)`` in [0, 1] (ignored at background).
    beta: focusing exponent >= 0 (default 2.0); may be traced.
    weights: optional per-location weights, broadcastable to ``(...)``.
    where: optional boolean mask over locations, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` (summed over classes) for "none".

  Raises:
    LossInputError: ``labels``/``quality`` not of shape ``logits.shape[:-1]``;
      concrete ``beta < 0``.
    LossTypeError: ``logits`` not floating, ``labels`` not integer.

  Notes:
    Matches ``mmdet.models.losses.quality_focal_loss`` (the ``(label, score)``
    target tuple is split into ``labels`` and ``quality``), including the
    summation over classes (``reduction="none"`` gives one value per
    location) and the undetached modulating factor. mmdet's GFLHead divides
    the sum by the number of positives (``avg_factor``): use
    ``reduction="sum"`` and divide. For dense ``(..., C)`` soft targets
    (mmdet's ``quality_focal_loss_tensor_target``) the same formula is
    :math:`\mathrm{BCE}(x, y)|y - \sigma(x)|^\beta` elementwise. ``quality``
    is checked to lie in [0, 1] under ``jaxloss.set_checks``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[2., -1.], [0., 1.]])
    >>> print(jaxloss.quality_focal_loss(x, jnp.array([0, 2]), jnp.array([0.8, 1.]),
    ...                                  reduction="none"))
    [0.026098 0.875155]
  """
  check_floating("logits", logits)
  check_integer("labels", labels)
  x = jnp.asarray(logits)
  if x.ndim < 1:
    raise LossInputError(f"logits must have a class axis, got shape {x.shape}")
  lead = x.shape[:-1]
  for name, a in (("labels", labels), ("quality", quality)):
    if jnp.shape(a) != lead:
      raise LossInputError(
          f"{name} has shape {jnp.shape(a)} but logits has shape {x.shape}; expected "
          f"{lead} (one {'class id' if name == 'labels' else 'quality score'} per location)")
  dtype = nx.compute_dtype(x, quality)
  where_b = broadcast_where(where, lead)
  x = nx.mask_fill(x.astype(dtype), where_b, trailing=1)
  s = nx.mask_fill(jnp.asarray(quality).astype(dtype), where_b)
  debug_check_probabilities("quality", s)
  num_classes = x.shape[-1]
  onehot = jnp.arange(num_classes) == jnp.asarray(labels)[..., None]   # all-False at background
  y = jnp.where(onehot, s[..., None], jnp.zeros((), dtype))
  values = _bce(x, y) * nx.safe_pow(jnp.abs(y - jax.nn.sigmoid(x)), beta)
  return reduce_loss(jnp.sum(values, axis=-1), reduction, where=where, weights=weights)


@register(tasks=("object detection", "bounding-box regression"), input_kind="logits",
          peer="mmdet.models.losses.distribution_focal_loss (mmdetection 3.x, GFL)",
          references=(_GFL,))
@loss_function
def distribution_focal_loss(logits, targets, *, weights=None, where=None, reduction="mean"):
  r"""Distribution focal loss (GFL): cross-entropy of a discretised distance distribution
  against the two bins that bracket a continuous target.

  .. math::
    \ell_i = -\big[(k_i + 1 - t_i) \log p_{i,k_i} + (t_i - k_i) \log p_{i,k_i+1}\big],
    \qquad k_i = \lfloor t_i \rfloor,\ p_i = \mathrm{softmax}(x_i)

  The bins ``0, 1, ..., n`` are the integral set of GFL's box-side distances
  (``n + 1 = logits.shape[-1]``, ``reg_max + 1`` in mmdet). The loss is
  minimised by the distribution whose expectation is :math:`t_i`, with all mass
  on the two nearest bins.

  Args:
    logits: floating distribution logits ``(..., n + 1)`` (before softmax).
    targets: continuous targets ``(...)`` in ``[0, n]``.
    weights: optional per-target weights, broadcastable to ``(...)``.
    where: optional boolean mask, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` for "none".

  Raises:
    LossInputError: ``targets`` not of shape ``logits.shape[:-1]``, or fewer
      than 2 bins.
    LossTypeError: ``logits`` not floating.

  Notes:
    Matches ``mmdet.models.losses.distribution_focal_loss``. One deliberate
    difference: a target exactly at the last bin ``n`` is valid here (all its
    weight on bin ``n``), whereas mmdet would index bin ``n + 1`` (its heads
    clip targets to ``n - 0.01`` first, which gives the same value up to that
    clip). Gradients flow to ``logits`` only (the bin weights are
    piecewise-linear in ``targets``; mmdet's ``long()`` cuts that path too, so
    ``targets`` get the gradient of the linear weights only). ``targets``
    are checked to lie in ``[0, n]`` under ``jaxloss.set_checks``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0., 2., 1., -1.]]); t = jnp.array([1.25])
    >>> print(jaxloss.distribution_focal_loss(x, t, reduction="none"))
    [0.69019]
  """
  check_floating("logits", logits)
  x = jnp.asarray(logits)
  if x.ndim < 1 or x.shape[-1] < 2:
    raise LossInputError(f"logits has shape {x.shape}; expected (..., n + 1) with >= 2 bins")
  if jnp.shape(targets) != x.shape[:-1]:
    raise LossInputError(
        f"targets has shape {jnp.shape(targets)} but logits has shape {x.shape}; expected "
        f"{x.shape[:-1]} (one continuous target per distribution)")
  dtype = nx.compute_dtype(x, targets)
  where_b = broadcast_where(where, x.shape[:-1])
  x = nx.mask_fill(x.astype(dtype), where_b, trailing=1)
  t = nx.mask_fill(jnp.asarray(targets).astype(dtype), where_b)
  n = x.shape[-1] - 1
  jax.experimental.checkify.debug_check(
      jnp.all((t >= 0) & (t <= n)), f"targets must lie in [0, {n}] (the bins of logits)")
  left = jax.lax.stop_gradient(jnp.clip(jnp.floor(t), 0, n - 1))
  w_right = t - left
  logp = jax.nn.log_softmax(x, axis=-1)
  left_i = left.astype(jnp.int32)
  lp_left = nx.take_along_last(logp, left_i)
  lp_right = nx.take_along_last(logp, left_i + 1)
  values = -(nx.mul_log(1.0 - w_right, lp_left) + nx.mul_log(w_right, lp_right))
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# CornerNet / CenterNet heatmaps.
# --------------------------------------------------------------------------


@register(tasks=("object detection", "keypoint detection", "dense prediction"),
          input_kind="probabilities",
          peer="mmdet.models.losses.gaussian_focal_loss (mmdetection 3.x, CenterNet/CornerNet)",
          references=(_CORNERNET, _CENTERNET))
@loss_function(ranges={"alpha": ">= 0", "gamma": ">= 0"},
               static=("activation", "normalize"),
               choices={"activation": (None, "sigmoid")})
def gaussian_focal_loss(predictions, targets, *, alpha=2.0, gamma=4.0, pos_weight=1.0,
                        neg_weight=1.0, activation=None, normalize=False, weights=None,
                        where=None, reduction="mean"):
  r"""Gaussian focal loss (CornerNet/CenterNet) on a heatmap against Gaussian-splatted targets.

  .. math::
    \ell = -w_+ [y = 1] (1 - p)^{\alpha} \log(p + \epsilon)
           - w_- (1 - y)^{\gamma} p^{\alpha} \log(1 - p + \epsilon)

  with :math:`\epsilon = 10^{-12}`: the penalty-reduced pixel-wise focal loss
  whose positives are the heatmap peaks (target exactly 1) and whose negatives
  near a peak are down-weighted by :math:`(1 - y)^\gamma`.

  Args:
    predictions: floating heatmap ``(...)``: probabilities in [0, 1]
      (``activation=None``, mmdet's input: the head applies a clamped sigmoid)
      or logits (``activation="sigmoid"``: computed in log space, no
      :math:`\epsilon`).
    targets: Gaussian heatmap targets in [0, 1] of the same shape; 1 marks a
      peak (positive).
    alpha: exponent of the prediction factors >= 0 (default 2.0); may be traced.
    gamma: exponent of the negatives' penalty reduction >= 0 (default 4.0); may
      be traced.
    pos_weight: weight :math:`w_+` of the positive term (default 1.0, mmdet 3.x).
    neg_weight: weight :math:`w_-` of the negative term (default 1.0, mmdet 3.x).
    activation: None (default; ``predictions`` are probabilities) | "sigmoid".
    normalize: with ``reduction="mean"``, divide the sum by the number of
      positives (``targets == 1`` among the unmasked entries, at least 1)
      instead of the number of entries: the CornerNet/CenterNet convention.
    weights: optional per-entry weights, broadcastable to ``predictions``.
    where: optional boolean mask, broadcastable to ``predictions``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``alpha < 0`` or ``gamma < 0``.
    LossTypeError: ``predictions`` not floating.

  Notes:
    Matches ``mmdet.models.losses.gaussian_focal_loss`` (3.x, with its
    ``pos_weight``/``neg_weight``). Normalisation: mmdet's function reduces
    like every mmdet loss (``reduction="mean"`` with an ``avg_factor``
    divides the sum by it); its CenterNetHead and CornerNetHead pass
    ``avg_factor = max(1, number of targets equal to 1)``, the papers' "divide
    by the number of objects" — that is ``normalize=True`` here. Our default
    ``"mean"`` divides by the number of entries. With probabilities, the value
    guards the logs with mmdet's :math:`\epsilon = 10^{-12}`, as
    :math:`\log\max(p, \epsilon)` instead of mmdet's :math:`\log(p + \epsilon)`
    (equal to within a relative :math:`\epsilon / p`, and exactly equal at
    :math:`p = 0` or 1): a prediction of exactly 0 or 1 gives a finite value
    and gradient (0 through the clamped log, where mmdet's is
    :math:`10^{12}`); prefer logits with ``activation="sigmoid"``. Values are checked to lie in [0, 1]
    under ``jaxloss.set_checks``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([0.9, 0.2, 0.5]); y = jnp.array([1., 0.5, 0.])
    >>> print(jaxloss.gaussian_focal_loss(p, y, reduction="none"))
    [0.001054 0.000558 0.173287 ]
    >>> print(jaxloss.gaussian_focal_loss(p, y, reduction="mean", normalize=True))
    0.174898
  """
  p, y = paired_inputs(predictions, targets, where)
  debug_check_probabilities("targets", y)
  if activation == "sigmoid":
    prob = jax.nn.sigmoid(p)
    log_p, log_1mp = nx.log_sigmoid(p), nx.log_sigmoid(-p)
    one_minus_p = jax.nn.sigmoid(-p)
  else:
    debug_check_probabilities("predictions", p)
    prob = p
    # max(., eps), not mmdet's (. + eps): XLA may reassociate 1 - p + eps into
    # (1 + eps) - p, which loses eps in float32 (log(0) at p = 1).
    eps = 1e-12
    one_minus_p = 1.0 - p
    log_p = jnp.log(jnp.maximum(p, eps))
    log_1mp = jnp.log(jnp.maximum(one_minus_p, eps))
  is_pos = y == 1
  pos = jnp.where(is_pos, -nx.mul_log(nx.safe_pow(one_minus_p, alpha), log_p), 0.0)
  neg = -nx.mul_log(nx.safe_pow(1.0 - y, gamma) * nx.safe_pow(prob, alpha), log_1mp)
  values = pos_weight * pos + neg_weight * neg
  if normalize and reduction == "mean":
    if where is not None:
      is_pos = is_pos & jnp.broadcast_to(jnp.asarray(where), is_pos.shape)
    total = reduce_loss(values, "sum", where=where, weights=weights)
    return total / jnp.maximum(jnp.sum(is_pos, dtype=total.dtype), 1.0)
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Libra R-CNN.
# --------------------------------------------------------------------------


@register(tasks=("object detection", "bounding-box regression"), input_kind="values",
          peer="mmdet.models.losses.balanced_l1_loss (mmdetection 3.x, Libra R-CNN)",
          references=(_LIBRA,))
@loss_function(ranges={"alpha": "> 0", "gamma": "> 0", "beta": "> 0"})
def balanced_l1_loss(predictions, targets, *, alpha=0.5, gamma=1.5, beta=1.0, weights=None,
                     where=None, reduction="mean"):
  r"""Balanced L1 loss (Libra R-CNN): a smooth-L1 variant that promotes the inliers' gradients.

  .. math::
    \ell = \begin{cases}
      \frac{\alpha}{b}(b|d| + 1)\log\!\big(\frac{b|d|}{\beta} + 1\big) - \alpha|d| & |d| < \beta\\
      \gamma|d| + \frac{\gamma}{b} - \alpha\beta & |d| \ge \beta
    \end{cases},\qquad b = e^{\gamma/\alpha} - 1,\ d = \hat y - y

  so that the gradient is :math:`\alpha \log(b|d|/\beta + 1)` (for
  :math:`\beta = 1`) inside and the constant :math:`\gamma` outside.

  Args:
    predictions: floating box deltas (or any values), any shape.
    targets: targets of the same shape.
    alpha: inlier gradient promotion > 0 (default 0.5); may be traced.
    gamma: outlier gradient bound > 0 (default 1.5); may be traced.
    beta: inlier/outlier threshold > 0 (default 1.0); may be traced.
    weights: optional per-entry weights, broadcastable to ``predictions``.
    where: optional boolean mask, broadcastable to ``predictions``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` (per coordinate) for
    "none".

  Raises:
    LossInputError: shape mismatch; concrete ``alpha``, ``gamma`` or ``beta``
      not > 0.
    LossTypeError: ``predictions`` not floating.

  Notes:
    Matches ``mmdet.models.losses.balanced_l1_loss`` (per coordinate, not
    summed over the 4 deltas; mmdet's ``"mean"`` also averages over
    coordinates). As in mmdet, the two pieces meet continuously only for
    ``beta = 1`` (the paper's setting; :math:`b|d|` is not rescaled by
    :math:`\beta` in the first factor).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> d = jnp.array([0.0, 0.5, 1.0, 3.0]); t = jnp.zeros(4)
    >>> print(jaxloss.balanced_l1_loss(d, t, reduction="none").tolist())
    [0.0, 0.4006, 1.0786, 4.0786]
  """
  d, t = paired_inputs(predictions, targets, where)
  diff = jnp.abs(d - t)
  alpha = jnp.asarray(alpha, d.dtype)
  gamma = jnp.asarray(gamma, d.dtype)
  beta = jnp.asarray(beta, d.dtype)
  b = jnp.expm1(gamma / alpha)
  inner = alpha / b * (b * diff + 1.0) * jnp.log1p(b * diff / beta) - alpha * diff
  outer = gamma * diff + gamma / b - alpha * beta
  values = jnp.where(diff < beta, inner, outer)
  return reduce_loss(values, reduction, where=where, weights=weights)

