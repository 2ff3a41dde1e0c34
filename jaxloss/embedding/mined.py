"""Batch metric-learning losses on one similarity matrix (pytorch-metric-learning family)."""

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
from jaxloss.catalog import register
from jaxloss.embedding._common import (
  _PML,
  _batch_inputs,
  _cosine,
  _distances,
  _label_masks,
  _ndim,
  _reduce_anchors,
)

__all__ = ["circle_loss", "lifted_structure_loss", "multi_similarity_loss", "npair_loss",
           "proxy_anchor_loss"]


@register(tasks=("metric learning", "image retrieval"),
          peer="pytorch_metric_learning.losses.LiftedStructureLoss",
          references=("Oh Song, Xiang, Jegelka, Savarese, Deep Metric Learning via Lifted "
                      "Structured Feature Embedding, CVPR 2016", _PML),
          input_kind="embeddings")
@loss_function(static=("normalize",))
def lifted_structure_loss(embeddings, labels, *, neg_margin=1.0, pos_margin=0.0,
                          normalize=True, where=None):
  r"""Lifted structured loss (Oh Song et al. 2016) over all positive pairs.

  .. math::
    J_{ij} = \log\Big(\sum_{k \in N_i} e^{m_- - D_{ik}} + \sum_{l \in N_j} e^{m_- - D_{jl}}\Big)
      + D_{ij} - m_+,\qquad
    L = \frac{1}{2|P|} \sum_{(i,j) \in P} [J_{ij}]_+^2

  over ordered positive pairs ``P``; a pair whose ends have no negative is
  left out.

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]``.
    neg_margin: default 1.0; may be traced.
    pos_margin: default 0.0; may be traced.
    normalize: L2-normalise first (default True), static.
    where: optional boolean ``[N]``; False rows are removed from the batch.

  Returns:
    A scalar (set-level loss, no ``reduction``): the mean over valid ordered
    positive pairs; 0 with a zero gradient when there is none.

  Raises:
    LossInputError: ``embeddings`` not ``[N, D]`` or ``labels`` not ``[N]``.

  Notes:
    Same defaults as pytorch-metric-learning's ``LiftedStructureLoss
    (neg_margin=1, pos_margin=0)``, with its default mean over positive pairs.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [1., 0.1], [0., 1.], [0.1, 1.]])
    >>> print(jaxloss.lifted_structure_loss(x, jnp.array([0, 0, 1, 1])))
    0.656783
  """
  x, valid, dtype = _batch_inputs(embeddings, labels, where, normalize)
  d = _distances(x)
  pos, neg = _label_masks(labels, valid)
  # For the pair (i, j), k ranges over the negatives of i (term m - D_ik) and
  # the negatives of j (term m - D_jk): one masked log-sum-exp over [i, j, 2N].
  n = d.shape[0]
  a = neg_margin - d
  terms = jnp.concatenate([jnp.broadcast_to(a[:, None, :], (n, n, n)),
                           jnp.broadcast_to(a[None, :, :], (n, n, n))], axis=-1)
  mask = jnp.concatenate([jnp.broadcast_to(neg[:, None, :], (n, n, n)),
                          jnp.broadcast_to(neg[None, :, :], (n, n, n))], axis=-1)
  lse = nx.logsumexp(terms, where=mask)
  has = jnp.any(mask, axis=-1)
  ok = pos & has
  j = jnp.where(ok, lse, 0.0) + d - pos_margin
  per_pair = jnp.where(ok, jnp.square(jax.nn.relu(j)) / 2.0, 0.0)
  return nx.safe_div(jnp.sum(per_pair), jnp.sum(ok).astype(dtype))


@register(tasks=("metric learning", "image retrieval"),
          peer="pytorch_metric_learning.losses.MultiSimilarityLoss",
          references=("Wang et al., Multi-Similarity Loss with General Pair Weighting for "
                      "Deep Metric Learning, CVPR 2019", _PML),
          input_kind="embeddings")
