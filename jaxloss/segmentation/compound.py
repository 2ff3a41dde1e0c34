"""Compound segmentation losses: Dice plus a pixel-wise distribution loss.

The survey's compound losses (BCE-Dice, Combo) pair a region term, which is
insensitive to class imbalance but noisy for small objects, with a pixel-wise
term that gives smooth, well-scaled gradients everywhere.

* :func:`dice_ce_loss` and :func:`dice_focal_loss` follow MONAI's
  ``DiceCELoss`` and ``DiceFocalLoss`` (``dice_weight * Dice + ce_weight * CE``,
  MONAI's ``lambda_dice`` / ``lambda_ce``, with MONAI's pooling of each part).
* :func:`combo_loss` is Taghanaki et al.'s Combo loss (a false-positive /
  false-negative weighted cross-entropy plus Dice).

The parts have different unreduced shapes (per image and class for Dice, per
pixel for the cross-entropy), so these losses offer ``reduction="mean"`` and
``"sum"`` only, as MONAI's ``DiceCELoss`` does; call the parts with
``reduction="none"`` for per-pixel or per-class values. ``where`` is a
*pixel* mask ``(B, *spatial)`` (excluded pixels count in neither part, like
``ignore_index``) and ``weights`` a per-pixel weight of the pixel-wise part
(U-Net border weights). They take logits: ``activation`` is "softmax" or
"sigmoid" (the pixel-wise parts need logits). ``return_components=True``
returns ``(total, parts)``, the parts unweighted and reduced like the total.

The pixel-wise parts are the public :func:`jaxloss.cross_entropy` and
:func:`jaxloss.binary_cross_entropy` (Combo's false-negative-weighted
cross-entropy has no public counterpart); the Dice part is
:func:`dice_loss`'s computation with the compound's pixel mask.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import check_broadcastable, loss_function, reduce_loss
from jaxloss.catalog import SURVEY, register
from jaxloss.classification import binary_cross_entropy, cross_entropy
from jaxloss.segmentation import _common as cm
from jaxloss.segmentation.overlap import _dice_values

__all__ = ["combo_loss", "dice_ce_loss", "dice_focal_loss"]

_MONAI = "Cardoso et al., MONAI: An open-source framework for deep learning in healthcare, 2022"
_STATIC = ("activation", "include_background", "squared_pred", "jaccard", "batch",
           "ignore_index", "return_components")
_RANGES = {"smooth_nr": ">= 0", "smooth_dr": ">= 0"}
_CHOICES = {"activation": ("softmax", "sigmoid"), "reduction": ("mean", "sum")}
_COMMON = dict(tasks=cm.TASKS, input_kind="logits")


def _pixel_inputs(logits, labels, *, where, weights, ignore_index):
  """Validates the inputs once: pixel mask, pixel weights and dense targets.

  Returns ``(pixels, weights, g, valid)``: the ``where`` mask ``(B, *S)`` (or
  None), the weights broadcast to ``(B, *S)`` (or None), the dense targets
  ``(B, *S, C)`` and the kept pixels ``(B, *S)`` (``where`` and
  ``ignore_index``; None if all are kept).
  """
  cm.check_floating("logits", logits)
  cm.check_min_rank("logits", logits, 3, "(B, *spatial, C)")
  pixels = cm.pixel_mask(where, logits)
  if weights is not None:
    check_broadcastable("weights", weights, logits.shape[:-1], "pixels, logits.shape[:-1]")
    weights = jnp.broadcast_to(jnp.asarray(weights, nx.compute_dtype(logits)),
                               logits.shape[:-1])
  g, valid = cm.targets(logits, labels, ignore_index=ignore_index)
  if pixels is not None:
    valid = pixels if valid is None else valid & pixels
  return pixels, weights, g, valid


def _dice_part(logits, g, valid, *, activation, include_background, squared_pred, jaccard,
               smooth_nr, smooth_dr, batch, class_weights, reduction):
  """:func:`dice_loss` of the dense targets ``g`` over the kept pixels ``valid``."""
  values = _dice_values(logits, g, activation=activation,
                        include_background=include_background, squared_pred=squared_pred,
                        jaccard=jaccard, smooth_nr=smooth_nr, smooth_dr=smooth_dr,
                        batch=batch, ignore_index=None, where=None, pixels=valid)
  if class_weights is not None and values.shape[-1] > 1:
    cm.check_class_weights(class_weights, values.shape[-1])
  else:
    class_weights = None  # MONAI ignores class weights for a single channel.
  return reduce_loss(values, reduction, weights=class_weights)


def _pixel_reduce(values, valid, weights, reduction, *, spatial_mean_sum=False):
  """Reduces per-element values ``(B, *S, C)`` over kept pixels (``valid``)."""
  if weights is not None:
    values = values * weights[..., None]
  where = None if valid is None else jnp.broadcast_to(valid[..., None], values.shape)
  if reduction == "sum" and spatial_mean_sum:
    # MONAI FocalLoss "sum": per-(image, class) means over the pixels, summed.
    axes = tuple(range(1, values.ndim - 1))
    total = jnp.sum(jnp.where(where, values, 0.0) if where is not None else values, axis=axes)
    count = (jnp.sum(where, axis=axes, dtype=values.dtype) if where is not None
             else float(values[0, ..., 0].size))
    return jnp.sum(nx.safe_div(total, count))
  return reduce_loss(values, reduction, where=where)


@register(peer="monai.losses.DiceCELoss",
          references=(_MONAI, "Isensee et al., nnU-Net: a self-configuring method for deep "
                      "learning-based biomedical image segmentation, Nature Methods 2021",
                      SURVEY),
          components=("dice", "ce"), **_COMMON)
@loss_function(static=_STATIC, ranges={**_RANGES, "dice_weight": ">= 0", "ce_weight": ">= 0",
                                       "label_smoothing": "[0, 1]"},
               choices=_CHOICES)
def dice_ce_loss(logits, labels, *, activation="softmax", include_background=True,
                 squared_pred=False, jaccard=False, smooth_nr=1e-5, smooth_dr=1e-5, batch=False,
                 class_weights=None, dice_weight=1.0, ce_weight=1.0, label_smoothing=0.0,
                 ignore_index=None, weights=None, where=None, reduction="mean",
                 return_components=False):
  r"""Dice plus cross-entropy (MONAI ``DiceCELoss``; nnU-Net's default loss).

  .. math::
    \mathcal{L} = w_{dice}\, \mathcal{L}_{Dice} + w_{ce}\, \mathcal{L}_{CE}

  :math:`\mathcal{L}_{Dice}` is :func:`dice_loss` with the same options;
  :math:`\mathcal{L}_{CE}` is the pixel-wise softmax cross-entropy of
  :func:`jaxloss.cross_entropy` over all ``C`` channels (``include_background``
  affects only the Dice part, as in MONAI) with torch's class-weighted mean
  and label smoothing. With ``activation="sigmoid"`` it is the binary
  cross-entropy of every channel (:func:`jaxloss.binary_cross_entropy`),
  ``class_weights`` acting as its ``pos_weight``, averaged over pixels and
  channels.

  Args:
    logits: ``(B, *spatial, C)`` logits.
    labels: integer ``(B, *spatial)`` class ids, or one-hot/soft ``(B, *spatial, C)``.
    activation: "softmax" (default) | "sigmoid".
    include_background, squared_pred, jaccard, smooth_nr, smooth_dr, batch: as
      :func:`dice_loss` (Dice part only).
    class_weights: optional ``(C,)`` weights: the cross-entropy's class weights
      (its ``pos_weight`` with sigmoid) and, with the background dropped by
      ``include_background=False``, ``class_weights[1:]`` for Dice (MONAI's
      ``weight``). Not applied to Dice when ``C = 1``.
    dice_weight, ce_weight: weights of the two parts (default 1.0, >= 0;
      MONAI's ``lambda_dice``, ``lambda_ce``); may be traced.
    label_smoothing: cross-entropy label smoothing in [0, 1] (default 0; softmax).
    ignore_index: integer label whose pixels count in neither part.
    weights: optional per-pixel weights broadcastable to ``(B, *spatial)``,
      scaling the cross-entropy part only (e.g. U-Net border weights from
      :func:`jaxloss.unet_weight_map`).
    where: optional pixel mask broadcastable to ``(B, *spatial)``; excluded
      pixels count in neither part (a NaN there reaches neither value nor
      gradient).
    reduction: "mean" (default) | "sum" (Dice summed over images and classes
      plus cross-entropy summed over pixels, MONAI's rule).
    return_components: also return the parts (default False).

  Returns:
    A scalar; with ``return_components=True``, ``(total, {"dice": scalar,
    "ce": scalar})``, the unweighted parts reduced like the total.

  Raises:
    LossInputError: shapes as :func:`dice_loss`; ``class_weights`` not ``(C,)``;
      ``weights``/``where`` not broadcastable to ``(B, *spatial)``;
      ``reduction="none"``; negative ``dice_weight``/``ce_weight``.
    LossTypeError: logits not floating.

  Notes:
    The MONAI options are ``DiceCELoss(softmax=True, to_onehot_y=True)`` for
    integer labels (``sigmoid=True`` for ``C = 1``). Deliberate differences:
    with ``activation="sigmoid"`` and ``C > 1`` the cross-entropy is the
    per-channel BCE (MONAI applies softmax cross-entropy whenever ``C > 1``,
    wrong for multi-label masks); ``ignore_index``/``where``/``weights`` are
    additions.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[[2., -1.], [0., 1.], [-1., 3.]]])   # (1, 3, 2)
    >>> print(jaxloss.dice_ce_loss(logits, jnp.array([[0, 1, 1]])))
    0.2458
  """
  pixels, weights, g, valid = _pixel_inputs(logits, labels, where=where, weights=weights,
                                            ignore_index=ignore_index)
  c = logits.shape[-1]
  dice_w = class_weights
  if class_weights is not None:
    cm.check_class_weights(class_weights, c)
    if not include_background and c > 1:
      dice_w = class_weights[1:]
  dice = _dice_part(logits, g, valid, activation=activation,
                    include_background=include_background, squared_pred=squared_pred,
                    jaccard=jaccard, smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch,
                    class_weights=dice_w, reduction=reduction)
  if activation == "softmax":
    # torch's rules (class-weighted mean, label smoothing) need the labels themselves.
    ce = cross_entropy(nx.mask_fill(logits, pixels, trailing=1), labels,
                       class_weights=class_weights,
                       ignore_index=-100 if ignore_index is None else ignore_index,
                       label_smoothing=label_smoothing, weights=weights, where=pixels,
                       reduction=reduction)
  else:
    x = nx.mask_fill(logits.astype(g.dtype), valid, trailing=1)
    ce = binary_cross_entropy(
        x, g, pos_weight=None if class_weights is None else jnp.asarray(class_weights, x.dtype),
        weights=None if weights is None else weights[..., None],
        where=None if valid is None else valid[..., None], reduction=reduction)
  total = dice_weight * dice + ce_weight * ce
  if return_components:
    return total, {"dice": dice, "ce": ce}
  return total


def _monai_sigmoid_focal(x, t, gamma, alpha):
  """MONAI's ``sigmoid_focal_loss``: BCE times ``sigmoid(-x (2t - 1))^gamma``."""
  bce = binary_cross_entropy(x, t, reduction="none")
  log_inv = jax.nn.log_sigmoid(-x * (2.0 * t - 1.0))
  loss = jnp.exp(gamma * log_inv) * bce
  if alpha is not None:
    loss = (t * alpha + (1.0 - t) * (1.0 - alpha)) * loss
  return loss


@register(peer="monai.losses.DiceFocalLoss",
          references=(_MONAI, "Lin et al., Focal Loss for Dense Object Detection, ICCV 2017",
                      "Zhu et al., AnatomyNet: Deep learning for fast and fully automated "
                      "whole-volume segmentation of head and neck anatomy, Medical Physics 2019",
                      SURVEY),
          components=("dice", "focal"), **_COMMON)
@loss_function(static=_STATIC, ranges={**_RANGES, "dice_weight": ">= 0", "focal_weight": ">= 0",
                                       "gamma": ">= 0"},
               choices=_CHOICES)
def dice_focal_loss(logits, labels, *, activation="softmax", include_background=True,
                    squared_pred=False, jaccard=False, smooth_nr=1e-5, smooth_dr=1e-5,
                    batch=False, class_weights=None, gamma=2.0, alpha=None, dice_weight=1.0,
                    focal_weight=1.0, ignore_index=None, weights=None, where=None,
                    reduction="mean", return_components=False):
  r"""Dice plus focal loss (MONAI ``DiceFocalLoss``).

  .. math::
    \mathcal{L} = w_{dice}\, \mathcal{L}_{Dice} + w_{focal}\,
      \operatorname{mean}_{b,i,c}\Big[-\alpha_t\, (1 - p_t)^\gamma \log p_t\Big],
    \quad p_t = \sigma(x)\, t + (1 - \sigma(x))(1 - t)

  As in MONAI, the focal part is the one-vs-rest *sigmoid* focal loss of every
  channel against the one-hot target, whatever ``activation`` the Dice part
  uses (:func:`jaxloss.focal_loss` is the softmax focal loss), with the
  background channel dropped by ``include_background=False``. Its modulating
  factor is :math:`\exp(\gamma \log\sigma(-x(2t-1)))` (MONAI's form, equal to
  :math:`(1-p_t)^\gamma` for hard targets), finite at logits of ±1e4.

  Args:
    logits: ``(B, *spatial, C)`` logits.
    labels: integer ``(B, *spatial)`` class ids, or one-hot/soft ``(B, *spatial, C)``.
    activation: "softmax" (default) | "sigmoid", for the Dice part.
    include_background: keep channel 0 in both parts (default True).
    squared_pred, jaccard, smooth_nr, smooth_dr, batch: as :func:`dice_loss`.
    class_weights: optional ``(C',)`` weights of the channels kept by
      ``include_background``, multiplying both parts (MONAI's ``weight``;
      ignored for a single channel, as MONAI).
    gamma: focusing parameter (default 2.0, >= 0); may be traced.
    alpha: None (default) or a scalar: weight ``alpha`` on target entries and
      ``1 - alpha`` on the others (MONAI's rule); may be traced.
    dice_weight, focal_weight: weights of the two parts (default 1.0, >= 0;
      MONAI's ``lambda_dice``, ``lambda_focal``); may be traced.
    ignore_index: integer label whose pixels count in neither part.
    weights: optional per-pixel weights broadcastable to ``(B, *spatial)``,
      scaling the focal part only.
    where: optional pixel mask broadcastable to ``(B, *spatial)``.
    reduction: "mean" (default; focal averaged over pixels and channels) |
      "sum" (Dice summed over images and classes plus, MONAI's rule, the focal
      loss averaged over pixels and summed over images and channels).
    return_components: also return the parts (default False).

  Returns:
    A scalar; with ``return_components=True``, ``(total, {"dice": scalar,
    "focal": scalar})``, the unweighted parts reduced like the total.

  Raises:
    LossInputError: shapes as :func:`dice_loss`; ``class_weights`` not ``(C',)``;
      ``weights``/``where`` not broadcastable to ``(B, *spatial)``;
      ``reduction="none"``; negative ``gamma``, ``dice_weight`` or
      ``focal_weight``.
    LossTypeError: logits not floating.

  Notes:
    The MONAI options are ``DiceFocalLoss(softmax=True, to_onehot_y=True)``
    (``sigmoid=True`` for ``C = 1``); ``ignore_index``/``where``/``weights``
    are additions.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[[2., -1.], [0., 1.], [-1., 3.]]])   # (1, 3, 2)
    >>> print(jaxloss.dice_focal_loss(logits, jnp.array([[0, 1, 1]])))
    0.1596
  """
  _, weights, g, valid = _pixel_inputs(logits, labels, where=where, weights=weights,
                                       ignore_index=ignore_index)
  dice = _dice_part(logits, g, valid, activation=activation,
                    include_background=include_background, squared_pred=squared_pred,
                    jaccard=jaccard, smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch,
                    class_weights=class_weights, reduction=reduction)
  x = nx.mask_fill(logits.astype(g.dtype), valid, trailing=1)
  if not include_background and x.shape[-1] > 1:
    x, g = x[..., 1:], g[..., 1:]
  focal = _monai_sigmoid_focal(x, g, gamma, alpha)
  if class_weights is not None and focal.shape[-1] > 1:
    cm.check_class_weights(class_weights, focal.shape[-1])
    focal = focal * jnp.asarray(class_weights, focal.dtype)
  focal = _pixel_reduce(focal, valid, weights, reduction, spatial_mean_sum=True)
  total = dice_weight * dice + focal_weight * focal
  if return_components:
    return total, {"dice": dice, "focal": focal}
  return total


@register(peer="",
          references=("Taghanaki et al., Combo loss: Handling input and output imbalance in "
                      "multi-organ segmentation, Computerized Medical Imaging and Graphics "
                      "2019", SURVEY),
          components=("ce", "dice"), **_COMMON)
@loss_function(static=("activation", "include_background", "batch", "ignore_index",
                       "return_components"),
               ranges={**_RANGES, "ce_weight": ">= 0", "dice_weight": ">= 0", "beta": "[0, 1]"},
               choices=_CHOICES)
def combo_loss(logits, labels, *, activation="softmax", ce_weight=0.5, dice_weight=0.5,
               beta=0.5, include_background=True, smooth_nr=1e-5, smooth_dr=1e-5, batch=False,
               ignore_index=None, weights=None, where=None, reduction="mean",
               return_components=False):
  r"""Combo loss (Taghanaki et al. 2019): weighted cross-entropy plus Dice.

  .. math::
    \mathcal{L} = w_{ce}\, \operatorname{mean}_{i,c}\Big[-\beta\, t_{ic} \log p_{ic}
        - (1 - \beta)(1 - t_{ic}) \log(1 - p_{ic})\Big]
      + w_{dice}\, \mathcal{L}_{Dice}

  :math:`\beta > 0.5` penalises false negatives more than false positives
  (the paper's output-imbalance control); :math:`w_{ce}` and
  :math:`w_{dice}` (the paper's :math:`\alpha` and :math:`1 - \alpha`) trade
  the cross-entropy against the Dice loss :math:`\mathcal{L}_{Dice}` of
  :func:`dice_loss` (per image and class, averaged). :math:`\log p` and
  :math:`\log(1-p)` come from the logits (``log_softmax`` and a stable
  ``log(1 - softmax)``; ``log_sigmoid(±x)``), so the loss is finite at logits
  of ±1e4 without the paper's clipping of :math:`p`.

  Args:
    logits: ``(B, *spatial, C)`` logits.
    labels: integer ``(B, *spatial)`` class ids, or one-hot/soft ``(B, *spatial, C)``.
    activation: "softmax" (default) | "sigmoid".
    ce_weight: weight of the cross-entropy part (default 0.5, >= 0; the
      paper's :math:`\alpha`); may be traced.
    dice_weight: weight of the Dice part (default 0.5, >= 0; the paper's
      :math:`1 - \alpha`); may be traced.
    beta: weight of the positive (false-negative) term in [0, 1] (default 0.5);
      may be traced.
    include_background: keep channel 0 in both terms (default True).
    smooth_nr, smooth_dr, batch: as :func:`dice_loss`.
    ignore_index: integer label whose pixels count in neither term.
    weights: optional per-pixel weights broadcastable to ``(B, *spatial)``,
      scaling the cross-entropy part only.
    where: optional pixel mask broadcastable to ``(B, *spatial)``.
    reduction: "mean" (default) | "sum" (cross-entropy summed over pixels and
      channels plus Dice summed over images and classes).
    return_components: also return the parts (default False).

  Returns:
    A scalar; with ``return_components=True``, ``(total, {"ce": scalar,
    "dice": scalar})``, the unweighted parts reduced like the total:
    ``ce`` the :math:`\beta`-weighted cross-entropy and ``dice`` the Dice
    *loss* (1 - coefficient), so ``total = ce_weight * ce + dice_weight * dice``.

  Raises:
    LossInputError: shapes as :func:`dice_loss`; ``weights``/``where`` not
      broadcastable to ``(B, *spatial)``; ``reduction="none"``; concrete
      ``beta`` outside [0, 1] or negative ``ce_weight``/``dice_weight``.
    LossTypeError: logits not floating.

  Notes:
    Deliberate difference from the paper: it subtracts the Dice
    *coefficient*, summed over classes; here the Dice *loss* (1 - coefficient)
    averaged over images and classes is added, which differs from the paper's
    objective by the constant ``dice_weight`` for one class (same gradients)
    and makes a perfect prediction score 0 and the scale independent of C.
    ``ce_weight + dice_weight = 1`` is the paper's convex combination.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[[2., -1.], [0., 1.], [-1., 3.]]])   # (1, 3, 2)
    >>> print(jaxloss.combo_loss(logits, jnp.array([[0, 1, 1]])))
    0.0912
  """
  _, weights, g, valid = _pixel_inputs(logits, labels, where=where, weights=weights,
                                       ignore_index=ignore_index)
  dice = _dice_part(logits, g, valid, activation=activation,
                    include_background=include_background, squared_pred=False, jaccard=False,
                    smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch, class_weights=None,
                    reduction=reduction)
  x = nx.mask_fill(logits.astype(g.dtype), valid, trailing=1)
  if activation == "softmax":
    log_p, log_q = jax.nn.log_softmax(x, axis=-1), nx.log1m_softmax(x, axis=-1)
  else:
    log_p, log_q = jax.nn.log_sigmoid(x), jax.nn.log_sigmoid(-x)
  if not include_background and x.shape[-1] > 1:
    log_p, log_q, g = log_p[..., 1:], log_q[..., 1:], g[..., 1:]
  wce = -(nx.mul_log(beta * g, log_p) + nx.mul_log((1.0 - beta) * (1.0 - g), log_q))
  ce = _pixel_reduce(wce, valid, weights, reduction)
  total = ce_weight * ce + dice_weight * dice
  if return_components:
    return total, {"ce": ce, "dice": dice}
  return total
