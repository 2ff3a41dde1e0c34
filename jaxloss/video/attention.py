"""Attention-map losses: attention guidance and teacher-student rank preservation.

They align attention maps (a ViT's attention over patches, a CAM, a video
model's spatio-temporal attention) with a target. The survey places them
under image classification (TrojViT's Attention-Target loss, RepQ-ViT's
ranking loss); they live in the video family because they act on the same
kind of dense maps and share nothing with logit-based classification losses,
and their catalog tasks include "image classification" so
``catalog.by_task`` finds them there.

The attention distribution is over the LAST axis; reshape a 2-D map
``(..., H, W)`` to ``(..., H * W)`` first.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    check_broadcastable,
    check_floating,
    check_min_rank,
    check_same_shape,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.embedding.pairs import margin_ranking_loss

__all__ = ["attention_target_loss", "rank_preservation_loss"]

_TROJVIT = ("Zheng, Lou, Jiang, Huang & Wang, TrojViT: Trojan Insertion in Vision Transformers, "
            "CVPR 2023")
_PTQVIT = ("Liu, Wang, Han, Zhang, Ma & Gao, Post-Training Quantization for Vision Transformer, "
           "NeurIPS 2021")
_REPQ = ("Li, Xiao, Liu & Zhang, RepQ-ViT: Scale Reparameterization for Post-Training "
         "Quantization of Vision Transformers, ICCV 2023")
_TASKS = ("attention", "image classification", "video", "model compression")


@register(tasks=_TASKS, input_kind="logits",
          peer="TrojViT attention-target loss (benign use: attention guidance)",
          references=(_TROJVIT, SURVEY))
@loss_function(static=("divergence", "activation"),
               choices={"divergence": ("kl", "mse"), "activation": ("softmax", None)})
def attention_target_loss(predictions, targets, *, divergence="kl", activation="softmax",
                          weights=None, where=None, reduction="mean"):
  r"""Aligns an attention distribution with a normalised target region.

  .. math::
    t = \frac{m}{\sum_j m_j},\qquad
    \ell_{\text{kl}} = \sum_j t_j (\log t_j - \log a_j),\qquad
    \ell_{\text{mse}} = \frac1N \sum_j (a_j - t_j)^2

  with ``m = targets``, ``a = softmax(predictions)`` (``activation="softmax"``,
  attention scores or logits in; computed in log space) or ``a = predictions
  / sum(predictions)`` (``activation=None``: non-negative attention weights or
  a CAM). The benign
  use of TrojViT's Attention-Target loss: guide attention onto a region
  (an annotated object, a saliency mask). A map whose mask is empty
  contributes 0.

  Args:
    predictions: floating attention ``(..., N)`` over ``N`` patches/pixels.
    targets: the target region, a non-negative (binary or soft) mask
      broadcastable to ``predictions``' shape (e.g. ``(B, 1, N)`` against
      ``(B, heads, N)``).
    divergence: "kl" (default, ``KL(t || a)``) | "mse", static.
    activation: "softmax" (default) | None, static.
    weights: optional per-map weights, broadcastable to ``(...)``.
    where: optional boolean mask over maps, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-1]`` for "none".

  Raises:
    LossInputError: ``targets`` does not broadcast to ``predictions``' shape.

  Notes:
    TrojViT's loss raises the attention on trigger patches; here it is
    written as a divergence to a normalised target, as in attention-guidance
    work. The survey's "Attention-Target Loss".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> m = jnp.array([1., 1., 0., 0.])
    >>> print(jaxloss.attention_target_loss(jnp.zeros(4), m),
    ...       jaxloss.attention_target_loss(jnp.array([9., 9., -9., -9.]), m) < 1e-6)
    0.693147 True
  """
  check_floating("predictions", predictions)
  check_min_rank("predictions", predictions, 1, "(..., N)")
  check_broadcastable("targets", targets, shape_of(predictions), "predictions")
  dtype = nx.compute_dtype(predictions)
  a = nx.mask_fill(predictions.astype(dtype), where, trailing=1)
  m = jnp.broadcast_to(jnp.asarray(targets).astype(dtype), a.shape)
  m = nx.mask_fill(m, where, trailing=1)
  total = jnp.sum(m, axis=-1, keepdims=True)
  t = nx.safe_div(m, total)
  if activation == "softmax":
    log_a = jax.nn.log_softmax(a, axis=-1)
    probs = jnp.exp(log_a)
  else:
    probs = nx.safe_div(a, jnp.sum(a, axis=-1, keepdims=True))
    log_a = nx.safe_log(probs)
  if divergence == "kl":
    values = jnp.sum(nx.xlogx(t) - nx.mul_log(t, log_a), axis=-1)
  else:
    values = jnp.mean(jnp.square(probs - t), axis=-1)
  values = jnp.where(total[..., 0] > 0, values, jnp.zeros((), dtype))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_TASKS, input_kind="values",
          peer="Liu et al. 2021 PTQ-ViT ranking loss (the survey's RepQ-ViT ranking loss)",
          references=(_PTQVIT, _REPQ, SURVEY))
@loss_function(ranges={"margin": ">= 0"})
def rank_preservation_loss(predictions, targets, *, margin=0.0, weights=None, where=None,
                           reduction="mean"):
  r"""Keeps the teacher's order of attention scores in the student (pairwise hinge).

  .. math::
    \ell = \frac{1}{|\mathcal P|} \sum_{(i, j) \in \mathcal P}
      \max\big(0,\ \theta - (\hat A_i - \hat A_j)\,\operatorname{sign}(A_i - A_j)\big),
    \quad \mathcal P = \{i < j: A_i \ne A_j\}

  ``A`` is the teacher's (full-precision) attention row (``targets``),
  :math:`\hat A` the student's (quantised; ``predictions``); ``theta = margin``. Every pair term is
  :func:`jaxloss.margin_ranking_loss` with targets ``sign(A_i - A_j)``.
  Teacher ties carry no order and are skipped; no gradient reaches the
  teacher.

  Args:
    predictions: floating ``(..., N)`` attention (scores or probabilities)
      of the student.
    targets: the teacher's, same shape.
    margin: ``theta >= 0`` (default 0.0, torch's margin_ranking_loss default);
      may be traced.
    weights: optional per-row weights, broadcastable to ``(...)``.
    where: optional boolean mask over rows, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` (one value per attention row) for
    "none"; a row without an ordered pair gives 0.

  Raises:
    LossInputError: the shapes differ.

  Notes:
    Liu et al. 2021, Eq. (8), *sums* over heads and pairs; here the pairs of
    each row are averaged (divide by ``N (N - 1) / 2`` to compare). The
    survey credits its "Ranking Loss" to RepQ-ViT; RepQ-ViT itself
    reparameterises scales and cites Liu et al.'s loss.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> t = jnp.array([0.5, 0.3, 0.2])
    >>> print(jaxloss.rank_preservation_loss(t, t),
    ...       jaxloss.rank_preservation_loss(jnp.array([0.2, 0.3, 0.5]), t))
    0.0 0.2
  """
  check_floating("predictions", predictions)
  check_min_rank("predictions", predictions, 1, "(..., N)")
  check_same_shape("predictions", predictions, "targets", targets)
  dtype = nx.compute_dtype(predictions, targets)
  s = nx.mask_fill(predictions.astype(dtype), where, trailing=1)
  t = jax.lax.stop_gradient(
      nx.mask_fill(jnp.asarray(targets).astype(dtype), where, trailing=1))
  n = s.shape[-1]
  order = jnp.sign(t[..., :, None] - t[..., None, :])           # (..., N, N)
  upper = jnp.triu(jnp.ones((n, n), bool), k=1)
  pairs = upper & (order != 0)
  s_i = jnp.broadcast_to(s[..., :, None], order.shape)
  s_j = jnp.broadcast_to(s[..., None, :], order.shape)
  terms = margin_ranking_loss(s_i, s_j, jnp.where(pairs, order, 1.0), margin=margin,
                              where=pairs, reduction="none")
  count = jnp.sum(pairs, axis=(-2, -1)).astype(dtype)
  values = nx.safe_div(jnp.sum(terms, axis=(-2, -1)), count)
  return reduce_loss(values, reduction, where=where, weights=weights)