@loss_function(ranges={"alpha": "> 0", "beta": "> 0"})
def multi_similarity_loss(embeddings, labels, *, alpha=2.0, beta=50.0, base=0.5,
                          weights=None, where=None, reduction="mean"):
  r"""Multi-similarity loss (Wang et al. 2019) on cosine similarities.

  .. math::
    \ell_i = \frac{1}{\alpha}\log\Big(1 + \sum_{p \in P_i} e^{-\alpha (S_{ip} - \lambda)}\Big)
      + \frac{1}{\beta}\log\Big(1 + \sum_{n \in N_i} e^{\beta (S_{in} - \lambda)}\Big)

  with ``lambda = base``. No pair mining is applied (pytorch-metric-learning
  keeps its MS miner separate).

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]``.
    alpha: positive scale (default 2.0); may be traced.
    beta: negative scale (default 50.0); may be traced.
    base: similarity offset lambda (default 0.5); may be traced.
    weights: optional per-anchor weights ``[N]``.
    where: optional boolean ``[N]``; False rows are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss: the mean (or sum) over anchors with at least one other
    sample; per-anchor values ``[N]`` for "none".

  Raises:
    LossInputError: ``embeddings`` not ``[N, D]`` or ``labels`` not ``[N]``.

  Notes:
    Same defaults as pytorch-metric-learning's ``MultiSimilarityLoss(alpha=2,
    beta=50, base=0.5)`` (cosine similarity, mean over anchors).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [1., 0.1], [0., 1.], [0.1, 1.]])
    >>> print(jaxloss.multi_similarity_loss(x, jnp.array([0, 0, 1, 1])))
    0.157970
  """
  x, valid, dtype = _batch_inputs(embeddings, labels, where, False)
  s = _cosine(x)
  pos, neg = _label_masks(labels, valid)
  zero = jnp.zeros(s.shape[:1] + (1,), dtype)
  # "1 +" is a zero logit inside the log-sum-exp: log(1 + sum exp(z)).
  lse_p = nx.logsumexp(jnp.concatenate([zero, -alpha * (s - base)], axis=1),
                       where=jnp.concatenate([jnp.ones_like(zero, bool), pos], axis=1))
  lse_n = nx.logsumexp(jnp.concatenate([zero, beta * (s - base)], axis=1),
                       where=jnp.concatenate([jnp.ones_like(zero, bool), neg], axis=1))
  values = lse_p / alpha + lse_n / beta
  ok = valid & (jnp.any(pos, axis=1) | jnp.any(neg, axis=1))
  return _reduce_anchors(values, ok, reduction, weights)


@register(tasks=("metric learning", "face recognition", "re-identification"),
          peer="pytorch_metric_learning.losses.CircleLoss",
          references=("Sun et al., Circle Loss: A Unified Perspective of Pair Similarity "
                      "Optimization, CVPR 2020", _PML),
          input_kind="embeddings")
