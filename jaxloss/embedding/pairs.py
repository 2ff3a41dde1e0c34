"""Pair and triplet losses: explicit tuples (per-example) and the mined batch triplet loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_same_shape,
  debug_check_in_set,
  loss_function,
  paired_inputs,
  reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.embedding._common import (
  _PML,
  _batch_inputs,
  _distances,
  _label_masks,
  _ndim,
  _reduce_anchors,
)

__all__ = ["contrastive_loss", "cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss",
           "reid_loss", "triplet_loss", "triplet_margin_loss"]


# --------------------------------------------------------------------------
# Pair and triplet losses over explicit tuples (per-example).
# --------------------------------------------------------------------------


@register(tasks=("metric learning", "action recognition", "face verification",
                 "object tracking", "re-identification"),
          input_kind="embeddings", peer="tfa.losses.contrastive_loss (y d^2 + (1-y) [m-d]_+^2)",
          references=("Hadsell, Chopra, LeCun, Dimensionality Reduction by Learning an "
                      "Invariant Mapping, CVPR 2006", SURVEY))
@loss_function(ranges={"margin": ">= 0"})
def contrastive_loss(x1, x2, labels, *, margin=1.0, weights=None, where=None,
                     reduction="mean"):
  r"""Contrastive pair loss (Hadsell et al.): pull similar pairs, push dissimilar ones.

  .. math::
    \ell_i = y_i\, d_i^2 + (1 - y_i)\, \max(0, m - d_i)^2,\qquad
    d_i = \|x_{1,i} - x_{2,i}\|_2

  ``labels`` is 1 for a similar pair and 0 for a dissimilar one (the survey's
  and TensorFlow Addons' convention; Hadsell et al. write ``Y = 0`` for
  similar and put a factor 1/2 on both terms). ``d^2`` is computed without a
  square root, and ``d`` with a safe one, so identical embeddings have a
  finite (zero) gradient.

  Args:
    x1: floating ``[..., D]``.
    x2: same shape.
    labels: ``[...]``, 1 = similar, 0 = dissimilar (float or int).
    margin: >= 0 (default 1.0); may be traced.
    weights: optional per-pair weights, broadcastable to ``[...]``.
    where: optional boolean mask over pairs, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``labels.shape`` for "none".

  Raises:
    LossInputError: ``x2`` or ``labels`` shape does not match ``x1``.

  Notes:
    ``tfa.losses.contrastive_loss`` takes the distances ``d``; this takes the
    two embeddings. The survey lists it as "Contrastive Loss" (action
    recognition, tracking).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0.], [0., 0.]]); b = jnp.array([[1., 0.], [1., 0.]])
    >>> print(jaxloss.contrastive_loss(a, b, jnp.array([1., 0.]), margin=1.5, reduction="none"))
    [1.   0.25]
  """
  check_floating("x1", x1)
  check_same_shape("x1", x1, "x2", x2)
  if tuple(jnp.shape(labels)) != x1.shape[:-1]:
    raise LossInputError(
        f"labels has shape {tuple(jnp.shape(labels))}; expected {x1.shape[:-1]} "
        f"(x1 has shape {tuple(x1.shape)})")
  debug_check_in_set("labels", labels, (0, 1))
  dtype = nx.compute_dtype(x1, x2)
  diff = nx.mask_fill(x1.astype(dtype) - jnp.asarray(x2).astype(dtype), where, trailing=1)
  d2 = jnp.sum(diff * diff, axis=-1)
  d = nx.safe_sqrt(d2)
  y = jnp.asarray(labels).astype(dtype)
  values = y * d2 + (1.0 - y) * jnp.square(jax.nn.relu(margin - d))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("learning to rank", "image classification", "metric learning"),
          input_kind="values", peer="torch.nn.functional.margin_ranking_loss",
          references=("torch.nn.MarginRankingLoss", SURVEY))
@loss_function
def margin_ranking_loss(x1, x2, labels, *, margin=0.0, weights=None, where=None,
                        reduction="mean"):
  r"""Margin ranking loss: ``x1`` should rank above ``x2`` where ``y = 1``.

  .. math::
    \ell_i = \max(0, -y_i (x_{1,i} - x_{2,i}) + m)

  Args:
    x1: floating scores, any shape.
    x2: same shape.
    labels: same shape, +1 (``x1`` ranks higher) or -1 (torch's ``target``).
    margin: default 0.0 (torch's default); may be traced.
    weights: optional per-entry weights.
    where: optional boolean mask, broadcastable to the inputs.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; the input shape for "none".

  Raises:
    LossInputError: shapes differ.

  Notes:
    torch's ``(input1, input2, target)`` are ``(x1, x2, labels)`` here. The
    survey lists it as "Ranking Loss" (image classification, RepQ-ViT).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.margin_ranking_loss(jnp.array([1., 0.]), jnp.array([0., 1.]),
    ...                                   jnp.array([1., 1.]), margin=0.5))
    0.75
  """
  a, b = paired_inputs(x1, x2, where, names=("x1", "x2"))
  check_same_shape("x1", x1, "labels", labels)
  debug_check_in_set("labels", labels, (-1, 1))
  y = jnp.asarray(labels).astype(a.dtype)
  values = jax.nn.relu(-y * (a - b) + margin)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("metric learning", "semi-supervised learning"),
          input_kind="values", peer="torch.nn.functional.hinge_embedding_loss",
          references=("torch.nn.HingeEmbeddingLoss",))
@loss_function
def hinge_embedding_loss(distances, labels, *, margin=1.0, weights=None, where=None,
                         reduction="mean"):
  r"""Hinge embedding loss on distances (or any non-negative dissimilarity).

  .. math::
    \ell_i = \begin{cases} x_i & y_i = 1 \\ \max(0, m - x_i) & y_i = -1 \end{cases}

  Labels other than +-1 contribute 0 here and raise under ``chex.chexify``.

  Args:
    distances: floating array (pairwise distances or any non-negative
      dissimilarity), any shape.
    labels: same shape, +1 (similar) / -1 (dissimilar).
    margin: default 1.0 (torch's); may be traced.
    weights: optional per-entry weights.
    where: optional boolean mask, broadcastable to the inputs.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; the input shape for "none".

  Raises:
    LossInputError: shapes differ.

  Notes:
    torch's ``(input, target)`` are ``(distances, labels)`` here.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.hinge_embedding_loss(jnp.array([0.3, 0.3]), jnp.array([1., -1.])))
    0.5
  """
  check_floating("distances", distances)
  check_same_shape("distances", distances, "labels", labels)
  debug_check_in_set("labels", labels, (-1, 1))
  dtype = nx.compute_dtype(distances)
  x = nx.mask_fill(distances.astype(dtype), where)
  y = jnp.asarray(labels)
  values = (jnp.where(y == 1, x, 0.0)
            + jnp.where(y == -1, jax.nn.relu(margin - x), 0.0))
  return reduce_loss(values, reduction, where=where, weights=weights)


def _lp_distance(diff, p):
  """``||diff||_p`` along the last axis with a finite gradient at 0."""
  if p == 2:
    return nx.safe_norm(diff)
  if p == 1:
    return jnp.sum(jnp.abs(diff), axis=-1)
  if p == jnp.inf:
    return nx.max_select(jnp.abs(diff), axis=-1)
  # |diff| (not diff) ** p: a signed power is wrong for odd p (mlx#3613).
  return nx.safe_norm(jnp.abs(diff), ord=p)


@register(tasks=("metric learning", "object tracking", "re-identification",
                 "face recognition"),
          input_kind="embeddings",
          peer="torch.nn.functional.triplet_margin_loss; optax.losses.triplet_margin_loss",
          references=("Schroff, Kalenichenko, Philbin, FaceNet, CVPR 2015",
                      "Balntas et al., Learning local feature descriptors with triplets "
                      "and shallow CNNs, BMVC 2016 (swap)"))
@loss_function(static=("p", "swap"), ranges={"margin": ">= 0", "p": "> 0", "eps": ">= 0"})
def triplet_margin_loss(anchors, positives, negatives, *, margin=1.0, p=2, eps=1e-6,
                        swap=False, weights=None, where=None, reduction="mean"):
  r"""Triplet margin loss over explicit (anchor, positive, negative) triplets.

  .. math::
    \ell_i = \max(0,\ d(a_i, p_i) - d(a_i, n_i) + m),\qquad
    d(x, y) = \|x - y + \epsilon\|_p

  ``eps`` is added to the difference *before* the norm, exactly as torch's
  ``pairwise_distance``. With ``swap=True`` the negative distance is
  ``min(d(a, n), d(p, n))`` (Balntas et al.). The p-norm takes ``|x - y|``
  (correct for odd ``p``), and its gradient is finite where the difference is 0.

  Args:
    anchors: floating ``[..., D]``.
    positives: same shape.
    negatives: same shape.
    margin: >= 0 (default 1.0); may be traced.
    p: norm degree > 0 (default 2), static.
    eps: added to the difference (default 1e-6).
    swap: use the distance swap (default False), static.
    weights: optional per-triplet weights, broadcastable to ``[...]``.
    where: optional boolean mask over triplets, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``anchors.shape[:-1]`` for "none".

  Raises:
    LossInputError: ``positives``/``negatives`` shape differs from ``anchors``.

  Notes:
    Matches torch's names, defaults and eps placement.
    ``optax.losses.triplet_margin_loss`` puts eps inside the root instead; the
    two differ by ~1e-6.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[0., 0.]]); p = jnp.array([[0., 1.]]); n = jnp.array([[0., 1.5]])
    >>> print(jaxloss.triplet_margin_loss(a, p, n, eps=0.0))
    0.5
  """
  check_floating("anchors", anchors)
  check_same_shape("anchors", anchors, "positives", positives)
  check_same_shape("anchors", anchors, "negatives", negatives)
  dtype = nx.compute_dtype(anchors, positives, negatives)
  a = nx.mask_fill(anchors.astype(dtype), where, trailing=1)
  pp = nx.mask_fill(jnp.asarray(positives).astype(dtype), where, trailing=1)
  n = nx.mask_fill(jnp.asarray(negatives).astype(dtype), where, trailing=1)
  d_ap = _lp_distance(a - pp + eps, p)
  d_an = _lp_distance(a - n + eps, p)
  if swap:
    d_an = jnp.minimum(d_an, _lp_distance(pp - n + eps, p))
  values = jax.nn.relu(d_ap - d_an + margin)
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Batch (mined) losses: set-level, one distance/similarity matrix + masks.
# --------------------------------------------------------------------------


def _triplet_per_anchor(d, pos, neg, margin, mining, soft_margin):
  """Per-anchor triplet losses and the anchors that have a valid triplet."""
  hinge = jax.nn.softplus if soft_margin else jax.nn.relu
  has_pos = jnp.any(pos, axis=1)
  has_neg = jnp.any(neg, axis=1)
  ok = has_pos & has_neg
  if mining == "hard":
    # Masked entries are replaced by constants, so they get no gradient.
    far = jax.lax.stop_gradient(jnp.max(d)) + 1.0
    d_ap = nx.max_select(jnp.where(pos, d, 0.0), axis=1)
    d_an = nx.min_select(jnp.where(neg, d, far), axis=1)
    return hinge(d_ap - d_an + margin), ok
  t = d[:, :, None] - d[:, None, :] + margin          # [anchor, positive, negative]
  valid = pos[:, :, None] & neg[:, None, :]
  if mining == "all":
    h = jnp.where(valid, hinge(t), 0.0)
    # pytorch-metric-learning's AvgNonZeroReducer: average over active triplets.
    active = valid & (t > 0) if not soft_margin else valid
    count = jnp.sum(active, axis=(1, 2)).astype(d.dtype)
    return nx.safe_div(jnp.sum(h, axis=(1, 2)), count), ok
  # Semi-hard (FaceNet; TF-Addons convention): for each (a, p) the closest
  # negative farther than the positive; if none, the farthest negative.
  d_an = jnp.broadcast_to(d[:, None, :], t.shape)
  outside = valid & (d_an > d[:, :, None])
  far = jax.lax.stop_gradient(jnp.max(d)) + 1.0
  semi = nx.min_select(jnp.where(outside, d_an, far), axis=2)
  hardest = nx.max_select(jnp.where(valid, d_an, 0.0), axis=2)
  chosen = jnp.where(jnp.any(outside, axis=2), semi, hardest)
  per_pair = jnp.where(pos, hinge(d - chosen + margin), 0.0)
  n_pos = jnp.sum(pos, axis=1).astype(d.dtype)
  return nx.safe_div(jnp.sum(per_pair, axis=1), n_pos), ok


@register(tasks=("metric learning", "re-identification", "object tracking",
                 "face recognition", "image retrieval"),
          peer="pytorch_metric_learning.losses.TripletMarginLoss (mining='all'); "
               "tfa.losses.TripletHardLoss / TripletSemiHardLoss",
          references=("Hermans, Beyer, Leibe, In Defense of the Triplet Loss for Person "
                      "Re-Identification, arXiv:1703.07737, 2017",
                      "Schroff, Kalenichenko, Philbin, FaceNet, CVPR 2015", _PML),
          input_kind="embeddings")
@loss_function(static=("mining", "normalize", "squared", "soft_margin"),
               choices={"mining": ("all", "hard", "semi-hard")},
               ranges={"margin": ">= 0"})
def triplet_loss(embeddings, labels, *, mining="all", margin=0.05, normalize=True,
                 squared=False, soft_margin=False, weights=None, where=None,
                 reduction="mean"):
  r"""Batch triplet loss with online mining (batch-all, batch-hard, semi-hard).

  .. math::
    \text{all:}\ \ell_a = \frac{\sum_{p,n} [d_{ap} - d_{an} + m]_+}
      {|\{(p,n): d_{ap} - d_{an} + m > 0\}|},\quad
    \text{hard:}\ \ell_a = [\max_p d_{ap} - \min_n d_{an} + m]_+,\quad
    \text{semi-hard:}\ \ell_a = \frac{1}{|P_a|}\sum_p [d_{ap} - d_{an^*(p)} + m]_+

  where ``p`` ranges over the anchor's positives (same label, not itself),
  ``n`` over its negatives, and ``n*(p)`` is the closest negative with
  ``d_an > d_ap`` (or the farthest negative when there is none, as in
  ``tfa.losses.TripletSemiHardLoss``). ``soft_margin=True`` replaces
  ``[x]_+`` by ``softplus(x)`` (Hermans et al.'s soft margin) and averages
  batch-all over all valid triplets.

  Everything is computed from one ``[N, N]`` distance matrix with masks.
  Defaults follow pytorch-metric-learning's ``TripletMarginLoss``
  (``margin=0.05`` on L2-normalised embeddings); for Hermans et al.'s
  batch-hard use ``mining="hard", normalize=False, margin=0.3`` (or
  ``soft_margin=True``).

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]`` class ids.
    mining: "all" (default) | "hard" | "semi-hard", static.
    margin: >= 0 (default 0.05); may be traced.
    normalize: L2-normalise the embeddings first (default True), static.
    squared: use squared distances (default False), static.
    soft_margin: softplus instead of the hinge (default False), static.
    weights: optional per-anchor weights ``[N]``.
    where: optional boolean ``[N]``; False rows are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss: the scalar mean (or sum) over the anchors that have at
    least one positive and one negative; "none" gives the per-anchor values
    ``[N]`` (0 for anchors without a valid triplet). A batch with no valid
    triplet gives 0 with a zero gradient.

  Raises:
    LossInputError: ``embeddings`` not ``[N, D]`` or ``labels`` not ``[N]``;
      unknown ``mining``.
    LossTypeError: integer ``embeddings`` or floating ``labels``.

  Notes:
    Hermans et al. give batch-all, batch-hard and the soft margin; Schroff et
    al. the semi-hard choice. ``mining="all"`` averages over the anchor's active
    triplets; pytorch-metric-learning's ``TripletMarginLoss`` (AvgNonZero
    reducer) averages over all active triplets of the batch, which is the same
    when the anchors have equally many active triplets. ``"hard"`` matches
    ``tfa.losses.TripletHardLoss``; ``"semi-hard"`` uses TF-Addons' negative
    choice with a per-anchor mean over positives.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0., 0.], [0., 1.], [0., 1.5], [0., 3.]])
    >>> y = jnp.array([0, 0, 1, 1])
    >>> print(jaxloss.triplet_loss(x, y, mining="hard", margin=1.0, normalize=False,
    ...                            reduction="none"))
    [0.5 1.5 2.  0.5]
  """
  x, valid, _ = _batch_inputs(embeddings, labels, where, normalize)
  d = _distances(x, squared)
  pos, neg = _label_masks(labels, valid)
  values, ok = _triplet_per_anchor(d, pos, neg, margin, mining, soft_margin)
  return _reduce_anchors(values, ok & valid, reduction, weights)


@register(tasks=("re-identification", "object tracking"),
          input_kind="embeddings",
          peer="fast-reid / BoT baseline (CrossEntropyLabelSmooth + TripletLoss(hard))",
          references=("Luo et al., Bag of Tricks and A Strong Baseline for Deep Person "
                      "Re-identification, CVPRW 2019",
                      "Hermans, Beyer, Leibe, In Defense of the Triplet Loss for Person "
                      "Re-Identification, arXiv:1703.07737, 2017", SURVEY),
          components=("ce", "triplet"))
@loss_function(static=("return_components", "normalize"),
               ranges={"label_smoothing": "[0, 1]", "margin": ">= 0"})
def reid_loss(embeddings, labels, logits, *, label_smoothing=0.1, margin=0.3, ce_weight=1.0,
              triplet_weight=1.0, normalize=False, return_components=False, weights=None,
              where=None, reduction="mean"):
  r"""Re-identification loss: label-smoothed cross-entropy + batch-hard triplet.

  .. math::
    \ell_i = w_{ce}\Big(-\sum_c q_{ic} \log \operatorname{softmax}(z_i)_c\Big)
      + w_{tri}\, [\max_p d_{ip} - \min_n d_{in} + m]_+,\quad
    q_{ic} = (1 - \varepsilon)\,[c = y_i] + \varepsilon / C

  The "BoT" re-ID baseline (Luo et al.; Hermans et al.'s batch-hard triplet on
  raw features, margin 0.3, label smoothing 0.1).

  Args:
    embeddings: floating ``[N, D]`` features (the triplet term).
    labels: integer ``[N]`` identities.
    logits: floating ``[N, C]`` identity logits (the CE term).
    label_smoothing: epsilon in [0, 1] (default 0.1); may be traced.
    margin: triplet margin (default 0.3); may be traced.
    ce_weight: weight of the cross-entropy term (default 1.0); may be traced.
    triplet_weight: weight of the triplet term (default 1.0); may be traced.
    normalize: L2-normalise the embeddings for the triplet term (default
      False), static.
    return_components: also return the unweighted parts ``{"ce": ...,
      "triplet": ...}`` (reduced like the total), static; default False.
    weights: optional per-example weights ``[N]`` (both terms).
    where: optional boolean ``[N]``; False rows are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    Set-level (the triplet term depends on the batch). "mean": ``ce_weight``
    times the mean CE plus ``triplet_weight`` times the mean triplet term over
    valid anchors; "sum": the same with sums; "none": per-example ``[N]``.
    With ``return_components=True`` a tuple ``(total, {"ce": ..., "triplet":
    ...})``, the parts unweighted and reduced like the total.

  Raises:
    LossInputError: inconsistent shapes.

  Notes:
    The two parts match ``jaxloss.triplet_loss(mining="hard",
    normalize=False)`` and ``torch.nn.functional.cross_entropy(
    label_smoothing=0.1)``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0., 0.], [0., 1.], [0., 1.5], [0., 3.]])
    >>> z = jnp.zeros((4, 2)); y = jnp.array([0, 0, 1, 1])
    >>> total, parts = jaxloss.reid_loss(x, y, z, margin=1.0, return_components=True)
    >>> print(total, parts["triplet"])
    1.818147 1.125
  """
  x, valid, dtype = _batch_inputs(embeddings, labels, where, normalize)
  check_floating("logits", logits)
  if _ndim(logits) != 2 or logits.shape[0] != x.shape[0]:
    raise LossInputError(
        f"logits has shape {tuple(jnp.shape(logits))}; expected ({x.shape[0]}, C)")
  z = nx.mask_fill(logits.astype(dtype), valid, trailing=1)
  c = z.shape[1]
  logp = jax.nn.log_softmax(z, axis=-1)
  q = (1.0 - label_smoothing) * jax.nn.one_hot(labels, c, dtype=dtype) + label_smoothing / c
  ce = -jnp.sum(q * logp, axis=-1)
  pos, neg = _label_masks(labels, valid)
  trip, ok = _triplet_per_anchor(_distances(x), pos, neg, margin, "hard", False)
  ok = ok & valid
  trip = jnp.where(ok, trip, 0.0)
  ce_r = reduce_loss(ce, reduction, where=valid, weights=weights)
  trip_r = reduce_loss(trip, reduction, where=ok, weights=weights)
  total = ce_weight * ce_r + triplet_weight * trip_r
  if return_components:
    return total, {"ce": ce_r, "triplet": trip_r}
  return total


@register(tasks=("metric learning", "similarity learning"),
          input_kind="embeddings", peer="torch.nn.functional.cosine_embedding_loss",
          references=("torch.nn.CosineEmbeddingLoss",))
@loss_function(ranges={"margin": "[-1, 1]"})
def cosine_embedding_loss(x1, x2, labels, *, margin=0.0, weights=None,
                          where=None, reduction="mean"):
  r"""Cosine embedding loss for similar (+1) and dissimilar (-1) pairs.

  .. math::
    \ell_i = \begin{cases} 1 - \cos(x_{1,i}, x_{2,i}) & y_i = 1 \\
             \max(0, \cos(x_{1,i}, x_{2,i}) - m) & y_i = -1 \end{cases},\quad
    \cos = \frac{x_1\cdot x_2}{\sqrt{(\|x_1\|^2 + 10^{-12})(\|x_2\|^2 + 10^{-12})}}

  Labels other than +-1 contribute 0 (as in torch); under ``chex.chexify``
  they raise.

  Args:
    x1: floating ``[..., D]``.
    x2: floating ``[..., D]``, same shape.
    labels: ``[...]`` of +1 / -1.
    margin: in [-1, 1] (default 0.0); may be traced.
    weights: optional per-pair weights, broadcastable to ``[...]``.
    where: optional boolean mask over pairs, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``labels.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``margin`` outside [-1, 1].

  Notes:
    Matches torch's definition exactly, including its ``1e-12`` added to each
    squared norm; torch's ``(input1, input2, target)`` are ``(x1, x2,
    labels)`` here.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[1., 0.], [1., 0.]]); b = jnp.array([[1., 1.], [1., 1.]])
    >>> print(jaxloss.cosine_embedding_loss(a, b, jnp.array([1., -1.]), reduction="none"))
    [0.292893 0.707107]
  """
  a, b = paired_inputs(x1, x2, where, names=("x1", "x2"), trailing=1)
  if tuple(jnp.shape(labels)) != x1.shape[:-1]:
    raise LossInputError(
        f"labels has shape {jnp.shape(labels)}; expected {x1.shape[:-1]} "
        f"(x1 has shape {x1.shape})")
  debug_check_in_set("labels", labels, (-1, 1))
  y = jnp.asarray(labels)
  prod = jnp.sum(a * b, axis=-1)
  den = jnp.sqrt((jnp.sum(a * a, -1) + 1e-12) * (jnp.sum(b * b, -1) + 1e-12))
  cos = prod / den
  values = jnp.where(y == 1, 1.0 - cos, 0.0)
  values = values + jnp.where(y == -1, jnp.maximum(cos - margin, 0.0), 0.0)
  return reduce_loss(values, reduction, where=where, weights=weights)
