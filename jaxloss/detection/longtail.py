"""Long-tailed detection classification: Seesaw loss (mmdetection 3.x ``seesaw_loss.py``).

mmdet's ``SeesawLoss`` is a module with a buffer of cumulative class counts that it
updates inside ``forward``. Here the loss is a pure function: the caller keeps the
counts (e.g. in the training state), updates them with :func:`update_class_counts`
*before* the loss call of each step, as mmdet does, and passes them in.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  LossTypeError,
  broadcast_where,
  check_floating,
  check_integer,
  debug_check_labels,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import register

__all__ = ["seesaw_loss", "update_class_counts"]

_SEESAW = ("Wang et al., Seesaw Loss for Long-Tailed Instance Segmentation, CVPR 2021 "
           "(arXiv:2008.10032)")


def update_class_counts(cum_samples, labels, *, where=None):
  """Adds the occurrences of each class id in ``labels`` to the cumulative counts.

  The state update of :func:`seesaw_loss` (mmdet's ``SeesawLoss.cum_samples``
  buffer, which mmdet updates at the start of every forward pass, before the
  loss is computed).

  Args:
    cum_samples: counts ``(K,)`` (any real or integer dtype; start from zeros).
    labels: integer class ids, any shape. Ids outside ``[0, K)`` are not counted
      (with ``K = C + 1`` mmdet's background id ``C`` is counted in the last
      slot, as in mmdet's buffer of ``num_classes + 1`` entries).
    where: optional boolean mask of ``labels``'s shape; excluded ids are not
      counted.

  Returns:
    The new counts, ``cum_samples``'s shape and dtype.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> counts = jnp.zeros(4)
    >>> counts = jaxloss.update_class_counts(counts, jnp.array([0, 0, 2, 3, 3, 3]))
    >>> print(counts.tolist())
    [2.0, 0.0, 1.0, 3.0]
  """
  counts = jnp.asarray(cum_samples)
  if not jnp.issubdtype(jnp.asarray(labels).dtype, jnp.integer):
    raise LossTypeError(f"update_class_counts: labels must be an integer array, got dtype "
                        f"{jnp.asarray(labels).dtype}")
  if counts.ndim != 1:
    raise LossInputError(f"update_class_counts: cum_samples has shape {counts.shape}; "
                         "expected (K,) (one count per class)")
  hits = jnp.asarray(labels)[..., None] == jnp.arange(counts.shape[0])
  if where is not None:
    where = broadcast_where(where, jnp.shape(labels))
    hits = hits & where[..., None]
  added = jnp.sum(hits.reshape(-1, counts.shape[0]), axis=0)
  return counts + added.astype(counts.dtype)


@register(tasks=("object detection", "instance segmentation", "long-tailed recognition"),
          input_kind="logits", peer="mmdet.models.losses.SeesawLoss (mmdetection 3.x)",
          references=(_SEESAW,), components=("classes", "objectness"))
@loss_function(ranges={"p": ">= 0", "q": ">= 0", "eps": "> 0"},
               static=("objectness", "return_components"))
def seesaw_loss(logits, labels, cum_samples, *, p=0.8, q=2.0, eps=1e-2, objectness=True,
                weights=None, where=None, reduction="mean", return_components=False):
  r"""Seesaw loss: softmax cross-entropy whose negative-class logits are re-weighted
  by class frequency (mitigation) and by misclassification (compensation).

  .. math::
    \ell_i = -\log \frac{e^{x_{ik}}}{e^{x_{ik}} + \sum_{j \ne k} S_{kj}\, e^{x_{ij}}},
    \qquad S_{kj} = M_{kj}\, C_{ij}

  for a sample :math:`i` of class :math:`k`, with the mitigation factor
  :math:`M_{kj} = \min(1, N_j / N_k)^{p}` (:math:`N` the cumulative class
  counts, clamped to >= 1: a frequent class :math:`k` pushes a rarer class
  :math:`j` down less) and the compensation factor
  :math:`C_{ij} = \max\big(1, \sigma_{ij} / \max(\sigma_{ik}, \epsilon)\big)^{q}`
  (:math:`\sigma_i = \mathrm{softmax}(x_i)`, not differentiated: a class that
  outscores the true one is penalised more).

  With ``objectness=True`` (default, mmdet's ``SeesawLoss``) the logits are
  mmdet's ``C + 2`` channels: ``C`` class logits, then 2 objectness logits
  (foreground, background). The seesaw term applies to foreground samples
  (labels in ``[0, C)``) over the ``C`` class logits; every sample adds a
  2-way softmax cross-entropy on the objectness logits (target foreground, or
  background for label ``C``). With ``objectness=False`` the logits are plain
  ``K``-way class scores and every sample gets the seesaw term (a detector
  whose background is an ordinary last class, or image classification).

  Args:
    logits: floating logits ``(..., C + 2)`` (``objectness=True``) or
      ``(..., K)`` (``objectness=False``).
    labels: integer ids ``(...)``: in ``[0, C]`` with ``C`` background
      (``objectness=True``), in ``[0, K)`` otherwise.
    cum_samples: cumulative counts of each class so far, ``(C,)`` (or mmdet's
      ``(C + 1,)`` buffer, whose last, background, entry is ignored) with
      objectness, ``(K,)`` without; include the current batch (see
      :func:`update_class_counts`). Not differentiated.
    p: mitigation exponent >= 0 (default 0.8; 0 turns it off); may be traced.
    q: compensation exponent >= 0 (default 2.0; 0 turns it off); may be traced.
    eps: floor of the true class's probability in the compensation ratio > 0
      (default 1e-2); may be traced.
    objectness: whether the last 2 logits are mmdet's objectness branch
      (default True).
    weights: optional per-sample weights (mmdet's ``label_weights``),
      broadcastable to ``(...)``.
    where: optional boolean mask over samples, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".
    return_components: also return ``{"classes": ..., "objectness": ...}``
      (mmdet's ``loss_cls_classes`` and ``loss_cls_objectness``), reduced like
      the total (``objectness`` is 0 with ``objectness=False``).

  Returns:
    A scalar for "mean"/"sum"; ``(...)`` (per sample) for "none"; with
    ``return_components``, ``(total, parts)``.

  Raises:
    LossInputError: ``labels`` not of shape ``logits.shape[:-1]``;
      ``cum_samples`` of the wrong length; fewer than 3 logits with
      objectness; concrete ``p`` or ``q`` < 0 or ``eps`` <= 0.
    LossTypeError: ``logits`` not floating, ``labels`` not integer.

  Notes:
    Matches ``mmdet.models.losses.SeesawLoss`` (``objectness=True``) and its
    ``seesaw_ce_loss`` (``objectness=False``), with mmdet's defaults (p = 0.8,
    q = 2, eps = 1e-2). Normalisation: ``"mean"`` divides both parts by the
    number of (unmasked) samples, as mmdet's ``BBoxHead`` does by passing
    ``avg_factor`` = the number of samples with positive weight. Called
    without ``avg_factor``, mmdet averages the class part over the foreground
    samples only (``reduction="sum"`` and your own divisor reproduce it). The
    counts are a state: mmdet adds the batch's labels to its buffer inside
    ``forward``; here the caller does it, before the call, with
    :func:`update_class_counts`. The factors are applied in log space
    (:math:`x_{ij} + \log S_{kj}`), so saturated logits stay finite. Label ids
    are checked under ``jaxloss.set_checks``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[2., 0., -1., 1.5, 0.], [0., 3., 0., 0., 1.]])   # C = 3, + 2
    >>> labels = jnp.array([0, 3])                                       # 3: background
    >>> counts = jnp.array([100., 10., 1.])
    >>> total, parts = jaxloss.seesaw_loss(x, labels, counts, reduction="none",
    ...                                    return_components=True)
    >>> print([round(v, 4) for v in total.tolist()])
    [0.2239, 0.3133]
    >>> print([round(v, 4) for v in parts["classes"].tolist()])
    [0.0224, 0.0]
  """
  check_floating("logits", logits)
  check_integer("labels", labels)
  x = jnp.asarray(logits)
  if x.ndim < 1:
    raise LossInputError(f"logits must have a class axis, got shape {x.shape}")
  lead = x.shape[:-1]
  if jnp.shape(labels) != lead:
    raise LossInputError(
        f"labels has shape {jnp.shape(labels)} but logits has shape {x.shape}; expected "
        f"integer labels of shape {lead} (one class id per sample)")
  k = x.shape[-1]
  if objectness and k < 3:
    raise LossInputError(f"logits has shape {x.shape}; with objectness=True expected "
                         "(..., C + 2) with C >= 1 (C class logits, then 2 objectness logits)")
  num_classes = k - 2 if objectness else k
  counts = jnp.asarray(cum_samples)
  allowed = (num_classes, num_classes + 1) if objectness else (num_classes,)
  if counts.ndim != 1 or counts.shape[0] not in allowed:
    raise LossInputError(
        f"cum_samples has shape {counts.shape} but logits has shape {x.shape}; expected "
        + " or ".join(f"({n},)" for n in allowed) + " (cumulative counts per class)")
  dtype = nx.compute_dtype(x)
  where_b = broadcast_where(where, lead)
  x = nx.mask_fill(x.astype(dtype), where_b, trailing=1)
  labels = jnp.asarray(labels)
  # Masked samples may hold any id (e.g. an ignore id): only the unmasked ones are checked.
  debug_check_labels(labels if where_b is None else jnp.where(where_b, labels, 0),
                     num_classes + 1 if objectness else num_classes)
  counts = jax.lax.stop_gradient(counts[:num_classes].astype(dtype))

  cls = x[..., :num_classes]
  label = jnp.clip(labels, 0, num_classes - 1)
  onehot = jnp.arange(num_classes) == label[..., None]
  # Mitigation, log M_kj = p * min(log N_j - log N_k, 0), counts clamped to >= 1 (mmdet).
  log_n = jnp.log(jnp.maximum(counts, 1.0))
  log_mit = p * jnp.minimum(log_n - jnp.take(log_n, label)[..., None], 0.0)
  # Compensation from the detached probabilities: q * max(log s_j - log max(s_k, eps), 0).
  logp = jax.lax.stop_gradient(jax.nn.log_softmax(cls, axis=-1))
  log_self = jnp.maximum(nx.take_along_last(logp, label), jnp.log(jnp.asarray(eps, dtype)))
  log_comp = q * jnp.maximum(logp - log_self[..., None], 0.0)
  adjusted = cls + jnp.where(onehot, 0.0, log_mit + log_comp)
  # Every adjusted logit is finite (the log-factors are), so the plain logsumexp is safe.
  ce_cls = jax.nn.logsumexp(adjusted, axis=-1) - nx.take_along_last(cls, label)

  if objectness:
    fg = (labels >= 0) & (labels < num_classes)
    ce_cls = jnp.where(fg, ce_cls, 0.0)
    obj_logp = jax.nn.log_softmax(x[..., num_classes:], axis=-1)
    ce_obj = -jnp.where(fg, obj_logp[..., 0], obj_logp[..., 1])
  else:
    ce_obj = jnp.zeros_like(ce_cls)

  total = reduce_loss(ce_cls + ce_obj, reduction, where=where, weights=weights)
  if not return_components:
    return total
  parts = {"classes": reduce_loss(ce_cls, reduction, where=where, weights=weights),
           "objectness": reduce_loss(ce_obj, reduction, where=where, weights=weights)}
  return total, parts
