"""Gradient Harmonizing Mechanism losses (GHM-C, GHM-R; mmdetection 3.x ``ghm_loss.py``).

Each entry is weighted by the inverse density of its *gradient norm* among the entries of
the batch: the many easy examples (tiny gradient) and the few outliers (gradient near 1)
are both down-weighted. The density is a batch statistic, so these losses are not
per-example; the weights are computed without gradient (``stop_gradient``), as in mmdet.
mmdet's ``momentum > 0`` keeps an exponential moving average of the bin counts in a
module buffer; here the accumulator is passed in (``acc_sum=``) and the updated one
returned with ``return_acc_sum=True`` (a pure function).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  broadcast_where,
  check_floating,
  class_labels,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import register

__all__ = ["ghm_c_loss", "ghm_r_loss"]

_GHM = ("Li, Liu & Wang, Gradient Harmonized Single-stage Detector, AAAI 2019 "
        "(arXiv:1811.05181)")


def _harmonizing_weights(g, valid, bins, momentum, acc_sum, dtype):
  """GHM weights ``tot / (density of the entry's bin * nonempty bins)`` and the new accumulator.

  ``g`` (detached gradient norms in [0, 1]) falls in bin ``i`` when
  ``i / bins <= g < (i + 1) / bins``; the last bin is closed (mmdet widens its
  upper edge). The bin is found by comparing with the edges, as mmdet does,
  not by ``floor(g * bins)``, which rounds differently at the edges.
  """
  idx = jnp.zeros(g.shape, jnp.int32)
  for i in range(1, bins):
    idx = idx + (g >= jnp.asarray(i / bins, dtype)).astype(jnp.int32)
  # Masked entries go to an extra slot that is dropped (a scatter-add, not an N x bins one-hot).
  counts = jnp.bincount(jnp.where(valid, idx, bins).ravel(), length=bins + 1)[:bins]
  counts = counts.astype(dtype)
  tot = jnp.maximum(jnp.sum(valid, dtype=dtype), 1.0)
  if acc_sum is None:
    acc = jnp.zeros((bins,), dtype)
  else:
    acc = jnp.asarray(acc_sum).astype(dtype)
    if acc.shape != (bins,):
      raise LossInputError(f"acc_sum has shape {acc.shape}; expected ({bins},) (one running "
                           "count per bin)")
  # EMA of the bin counts over the nonempty bins (momentum = 0: this batch's counts).
  new_acc = jnp.where(counts > 0, momentum * acc + (1.0 - momentum) * counts, acc)
  nonempty = jnp.maximum(jnp.sum(counts > 0, dtype=dtype), 1.0)
  density = jnp.take(new_acc, idx)
  w = nx.safe_div(tot, density * nonempty)
  w = jnp.where(valid, w, 0.0)
  return jax.lax.stop_gradient(w), jax.lax.stop_gradient(new_acc)


def _check_bins(bins):
  if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
    raise LossInputError(f"bins must be a positive int, got {bins!r}")


@register(tasks=("object detection", "imbalanced classification"), input_kind="logits",
          peer="mmdet.models.losses.GHMC (mmdetection 3.x)", references=(_GHM,))
@loss_function(ranges={"momentum": "[0, 1)"}, static=("bins", "return_acc_sum"))
def ghm_c_loss(logits, labels, *, bins=10, momentum=0.0, acc_sum=None, where=None,
               reduction="mean", return_acc_sum=False):
  r"""GHM-C: sigmoid binary cross-entropy weighted by the inverse gradient density.

  .. math::
    \ell_i = \frac{\mathrm{BCE}(x_i, y_i)}{\,n \cdot GD(g_i)/N\,},\qquad
    g_i = |\sigma(x_i) - y_i|

  where :math:`g_i` is the norm of the BCE gradient w.r.t. the logit,
  :math:`GD(g_i)` the number of (unmasked) entries whose :math:`g` falls in the
  same of ``bins`` equal bins of [0, 1] (or its moving average, ``momentum``),
  :math:`n` the number of nonempty bins and :math:`N` the number of unmasked
  entries. ``"mean"`` is :math:`\frac1N \sum_i \ell_i = \frac1n \sum_{b}
  \overline{\mathrm{BCE}}_b`: every nonempty bin counts equally.

  Args:
    logits: floating logits ``(..., C)`` (one sigmoid per entry).
    labels: binary targets of ``logits``'s shape (any real dtype), or integer
      class ids ``(...)`` expanded to one-hot (ids outside ``[0, C)``, e.g.
      mmdet's background id ``C``, are all-negative rows).
    bins: number of gradient-norm bins (default 10; static).
    momentum: moving-average rate of the bin counts in [0, 1) (default 0: this
      batch's counts). With ``momentum > 0`` pass the running counts as
      ``acc_sum``; may be traced.
    acc_sum: running bin counts ``(bins,)`` from the previous step (start from
      zeros; None means zeros). Ignored with ``momentum=0``.
    where: optional boolean mask, broadcastable to ``logits`` (mmdet's
      ``label_weight > 0``); excluded entries are not counted in the density.
    reduction: "mean" (default) | "sum" | "none".
    return_acc_sum: also return the updated running counts ``(bins,)`` (the
      state for the next step), as ``(loss, acc_sum)``.

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape`` (the weighted BCE per entry)
    for "none"; with ``return_acc_sum``, ``(loss, new_acc_sum)``.

  Raises:
    LossInputError: ``labels`` of neither shape; ``acc_sum`` not ``(bins,)``;
      ``bins`` not a positive int; concrete ``momentum`` outside [0, 1).
    LossTypeError: ``logits`` not floating; id-shaped ``labels`` not integer.

  Notes:
    Matches ``mmdet.models.losses.GHMC`` (``use_sigmoid=True``, the only mode
    mmdet implements) in all three reductions: mmdet reduces ``BCE * w`` with
    ``avg_factor = N``, so its ``"mean"`` is ``sum(BCE * w) / N`` (ours), its
    ``"sum"`` and ``"none"`` are ours too. The weights are computed from detached
    probabilities (no gradient flows through the density), the bin edges are
    ``i / bins`` with the last bin closed, and with ``momentum > 0`` the
    running count of a bin is updated only when the batch has entries in it,
    as in mmdet. mmdet's ``label_weight`` only selects entries (its values do
    not scale the loss): that is ``where`` here. The weights depend on the
    whole batch, so ``f(x)[i] != f(x[i])``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[4., -4.], [0.5, -0.2], [-3., 3.]]); y = jnp.array([0, 1, 1])
    >>> print(round(float(jaxloss.ghm_c_loss(x, y)), 4))
    0.6019
    >>> loss, acc = jaxloss.ghm_c_loss(x, y, momentum=0.75, acc_sum=jnp.zeros(10),
    ...                                return_acc_sum=True)
    >>> print(acc.tolist())
    [1.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.25, 0.0, 0.0, 0.0]
  """
  _check_bins(bins)
  check_floating("logits", logits)
  x = jnp.asarray(logits)
  if x.ndim < 1:
    raise LossInputError(f"logits must have a class axis, got shape {x.shape}")
  kind = class_labels(x, labels)
  dtype = nx.compute_dtype(x)
  if kind == "int":
    y = jax.nn.one_hot(jnp.asarray(labels), x.shape[-1], dtype=dtype)  # out of range: zeros
  else:
    y = jnp.asarray(labels).astype(dtype)
  where_b = broadcast_where(where, x.shape)
  x = nx.mask_fill(x.astype(dtype), where_b)
  y = nx.mask_fill(y, where_b)
  valid = jnp.ones(x.shape, bool) if where_b is None else where_b
  g = jnp.abs(jax.nn.sigmoid(jax.lax.stop_gradient(x)) - y)
  w, new_acc = _harmonizing_weights(g, valid, bins, momentum, acc_sum, dtype)
  bce = -(nx.mul_log(y, nx.log_sigmoid(x)) + nx.mul_log(1.0 - y, nx.log_sigmoid(-x)))
  loss = reduce_loss(bce * w, reduction, where=where)
  return (loss, new_acc) if return_acc_sum else loss


@register(tasks=("object detection", "bounding-box regression"), input_kind="values",
          peer="mmdet.models.losses.GHMR (mmdetection 3.x)", references=(_GHM,))
@loss_function(ranges={"mu": "> 0", "momentum": "[0, 1)"}, static=("bins", "return_acc_sum"))
def ghm_r_loss(predictions, targets, *, mu=0.02, bins=10, momentum=0.0, acc_sum=None,
               where=None, reduction="mean", return_acc_sum=False):
  r"""GHM-R: the authentic smooth L1 loss weighted by the inverse gradient density.

  .. math::
    \ell_i = \frac{\sqrt{d_i^2 + \mu^2} - \mu}{\,n \cdot GD(g_i)/N\,},\qquad
    g_i = \frac{|d_i|}{\sqrt{d_i^2 + \mu^2}},\ d_i = \hat y_i - y_i

  :math:`g_i \in [0, 1)` is the norm of the ASL1 gradient; :math:`GD`,
  :math:`n` and :math:`N` are as in :func:`ghm_c_loss` (``bins`` equal bins
  of [0, 1), the density of an entry's bin, the nonempty bins, the unmasked
  entries).

  Args:
    predictions: floating box deltas (or any values), any shape, e.g. ``(N, 4)``.
    targets: regression targets of the same shape.
    mu: the ASL1 smoothing scale > 0 (default 0.02); may be traced.
    bins: number of gradient-norm bins (default 10; static).
    momentum: moving-average rate of the bin counts in [0, 1) (default 0); may
      be traced.
    acc_sum: running bin counts ``(bins,)`` (None means zeros); see
      :func:`ghm_c_loss`.
    where: optional boolean mask, broadcastable to ``predictions`` (mmdet's
      ``label_weight > 0``).
    reduction: "mean" (default) | "sum" | "none".
    return_acc_sum: also return the updated running counts ``(bins,)``.

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` (per coordinate) for
    "none"; with ``return_acc_sum``, ``(loss, new_acc_sum)``.

  Raises:
    LossInputError: shape mismatch; ``acc_sum`` not ``(bins,)``; ``bins``
      not a positive int; concrete ``mu <= 0`` or ``momentum`` outside [0, 1).
    LossTypeError: ``predictions`` not floating.

  Notes:
    Matches ``mmdet.models.losses.GHMR`` (defaults mu = 0.02, bins = 10,
    momentum = 0) in all three reductions (mmdet reduces ``ASL1 * w`` with
    ``avg_factor = N``). With a non-binary ``label_weight`` mmdet's :math:`N`
    is its sum, which cancels in ``"mean"`` (:math:`\sum_i ASL1_i / (n\,
    GD(g_i))` either way) but not in ``"sum"``/``"none"``; here ``where``
    selects entries and :math:`N` is their number. Weights are
    computed without gradient. ASL1 is evaluated as
    :math:`|d| \cdot |d| / (\mathrm{hypot}(d, \mu) + \mu)` (no cancellation at
    small :math:`d`, no overflow at large :math:`d`).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> d = jnp.array([0.0, 0.01, 0.5, 2.0]); t = jnp.zeros(4)
    >>> print(round(float(jaxloss.ghm_r_loss(d, t)), 4))
    0.4109
  """
  _check_bins(bins)
  check_floating("predictions", predictions)
  p = jnp.asarray(predictions)
  if jnp.shape(targets) != p.shape:
    raise LossInputError(f"targets has shape {jnp.shape(targets)} but predictions has shape "
                         f"{p.shape}; expected targets of shape {p.shape}")
  dtype = nx.compute_dtype(p, targets)
  where_b = broadcast_where(where, p.shape)
  p = nx.mask_fill(p.astype(dtype), where_b)
  t = nx.mask_fill(jnp.asarray(targets).astype(dtype), where_b)
  mu = jnp.asarray(mu, dtype)
  d = p - t
  h = jnp.hypot(d, mu)
  asl1 = jnp.abs(d) * (jnp.abs(d) / (h + mu))
  valid = jnp.ones(p.shape, bool) if where_b is None else where_b
  g = jax.lax.stop_gradient(jnp.abs(d) / h)
  w, new_acc = _harmonizing_weights(g, valid, bins, momentum, acc_sum, dtype)
  loss = reduce_loss(asl1 * w, reduction, where=where)
  return (loss, new_acc) if return_acc_sum else loss
