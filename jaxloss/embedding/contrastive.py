"""Softmax/sigmoid contrastive losses: InfoNCE, NT-Xent, SupCon, CLIP, SigLIP.

All are computed from one similarity matrix with masks (self-pairs and
excluded samples are masked inside a log-sum-exp that is ``-inf`` with a zero
gradient on empty rows). Embeddings are L2-normalised by default
(``normalize=True``), so logits are bounded by ``1 / temperature`` and a tiny
temperature with huge embedding norms stays finite. Temperatures and the
SigLIP bias may be traced arrays (learnable).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_rank,
  check_same_shape,
  loss_function,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.embedding._common import (
  _PML,
  _batch_inputs,
  _label_masks,
  _reduce_anchors,
  row_mask,
)

__all__ = ["clip_loss", "infonce_loss", "nt_xent_loss", "siglip_loss", "supcon_loss"]

_CLIP = ("Radford et al., Learning Transferable Visual Models From Natural Language "
         "Supervision (CLIP), ICML 2021")


def _two_views(name1, a, name2, b, where, normalize):
  """Validates two aligned ``[N, D]`` views; returns (a, b, valid)."""
  check_floating(name1, a)
  check_rank(name1, a, 2, "[N, D]")
  check_same_shape(name1, a, name2, b)
  n = a.shape[0]
  dtype = nx.compute_dtype(a, b)
  a = a.astype(dtype)
  b = jnp.asarray(b).astype(dtype)
  valid = row_mask(where, n)
  if where is not None:
    a = nx.mask_fill(a, valid, trailing=1)
    b = nx.mask_fill(b, valid, trailing=1)
  if normalize:
    a, b = nx.l2_normalize(a), nx.l2_normalize(b)
  return a, b, valid


def _cross_entropy_rows(logits, keep, target_logit, axis=-1):
  """``-log softmax`` of the target over the kept entries along ``axis``.

  ``keep=None`` (no mask) takes the plain log-sum-exp, which is faster; the
  logits are finite there. Reducing along ``axis=0`` instead of transposing
  avoids materialising ``logits.T`` (7x faster on CPU at B = 1024).
  """
  if keep is None:
    return jax.nn.logsumexp(logits, axis=axis) - target_logit
  return nx.logsumexp(logits, where=keep, axis=axis) - target_logit


@register(tasks=("self-supervised learning", "representation learning",
                 "action recognition"),
          peer="InfoNCE of CPC / MoCo (one direction; in-batch keys plus optional extra "
               "negatives)",
          references=("van den Oord, Li, Vinyals, Representation Learning with Contrastive "
                      "Predictive Coding, arXiv:1807.03748, 2018",
                      "He et al., Momentum Contrast for Unsupervised Visual Representation "
                      "Learning, CVPR 2020"),
          input_kind="embeddings")
@loss_function(static=("normalize",), ranges={"temperature": "> 0"})
def infonce_loss(x1, x2, *, temperature=0.07, negatives=None, normalize=True,
                 weights=None, where=None, reduction="mean"):
  r"""InfoNCE: each query must pick its own key among all keys (and extra negatives).

  .. math::
    \ell_i = -\log \frac{e^{q_i\cdot k_i/\tau}}
      {\sum_j e^{q_i\cdot k_j/\tau} + \sum_m e^{q_i\cdot n_m/\tau}}

  with queries ``q = x1`` and keys ``k = x2``. One direction only (queries ->
  keys); :func:`clip_loss` is the symmetric version and :func:`nt_xent_loss`
  also uses the other view's samples as negatives.

  Args:
    x1: floating ``[N, D]`` queries.
    x2: ``[N, D]`` keys; ``x2[i]`` is the positive of ``x1[i]``.
    temperature: > 0 (default 0.07); may be traced (learnable).
    negatives: optional extra negative keys ``[M, D]`` (e.g. a MoCo queue).
    normalize: L2-normalise all embeddings (default True), static.
    weights: optional per-query weights ``[N]``.
    where: optional boolean ``[N]``; False pairs are removed (as queries and
      as keys).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss (each query's softmax runs over the whole batch): the
    mean (or sum) over queries; per-query values ``[N]`` for "none".

  Raises:
    LossInputError: ``x2`` shape differs from ``x1``; ``negatives`` not
      ``[M, D]``.

  Notes:
    ``negatives`` is MoCo's queue of extra negative keys (He et al.).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> q = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.infonce_loss(q, q, temperature=1.0))
    0.313262
  """
  q, k, valid = _two_views("x1", x1, "x2", x2, where, normalize)
  logits = q @ k.T / temperature
  keep = None if where is None else jnp.broadcast_to(valid[None, :], logits.shape)
  if negatives is not None:
    check_floating("negatives", negatives)
    if len(jnp.shape(negatives)) != 2 or negatives.shape[1] != q.shape[1]:
      raise LossInputError(
          f"negatives has shape {tuple(jnp.shape(negatives))}; expected (M, {q.shape[1]})")
    neg = negatives.astype(q.dtype)
    if normalize:
      neg = nx.l2_normalize(neg)
    logits = jnp.concatenate([logits, q @ neg.T / temperature], axis=1)
    if keep is not None:
      keep = jnp.concatenate([keep, jnp.ones((q.shape[0], neg.shape[0]), bool)], axis=1)
  values = _cross_entropy_rows(logits, keep, jnp.diagonal(logits))
  return _reduce_anchors(values, valid, reduction, weights)


@register(tasks=("self-supervised learning", "representation learning",
                 "action recognition"),
          peer="optax.losses.ntxent (labels = pair ids); "
               "pytorch_metric_learning.losses.NTXentLoss",
          references=("Chen et al., A Simple Framework for Contrastive Learning of Visual "
                      "Representations (SimCLR), ICML 2020", SURVEY),
          input_kind="embeddings")
@loss_function(static=("normalize",), ranges={"temperature": "> 0"})
def nt_xent_loss(x1, x2, *, temperature=0.07, normalize=True, weights=None, where=None,
                 reduction="mean"):
  r"""NT-Xent (SimCLR): normalised-temperature cross-entropy over two views.

  .. math::
    \ell(i, j) = -\log \frac{e^{s_{ij}/\tau}}{\sum_{k \ne i} e^{s_{ik}/\tau}},\qquad
    L = \frac{1}{2N}\sum_{k=1}^{N} \big[\ell(k, k{+}N) + \ell(k{+}N, k)\big]

  over the ``2N`` samples ``[x1; x2]`` with cosine similarities ``s``; the
  other ``2N - 2`` samples are the negatives.

  Args:
    x1: floating ``[N, D]``, first view.
    x2: ``[N, D]``, second view (``x2[i]`` pairs with ``x1[i]``).
    temperature: > 0 (default 0.07, optax's and pytorch-metric-learning's;
      SimCLR used 0.1-0.5); may be traced.
    normalize: cosine similarity (default True), static.
    weights: optional per-pair weights ``[N]``.
    where: optional boolean ``[N]``; False pairs are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss: the mean (or sum) over pairs; "none" gives per-pair
    values ``[N]``, the average of the pair's two directions.

  Raises:
    LossInputError: ``x2`` shape differs from ``x1``.

  Notes:
    Equals ``optax.losses.ntxent(concatenate([x1, x2]),
    concatenate([arange(N), arange(N)]), temperature)`` and
    pytorch-metric-learning 2.9's ``NTXentLoss`` with the same labels (its
    default ``MeanReducer`` over the ``2N`` positive pairs; a batch of one
    pair has no negative pair and gives 0, as there).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> z = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.nt_xent_loss(z, z, temperature=1.0))
    0.551445
  """
  a, b, valid = _two_views("x1", x1, "x2", x2, where, normalize)
  n = a.shape[0]
  z = jnp.concatenate([a, b], axis=0)
  v2 = jnp.concatenate([valid, valid])
  logits = z @ z.T / temperature
  keep = v2[None, :] & ~jnp.eye(2 * n, dtype=bool)
  idx = jnp.arange(2 * n)
  partner = (idx + n) % (2 * n)
  values = _cross_entropy_rows(logits, keep, logits[idx, partner])
  values = 0.5 * (values[:n] + values[n:])
  # PML: no loss without a negative pair, i.e. with fewer than two pairs (the
  # formula's log 1 = 0 there, up to round-off; this makes it exact).
  return _reduce_anchors(values, valid & (jnp.sum(valid) >= 2), reduction, weights)


@register(tasks=("supervised contrastive learning", "image classification",
                 "metric learning"),
          peer="pytorch_metric_learning.losses.SupConLoss",
          references=("Khosla et al., Supervised Contrastive Learning, NeurIPS 2020", _PML),
          input_kind="embeddings")
@loss_function(static=("normalize",), ranges={"temperature": "> 0"})
def supcon_loss(embeddings, labels, *, temperature=0.1, normalize=True, weights=None,
                where=None, reduction="mean"):
  r"""Supervised contrastive loss (Khosla et al. 2020, :math:`L^{sup}_{out}`).

  .. math::
    \ell_i = -\frac{1}{|P(i)|}\sum_{p \in P(i)}
      \log\frac{e^{s_{ip}/\tau}}{\sum_{a \ne i} e^{s_{ia}/\tau}}

  ``P(i)``: the other samples with label ``y_i``; ``s``: cosine similarity.
  Several views of one image are passed as separate rows with the same label.

  As in pytorch-metric-learning, the loss is computed only when the batch
  has both a positive pair and a negative pair: a batch of one class (e.g.
  labels ``[0, 0, 0]``, where the formula gives ``log 2``) or of all-distinct
  classes gives 0 with a zero gradient. An anchor without positives has loss
  0, and "mean" averages over the anchors whose loss is > 0 (PML's
  ``AvgNonZeroReducer``).

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]``.
    temperature: > 0 (default 0.1, pytorch-metric-learning's; the paper's code
      uses 0.07); may be traced.
    normalize: cosine similarity (default True), static.
    weights: optional per-anchor weights ``[N]``.
    where: optional boolean ``[N]``; False rows are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss: the mean (or sum) over the counted anchors (a positive,
    a negative pair in the batch, loss > 0); 0 when there is none.
    Per-anchor values ``[N]`` for "none" (0 for anchors not counted).

  Raises:
    LossInputError: ``embeddings`` not ``[N, D]`` or ``labels`` not ``[N]``.

  Notes:
    Equals pytorch-metric-learning 2.9's ``SupConLoss(temperature=0.1)``
    with its default ``AvgNonZeroReducer``: ``_compute_loss`` returns zero
    losses unless ``pos_mask.any() and neg_mask.any()``, the per-anchor loss
    is ``-sum(pos * log_prob) / n_pos`` (0 without positives), and the mean
    is over the losses > 0. With a negative pair in the batch every anchor
    that has a positive also has a negative, so its loss is > 0 in exact
    arithmetic; it is exactly 0 (and not counted) only when its positives
    dominate every negative by more than ~17 logits in float32 (~37 in
    float64), as in PML.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [1., 0.1], [0., 1.], [0.1, 1.]])
    >>> print(jaxloss.supcon_loss(x, jnp.array([0, 0, 1, 1]), temperature=1.0))
    0.597808
    >>> print(jaxloss.supcon_loss(x[:3], jnp.array([0, 0, 0])))  # no negative pair
    0.0
  """
  x, valid, _ = _batch_inputs(embeddings, labels, where, normalize)
  logits = x @ x.T / temperature
  n = x.shape[0]
  pos, neg = _label_masks(labels, valid)
  keep = valid[None, :] & ~jnp.eye(n, dtype=bool)
  n_pos = jnp.sum(pos, axis=1)
  # PML: no loss at all unless the batch has a positive and a negative pair.
  ok = valid & (n_pos > 0) & jnp.any(pos) & jnp.any(neg)
  lse = jnp.where(ok, nx.logsumexp(logits, where=keep), 0.0)
  # log_prob first, then its mean over the positives (PML's order: a dominated
  # anchor's loss is then exactly 0, as there).
  log_prob = jnp.where(pos, logits - lse[:, None], 0.0)
  values = -nx.safe_div(jnp.sum(log_prob, axis=1), n_pos.astype(logits.dtype))
  values = jnp.where(ok, values, 0.0)
  return _reduce_anchors(values, ok & (values > 0), reduction, weights)


@register(tasks=("text-to-image generation", "vision-language pretraining",
                 "action recognition", "zero-shot classification"),
          peer="open_clip.ClipLoss (local_loss=False, world_size=1)",
          references=(_CLIP, SURVEY),
          input_kind="embeddings")
@loss_function(static=("normalize",), ranges={"temperature": "> 0"})
def clip_loss(x1, x2, *, temperature=0.07, normalize=True, weights=None, where=None,
              reduction="mean"):
  r"""CLIP's symmetric image-text contrastive loss.

  .. math::
    z_{ij} = \frac{\hat x_{1,i} \cdot \hat x_{2,j}}{\tau},\qquad
    \ell_i = \tfrac12\big[-\log\operatorname{softmax}_j(z_{ij})_{i}
      - \log\operatorname{softmax}_j(z_{ji})_{i}\big]

  ``temperature`` may be a traced scalar, so it can be learned; CLIP learns
  ``log(1 / tau)`` initialised at ``1 / 0.07`` and clips the scale at 100
  (``tau >= 0.01``) -- do that clipping on the parameter. With normalised
  embeddings the logits are bounded by ``1 / tau``; without, the log-softmax
  is still stable.

  Args:
    x1: floating ``[N, D]`` image embeddings.
    x2: ``[N, D]`` text embeddings; row ``i`` matches image ``i``.
    temperature: > 0 (default 0.07, CLIP's initial value); may be traced.
    normalize: L2-normalise both (default True), static.
    weights: optional per-pair weights ``[N]``.
    where: optional boolean ``[N]``; False pairs are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss: the mean (or sum) over pairs; per-pair values ``[N]``
    (average of the image->text and text->image terms) for "none".

  Raises:
    LossInputError: ``x2`` shape differs from ``x1``.

  Notes:
    Radford et al.'s pseudo-code (Fig. 3); equals OpenCLIP's ``ClipLoss`` on
    one device with ``logit_scale = 1 / temperature``. The survey lists it as
    "Text-Image Matching Loss". For a batch sharded over devices (global
    negatives, gather-with-gradient) use ``jaxloss.sharded_clip_loss``
    (scalable family), which has the same defaults.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.clip_loss(x, x, temperature=1.0))
    0.313262
  """
  a, b, valid = _two_views("x1", x1, "x2", x2, where, normalize)
  logits = a @ b.T / temperature
  keep = None if where is None else valid[None, :] & valid[:, None]
  diag = jnp.diagonal(logits)
  i2t = _cross_entropy_rows(logits, keep, diag)
  t2i = _cross_entropy_rows(logits, keep, diag, axis=0)
  return _reduce_anchors(0.5 * (i2t + t2i), valid, reduction, weights)


@register(tasks=("text-to-image generation", "vision-language pretraining",
                 "zero-shot classification"),
          peer="big_vision SigLIP trainer (sigmoid loss); kornia Siglip2 forward",
          references=("Zhai, Mustafa, Kolesnikov, Beyer, Sigmoid Loss for Language Image "
                      "Pre-Training, ICCV 2023", SURVEY),
          input_kind="embeddings")
@loss_function(static=("normalize",))
def siglip_loss(x1, x2, *, temperature=10.0, bias=-10.0, normalize=True, weights=None,
                where=None, reduction="mean"):
  r"""SigLIP's pairwise sigmoid loss (Zhai et al. 2023).

  .. math::
    L = -\frac{1}{N}\sum_{i=1}^{N}\sum_{j=1}^{N}
      \log\sigma\big(z_{ij}\,(t\,\hat x_{1,i}\cdot\hat x_{2,j} + b)\big),\qquad
    z_{ij} = \begin{cases}1 & i = j\\ -1 & i \ne j\end{cases}

  Note the naming: ``temperature`` here is the paper's ``t`` and MULTIPLIES
  the similarities (the paper learns ``t'`` with ``t = exp(t')``), unlike
  :func:`clip_loss`'s, which divides. Both ``temperature`` and ``bias`` may be
  traced (learned). Summed over pairs and divided by the batch size, as in
  the paper.

  Args:
    x1: floating ``[N, D]`` image embeddings.
    x2: ``[N, D]`` text embeddings; row ``i`` matches image ``i``.
    temperature: the logit scale ``t`` (default 10.0, the paper's
      initialisation ``t' = log 10``); may be traced.
    bias: ``b`` (default -10.0, the paper's initialisation); may be traced.
    normalize: L2-normalise both (default True), static.
    weights: optional per-image weights ``[N]``.
    where: optional boolean ``[N]``; False pairs are removed from the batch.
    reduction: "mean" (default, the paper's loss) | "sum" | "none".

  Returns:
    A set-level loss: "none" gives per-image values ``[N]`` (the row sums
    over texts), "mean" their mean -- the paper's normalisation -- and "sum"
    their sum.

  Raises:
    LossInputError: ``x2`` shape differs from ``x1``.

  Notes:
    Zhai et al.'s Algorithm 1. The survey lists it as "Text-Image Matching
    Loss". The chunked multi-device version is ``jaxloss.sharded_siglip_loss``
    (scalable family, same defaults).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.siglip_loss(x, x, temperature=1.0, bias=0.0))
    1.006409
  """
  a, b, valid = _two_views("x1", x1, "x2", x2, where, normalize)
  n = a.shape[0]
  logits = temperature * (a @ b.T) + bias
  z = 2.0 * jnp.eye(n, dtype=logits.dtype) - 1.0
  keep = valid[None, :] & valid[:, None]
  values = -jnp.sum(jnp.where(keep, nx.log_sigmoid(z * logits), 0.0), axis=1)
  return _reduce_anchors(values, valid, reduction, weights)
