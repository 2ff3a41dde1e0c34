"""Binary (sigmoid / per-label) classification losses.

Conventions: ``logits`` (or ``probabilities``) and ``labels`` have the same
shape; the loss is elementwise (``reduction="none"`` returns that shape), so a
trailing label axis makes it the multi-label loss. ``labels`` are floats in [0, 1]
(hard or soft); the margin losses in :mod:`.margin` use {-1, +1}.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    check_broadcastable,
    debug_check_in_set,
    debug_check_probabilities,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.classification._common import binary_inputs

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_from_probs", "log_loss", "logistic_loss",
    "sigmoid_focal_loss",
]

_LIN = "Lin et al., Focal Loss for Dense Object Detection, ICCV 2017"


def _bce_from_logits(x, y, pos_weight=None):
  """``-(pw y log s(x) + (1 - y) log s(-x))``; ``0 * -inf`` terms are 0."""
  pos = y if pos_weight is None else pos_weight * y
  return -(nx.mul_log(pos, nx.log_sigmoid(x)) + nx.mul_log(1.0 - y, nx.log_sigmoid(-x)))


@register(tasks=("binary classification", "multi-label classification",
                 "semantic segmentation", "tabular classification"),
          peer="torch.nn.functional.binary_cross_entropy_with_logits; "
               "optax.losses.sigmoid_binary_cross_entropy",
          references=("Cox, The regression analysis of binary sequences, 1958", SURVEY),
          input_kind="logits")
@loss_function
def binary_cross_entropy(logits, labels, *, pos_weight=None, weights=None, where=None,
                         reduction="mean"):
  r"""Binary cross-entropy from logits (sigmoid BCE), soft labels allowed.

  .. math::
    \ell_i = -\big[w_+\, y_i \log \sigma(x_i) + (1 - y_i) \log \sigma(-x_i)\big]

  computed with ``log_sigmoid`` (no overflow at logits of ±1e4; a confident
  correct logit gives exactly 0 and a zero gradient).

  Args:
    logits: floating array of any shape.
    labels: targets in [0, 1] of the same shape (hard or soft).
    pos_weight: optional weight :math:`w_+` of the positive term,
      broadcastable to ``logits`` (e.g. ``[C]`` over the last axis, torch's
      convention); may be traced.
    weights: optional per-entry weights, broadcastable to ``logits`` (e.g. a
      per-pixel weight map ``(B, H, W)`` for ``(B, H, W)`` logits).
    where: optional boolean mask, broadcastable to ``logits``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape`` for "none".

  Raises:
    LossInputError: ``labels`` shape differs from ``logits``; ``pos_weight``
      does not broadcast to it.
    LossTypeError: ``logits`` not floating.

  Notes:
    ``pos_weight`` is torch's ``pos_weight``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.binary_cross_entropy(jnp.array([2., -1., 0.]), jnp.array([1., 1., .5]),
    ...                                    reduction="none"))
    [0.126928  1.313262 0.693147]
  """
  x, y, where = binary_inputs(logits, labels, where)
  pw = None
  if pos_weight is not None:
    check_broadcastable("pos_weight", pos_weight, x.shape, "logits")
    pw = jnp.asarray(pos_weight, x.dtype)
  return reduce_loss(nx.sigmoid_bce(x, y, pw), reduction, where=where, weights=weights)


@register(tasks=("binary classification", "tabular classification", "probability calibration"),
          peer="torch.nn.functional.binary_cross_entropy",
          references=("Good, Rational Decisions (logarithmic score), 1952", SURVEY),
          input_kind="probabilities", aliases=("log_loss",))
@loss_function
def binary_cross_entropy_from_probs(probabilities, labels, *, weights=None, where=None,
                                    reduction="mean"):
  r"""Binary cross-entropy (log loss) from probabilities; also ``log_loss``.

  .. math::
    \ell_i = -\big[y_i \max(\log p_i, -100) + (1 - y_i) \max(\log(1 - p_i), -100)\big]

  The log clamp at -100 is torch's (its "eps": probabilities below
  :math:`e^{-100} \approx 3.7 \times 10^{-44}` count as that), so ``p = 0``
  with ``y = 1`` gives exactly 100. Value *and* gradient are finite at
  ``p = 0`` and ``p = 1``: the log is taken of a sanitised input (double
  where) and the gradient is 0 wherever the clamp is active. Deliberate
  difference: torch's backward there uses ``(p - y) / max(p (1 - p), 1e-12)``
  (a gradient of up to 1e12); ours is the derivative of the clamped value.
  Prefer :func:`binary_cross_entropy` on logits when you have them.

  Args:
    probabilities: floating probabilities in [0, 1], any shape.
    labels: targets in [0, 1] of the same shape.
    weights: optional per-entry weights, broadcastable to ``probabilities``.
    where: optional boolean mask, broadcastable to ``probabilities``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``probabilities.shape`` for "none".

  Raises:
    LossInputError: shape mismatch. Under ``chex.chexify``: ``probabilities``
      outside [0, 1].

  Notes:
    Matches torch's values (not its gradient at the clamp, see above);
    scikit-learn's ``log_loss`` uses a different clip (``eps`` of the dtype).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.log_loss(jnp.array([0.9, 0., 1.]), jnp.array([1., 1., 1.]),
    ...                        reduction="none"))
    [  0.105361 100.           0.        ]
  """
  p, y, where = binary_inputs(probabilities, labels, where, logits_name="probabilities")
  debug_check_probabilities("probabilities", p)
  floor = jnp.asarray(-100.0, p.dtype)
  # Double where: the log sees 1 (resp. 0) at p == 0 (resp. 1), so neither the
  # value nor the gradient of the clamped branch can be inf/NaN.
  pos, below_one = p > 0, p < 1
  log_p = jnp.where(pos, jnp.maximum(jnp.log(jnp.where(pos, p, 1.0)), floor), floor)
  log_1mp = jnp.where(below_one, jnp.maximum(jnp.log1p(-jnp.where(below_one, p, 0.0)), floor),
                      floor)
  values = 0.0 - (y * log_p + (1.0 - y) * log_1mp)  # 0.0 - : no -0.0 at a perfect fit
  return reduce_loss(values, reduction, where=where, weights=weights)


log_loss = binary_cross_entropy_from_probs


@register(tasks=("object detection", "dense prediction", "multi-label classification"),
          peer="torchvision.ops.sigmoid_focal_loss",
          references=(_LIN, SURVEY),
          input_kind="logits")
@loss_function(ranges={"alpha": "<= 1", "gamma": ">= 0"})
def sigmoid_focal_loss(logits, labels, *, alpha=0.25, gamma=2.0, weights=None, where=None,
                       reduction="mean"):
  r"""Sigmoid focal loss (RetinaNet), torchvision's convention.

  .. math::
    \ell_i = -\alpha_t (1 - p_t)^\gamma \log p_t, \quad
    1 - p_t = \sigma(x)(1 - y) + \sigma(-x)\, y, \quad
    \alpha_t = \alpha y + (1 - \alpha)(1 - y)

  (:math:`-\log p_t` is the sigmoid BCE, soft labels allowed). ``alpha=None``
  or ``alpha < 0`` disables the :math:`\alpha_t` factor (torchvision's
  ``alpha=-1``). :math:`1 - p_t` is a sum of two non-negative sigmoids (no
  cancellation), raised with a safe power: finite value and gradient at
  saturated logits for every :math:`\gamma \ge 0`, including ``0`` vs
  ``0.0`` and :math:`0 < \gamma < 1`.

  Args:
    logits: floating array of any shape.
    labels: targets in [0, 1] of the same shape.
    alpha: balance of positives, <= 1, or None/negative to disable
      (default 0.25); may be traced.
    gamma: focusing parameter >= 0 (default 2.0); may be traced.
    weights: optional per-entry weights, broadcastable to ``logits``.
    where: optional boolean mask, broadcastable to ``logits``.
    reduction: "mean" (default) | "sum" | "none". Note torchvision's
      default is ``'none'``.

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``alpha > 1`` or ``gamma < 0``.

  Notes:
    Also equals ``optax.losses.sigmoid_focal_loss(alpha=0.25)`` and kornia's
    ``binary_focal_loss_with_logits``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.sigmoid_focal_loss(jnp.array([2., -1.]), jnp.array([1., 1.]),
    ...                                  reduction="none"))
    [0.000451 0.175467]
  """
  x, y, where = binary_inputs(logits, labels, where)
  ce = _bce_from_logits(x, y)
  one_minus_pt = jax.nn.sigmoid(x) * (1.0 - y) + jax.nn.sigmoid(-x) * y
  values = nx.safe_pow(one_minus_pt, gamma) * ce
  if alpha is not None:
    a = jnp.asarray(alpha, x.dtype)
    alpha_t = a * y + (1.0 - a) * (1.0 - y)
    values = jnp.where(a >= 0, alpha_t, 1.0) * values
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("binary classification", "tabular classification"),
          peer="sklearn log-loss with {-1,+1} labels; jaxopt.loss.binary_logistic_loss "
               "(0/1 labels)",
          references=("Cox 1958; Friedman, Hastie & Tibshirani, Additive logistic regression, "
                      "Ann. Stat. 2000",),
          input_kind="scores")
@loss_function
def logistic_loss(logits, labels, *, weights=None, where=None, reduction="mean"):
  r"""Logistic loss with labels in {-1, +1}.

  .. math::
    \ell_i = \log(1 + e^{-y_i z_i}) = \operatorname{softplus}(-y_i z_i)

  Identical to :func:`binary_cross_entropy` with ``(y + 1) / 2`` labels; this
  margin form is the one of boosting and SVM texts.

  Args:
    logits: floating real-valued scores, any shape.
    labels: {-1, +1} labels of the same shape (checked under chexify).
    weights: optional per-entry weights, broadcastable to ``logits``.
    where: optional boolean mask, broadcastable to ``logits``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape`` for "none".

  Raises:
    LossInputError: shape mismatch.

  Notes:
    Equals ``torch.nn.functional.soft_margin_loss`` with ``reduction='none'``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.logistic_loss(jnp.array([2., -1.]), jnp.array([1., 1.]),
    ...                             reduction="none"))
    [0.126928  1.313262]
  """
  s, y, where = binary_inputs(logits, labels, where)
  debug_check_in_set("labels", jnp.where(where, y, 1.0) if where is not None else y, (-1.0, 1.0))
  return reduce_loss(jax.nn.softplus(-y * s), reduction, where=where, weights=weights)