@loss_function(ranges={"gamma": "> 0"})
def circle_loss(embeddings, labels, *, margin=0.4, gamma=80.0, weights=None, where=None,
                reduction="mean"):
  r"""Circle loss (Sun et al. 2020), pair-based form on cosine similarities.

  .. math::
    \ell_i = \operatorname{softplus}\Big(\log\sum_{n \in N_i} e^{\gamma \alpha_n (s_n - m)}
      + \log\sum_{p \in P_i} e^{-\gamma \alpha_p (s_p - 1 + m)}\Big),\quad
    \alpha_p = [1 + m - s_p]_+,\ \alpha_n = [s_n + m]_+

  with ``m = margin``. The weights ``alpha`` are not differentiated (stop-gradient), as in the
  paper and pytorch-metric-learning.

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]``.
    margin: relaxation margin ``m`` (default 0.4); may be traced.
    gamma: scale (default 80.0); may be traced.
    weights: optional per-anchor weights ``[N]``.
    where: optional boolean ``[N]``; False rows are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss: the mean (or sum) over anchors with at least one
    positive and one negative; per-anchor values ``[N]`` for "none".

  Raises:
    LossInputError: ``embeddings`` not ``[N, D]`` or ``labels`` not ``[N]``.

  Notes:
    ``margin`` is pytorch-metric-learning's (and the paper's) ``m``: this
    equals ``CircleLoss(m=margin, gamma=gamma)``, same defaults: rows without a
    positive or a negative are zeroed, and its ``AvgNonZeroReducer`` averages
    the losses > 0 (every such anchor, unless the softplus underflows).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [1., 0.1], [0., 1.], [0.1, 1.]])
    >>> print(jaxloss.circle_loss(x, jnp.array([0, 0, 1, 1]), gamma=8.0))
    0.161415
  """
  x, valid, _ = _batch_inputs(embeddings, labels, where, False)
  s = _cosine(x)
  pos, neg = _label_masks(labels, valid)
  m = margin
  alpha_p = jax.lax.stop_gradient(jax.nn.relu(1.0 + m - s))
  alpha_n = jax.lax.stop_gradient(jax.nn.relu(s + m))
  lse_n = nx.logsumexp(gamma * alpha_n * (s - m), where=neg)
  lse_p = nx.logsumexp(-gamma * alpha_p * (s - 1.0 + m), where=pos)
  ok = valid & jnp.any(pos, axis=1) & jnp.any(neg, axis=1)
  values = jax.nn.softplus(jnp.where(ok, lse_n + lse_p, 0.0))
  # AvgNonZeroReducer: softplus is > 0 unless it underflows (lse_n + lse_p < -87 in float32).
  return _reduce_anchors(values, ok & (values > 0), reduction, weights)


@register(tasks=("metric learning", "image retrieval"),
          input_kind="embeddings", peer="pytorch_metric_learning.losses.NPairsLoss",
          references=("Sohn, Improved Deep Metric Learning with Multi-class N-pair Loss "
                      "Objective, NeurIPS 2016", _PML))
@loss_function(static=("normalize",))
def npair_loss(anchors, positives, *, labels=None, normalize=True, weights=None, where=None,
               reduction="mean"):
  r"""Multi-class N-pair loss (Sohn 2016): each anchor picks its positive among all.

  .. math::
    \ell_i = -\log \frac{e^{a_i \cdot p_i}}{\sum_j e^{a_i \cdot p_j}}
      = \log\Big(1 + \sum_{j \ne i} e^{a_i\cdot p_j - a_i\cdot p_i}\Big)

  Pair ``i`` is (``anchors[i]``, ``positives[i]``); the other pairs' positives
  are the negatives. With ``labels`` given, positives of other pairs with the
  same label are left out of the denominator (they are not negatives).

  Args:
    anchors: floating ``[N, D]``.
    positives: ``[N, D]``.
    labels: optional integer ``[N]``, one label per pair (default: all
      pairs are different classes, as in the paper).
    normalize: L2-normalise first (default True, pytorch-metric-learning's
      default; Sohn uses raw dot products plus an L2 penalty), static.
    weights: optional per-pair weights ``[N]``.
    where: optional boolean ``[N]``; False pairs are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss: the mean (or sum) over pairs; per-pair values ``[N]``
    for "none".

  Raises:
    LossInputError: ``positives`` shape differs from ``anchors``, or not ``[N, D]``.

  Notes:
    Equals pytorch-metric-learning's ``NPairsLoss`` on one pair per class (it
    keeps the first pair of each label; here the caller passes the pairs).
    Sohn's L2 embedding penalty is not included.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.npair_loss(a, a))
    0.313262
  """
  check_floating("anchors", anchors)
  check_rank("anchors", anchors, 2, "[N, D]")
  check_same_shape("anchors", anchors, "positives", positives)
  n = anchors.shape[0]
  lab = jnp.arange(n) if labels is None else labels
  x, valid, dtype = _batch_inputs(anchors, lab, where, normalize)
  p = jnp.asarray(positives).astype(dtype)
  if where is not None:
    p = nx.mask_fill(p, valid, trailing=1)
  if normalize:
    p = nx.l2_normalize(p)
  logits = x @ p.T
  same = lab[:, None] == lab[None, :]
  keep = (~same | jnp.eye(n, dtype=bool)) & valid[None, :] & valid[:, None]
  values = nx.logsumexp(logits, where=keep) - jnp.diagonal(logits)
  return _reduce_anchors(values, valid, reduction, weights)


