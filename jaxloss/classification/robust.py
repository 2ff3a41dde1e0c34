"""Noise-robust classification losses: GCE, SCE and the bi-tempered logistic loss.

The survey's "robust loss functions" direction (Elharrouss et al. 2025) for
learning with noisy labels: :func:`generalized_cross_entropy` (Zhang &
Sabuncu 2018), :func:`symmetric_cross_entropy` (Wang et al. 2019) and
:func:`bi_tempered_logistic_loss` (Amid et al. 2019). Classification
conventions as in :mod:`jaxloss.classification`: logits ``[..., C]``, labels
integer ``[...]`` or one-hot/soft ``[..., C]``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import loss_function, reduce_loss
from jaxloss.catalog import register
from jaxloss.classification._common import class_inputs

__all__ = ['bi_tempered_logistic_loss', 'generalized_cross_entropy', 'symmetric_cross_entropy']


def _inputs(logits, labels, where, ignore_index):
  """``(logits, dense targets, where)``: the shared class preamble, ids one-hot encoded.

  ``where`` excludes the ``ignore_index`` entries too; their logits are
  zero-filled before any arithmetic (see :func:`class_inputs`).
  """
  x, labels, kind, where = class_inputs(logits, labels, -1, where, ignore_index=ignore_index)
  if kind == "int":
    return x, jax.nn.one_hot(labels, x.shape[-1], dtype=x.dtype), where
  return x, labels, where


@register(tasks=("image classification", "learning with noisy labels"),
          peer="keras.losses.CategoricalGeneralizedCrossEntropy (from logits)",
          references=("Zhang & Sabuncu, Generalized Cross Entropy Loss for Training Deep "
                      "Neural Networks with Noisy Labels, NeurIPS 2018",),
          input_kind="logits")
@loss_function(static=("ignore_index",), ranges={"q": "[0, 1]"})
def generalized_cross_entropy(logits, labels, *, q=0.5, ignore_index=None, weights=None,
                              where=None, reduction="mean"):
  r"""Generalized cross-entropy :math:`L_q`, robust to label noise.

  .. math::
    \ell = \sum_c y_c \frac{1 - p_c^{\,q}}{q}, \qquad p = \operatorname{softmax}(z)

  ``q -> 0`` is the cross-entropy, ``q = 1`` the (noise-robust) MAE on
  probabilities. Computed as ``-expm1(q log p) / q`` from the log-softmax, so
  it is exact for tiny ``q`` and finite for saturated logits; ``q = 0`` is
  the cross-entropy exactly.

  Args:
    logits: ``[..., C]``.
    labels: integer ``[...]`` or one-hot/soft ``[..., C]``.
    q: in [0, 1] (default 0.5, Keras'; the paper uses 0.7); may be traced.
    ignore_index: optional integer label value (static, default None) whose
      entries are excluded from the loss, the gradient and the "mean"
      denominator (torch's ``ignore_index`` semantics); integer labels only.
    weights: optional per-example weights over ``[...]``.
    where: optional boolean mask over ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: label shape mismatch; concrete ``q`` outside [0, 1];
      ``ignore_index`` with one-hot/soft labels.

  Notes:
    Zhang & Sabuncu's Eq. 6, from logits; Keras'
    ``CategoricalGeneralizedCrossEntropy(q)`` takes probabilities instead.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.log(jnp.array([[0.25, 0.75]]))
    >>> print(jaxloss.generalized_cross_entropy(logits, jnp.array([1]), q=0.5))
    0.2679
  """
  x, y, where = _inputs(logits, labels, where, ignore_index)
  dtype = x.dtype
  logp = jax.nn.log_softmax(x, axis=-1)
  q = jnp.asarray(q, dtype)
  safe_q = jnp.where(q > 0, q, 1.0)
  per_class = jnp.where(q > 0, -jnp.expm1(safe_q * logp) / safe_q, -logp)
  values = jnp.sum(y * per_class, axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("image classification", "learning with noisy labels"),
          peer="Wang et al. 2019 reference implementation (A = -4)",
          references=("Wang et al., Symmetric Cross Entropy for Robust Learning with Noisy "
                      "Labels, ICCV 2019",),
          input_kind="logits", components=("ce", "rce"))
@loss_function(static=("ignore_index", "return_components"))
def symmetric_cross_entropy(logits, labels, *, ce_weight=0.1, rce_weight=1.0, log_zero=-4.0,
                            ignore_index=None, weights=None, where=None, reduction="mean",
                            return_components=False):
  r"""Symmetric cross-entropy: CE plus the reverse CE of labels given predictions.

  .. math::
    \ell = w_{ce}\Big(-\sum_c y_c \log p_c\Big)
          + w_{rce}\Big(-\sum_c p_c \max(\log y_c, A)\Big)

  The reverse term treats the (possibly noisy) label as the prediction;
  ``log 0`` is clamped to ``A = log_zero`` (-4 in the paper), so for a
  one-hot label it equals ``-A (1 - p_y)``.

  Args:
    logits: ``[..., C]``.
    labels: integer ``[...]`` or one-hot/soft ``[..., C]``.
    ce_weight: :math:`w_{ce}`, weight of the CE term (default 0.1, the
      paper's CIFAR-10 :math:`\alpha`).
    rce_weight: :math:`w_{rce}`, weight of the reverse CE (default 1.0, the
      paper's :math:`\beta`).
    log_zero: the clamp ``A`` of ``log 0`` (default -4).
    ignore_index: optional integer label value (static, default None) whose
      entries are excluded from the loss, the gradient and the "mean"
      denominator (torch's ``ignore_index`` semantics); integer labels only.
    weights: optional per-example weights over ``[...]``; they scale both
      terms.
    where: optional boolean mask over ``[...]``.
    reduction: "mean" (default) | "sum" | "none".
    return_components: static; also return the unweighted parts (default
      False).

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none". With
    ``return_components=True``, ``(total, {"ce": ..., "rce": ...})``: the
    unweighted CE and reverse CE, reduced like the total (same ``weights``,
    ``where`` and ``reduction``), so ``total = ce_weight * ce + rce_weight *
    rce``.

  Raises:
    LossInputError: label shape mismatch; ``ignore_index`` with one-hot/soft
      labels.

  Notes:
    Wang et al.'s Eq. 5–6: ``ce_weight`` and ``rce_weight`` are the paper's
    :math:`\alpha` and :math:`\beta`.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.log(jnp.array([[0.25, 0.75]]))
    >>> print(jaxloss.symmetric_cross_entropy(logits, jnp.array([1])))
    1.028768
    >>> total, parts = jaxloss.symmetric_cross_entropy(logits, jnp.array([1]),
    ...                                                return_components=True)
    >>> print(parts["ce"].round(4), parts["rce"].round(4))
    0.2877 1.0
  """
  x, y, where = _inputs(logits, labels, where, ignore_index)
  logp = jax.nn.log_softmax(x, axis=-1)
  ce = -jnp.sum(y * logp, axis=-1)
  log_y = jnp.maximum(nx.safe_log(y), log_zero)
  rce = -jnp.sum(jnp.exp(logp) * log_y, axis=-1)
  total = reduce_loss(ce_weight * ce + rce_weight * rce, reduction, where=where, weights=weights)
  if not return_components:
    return total
  return total, {"ce": reduce_loss(ce, reduction, where=where, weights=weights),
                 "rce": reduce_loss(rce, reduction, where=where, weights=weights)}


def _log_t(u, t):
  """Tempered log ``(u^{1-t} - 1)/(1 - t)``; ``log`` at ``t = 1``."""
  one = jnp.abs(1.0 - t) < 1e-6
  s = jnp.where(one, 0.5, 1.0 - t)
  u = jnp.maximum(u, nx.tiny(u.dtype))
  return jnp.where(one, jnp.log(u), (u ** s - 1.0) / s)


def _exp_t(u, t):
  """Tempered exp ``[1 + (1-t) u]_+^{1/(1-t)}``; ``exp`` at ``t = 1``."""
  one = jnp.abs(1.0 - t) < 1e-6
  s = jnp.where(one, 0.5, 1.0 - t)
  base = jnp.maximum(1.0 + s * jnp.where(one, 0.0, u), 0.0)
  # base ** (1/s) with a zero base and 1/s < 0 (t > 1) is +inf; for t > 1 the
  # base is >= 1 whenever u >= 0 and the normalisation keeps u <= 0 there.
  safe_base = jnp.where(base > 0, base, 1.0)
  powed = jnp.where(base > 0, safe_base ** (1.0 / s), 0.0)
  return jnp.where(one, jnp.exp(jnp.where(one, u, 0.0)), powed)


def _tempered_softmax(x, t, num_iters):
  """Normalised ``exp_t(x - lambda(x))`` for ``t >= 1`` by Amid et al.'s fixed point."""
  mu = nx.max_select(x, axis=-1, keepdims=True)
  a0 = x - mu

  def body(_, a):
    z = jnp.sum(_exp_t(a, t), axis=-1, keepdims=True)
    return a0 * z ** (1.0 - t)

  a = jax.lax.fori_loop(0, num_iters, body, a0)
  z = jnp.sum(_exp_t(a, t), axis=-1, keepdims=True)
  lam = -_log_t(1.0 / z, t) + mu
  return _exp_t(x - lam, t)


@register(input_kind="logits",
          tasks=("image classification", "learning with noisy labels"),
          peer="google/bi-tempered-loss bi_tempered_logistic_loss (t2 >= 1 branch)",
          references=("Amid et al., Robust Bi-Tempered Logistic Loss Based on Bregman "
                      "Divergences, NeurIPS 2019",))
@loss_function(static=("num_iters", "ignore_index"),
               ranges={"t1": "[0, 1]", "t2": "[1, 4]", "label_smoothing": "[0, 1]"})
def bi_tempered_logistic_loss(logits, labels, *, t1, t2, label_smoothing=0.0, num_iters=5,
                              ignore_index=None, weights=None, where=None, reduction="mean"):
  r"""Bi-tempered logistic loss (Amid et al. 2019), robust to label noise.

  .. math::
    \hat y = \exp_{t_2}(z - \lambda_{t_2}(z)), \quad
    \ell = \sum_c \Big[y_c(\log_{t_1} y_c - \log_{t_1}\hat y_c)
      - \tfrac{1}{2 - t_1}\big(y_c^{2 - t_1} - \hat y_c^{2 - t_1}\big)\Big]

  with :math:`\log_t u = (u^{1-t} - 1)/(1-t)` and
  :math:`\exp_t u = [1 + (1-t)u]_+^{1/(1-t)}`. ``t1 < 1`` bounds the loss
  (robust to outliers far from the boundary); ``t2 > 1`` gives the tempered
  softmax heavier tails (robust to noise near it). The normaliser
  :math:`\lambda` is found by the paper's fixed-point iteration, run for a
  fixed ``num_iters`` steps with ``lax.fori_loop`` (jit-friendly; gradients by
  autodiff through the iterations). ``t1 = t2 = 1`` is the cross-entropy.

  Args:
    logits: ``[..., C]`` activations.
    labels: integer ``[...]`` or one-hot/soft ``[..., C]``.
    t1: temperature of the log, in [0, 1]; may be traced.
    t2: temperature of the exp, in [1, 4] (the fixed-point normaliser needs
      ``t2 >= 1``); may be traced.
    label_smoothing: in [0, 1] (default 0), ``y <- (1 - s) y + s / C`` — the
      paper's smoothing (``s C/(C-1)`` of the reference code's convention is
      *not* applied).
    num_iters: static number of normalisation iterations (default 5).
    ignore_index: optional integer label value (static, default None) whose
      entries are excluded from the loss, the gradient and the "mean"
      denominator (torch's ``ignore_index`` semantics); integer labels only.
    weights: optional per-example weights over ``[...]``.
    where: optional boolean mask over ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: label shape mismatch; concrete temperatures out of range;
      ``ignore_index`` with one-hot/soft labels.

  Notes:
    Amid, Warmuth, Anil & Koren's Eq. 8 and Algorithm 1. The reference
    implementation adds 1e-10 to the labels before the tempered log; here the
    ``y log_t y`` term uses the ``0 log 0 = 0`` limit instead.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.log(jnp.array([[0.25, 0.75]]))
    >>> print(jaxloss.bi_tempered_logistic_loss(logits, jnp.array([1]), t1=1.0, t2=1.0))
    0.2877
  """
  x, y, where = _inputs(logits, labels, where, ignore_index)
  dtype = x.dtype
  num_classes = x.shape[-1]
  y = (1.0 - label_smoothing) * y + label_smoothing / num_classes
  t1 = jnp.asarray(t1, dtype)
  t2 = jnp.asarray(t2, dtype)
  p = _tempered_softmax(x, t2, num_iters)
  two = 2.0 - t1
  # y log_t1(y) with the 0 * log 0 = 0 limit (double where on y = 0).
  pos = y > 0
  y_safe = jnp.where(pos, y, 1.0)
  ylogy = jnp.where(pos, y * _log_t(y_safe, t1), 0.0)
  values = (ylogy - y * _log_t(p, t1) - y ** two / two + p ** two / two)
  return reduce_loss(jnp.sum(values, axis=-1), reduction, where=where, weights=weights)

