"""Region (overlap) losses: soft Dice, Jaccard, Tversky and their variants.

All take logits ``(B, *spatial, C)`` (2-D or 3-D) and integer labels
``(B, *spatial)`` or one-hot/soft targets ``(B, *spatial, C)``, apply
``activation`` ("softmax" | "sigmoid" | None = already probabilities), and
form per-image, per-class sums over the spatial axes (``batch=True`` also sums
over the batch, MONAI's ``batch`` option). ``reduction="none"`` returns the
per-(image, class) losses ``(B, C')`` (``(C',)`` with ``batch=True``), where
``C' = C - 1`` with ``include_background=False``; ``where`` masks entries of
that array and ``"mean"`` averages the unmasked ones.

Empty classes: a class absent from both the target and the prediction scores
``1 - smooth_nr / smooth_dr = 0`` with the MONAI defaults (with zero smoothing
``0/0`` is defined as a perfect score), with a finite gradient. To exclude
absent classes from the mean instead, pass e.g.
``where=jnp.any(one_hot_labels, axis=spatial_axes)`` (present classes only).
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import loss_function, reduce_loss
from jaxloss.catalog import SURVEY, register
from jaxloss.segmentation import _common as cm

__all__ = ["dice_loss", "focal_tversky_loss", "generalized_dice_loss", "jaccard_loss",
           "log_cosh_dice_loss", "tversky_loss"]

_MONAI = "Cardoso et al., MONAI: An open-source framework for deep learning in healthcare, 2022"
_VNET = ("Milletari et al., V-Net: Fully Convolutional Neural Networks for Volumetric Medical "
         "Image Segmentation, 3DV 2016")
_STATIC = ("activation", "include_background", "squared_pred", "jaccard", "batch",
           "ignore_index")
_RANGES = {"smooth_nr": ">= 0", "smooth_dr": ">= 0"}
_CHOICES = {"activation": cm.ACTIVATIONS}
_NO_J = tuple(n for n in _STATIC if n != "jaccard")
_COMMON = dict(tasks=cm.TASKS, input_kind="logits")


def _ratio(num, den):
  # 0/0 only with zero smoothing and an empty class: a perfect score.
  return nx.safe_div(num, den, fallback=1.0)


def _dice_values(logits, labels, *, activation, include_background, squared_pred, jaccard,
                 smooth_nr, smooth_dr, batch, ignore_index, where, pixels=None):
  # ``where`` masks (image, class) entries; ``pixels`` (the compound losses'
  # pixel mask) excludes pixels like ``ignore_index``.
  p, g = cm.prepare(logits, labels, activation=activation,
                    include_background=include_background, ignore_index=ignore_index,
                    images=cm.image_mask(where, logits, include_background, batch),
                    pixels=pixels)
  axes = cm.reduce_axes(p.ndim, batch)
  inter = jnp.sum(p * g, axis=axes)
  if squared_pred:
    den = jnp.sum(p * p, axis=axes) + jnp.sum(g * g, axis=axes)
  else:
    den = jnp.sum(p, axis=axes) + jnp.sum(g, axis=axes)
  if jaccard:
    den = 2.0 * (den - inter)
  return 1.0 - _ratio(2.0 * inter + smooth_nr, den + smooth_dr)


def _reduce(values, reduction, where, class_weights):
  cm.check_class_weights(class_weights, values.shape[-1])
  return reduce_loss(values, reduction, where=where, weights=class_weights)


@register(peer="monai.losses.DiceLoss",
          references=(_VNET, _MONAI, SURVEY),
          **_COMMON)
@loss_function(static=_STATIC, ranges=_RANGES, choices=_CHOICES)
def dice_loss(logits, labels, *, activation="softmax", include_background=True,
              squared_pred=False, jaccard=False, smooth_nr=1e-5, smooth_dr=1e-5, batch=False,
              class_weights=None, ignore_index=None, where=None, reduction="mean"):
  r"""Soft Dice loss (V-Net), with MONAI ``DiceLoss``'s options and defaults.

  For each image :math:`b` and class :math:`c` with probabilities :math:`p`
  and targets :math:`g` over the pixels :math:`i`:

  .. math::
    \ell_{bc} = 1 - \frac{2 \sum_i p_i g_i + s_{nr}}
                         {\sum_i p_i^k + \sum_i g_i^k + s_{dr}}

  with :math:`k = 2` for ``squared_pred`` (the survey's squared Dice, sDice)
  and 1 otherwise. ``jaccard=True`` replaces the denominator by
  :math:`2(\sum p^k + \sum g^k - \sum p g)` (soft IoU with halved smoothing).

  Overlap is scored per class, so a rare class weighs as much as a frequent one:
  the survey's region-based remedy for class imbalance (small objects).

  Args:
    logits: ``(B, *spatial, C)`` scores (probabilities with ``activation=None``).
    labels: integer ``(B, *spatial)`` class ids, or one-hot/soft ``(B, *spatial, C)``.
      With ``C = 1``, integer labels are the 0/1 foreground mask.
    activation: "softmax" (default) | "sigmoid" | None (inputs are probabilities).
    include_background: keep channel 0 (default True); ignored when ``C = 1``.
    squared_pred: square the terms of the denominator (default False).
    jaccard: soft Jaccard instead of Dice (default False).
    smooth_nr, smooth_dr: numerator / denominator smoothing (default 1e-5).
    batch: pool the sums over the batch before the ratio (default False).
    class_weights: optional ``(C',)`` per-class weights multiplying the losses.
    ignore_index: integer label whose pixels are excluded (needs integer labels; their
      logits are zero-filled first, so a NaN there reaches neither value nor gradient).
    where: boolean mask broadcastable to the unreduced ``(B, C')`` (or ``(C',)``).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(B, C')`` for "none" (``(C',)`` with ``batch``).

  Raises:
    LossInputError: labels shape matches neither ``(B, *S)`` nor logits' shape,
      ``class_weights`` not ``(C',)``, softmax with one channel, negative smoothing.
    LossTypeError: logits not floating, labels neither integer nor floating.

  Notes:
    MONAI's ``DiceLoss`` with ``softmax=True`` (or ``sigmoid=True`` /
    neither), ``to_onehot_y`` for integer labels, and its ``weight`` as
    ``class_weights`` (weighted losses averaged over all entries, as MONAI).
    Channel-last instead of MONAI's channel-first.
    ``optax.losses.dice_loss(smooth=s)`` equals this with
    ``smooth_nr = smooth_dr = 2 s`` averaged over classes.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[[2., -1.], [0., 1.], [-1., 3.]]])   # (1, 3, 2)
    >>> print(jaxloss.dice_loss(logits, jnp.array([[0, 1, 1]]), reduction="none"))
    [[0.1493 0.0889]]
  """
  values = _dice_values(logits, labels, activation=activation,
                        include_background=include_background, squared_pred=squared_pred,
                        jaccard=jaccard, smooth_nr=smooth_nr, smooth_dr=smooth_dr,
                        batch=batch, ignore_index=ignore_index, where=where)
  return _reduce(values, reduction, where, class_weights)


@register(peer="monai.losses.DiceLoss(jaccard=True)",
          references=("Rahman & Wang, Optimizing Intersection-Over-Union in Deep Neural "
                      "Networks for Image Segmentation, ISVC 2016", _MONAI, SURVEY),
          **_COMMON)
@loss_function(static=_NO_J, ranges=_RANGES, choices=_CHOICES)
def jaccard_loss(logits, labels, *, activation="softmax", include_background=True,
                 squared_pred=False, smooth_nr=1e-5, smooth_dr=1e-5, batch=False,
                 class_weights=None, ignore_index=None, where=None, reduction="mean"):
  r"""Soft Jaccard (IoU) loss: ``dice_loss(..., jaccard=True)``.

  .. math::
    \ell_{bc} = 1 - \frac{2 \sum_i p_i g_i + s_{nr}}
                         {2 (\sum_i p_i^k + \sum_i g_i^k - \sum_i p_i g_i) + s_{dr}}

  i.e. :math:`1 - (I + s_{nr}/2) / (U + s_{dr}/2)` with the soft intersection
  :math:`I` and union :math:`U`.

  Per-class overlap: a remedy for class imbalance, as :func:`dice_loss`.

  Args:
    logits, labels, activation, include_background, squared_pred, smooth_nr,
    smooth_dr, batch, class_weights, ignore_index, where, reduction: as
    :func:`dice_loss`.

  Returns:
    A scalar for "mean"/"sum"; ``(B, C')`` for "none" (``(C',)`` with ``batch``).

  Raises:
    LossInputError, LossTypeError: as :func:`dice_loss`.

  Notes:
    segmentation_models_pytorch ``JaccardLoss`` is the ``batch=True``,
    zero-smoothing case.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[[1., 0.], [0.5, 0.5]]])   # probabilities, (1, 2, 2)
    >>> print(jaxloss.jaccard_loss(p, jnp.array([[0, 1]]), activation=None,
    ...                            smooth_nr=0., smooth_dr=0., reduction="none"))
    [[0.3333 0.5   ]]
  """
  values = _dice_values(logits, labels, activation=activation,
                        include_background=include_background, squared_pred=squared_pred,
                        jaccard=True, smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch,
                        ignore_index=ignore_index, where=where)
  return _reduce(values, reduction, where, class_weights)


def _log_cosh(x):
  # log(cosh x) = log1p(2 sinh(x/2)^2): no cancellation for small x (Dice
  # losses lie in [0, 1], so cosh cannot overflow).
  s = jnp.sinh(0.5 * x)
  return jnp.log1p(2.0 * s * s)


@register(peer="Jadon, SemSegLoss (log_cosh_dice_loss)",
          references=("Jadon, A survey of loss functions for semantic segmentation, "
                      "CIBCB 2020", SURVEY),
          **_COMMON)
@loss_function(static=_NO_J, ranges=_RANGES, choices=_CHOICES)
def log_cosh_dice_loss(logits, labels, *, activation="softmax", include_background=True,
                       squared_pred=False, smooth_nr=1e-5, smooth_dr=1e-5, batch=False,
                       class_weights=None, ignore_index=None, where=None, reduction="mean"):
  r"""Log-cosh Dice loss (lcDice): log-cosh of each per-class Dice loss.

  .. math::
    \ell_{bc} = \log\cosh\big(\mathrm{Dice}_{bc}\big)

  with :math:`\mathrm{Dice}_{bc}` the entries of :func:`dice_loss`'s
  ``reduction="none"`` output (computed as ``log1p(2 sinh^2(x/2))``, exact for
  small losses).

  Per-class overlap: a remedy for class imbalance, as :func:`dice_loss`.

  Args:
    logits, labels, activation, include_background, squared_pred, smooth_nr,
    smooth_dr, batch, class_weights, ignore_index, where, reduction: as
    :func:`dice_loss`.

  Returns:
    A scalar for "mean"/"sum"; ``(B, C')`` for "none" (``(C',)`` with ``batch``).

  Raises:
    LossInputError, LossTypeError: as :func:`dice_loss`.

  Notes:
    SemSegLoss applies log-cosh to the Dice loss of the whole batch; here it
    is applied per image and class, then averaged (the MONAI pooling of
    :func:`dice_loss`).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[[1., 0.], [0.5, 0.5]]])
    >>> print(jaxloss.log_cosh_dice_loss(p, jnp.array([[0, 1]]), activation=None))
    0.0372
  """
  values = _dice_values(logits, labels, activation=activation,
                        include_background=include_background, squared_pred=squared_pred,
                        jaccard=False, smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch,
                        ignore_index=ignore_index, where=where)
  return _reduce(_log_cosh(values), reduction, where, class_weights)


@register(peer="monai.losses.GeneralizedDiceLoss",
          references=("Sudre et al., Generalised Dice overlap as a deep learning loss "
                      "function for highly unbalanced segmentations, DLMIA 2017", _MONAI),
          **_COMMON)
@loss_function(static=("activation", "include_background", "w_type", "batch", "ignore_index"),
               ranges=_RANGES,
               choices={**_CHOICES, "w_type": ("square", "simple", "uniform")})
def generalized_dice_loss(logits, labels, *, activation="softmax", include_background=True,
                          w_type="square", smooth_nr=1e-5, smooth_dr=1e-5, batch=False,
                          ignore_index=None, where=None, reduction="mean"):
  r"""Generalised Dice loss (Sudre et al.) with MONAI's weighting rules.

  .. math::
    \ell_b = 1 - \frac{2 \sum_c w_c \sum_i p_{ic} g_{ic} + s_{nr}}
                      {\sum_c w_c \sum_i (p_{ic} + g_{ic}) + s_{dr}},
    \quad w_c = \Big(\sum_i g_{ic}\Big)^{-2}

  ``w_type="simple"`` uses the inverse volume and ``"uniform"`` weights 1. A
  class absent from the target (infinite weight) gets the largest finite
  weight of its image (of the batch with ``batch=True``); with no class
  present at all every weight is 0 and the loss is :math:`1 - s_{nr}/s_{dr}`.

  The inverse-volume weights target class imbalance: a small structure counts
  as much as a large one.

  Args:
    logits, labels, activation, include_background, smooth_nr, smooth_dr,
    ignore_index: as :func:`dice_loss`.
    w_type: "square" (default) | "simple" | "uniform".
    batch: pool over the batch (one loss for the batch; default False).
    where: boolean mask broadcastable to the unreduced ``(B,)`` (or ``()``).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(B,)`` for "none" (``()`` with ``batch``).

  Raises:
    LossInputError, LossTypeError: as :func:`dice_loss`.

  Notes:
    As MONAI's ``GeneralizedDiceLoss``, the weights come from each image's
    target volumes and are applied to the sums. Deliberately not
    ``optax.losses.multiclass_generalized_dice_loss``, which weights per-class
    Dice *losses* by batch class frequencies.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[[1., 0.], [0.5, 0.5], [0., 1.]]])   # (1, 3, 2)
    >>> print(jaxloss.generalized_dice_loss(p, jnp.array([[0, 1, 1]]), activation=None))
    0.1852
  """
  p, g = cm.prepare(logits, labels, activation=activation,
                    include_background=include_background, ignore_index=ignore_index,
                    images=cm.image_mask(where, logits, include_background, batch,
                                         per_class=False))
  axes = cm.reduce_axes(p.ndim, batch)
  inter = jnp.sum(p * g, axis=axes)
  den = jnp.sum(p, axis=axes) + jnp.sum(g, axis=axes)
  vol = jnp.sum(g, axis=axes)
  if w_type == "uniform":
    w = jnp.ones_like(vol)
  else:
    power = 2.0 if w_type == "square" else 1.0
    present = vol > 0
    w = jnp.where(present, 1.0 / jnp.where(present, vol, 1.0) ** power, 0.0)
    w = jnp.where(present, w, jnp.max(w, axis=-1, keepdims=True))
  values = 1.0 - _ratio(2.0 * jnp.sum(w * inter, axis=-1) + smooth_nr,
                        jnp.sum(w * den, axis=-1) + smooth_dr)
  return reduce_loss(values, reduction, where=where)


def _tversky_values(logits, labels, *, activation, include_background, alpha, beta, smooth_nr,
                    smooth_dr, batch, ignore_index, where):
  p, g = cm.prepare(logits, labels, activation=activation,
                    include_background=include_background, ignore_index=ignore_index,
                    images=cm.image_mask(where, logits, include_background, batch))
  axes = cm.reduce_axes(p.ndim, batch)
  tp = jnp.sum(p * g, axis=axes)
  fp = jnp.sum(p * (1.0 - g), axis=axes)
  fn = jnp.sum((1.0 - p) * g, axis=axes)
  return 1.0 - _ratio(tp + smooth_nr, tp + alpha * fp + beta * fn + smooth_dr)


_TV_STATIC = ("activation", "include_background", "batch", "ignore_index")
_TV_RANGES = {**_RANGES, "alpha": ">= 0", "beta": ">= 0"}


@register(peer="monai.losses.TverskyLoss",
          references=("Salehi et al., Tversky loss function for image segmentation using 3D "
                      "fully convolutional deep networks, MLMI 2017", _MONAI, SURVEY),
          **_COMMON)
@loss_function(static=_TV_STATIC, ranges=_TV_RANGES, choices=_CHOICES)
def tversky_loss(logits, labels, *, activation="softmax", include_background=True, alpha=0.5,
                 beta=0.5, smooth_nr=1e-5, smooth_dr=1e-5, batch=False, class_weights=None,
                 ignore_index=None, where=None, reduction="mean"):
  r"""Tversky loss: Dice with separate weights on false positives and negatives.

  .. math::
    \ell_{bc} = 1 - \frac{TP + s_{nr}}{TP + \alpha FP + \beta FN + s_{dr}},\quad
    TP = \sum_i p_i g_i,\ FP = \sum_i p_i (1 - g_i),\ FN = \sum_i (1 - p_i) g_i

  ``alpha = beta = 0.5`` is the Dice loss; ``alpha = beta = 1`` the Jaccard loss.

  Per-class overlap with ``beta > alpha`` favours recall of small, rare
  structures under class imbalance.

  Args:
    logits, labels, activation, include_background, smooth_nr, smooth_dr, batch,
    class_weights, ignore_index, where, reduction: as :func:`dice_loss`.
    alpha: weight of false positives (default 0.5); may be traced.
    beta: weight of false negatives (default 0.5); may be traced.

  Returns:
    A scalar for "mean"/"sum"; ``(B, C')`` for "none" (``(C',)`` with ``batch``).

  Raises:
    LossInputError, LossTypeError: as :func:`dice_loss`; a concrete negative
      ``alpha``/``beta``.

  Notes:
    ``alpha`` weighs false positives, as MONAI's ``TverskyLoss``; Keras'
    ``tversky`` swaps the roles of alpha and beta.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[[1., 0.], [0.5, 0.5], [0., 1.]]])
    >>> print(jaxloss.tversky_loss(p, jnp.array([[0, 1, 1]]), activation=None, alpha=0.3,
    ...                            beta=0.7, reduction="none"))
    [[0.1304 0.1892]]
  """
  values = _tversky_values(logits, labels, activation=activation,
                           include_background=include_background, alpha=alpha, beta=beta,
                           smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch,
                           ignore_index=ignore_index, where=where)
  return _reduce(values, reduction, where, class_weights)


@register(peer="",
          references=("Abraham & Khan, A Novel Focal Tversky Loss Function with Improved "
                      "Attention U-Net for Lesion Segmentation, ISBI 2019", SURVEY),
          **_COMMON)
@loss_function(static=_TV_STATIC, ranges={**_TV_RANGES, "gamma": "> 0"}, choices=_CHOICES)
def focal_tversky_loss(logits, labels, *, activation="softmax", include_background=True,
                       alpha=0.3, beta=0.7, gamma=4.0 / 3.0, smooth_nr=1e-5, smooth_dr=1e-5,
                       batch=False, class_weights=None, ignore_index=None, where=None,
                       reduction="mean"):
  r"""Focal Tversky loss: the per-class Tversky loss raised to ``1/gamma``.

  .. math::
    \ell_{bc} = \big(1 - TI_{bc}\big)^{1/\gamma}

  with :math:`TI_{bc}` the Tversky index of :func:`tversky_loss`. The power
  is applied per image and class, as in the paper (segmentation_models_pytorch
  applies its ``gamma`` to the class-averaged loss instead). At a perfect
  score the gradient of :math:`x^{1/\gamma}` would be infinite for
  ``gamma > 1``; it is defined as 0 there.

  Built for class imbalance: small lesions with few pixels.

  Args:
    logits, labels, activation, include_background, smooth_nr, smooth_dr, batch,
    class_weights, ignore_index, where, reduction: as :func:`dice_loss`.
    alpha: weight of false positives (default 0.3).
    beta: weight of false negatives (default 0.7).
    gamma: focal parameter, > 0 (default 4/3, the paper's choice); the
      exponent is ``1/gamma``. May be traced.

  Returns:
    A scalar for "mean"/"sum"; ``(B, C')`` for "none" (``(C',)`` with ``batch``).

  Raises:
    LossInputError, LossTypeError: as :func:`tversky_loss`; a concrete
      ``gamma <= 0``.

  Notes:
    The paper's :math:`\alpha = 0.7` weighs false negatives: the defaults
    here are the paper's, written in MONAI's :func:`tversky_loss` convention
    (``alpha`` on false positives).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[[1., 0.], [0.5, 0.5], [0., 1.]]])
    >>> print(jaxloss.focal_tversky_loss(p, jnp.array([[0, 1, 1]]), activation=None))
    0.2520
  """
  values = _tversky_values(logits, labels, activation=activation,
                           include_background=include_background, alpha=alpha, beta=beta,
                           smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch,
                           ignore_index=ignore_index, where=where)
  x = jnp.maximum(values, 0.0)
  values = nx.double_where(x > 0, x, lambda v: v ** (1.0 / gamma))
  return _reduce(values, reduction, where, class_weights)