@register(tasks=("metric learning", "image retrieval"),
          input_kind="embeddings", peer="pytorch_metric_learning.losses.ProxyAnchorLoss",
          references=("Kim, Kim, Cho, Kwak, Proxy Anchor Loss for Deep Metric Learning, "
                      "CVPR 2020", _PML))
@loss_function
def proxy_anchor_loss(embeddings, labels, centers, *, margin=0.1, alpha=32.0, where=None):
  r"""Proxy-Anchor loss (Kim et al. 2020) with the class proxies passed as ``centers``.

  .. math::
    L = \frac{1}{|P^+|}\sum_{c \in P^+}\log\Big(1 + \sum_{x \in X_c^+} e^{-\alpha(s(x,c) - \delta)}\Big)
      + \frac{1}{C}\sum_{c}\log\Big(1 + \sum_{x \in X_c^-} e^{\alpha(s(x,c) + \delta)}\Big)

  with cosine similarity ``s``, ``P+`` the proxies that have a positive in the
  batch and ``delta = margin``.

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]`` in ``[0, C)``.
    centers: floating ``[C, D]`` class proxies (a learnable parameter of the
      caller).
    margin: delta (default 0.1); may be traced.
    alpha: scale (default 32.0); may be traced.
    where: optional boolean ``[N]``; False rows are removed from the batch.

  Returns:
    A scalar (set-level over the batch and all proxies; no ``reduction``).

  Raises:
    LossInputError: shapes inconsistent (``centers`` not ``[C, D]``).

  Notes:
    Same defaults as pytorch-metric-learning's ``ProxyAnchorLoss(margin=0.1,
    alpha=32)``, whose proxies are a module parameter initialised with Kaiming
    normal; here they are the ``centers`` argument (the name every class-centre
    matrix has in jaxloss).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.proxy_anchor_loss(x, jnp.array([0, 1]), x))
    3.239953
  """
  x, valid, dtype = _batch_inputs(embeddings, labels, where, False)
  check_floating("centers", centers)
  if _ndim(centers) != 2 or centers.shape[1] != x.shape[1]:
    raise LossInputError(
        f"centers has shape {tuple(jnp.shape(centers))}; expected (C, {x.shape[1]})")
  c = centers.shape[0]
  s = _cosine(x, centers.astype(dtype))                    # [N, C]
  onehot = jax.nn.one_hot(labels, c, dtype=bool) & valid[:, None]
  negm = ~jax.nn.one_hot(labels, c, dtype=bool) & valid[:, None]
  zero = jnp.zeros((1, c), dtype)
  ones = jnp.ones((1, c), bool)
  pos_lse = nx.logsumexp(jnp.concatenate([zero, -alpha * (s - margin)], 0),
                         where=jnp.concatenate([ones, onehot], 0), axis=0)
  neg_lse = nx.logsumexp(jnp.concatenate([zero, alpha * (s + margin)], 0),
                         where=jnp.concatenate([ones, negm], 0), axis=0)
  n_pos = jnp.sum(jnp.any(onehot, axis=0)).astype(dtype)
  return nx.safe_div(jnp.sum(pos_lse), n_pos) + jnp.sum(neg_lse) / c
