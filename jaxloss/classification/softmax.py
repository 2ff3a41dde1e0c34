"""Softmax classification losses: cross-entropy and its weighted/focal relatives.

Conventions of this module (see :mod:`jaxloss.classification`):

* ``logits`` carry the classes on ``axis`` (default the last, Flax's NHWC); the
  same call is the pixel-wise loss on ``(B, H, W, C)`` or ``(B, D, H, W, C)``
  logits.
* ``labels`` dispatch on dtype: integer class ids of shape
  ``logits.shape[:-1]``, or floating one-hot/soft targets of ``logits.shape``.
* ``reduction="none"`` returns ``logits.shape[:-1]`` (one value per example or
  pixel); ``where`` has that shape (broadcastable) and excludes entries.
* Everything is computed in float32 (float64 under x64) from
  ``jax.nn.log_softmax``; bfloat16/float16 logits are upcast first.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import LossInputError, loss_function, reduce_loss
from jaxloss.catalog import SURVEY, register
from jaxloss.classification._common import class_inputs, class_vector

__all__ = [
    "balanced_cross_entropy", "cross_entropy", "focal_loss", "nll_loss",
    "poly1_cross_entropy", "weighted_cross_entropy", "zero_one_loss",
]

_LIN = "Lin et al., Focal Loss for Dense Object Detection, ICCV 2017"


# --------------------------------------------------------------------------
# Shared internals.
# --------------------------------------------------------------------------


def _nll_terms(logp, labels, kind, w, eps, where, *, shift=None):
  """Per-entry (label-smoothed, class-weighted) CE from log-probabilities.

  ``labels`` and ``where`` come from :func:`class_inputs` (``where`` already
  excludes the ``ignore_index`` entries, whose ids are safe). Returns
  ``(values, normalizer)`` for :func:`reduce_loss`. Integer labels follow
  torch's ``cross_entropy``/``nll_loss``:

    (1 - eps) w_y (-log p_y) + (eps / C) sum_c w_c (-log p_c)

  with ``ignore_index`` entries excluded and "mean" normalised by the sum of
  ``w_y`` over the kept entries (``LossNLL.cpp``,
  ``cross_entropy_loss_label_smoothing``: the NLL term and the smoothing term
  are each divided by that same sum). Dense targets follow torch's
  probability-target path: targets ``(1 - eps) y + eps / C``, per-entry
  ``-sum_c w_c y_c log p_c``, "mean" divides by the number of entries.
  Every ``weight * log p`` product uses :func:`nx.mul_log`, so a ``-inf``
  log-probability with zero weight (masked class, zero target, eps = 0)
  contributes 0 with a zero gradient.

  With ``shift = (m, lse)`` given, ``logp`` holds the *logits* and the
  log-probabilities are ``(logits - m) - lse`` (``m`` the row max, ``lse`` the
  log-sum-exp of the shifted row), formed inside the gather and the class
  sum: XLA fuses them, the (N, C) log-softmax is never materialised, and the
  backward is the fused ``softmax - target`` (optax's form; 2x faster than
  gathering from a materialised log-softmax on CPU). Subtracting ``m`` first
  keeps large common offsets exact.
  """
  m, lse = (0.0, 0.0) if shift is None else shift
  num_classes = logp.shape[-1]
  dtype = logp.dtype
  eps = jnp.asarray(eps, dtype)
  ones = jnp.ones((num_classes,), dtype) if w is None else w
  if kind == "int":
    logp_y = (nx.take_along_last(logp, labels) - _squeeze(m)) - _squeeze(lse)
    w_y = None if w is None else jnp.take(w, jnp.clip(labels, 0, num_classes - 1))
    coef_y = (1.0 - eps) * (1.0 if w_y is None else w_y)
    values = -nx.mul_log(jnp.broadcast_to(coef_y, logp_y.shape), logp_y)
    values = values - jnp.sum(nx.mul_log(jnp.broadcast_to(eps / num_classes * ones, logp.shape),
                                         (logp - m) - lse), axis=-1)
    return values, w_y
  y = (1.0 - eps) * labels + eps / num_classes
  values = -jnp.sum(nx.mul_log(y * ones, (logp - m) - lse), axis=-1)
  return values, None


def _squeeze(x):
  return x[..., 0] if jnp.ndim(x) else x


def _is_static_zero(x):
  """Whether ``x`` is a concrete zero (an untraced default), so its term can be skipped."""
  return not isinstance(x, jax.core.Tracer) and jnp.ndim(x) == 0 and float(x) == 0.0


def _cross_entropy(logits, labels, *, class_weights, ignore_index, label_smoothing, axis,
                   weights, where, reduction, z_loss=0.0, return_components=False):
  logits, labels, kind, where = class_inputs(logits, labels, axis, where,
                                             ignore_index=ignore_index, dense_ignore="skip",
                                             fill_id_logits=False)
  num_classes = logits.shape[-1]
  w = class_vector("class_weights", class_weights, num_classes, logits.dtype)
  if kind == "int":
    # One fused pass each way (custom JVP); excluded rows are discarded by a select, so
    # their logits need no masked copy (a NaN there reaches neither value nor gradient).
    eps = jnp.asarray(label_smoothing, logits.dtype)
    w_y = None if w is None else jnp.take(w, labels)
    coef_y = jnp.broadcast_to((1.0 - eps) * (1.0 if w_y is None else w_y), labels.shape)
    smooth = None
    if not _is_static_zero(label_smoothing):
      smooth = eps / num_classes * (jnp.ones((num_classes,), logits.dtype) if w is None else w)
    mask = jnp.ones(labels.shape, bool) if where is None else where
    values, log_z = nx.softmax_ce_ids(logits, labels, mask, coef_y.astype(logits.dtype), smooth)
    norm = w_y
  else:
    m = jax.lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True))
    lse = jnp.log(jnp.sum(jnp.exp(logits - m), axis=-1, keepdims=True))
    values, norm = _nll_terms(logits, labels, kind, w, label_smoothing, where, shift=(m, lse))
    # log Z = m + lse (m has no gradient, but the gradient of m + lse with m held
    # constant is the softmax, the true one)
    log_z = _squeeze(m + lse)
  if _is_static_zero(z_loss) and not return_components:
    # The default: no z-loss arithmetic at all (the fast path is unchanged).
    return reduce_loss(values, reduction, where=where, weights=weights, normalizer=norm)
  # PaLM / t5x: c * log(Z)^2 per entry
  z_values = jnp.asarray(z_loss, logits.dtype) * log_z * log_z
  total = reduce_loss(values + z_values, reduction, where=where, weights=weights,
                      normalizer=norm)
  if not return_components:
    return total
  return total, {
      "cross_entropy": reduce_loss(values, reduction, where=where, weights=weights,
                                   normalizer=norm),
      "z_loss": reduce_loss(z_values, reduction, where=where, weights=weights, normalizer=norm)}


# --------------------------------------------------------------------------
# Public losses.
# --------------------------------------------------------------------------


@register(tasks=("image classification", "multi-class classification", "semantic segmentation",
                 "tabular classification", "language modelling"),
          peer="torch.nn.functional.cross_entropy; "
               "optax.losses.softmax_cross_entropy_with_integer_labels",
          references=("Shannon 1948; Good 1952 (logarithmic scoring rule)",
                      "Szegedy et al., Rethinking the Inception Architecture (label smoothing), "
                      "CVPR 2016", SURVEY),
          input_kind="logits", components=("cross_entropy", "z_loss"))
@loss_function(static=("axis", "ignore_index", "return_components"),
               ranges={"label_smoothing": "[0, 1]", "z_loss": ">= 0"})
def cross_entropy(logits, labels, *, class_weights=None, ignore_index=-100, label_smoothing=0.0,
                  z_loss=0.0, axis=-1, weights=None, where=None, reduction="mean",
                  return_components=False):
  r"""Softmax cross-entropy from logits (integer labels or soft targets), optional z-loss.

  .. math::
    \ell_i = -(1-\varepsilon)\, w_{y_i} \log p_{i,y_i}
             - \frac{\varepsilon}{C} \sum_c w_c \log p_{i,c}
             + c \log^2 Z_i,
    \qquad p_i = \operatorname{softmax}(z_i),\ \log Z_i = \log \sum_c e^{z_{i,c}}

  for integer labels, and :math:`\ell_i = -\sum_c w_c \tilde y_{i,c} \log p_{i,c}
  + c \log^2 Z_i` with :math:`\tilde y = (1-\varepsilon) y + \varepsilon / C` for float
  one-hot/soft targets (:math:`w \equiv 1` without ``class_weights``). The
  last term is PaLM's auxiliary z-loss (``z_loss`` :math:`= c`, default 0; PaLM
  and t5x use :math:`10^{-4}`), which pulls the log-partition function
  towards 0 so the softmax stays well conditioned in low precision.

  "mean" follows torch exactly: with integer labels it divides by
  :math:`\sum_i w_{y_i}` over the non-ignored, unmasked entries (torch's
  weighted mean, so class weights have no effect on a batch of one); with
  float targets it divides by the number of unmasked entries. Label smoothing
  combines with class weights as in torch's ``LossNLL.cpp``
  (``cross_entropy_loss_label_smoothing``): the smoothing term is weighted by
  every class's weight and normalised by the same :math:`\sum_i w_{y_i}`.
  With no entry left (all ignored or masked) "mean" is 0 with a zero
  gradient, where torch returns NaN.

  The same function is the pixel-wise cross-entropy of segmentation: pass
  ``(B, H, W, C)`` or ``(B, D, H, W, C)`` logits with ``(B, H, W)`` /
  ``(B, D, H, W)`` labels, and a per-pixel weight map (e.g. U-Net border
  weights, :func:`jaxloss.unet_weight_map`) as ``weights``.

  Numerics: ``jax.nn.log_softmax`` in float32 (bfloat16/float16 logits are
  upcast, so the loss is not quantised), invariant to adding a constant to
  all logits (uniform logits at a 1e6 offset give exactly ``log C``); ``-inf``
  non-target logits and ``-inf`` logits with a zero target contribute 0 and a
  zero gradient. A row whose logits are *all* ``-inf`` is NaN (exclude it with
  ``where``). optax's CE functions are not used because the class weights,
  ``ignore_index`` and torch's smoothing rule have to be applied to the
  per-class log-probabilities, and optax's one-hot path multiplies
  ``0 * -inf``.

  Args:
    logits: floating ``[..., C]`` (classes on ``axis``).
    labels: integer ``[...]`` class ids in ``[0, C)`` or ``ignore_index``, or
      ``[..., C]`` one-hot/soft targets (any real dtype; each row a
      distribution). The shape decides: labels of the logits' shape are
      soft targets, so 1-D logits ``(C,)`` with 1-D float labels ``(C,)`` are
      *one* sample with soft labels. Ids out of range are not caught by
      default (255 with 4 classes counts as class 3); rows that do not sum to
      1 are almost always a mistake. Both raise with
      ``jaxloss.set_checks(True)``.
    class_weights: optional ``[C]`` per-class weights (torch's ``weight``).
    ignore_index: integer label value excluded from the loss, the gradient and
      the "mean" denominator (default -100, torch's; None keeps every entry),
      exactly as ``where`` excludes entries: a NaN in an ignored row reaches
      neither the value nor the gradient. Integer labels only (one-hot/soft
      targets have none, as torch).
    label_smoothing: :math:`\varepsilon \in [0, 1]` (default 0); may be traced.
    z_loss: :math:`c \ge 0` (default 0.0), the coefficient of PaLM's
      :math:`\log^2 Z` term, added per entry; may be traced. At the untraced
      default 0.0 no z-loss arithmetic is traced at all.
    axis: the class axis of ``logits`` (and of float ``labels``), default -1.
    weights: optional per-entry weights, broadcastable to ``logits.shape[:-1]``:
      one per example, or a per-pixel weight map ``(B, H, W)`` for
      ``(B, H, W, C)`` logits. They scale entries; the "mean" denominator is
      unchanged (U-Net's :math:`\sum_i w_i \ell_i / N`).
    where: optional boolean mask, broadcastable to ``logits.shape[:-1]``.
    reduction: "mean" (default) | "sum" | "none".
    return_components: static; also return the two parts (default False).

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none" (ignored and
    masked entries are 0). With ``return_components=True``, ``(total,
    {"cross_entropy": ..., "z_loss": ...})``: the cross-entropy and
    :math:`c \log^2 Z` (coefficient included), each reduced like the total
    (same ``weights``, mask and "mean" denominator), so they add up to it.

  Raises:
    LossInputError: ``labels`` shape is neither ``logits.shape[:-1]`` nor
      ``logits.shape``; ``class_weights`` not ``[C]``; a concrete
      ``label_smoothing`` outside [0, 1] or ``z_loss < 0``.
    LossTypeError: ``logits`` not floating, or ``labels`` neither integer nor
      floating.

  Notes:
    Follows ``torch.nn.functional.cross_entropy`` (its ``weight`` is
    ``class_weights``; ``ignore_index``, ``label_smoothing``, integer and
    probability targets, its weighted-mean rule) with classes last;
    elementwise it equals ``optax.losses.softmax_cross_entropy`` (+
    ``optax.smooth_labels``) too. Deliberate difference: 0 instead of NaN when
    every entry is ignored. ``z_loss`` follows t5x's
    ``cross_entropy_with_logits(logits, targets, z_loss)`` (``loss + z_loss *
    log_z**2`` per token, ``log_z = logsumexp(logits)``) and PaLM; the
    z-loss term is not class weighted, but with ``class_weights`` it shares
    the cross-entropy's "mean" denominator :math:`\sum_i w_{y_i}` (so the
    parts add up to the total). ``linear_cross_entropy`` and
    ``chunked_cross_entropy`` take the same ``z_loss``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[2., 0., -1.], [0., 1., 0.]])
    >>> print(jaxloss.cross_entropy(logits, jnp.array([0, 2]), reduction="none"))
    [0.169846 1.551445 ]
    >>> total, parts = jaxloss.cross_entropy(logits, jnp.array([0, 2]), z_loss=1e-4,
    ...                                      return_components=True)
    >>> print(round(float(total), 6), round(float(parts["z_loss"]), 6))
    0.861001 0.000356
  """
  return _cross_entropy(logits, labels, class_weights=class_weights, ignore_index=ignore_index,
                        label_smoothing=label_smoothing, axis=axis, weights=weights,
                        where=where, reduction=reduction, z_loss=z_loss,
                        return_components=return_components)


@register(tasks=("image classification", "multi-class classification", "language modelling"),
          peer="torch.nn.functional.nll_loss",
          references=("Fisher, maximum likelihood, 1922", SURVEY),
          input_kind="log-probabilities")
@loss_function(static=("axis", "ignore_index"))
def nll_loss(log_probs, labels, *, class_weights=None, ignore_index=-100, axis=-1,
             weights=None, where=None, reduction="mean"):
  r"""Negative log-likelihood of integer labels given log-probabilities.

  .. math::
    \ell_i = -w_{y_i} \log p_{i, y_i}

  ``cross_entropy(logits, y) == nll_loss(log_softmax(logits), y)``. "mean"
  divides by :math:`\sum_i w_{y_i}` over the non-ignored, unmasked entries
  (torch's rule); 0 with a zero gradient if none is left (torch: NaN).

  Args:
    log_probs: floating ``[..., C]`` log-probabilities (classes on ``axis``).
    labels: integer ``[...]`` class ids in ``[0, C)`` or ``ignore_index``.
    class_weights: optional ``[C]`` per-class weights.
    ignore_index: label value excluded from the loss and the denominator
      (default -100).
    axis: class axis of ``log_probs`` (default -1).
    weights: optional per-entry weights, broadcastable to ``log_probs.shape[:-1]``.
    where: optional boolean mask, broadcastable to ``log_probs.shape[:-1]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``log_probs.shape[:-1]`` for "none".

  Raises:
    LossInputError: ``labels`` shape is not ``log_probs.shape[:-1]``;
      ``class_weights`` not ``[C]``.
    LossTypeError: ``labels`` not integer, or ``log_probs`` not floating.

  Notes:
    Classes are on ``axis`` (last by default), where torch puts them second.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logp = jnp.log(jnp.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    >>> print(jaxloss.nll_loss(logp, jnp.array([0, 2]), class_weights=jnp.array([1., 1., 3.])))
    0.340644
  """
  logp, labels, kind, where = class_inputs(log_probs, labels, axis, where,
                                           logits_name="log_probs", ignore_index=ignore_index,
                                           dense_ignore="skip")
  if kind != "int":
    raise LossInputError(
        f"labels has shape {labels.shape} and a floating dtype; nll_loss expects integer "
        f"labels of shape {logp.shape[:-1]} (use cross_entropy for soft targets)")
  w = class_vector("class_weights", class_weights, logp.shape[-1], logp.dtype)
  values, norm = _nll_terms(logp, labels, kind, w, 0.0, where)
  return reduce_loss(values, reduction, where=where, weights=weights, normalizer=norm)


@register(tasks=("semantic segmentation", "imbalanced classification", "image classification"),
          peer="torch.nn.functional.cross_entropy(weight=...)",
          references=("Long et al., Fully Convolutional Networks for Semantic Segmentation, "
                      "CVPR 2015", "Ronneberger et al., U-Net, MICCAI 2015", SURVEY),
          input_kind="logits")
@loss_function(static=("axis", "ignore_index"), ranges={"label_smoothing": "[0, 1]"})
def weighted_cross_entropy(logits, labels, *, class_weights, ignore_index=-100,
                           label_smoothing=0.0, axis=-1, weights=None, where=None,
                           reduction="mean"):
  r"""Weighted cross-entropy (WCE): cross-entropy with required class weights.

  .. math::
    \ell_i = -\sum_c w_c\, y_{i,c} \log p_{i,c},
    \qquad \text{mean} = \frac{\sum_i \ell_i}{\sum_i w_{y_i}}

  The survey's WCE for pixel-wise segmentation (FCN, U-Net): rare classes get
  larger weights to counter class imbalance. It is exactly
  :func:`cross_entropy` with ``class_weights`` (same internals, same torch
  weighted-mean rule, label smoothing and ``ignore_index``); see there.

  Args:
    logits: floating ``[..., C]``.
    labels: integer ``[...]`` ids or floating ``[..., C]`` targets.
    class_weights: ``[C]`` per-class weights (required).
    ignore_index: integer label excluded (default -100).
    label_smoothing: in [0, 1] (default 0).
    axis: class axis (default -1).
    weights: optional per-entry weights (e.g. a per-pixel weight map),
      broadcastable to ``logits.shape[:-1]``.
    where: optional boolean mask, broadcastable to ``logits.shape[:-1]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: bad ``labels`` or ``class_weights`` shape.

  Notes:
    Ronneberger et al.'s per-pixel weight maps are ``weights`` (they multiply
    the class weights).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[2., 0., -1.], [0., 1., 0.]])
    >>> print(jaxloss.weighted_cross_entropy(logits, jnp.array([0, 2]),
    ...                                      class_weights=jnp.array([1., 1., 3.])))
    1.206045
  """
  return _cross_entropy(logits, labels, class_weights=class_weights, ignore_index=ignore_index,
                        label_smoothing=label_smoothing, axis=axis, weights=weights,
                        where=where, reduction=reduction)


def _balanced_weights(labels, kind, mask, num_classes, dtype):
  """Inverse-frequency class weights ``N / (K n_c)`` over the kept entries (``mask``)."""
  if kind == "int":
    counts = jax.nn.one_hot(labels, num_classes, dtype=dtype)
  else:
    counts = labels
  if mask is not None:
    counts = jnp.where(mask[..., None], counts, jnp.zeros((), dtype))
  counts = jax.lax.stop_gradient(jnp.sum(counts.reshape(-1, num_classes), axis=0))
  present = counts > 0
  total = jnp.sum(counts)
  k = jnp.sum(present, dtype=dtype)
  return jnp.where(present, nx.safe_div(total, k * jnp.where(present, counts, 1.0)), 0.0)


@register(tasks=("semantic segmentation", "imbalanced classification"),
          peer="torch.nn.functional.cross_entropy(weight=sklearn compute_class_weight"
               "('balanced') of the batch)",
          references=("Xie & Tu, Holistically-Nested Edge Detection (class-balanced CE), "
                      "ICCV 2015",
                      "Jadon, A survey of loss functions for semantic segmentation, 2020",
                      SURVEY),
          input_kind="logits")
@loss_function(static=("axis", "ignore_index"))
def balanced_cross_entropy(logits, labels, *, ignore_index=-100, axis=-1, weights=None,
                           where=None, reduction="mean"):
  r"""Balanced cross-entropy (BalanCE): class weights from the batch's class frequency.

  .. math::
    w_c = \frac{N}{K\, n_c}\ (n_c > 0), \quad w_c = 0\ (n_c = 0), \qquad
    \ell_i = -\sum_c w_c\, y_{i,c} \log p_{i,c}

  where :math:`n_c` is the number (or, for soft targets, the summed target
  mass) of kept entries of class ``c`` in the whole call, :math:`N = \sum_c
  n_c` and :math:`K` the number of classes present. These are scikit-learn's
  ``compute_class_weight("balanced")`` weights, computed per call under
  ``stop_gradient``; absent classes get weight 0 (they have no entries to
  weight), so there is no division by zero. Since :math:`\sum_i w_{y_i} = N`,
  torch's weighted "mean" equals the plain mean over the kept entries. For two
  classes the weights are proportional to the survey's
  :math:`\beta = n_{neg}/N` for positives and :math:`1-\beta` for negatives
  (Xie & Tu 2015), so the loss equals that BalanCE up to a per-batch scale.

  The weights couple the entries of a batch: the loss is not per-example
  (``vmap`` over examples computes per-example weights).

  Args:
    logits: floating ``[..., C]``.
    labels: integer ``[...]`` ids or floating ``[..., C]`` targets.
    ignore_index: integer label excluded from the loss and the counts
      (default -100).
    axis: class axis (default -1).
    weights: optional per-entry weights, broadcastable to ``logits.shape[:-1]``.
    where: optional boolean mask, broadcastable to ``logits.shape[:-1]``;
      masked entries are not counted.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: bad ``labels`` shape.

  Notes:
    The survey presents BalanCE under "Semantic Segmentation".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.zeros((4, 2))
    >>> print(jaxloss.balanced_cross_entropy(logits, jnp.array([0, 0, 0, 1]), reduction="none"))
    [0.462098 0.462098 0.462098 1.386294 ]
  """
  logits, labels, kind, where = class_inputs(logits, labels, axis, where,
                                             ignore_index=ignore_index, dense_ignore="skip")
  w = _balanced_weights(labels, kind, where, logits.shape[-1], logits.dtype)
  logp = jax.nn.log_softmax(logits, axis=-1)
  values, norm = _nll_terms(logp, labels, kind, w, 0.0, where)
  return reduce_loss(values, reduction, where=where, weights=weights, normalizer=norm)


def _alpha_vector(alpha, num_classes, dtype):
  """None | scalar (MONAI/kornia: 1 - alpha for class 0, alpha else) | [C]."""
  if alpha is None:
    return None
  alpha = jnp.asarray(alpha, dtype)
  if alpha.ndim == 0:
    return jnp.concatenate([(1.0 - alpha)[None], jnp.full((num_classes - 1,), alpha, dtype)])
  return class_vector("alpha", alpha, num_classes, dtype)


@register(tasks=("object detection", "semantic segmentation", "imbalanced classification"),
          peer="monai.losses.FocalLoss(use_softmax=True, reduction='none').sum(class axis); "
               "kornia.losses.focal_loss",
          references=(_LIN, SURVEY),
          input_kind="logits")
@loss_function(static=("axis", "ignore_index"), ranges={"gamma": ">= 0"})
def focal_loss(logits, labels, *, gamma=2.0, alpha=None, ignore_index=None, axis=-1,
               weights=None, where=None, reduction="mean"):
  r"""Softmax focal loss (Lin et al. 2017).

  .. math::
    \ell_i = -\sum_c \alpha_c\, y_{i,c}\, (1 - p_{i,c})^\gamma \log p_{i,c}
    \;\overset{\text{one-hot}}{=}\; -\alpha_{y_i} (1 - p_{i,y_i})^\gamma \log p_{i,y_i}

  ``alpha``: None (no weighting); a scalar, applied as MONAI's and kornia's
  softmax focal loss do -- :math:`1-\alpha` for class 0 (background) and
  :math:`\alpha` for every other class; or a ``[C]`` per-class vector.
  :math:`(1-p)^\gamma` is computed as ``-expm1(log p)`` raised with a safe
  power, so value and gradient are finite at :math:`p = 1` for every
  :math:`\gamma \ge 0`, including ``0`` vs ``0.0`` and :math:`0 < \gamma < 1`.
  ``gamma = 0`` with ``alpha=None`` is the cross-entropy.

  Args:
    logits: floating ``[..., C]``.
    labels: integer ``[...]`` ids or floating ``[..., C]`` one-hot/soft targets.
    gamma: focusing parameter, >= 0 (default 2.0); may be traced.
    alpha: None (default) | scalar | ``[C]`` class balance; may be traced.
    ignore_index: optional integer label value (static, default None) whose
      entries are excluded from the loss, the gradient and the "mean"
      denominator, as torch's ``ignore_index``; integer labels only.
    axis: class axis (default -1).
    weights: optional per-entry weights, broadcastable to ``logits.shape[:-1]``:
      one per example, or a per-pixel weight map ``(B, H, W)`` for
      ``(B, H, W, C)`` logits.
    where: optional boolean mask, broadcastable to ``logits.shape[:-1]``.
    reduction: "mean" (default, over the kept entries) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none" (0 at
    ignored and masked entries).

  Raises:
    LossInputError: bad ``labels``/``alpha`` shape; concrete ``gamma < 0``;
      ``ignore_index`` with one-hot/soft labels.

  Notes:
    MONAI's ``FocalLoss(use_softmax=True, gamma, alpha)`` with
    ``reduction="none"`` summed over the class axis is ours; MONAI's "mean"
    also averages over classes, i.e. is ours divided by C.
    ``kornia.losses.focal_loss`` uses the same scalar-alpha rule.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[2., 0., -1.], [0., 1., 0.]])
    >>> print(jaxloss.focal_loss(logits, jnp.array([0, 2]), reduction="none"))
    [0.004144 0.963503]
  """
  logits, labels, kind, where = class_inputs(logits, labels, axis, where,
                                             ignore_index=ignore_index)
  num_classes, dtype = logits.shape[-1], logits.dtype
  a = _alpha_vector(alpha, num_classes, dtype)
  logp = jax.nn.log_softmax(logits, axis=-1)
  if kind == "int":
    logp_y = nx.take_along_last(logp, labels)
    factor = nx.safe_pow(-jnp.expm1(logp_y), gamma)
    coef = factor if a is None else factor * jnp.take(a, jnp.clip(labels, 0, num_classes - 1))
    values = -nx.mul_log(coef, logp_y)
  else:
    coef = labels * nx.safe_pow(-jnp.expm1(logp), gamma)
    if a is not None:
      coef = coef * a
    values = -jnp.sum(nx.mul_log(coef, logp), axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("image classification", "object detection"),
          peer="optax.losses.poly_loss_cross_entropy",
          references=("Leng et al., PolyLoss: A Polynomial Expansion Perspective of "
                      "Classification Loss Functions, ICLR 2022",),
          input_kind="logits")
@loss_function(static=("ignore_index",), ranges={"epsilon": ">= -1"})
def poly1_cross_entropy(logits, labels, *, epsilon=2.0, ignore_index=None, weights=None,
                        where=None, reduction="mean"):
  r"""Poly-1 cross-entropy: cross-entropy plus :math:`\epsilon (1 - p_t)`.

  .. math::
    \ell_i = -\sum_c y_{i,c} \log p_{i,c} + \epsilon\,(1 - p_t),
    \qquad p_t = \sum_c y_{i,c}\, p_{i,c}

  For integer labels :math:`1 - p_t` is computed as ``-expm1(log p_y)``
  (no cancellation near :math:`p_t = 1`).

  Args:
    logits: floating ``[..., C]`` (classes last).
    labels: integer ``[...]`` ids or floating ``[..., C]`` targets.
    epsilon: the Poly-1 coefficient (default 2.0, optax's); >= -1 keeps the
      loss monotone in :math:`p_t`; may be traced.
    ignore_index: optional integer label value (static, default None) whose
      entries are excluded from the loss, the gradient and the "mean"
      denominator (torch's ``ignore_index``); integer labels only.
    weights: optional per-entry weights, broadcastable to ``logits.shape[:-1]``.
    where: optional boolean mask, broadcastable to ``logits.shape[:-1]``.
    reduction: "mean" (default, over the kept entries) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: bad ``labels`` shape; concrete ``epsilon < -1``;
      ``ignore_index`` with one-hot/soft labels.

  Notes:
    Equals ``optax.losses.poly_loss_cross_entropy`` elementwise
    (``reduction="none"``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[2., 0., -1.], [0., 1., 0.]])
    >>> print(jaxloss.poly1_cross_entropy(logits, jnp.array([0, 2]), reduction="none"))
    [0.482257 3.127562 ]
  """
  logits, labels, kind, where = class_inputs(logits, labels, -1, where,
                                             ignore_index=ignore_index)
  logp = jax.nn.log_softmax(logits, axis=-1)
  values, _ = _nll_terms(logp, labels, kind, None, 0.0, where)
  if kind == "int":
    one_minus_pt = -jnp.expm1(nx.take_along_last(logp, labels))
  else:
    one_minus_pt = 1.0 - jnp.sum(labels * jnp.exp(logp), axis=-1)
  values = values + jnp.asarray(epsilon, logits.dtype) * one_minus_pt
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("classification (metric)", "tabular classification"),
          peer="sklearn.metrics.zero_one_loss",
          references=("Duda, Hart & Stork, Pattern Classification (0-1 loss)", SURVEY),
          input_kind="logits")
@loss_function(static=("ignore_index",))
def zero_one_loss(logits, labels, *, ignore_index=None, weights=None, where=None,
                  reduction="mean"):
  r"""Zero-one loss (misclassification rate): a metric, not a training loss.

  .. math::
    \ell_i = \mathbb{1}[\arg\max_c z_{i,c} \ne y_i]

  Float targets are compared through their own argmax. The value is
  piecewise constant, so its gradient is zero everywhere (documented, by
  construction -- no NaN, no straight-through estimate). Ties pick the first
  maximal class (``jnp.argmax``).

  Args:
    logits: floating ``[..., C]`` scores.
    labels: integer ``[...]`` ids or floating ``[..., C]`` targets.
    ignore_index: optional integer label value (static, default None) whose
      entries are not counted (integer labels only).
    weights: optional per-entry weights, broadcastable to ``logits.shape[:-1]``.
    where: optional boolean mask, broadcastable to ``logits.shape[:-1]``.
    reduction: "mean" (default, the error rate over the kept entries) | "sum" |
      "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` of 0./1. for "none".

  Raises:
    LossInputError: bad ``labels`` shape; ``ignore_index`` with one-hot/soft labels.

  Notes:
    "mean" is sklearn's ``normalize=True``, "sum" its ``normalize=False``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.array([[2., 0., -1.], [0., 1., 0.]])
    >>> print(jaxloss.zero_one_loss(logits, jnp.array([0, 2])))
    0.5
  """
  logits, labels, kind, where = class_inputs(logits, labels, -1, where,
                                             ignore_index=ignore_index)
  target = labels if kind == "int" else jnp.argmax(labels, axis=-1)
  values = (jnp.argmax(jax.lax.stop_gradient(logits), axis=-1) != target).astype(logits.dtype)
  return reduce_loss(values, reduction, where=where, weights=weights)
