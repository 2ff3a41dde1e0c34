"""Retrieval (bi-encoder) losses of sentence-transformers: MNRL, CoSENT, MarginMSE, Matryoshka.

``x1`` holds anchor (query) embeddings ``[N, D]`` and ``x2`` their positives
(documents); ``x2[i]`` is the positive of ``x1[i]``. Similarities are cosine
(``normalize=True``) unless the peer uses dot products (MarginMSE).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_rank,
  check_same_shape,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import register
from jaxloss.embedding._common import _reduce_anchors, row_mask
from jaxloss.embedding.contrastive import _two_views, infonce_loss

__all__ = ["cosent_loss", "gist_loss", "margin_mse_loss", "matryoshka_loss",
           "multiple_negatives_ranking_loss"]

_SBERT = ("Reimers, Gurevych, Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks, "
          "EMNLP 2019")
_MNRL = ("Henderson et al., Efficient Natural Language Response Suggestion for Smart Reply, "
         "arXiv:1705.00652, 2017")
_COSENT = ("Su, CoSENT: A more efficient sentence vector scheme than Sentence-BERT, "
           "kexue.fm/archives/8847, 2022")
_GIST = ("Solatorio, GISTEmbed: Guided In-sample Selection of Training Negatives for Text "
         "Embedding Fine-tuning, arXiv:2402.16829, 2024")
_MARGIN_MSE = ("Hofstaetter et al., Improving Efficient Neural Ranking Models with Cross-"
               "Architecture Knowledge Distillation, arXiv:2010.02666, 2020")


@register(tasks=("information retrieval", "sentence embeddings", "representation learning"),
          peer="sentence_transformers.losses.MultipleNegativesRankingLoss (default cos_sim, "
               "scale 20)",
          references=(_MNRL, _SBERT),
          input_kind="embeddings")
@loss_function(ranges={"scale": "> 0"})
def multiple_negatives_ranking_loss(x1, x2, *, negatives=None, scale=20.0, weights=None,
                                    where=None, reduction="mean"):
  r"""Multiple negatives ranking loss: in-batch (and hard) negatives, scaled cosine softmax.

  .. math::
    \ell_i = -\log \frac{e^{s\cos(a_i, p_i)}}
      {\sum_j e^{s\cos(a_i, p_j)} + \sum_m e^{s\cos(a_i, n_m)}}

  Args:
    x1: floating ``[N, D]`` anchors.
    x2: ``[N, D]`` positives (``x2[i]`` for ``x1[i]``); the others are
      in-batch negatives.
    negatives: optional hard negatives ``[M, D]`` or ``[K, N, D]`` (``K``
      hard-negative columns, each ``[N, D]``, as sentence-transformers
      concatenates them); every anchor scores against all of them.
    scale: > 0 (default 20, the inverse temperature); may be traced.
    weights: optional per-anchor weights ``[N]``.
    where: optional boolean ``[N]``; False pairs are removed (as anchors and
      as in-batch candidates).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    The mean (or sum) over anchors; per-anchor values ``[N]`` for "none".

  Raises:
    LossInputError: ``x2`` shape differs from ``x1``; ``negatives`` not
      ``[M, D]`` / ``[K, N, D]``.

  Notes:
    Matches ``MultipleNegativesRankingLoss`` with its defaults
    (``similarity_fct=cos_sim``, ``scale=20``, one direction anchor ->
    candidates, ``nn.CrossEntropyLoss`` mean). It is :func:`infonce_loss`
    with ``temperature = 1 / scale`` and ``negatives``, and shares its code.
    sentence-transformers' newer options (symmetric directions, gathering
    across devices) are not included: :func:`clip_loss` is the symmetric
    form. Hard negatives are never masked by ``where``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.multiple_negatives_ranking_loss(a, a, scale=1.0))
    0.313262
  """
  if negatives is not None:
    check_floating("negatives", negatives)
    if np.ndim(negatives) == 3:
      negatives = jnp.reshape(negatives, (-1, negatives.shape[-1]))
  return infonce_loss.__wrapped__(x1, x2, temperature=1.0 / scale, negatives=negatives,
                                  normalize=True, weights=weights, where=where,
                                  reduction=reduction)


@register(tasks=("information retrieval", "sentence embeddings", "representation learning"),
          peer="sentence_transformers.losses.GISTEmbedLoss (sentence-transformers 5.x: "
               "temperature 0.01, absolute margin 0, anchor-anchor and positive-positive "
               "contrast)",
          references=(_GIST,),
          input_kind="embeddings")
@loss_function(static=("margin_strategy", "contrast_anchors", "contrast_positives"),
               choices={"margin_strategy": ("absolute", "relative")},
               ranges={"temperature": "> 0"})
def gist_loss(x1, x2, guide_x1, guide_x2, *, negatives=None, guide_negatives=None,
              temperature=0.01, margin_strategy="absolute", margin=0.0, contrast_anchors=True,
              contrast_positives=True, weights=None, where=None, reduction="mean"):
  r"""GISTEmbed: in-batch negatives ranking loss whose false negatives a guide model removes.

  .. math::
    \ell_i = -\log \frac{e^{\cos(a_i, p_i)/\tau}}
      {\sum_{c \in \mathcal C_i} e^{\cos(a_i, c)/\tau}},\qquad
    \mathcal C_i = \{c : g(a_i, c) \le t_i\} \cup \{p_i\}

  over the candidates ``c``: the positives ``p_j``, the other anchors ``a_j``
  (``contrast_anchors``), hard negatives, and -- with ``contrast_positives`` --
  the positives again as seen from ``p_i`` (:math:`\cos(p_i, p_j)`). ``g`` is the
  cosine similarity of the *guide* model's embeddings of the same texts, and the
  threshold is the guide's anchor-positive similarity :math:`g_i = g(a_i, p_i)`:
  :math:`t_i = g_i - m` ("absolute") or :math:`g_i (1 - m)` ("relative"). A
  candidate the guide finds more similar to the anchor than the anchor's own
  positive is a probable false negative and is left out; the positive pair itself
  never is.

  Args:
    x1: floating ``[N, D]`` anchor embeddings of the model being trained.
    x2: ``[N, D]`` positives (``x2[i]`` for ``x1[i]``).
    guide_x1: ``[N, G]`` the guide model's embeddings of the anchors (any width
      ``G``); no gradient flows into them.
    guide_x2: ``[N, G]`` the guide's embeddings of the positives.
    negatives: optional hard negatives ``[N, D]`` or ``[K, N, D]`` (``K``
      columns, as sentence-transformers' extra input columns); every anchor
      scores against all of them.
    guide_negatives: the guide's embeddings of ``negatives`` (``[N, G]`` /
      ``[K, N, G]``); required with ``negatives``.
    temperature: > 0 (default 0.01, the peer's; the inverse of
      :func:`multiple_negatives_ranking_loss`'s ``scale``); may be traced.
    margin_strategy: "absolute" (default) or "relative", static.
    margin: the threshold margin ``m`` (default 0: drop candidates the guide
      ranks above the positive); may be traced.
    contrast_anchors: add the anchor-anchor similarities as candidates
      (default True, the paper's), static.
    contrast_positives: add the positive-positive similarities (default True),
      static.
    weights: optional per-anchor weights ``[N]``.
    where: optional boolean ``[N]``; False pairs are removed (as anchors and as
      in-batch candidates; hard negatives are kept, as in
      :func:`multiple_negatives_ranking_loss`).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    The mean (or sum) over anchors; per-anchor values ``[N]`` for "none".

  Raises:
    LossInputError: ``x2`` shape differs from ``x1``; a guide array not
      ``[N, G]``; ``negatives`` not ``[N, D]`` / ``[K, N, D]`` or given without
      ``guide_negatives`` (or the reverse); an unknown ``margin_strategy``.

  Notes:
    Matches ``GISTEmbedLoss.forward`` of sentence-transformers 5.x on one
    device: the same candidate blocks in the same order (anchor-positive,
    anchor-anchor, positive-positive, anchor-negative), the same strict ``>``
    test against the threshold, the positive pair protected, the
    self-similarities of the anchor-anchor and positive-positive blocks *not*
    protected (they are left out whenever the guide's self-similarity, 1,
    exceeds the threshold -- always, unless ``margin < 0``), and
    ``nn.CrossEntropyLoss``'s mean. The guide's embeddings are inputs here
    (run the guide model yourself, e.g. a frozen encoder); the peer computes
    them under ``torch.no_grad``, as ``stop_gradient`` does here. Cosines use
    ``F.normalize``'s clamp (the peer's ``nn.CosineSimilarity`` clamps the
    product of the norms at 1e-8; both only matter at zero vectors).
    ``gather_across_devices`` is not an option: gather the candidates in your
    own ``shard_map`` as for :func:`multiple_negatives_ranking_loss`.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[1., 0.], [0., 1.], [1., 1.]])
    >>> p = jnp.array([[1., .2], [.1, 1.], [1., .8]])
    >>> print(jaxloss.gist_loss(a, p, a, p, temperature=1.0))
    1.608931
  """
  a, p, valid = _two_views("x1", x1, "x2", x2, where, normalize=True)
  n, dtype = a.shape[0], a.dtype
  check_floating("guide_x1", guide_x1)
  check_rank("guide_x1", guide_x1, 2, "[N, G]")
  if guide_x1.shape[0] != n:
    raise LossInputError(f"guide_x1 has shape {tuple(guide_x1.shape)}; expected ({n}, G), one "
                         "guide embedding per anchor")
  check_same_shape("guide_x1", guide_x1, "guide_x2", guide_x2)
  if (negatives is None) != (guide_negatives is None):
    raise LossInputError("negatives and guide_negatives go together: got "
                         f"{'negatives' if guide_negatives is None else 'guide_negatives'} "
                         "only")
  fill = (lambda v: v) if where is None else (lambda v: nx.mask_fill(v, valid, trailing=1))
  guide = lambda v: nx.l2_normalize(jax.lax.stop_gradient(fill(jnp.asarray(v, dtype))))
  ga, gp = guide(guide_x1), guide(guide_x2)
  threshold = jnp.sum(ga * gp, axis=-1, keepdims=True)            # g(a_i, p_i), [N, 1]
  threshold = (threshold - margin if margin_strategy == "absolute"
               else threshold * (1.0 - margin))
  cand = valid[None, :]
  blocks = [(a @ p.T, (ga @ gp.T <= threshold) | jnp.eye(n, dtype=bool))]
  if contrast_anchors:
    blocks.append((a @ a.T, ga @ ga.T <= threshold))
  if contrast_positives:
    blocks.append((p @ p.T, gp @ gp.T <= threshold))
  blocks = [(s, k & cand) for s, k in blocks]
  if negatives is not None:
    d, g = x1.shape[1], guide_x1.shape[1]
    check_floating("negatives", negatives)
    for name, arr, width in (("negatives", negatives, d), ("guide_negatives", guide_negatives, g)):
      shape = tuple(np.shape(arr))
      if not (shape == (n, width) or (len(shape) == 3 and shape[1:] == (n, width))):
        raise LossInputError(f"{name} has shape {shape}; expected ({n}, {width}) or "
                             f"(K, {n}, {width})")
    if np.ndim(negatives) != np.ndim(guide_negatives) or (
        np.ndim(negatives) == 3 and negatives.shape[0] != guide_negatives.shape[0]):
      raise LossInputError(f"guide_negatives has shape {tuple(np.shape(guide_negatives))}; "
                           f"expected one guide embedding per negative of {tuple(negatives.shape)}")
    neg = nx.l2_normalize(jnp.reshape(jnp.asarray(negatives, dtype), (-1, d)))
    gn = nx.l2_normalize(jax.lax.stop_gradient(
        jnp.reshape(jnp.asarray(guide_negatives, dtype), (-1, g))))
    blocks.append((a @ neg.T, ga @ gn.T <= threshold))
  logits = jnp.concatenate([s for s, _ in blocks], axis=1) / temperature
  keep = jnp.concatenate([k for _, k in blocks], axis=1)
  values = nx.logsumexp(logits, where=keep, axis=-1) - jnp.sum(a * p, axis=-1) / temperature
  return _reduce_anchors(values, valid, reduction, weights)


@register(tasks=("semantic textual similarity", "sentence embeddings"),
          peer="sentence_transformers.losses.CoSENTLoss (pairwise_cos_sim, scale 20)",
          references=(_COSENT, _SBERT),
          input_kind="embeddings")
@loss_function(ranges={"scale": "> 0"})
def cosent_loss(x1, x2, labels, *, scale=20.0, where=None):
  r"""CoSENT: rank the pairs' cosine similarities in the order of their gold scores.

  .. math::
    L = \log\Big(1 + \sum_{(i, j):\ y_i < y_j} e^{s(\cos_i - \cos_j)}\Big),\qquad
    \cos_i = \cos(x_{1,i}, x_{2,i})

  Args:
    x1: floating ``[N, D]`` first sentences.
    x2: ``[N, D]`` second sentences.
    labels: ``[N]`` gold similarity scores (any real values; only their
      order matters).
    scale: > 0 (default 20); may be traced.
    where: optional boolean ``[N]``; False pairs are removed.

  Returns:
    A scalar (batch-level loss: every pair of pairs interacts).

  Raises:
    LossInputError: ``x2`` shape differs from ``x1``; ``labels`` not ``[N]``.

  Notes:
    Matches ``CoSENTLoss.forward`` (the ``1e12`` mask subtraction is an exact
    masked log-sum-exp here; the leading zero is the ``1 +``). A batch with
    no ordered pair gives 0.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[1., 0.], [1., 0.]])
    >>> b = jnp.array([[1., 0.], [0., 1.]])
    >>> print(jaxloss.cosent_loss(a, b, jnp.array([0., 1.]), scale=1.0))
    1.313262
  """
  check_floating("x1", x1)
  check_rank("x1", x1, 2, "[N, D]")
  check_same_shape("x1", x1, "x2", x2)
  n = x1.shape[0]
  if tuple(np.shape(labels)) != (n,):
    raise LossInputError(f"labels has shape {tuple(np.shape(labels))}; expected ({n},)")
  dtype = nx.compute_dtype(x1, x2)
  valid = row_mask(where, n)
  a = nx.mask_fill(jnp.asarray(x1, dtype), valid, trailing=1)
  b = nx.mask_fill(jnp.asarray(x2, dtype), valid, trailing=1)
  y = jnp.where(valid, jnp.asarray(labels, dtype), 0.0)
  cos = jnp.sum(nx.l2_normalize(a) * nx.l2_normalize(b), axis=-1) * scale
  diff = cos[:, None] - cos[None, :]
  keep = (y[:, None] < y[None, :]) & valid[:, None] & valid[None, :]
  flat = jnp.concatenate([jnp.zeros((1,), dtype), diff.reshape(-1)])
  keep = jnp.concatenate([jnp.ones((1,), bool), keep.reshape(-1)])
  return nx.logsumexp(flat, where=keep)


@register(tasks=("information retrieval", "knowledge distillation", "sentence embeddings"),
          peer="sentence_transformers.losses.MarginMSELoss (default pairwise_dot_score)",
          references=(_MARGIN_MSE,),
          input_kind="embeddings")
@loss_function(static=("normalize",))
def margin_mse_loss(x1, x2, negatives, labels, *, normalize=False, weights=None, where=None,
                    reduction="mean"):
  r"""MarginMSE: regress the student's positive-minus-negative score margin on the teacher's.

  .. math::
    \ell_{i} = \big( (q_i\cdot p_i - q_i\cdot n_i) - y_i \big)^2

  Args:
    x1: floating ``[N, D]`` queries.
    x2: ``[N, D]`` positive passages.
    negatives: ``[N, D]`` negative passages, or ``[N, K, D]`` for ``K``
      negatives per query.
    labels: teacher margins ``score(q, p) - score(q, n)``: ``[N]``, or
      ``[N, K]`` with ``K`` negatives.
    normalize: cosine instead of dot-product scores (default False, the
      peer's ``pairwise_dot_score``), static.
    weights: optional weights broadcastable to ``labels``' shape.
    where: optional boolean of ``labels``' shape (or ``[N]`` with one negative).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    The mean (or sum) over margins; ``labels``' shape for "none".

  Raises:
    LossInputError: shapes inconsistent with ``x1 [N, D]``.

  Notes:
    Matches ``MarginMSELoss`` (``nn.MSELoss`` of the margins; with several
    negatives, the mean over all query-negative margins, as
    sentence-transformers >= 3 does).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> q = jnp.array([[1., 0.]])
    >>> print(jaxloss.margin_mse_loss(q, q, -q, jnp.array([1.5])))
    0.25
  """
  check_floating("x1", x1)
  check_rank("x1", x1, 2, "[N, D]")
  check_same_shape("x1", x1, "x2", x2)
  n, d = x1.shape
  check_floating("negatives", negatives)
  multi = np.ndim(negatives) == 3
  if not ((not multi and tuple(negatives.shape) == (n, d))
          or (multi and negatives.shape[0] == n and negatives.shape[2] == d)):
    raise LossInputError(f"negatives has shape {tuple(negatives.shape)}; expected ({n}, {d}) "
                         f"or ({n}, K, {d})")
  want = (n, negatives.shape[1]) if multi else (n,)
  if tuple(np.shape(labels)) != want:
    raise LossInputError(f"labels has shape {tuple(np.shape(labels))}; expected {want}")
  dtype = nx.compute_dtype(x1, x2, negatives, labels)
  row = None if where is None else jnp.asarray(where)
  if row is not None and row.ndim == 2:
    row = jnp.any(row, axis=1)
  q = nx.mask_fill(jnp.asarray(x1, dtype), row, trailing=1)
  p = nx.mask_fill(jnp.asarray(x2, dtype), row, trailing=1)
  neg = nx.mask_fill(jnp.asarray(negatives, dtype), where, trailing=1)
  y = nx.mask_fill(jnp.asarray(labels, dtype), where)
  if normalize:
    q, p, neg = nx.l2_normalize(q), nx.l2_normalize(p), nx.l2_normalize(neg)
  pos_score = jnp.sum(q * p, axis=-1)
  neg_score = (jnp.einsum("nd,nkd->nk", q, neg) if multi else jnp.sum(q * neg, axis=-1))
  margin = (pos_score[:, None] if multi else pos_score) - neg_score
  return reduce_loss((margin - y) ** 2, reduction, where=where, weights=weights)


def matryoshka_loss(loss_fn, x1, x2, *args, dims=(768, 512, 256, 128, 64), dim_weights=None,
                    **kwargs):
  r"""Matryoshka representation learning: an embedding loss summed over truncated prefixes.

  .. math::
    L = \sum_{m} w_m\, \mathcal L\big(x_{1,:, :d_m},\ x_{2,:, :d_m},\ \dots\big)

  Args:
    loss_fn: any embedding loss, e.g. :func:`multiple_negatives_ranking_loss`.
    x1, x2: ``[..., D]`` embeddings, truncated to their first ``d`` features.
    *args: further positional arguments of ``loss_fn``; floating arrays of
      rank >= 2 whose last axis is ``D`` (more embeddings, e.g.
      ``margin_mse_loss``'s negatives) are truncated too, others pass as is.
    dims: the prefix sizes (default sentence-transformers' example
      ``(768, 512, 256, 128, 64)``); each must be <= ``D``.
    dim_weights: optional weights, one per entry of ``dims`` (default 1 each).
    **kwargs: keyword arguments of ``loss_fn``; a ``negatives`` array is
      truncated like the embeddings.

  Returns:
    ``sum_m w_m loss_fn(...)`` (a scalar for the reductions "mean"/"sum").

  Raises:
    ValueError: a dim larger than ``D``, or ``dim_weights`` of the wrong length.

  Notes:
    Matches ``sentence_transformers.losses.MatryoshkaLoss`` with its
    defaults (all dims every step, weights 1, the weighted *sum*). As there,
    the truncated embeddings are not re-normalised by the wrapper: a loss
    on cosine similarities normalises the truncated vectors itself
    (``normalize=True`` here), one on dot products sees the raw prefix.
    Not a registered loss (it has no fixed signature); jit the call with
    ``loss_fn`` and ``dims`` static.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> a = jnp.array([[1., 0., 1.], [0., 1., 1.]])
    >>> print(jaxloss.matryoshka_loss(jaxloss.multiple_negatives_ranking_loss, a, a,
    ...                               dims=(3, 2), scale=1.0))
    0.787339
  """
  d = np.shape(x1)[-1]
  dims = tuple(int(m) for m in dims)
  if any(m < 1 or m > d for m in dims):
    raise LossInputError(f"matryoshka_loss: dims {dims} must be in [1, {d}] (x1 has shape "
                         f"{tuple(np.shape(x1))})")
  if dim_weights is None:
    dim_weights = (1.0,) * len(dims)
  if len(dim_weights) != len(dims):
    raise LossInputError(f"matryoshka_loss: dim_weights has {len(dim_weights)} entries; "
                         f"expected one per dim ({len(dims)})")

  def cut(x, m):
    return x[..., :m]

  def embedding_like(x):
    return (hasattr(x, "shape") and np.ndim(x) >= 2 and x.shape[-1] == d
            and jnp.issubdtype(x.dtype, jnp.floating))

  total = 0.0
  for m, w in zip(dims, dim_weights, strict=True):
    a = tuple(cut(x, m) if embedding_like(x) else x for x in args)
    kw = dict(kwargs)
    if kw.get("negatives") is not None and embedding_like(kw["negatives"]):
      kw["negatives"] = cut(kw["negatives"], m)
    total = total + w * loss_fn(cut(x1, m), cut(x2, m), *a, **kw)
  return total
