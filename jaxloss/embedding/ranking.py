"""Learning-to-rank losses over lists of scores: RankNet, ListNet, ListMLE.

``logits`` (the ranking scores) and ``labels`` (graded relevance, higher = more
relevant) have shape ``[..., L]``, one list per leading index. ``where`` is a per-ITEM mask of
the same shape (as in ``optax.losses.ranking_softmax_loss``): masked items are
removed from their list. The unreduced loss has one value per list
(``[...]``); ``"mean"`` averages over lists. Lists are independent, so these
losses are per-example along the leading axis.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  broadcast_mask,
  check_floating,
  check_min_rank,
  check_same_shape,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import SURVEY, register

__all__ = ["listmle_loss", "listnet_loss", "ranknet_loss"]

_TASKS = ("learning to rank", "image retrieval", "image classification")


def _lists(logits, labels, where):
  check_floating("logits", logits)
  check_min_rank("logits", logits, 1, "[..., L]")
  check_same_shape("logits", logits, "labels", labels)
  dtype = nx.compute_dtype(logits)
  s = logits.astype(dtype)
  y = jnp.asarray(labels).astype(dtype)
  if where is None:
    valid = jnp.ones(s.shape, bool)
  else:
    valid = broadcast_mask("where", where, s.shape, "logits")
    s = jnp.where(valid, s, 0.0)
    y = jnp.where(valid, y, 0.0)
  return s, y, valid


@register(tasks=_TASKS, peer="tfr.keras.losses.PairwiseLogisticLoss (RankNet)",
          references=("Burges et al., Learning to Rank using Gradient Descent, ICML 2005",
                      SURVEY),
          input_kind="logits")
@loss_function
def ranknet_loss(logits, labels, *, sigma=1.0, weights=None, where=None, reduction="mean"):
  r"""RankNet: logistic loss on every pair whose relevance differs.

  .. math::
    \ell = \frac{1}{|\mathcal P|}\sum_{(i,j) \in \mathcal P}
      \log\big(1 + e^{-\sigma (s_i - s_j)}\big),\qquad
    \mathcal P = \{(i, j): y_i > y_j\}

  Args:
    logits: floating ranking scores ``[..., L]``.
    labels: relevance ``[..., L]`` (higher = more relevant).
    sigma: slope (default 1.0); may be traced.
    weights: optional per-list weights ``[...]``.
    where: optional per-item boolean mask ``[..., L]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[...]`` (one value per list, 0 for a list
    without an ordered pair) for "none".

  Raises:
    LossInputError: ``labels`` shape differs from ``logits``.

  Notes:
    TF-Ranking's ``PairwiseLogisticLoss`` averages the same pair terms. The
    survey lists it as "Ranking Loss".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.ranknet_loss(jnp.array([0., 0.]), jnp.array([1., 0.])))
    0.693147
  """
  s, y, valid = _lists(logits, labels, where)
  pairs = (y[..., :, None] > y[..., None, :]) & valid[..., :, None] & valid[..., None, :]
  diff = s[..., :, None] - s[..., None, :]
  terms = jnp.where(pairs, jax.nn.softplus(-sigma * diff), 0.0)
  count = jnp.sum(pairs, axis=(-2, -1)).astype(s.dtype)
  values = nx.safe_div(jnp.sum(terms, axis=(-2, -1)), count)
  return reduce_loss(values, reduction, weights=weights)


@register(tasks=_TASKS, peer="optax.losses.ranking_softmax_loss (label_distribution=None)",
          references=("Cao et al., Learning to Rank: From Pairwise Approach to Listwise "
                      "Approach (ListNet), ICML 2007",),
          input_kind="logits")
@loss_function(static=("label_distribution",),
               choices={"label_distribution": ("softmax", "sum", None)})
def listnet_loss(logits, labels, *, label_distribution="softmax", weights=None, where=None,
                 reduction="mean"):
  r"""ListNet (top-one): cross-entropy between label and score distributions.

  .. math::
    \ell = -\sum_i P_y(i) \log \operatorname{softmax}(s)_i,\qquad
    P_y = \operatorname{softmax}(y)\ \text{or}\ y / \textstyle\sum_j y_j\ \text{or}\ y

  Args:
    logits: floating ranking scores ``[..., L]``.
    labels: relevance ``[..., L]``.
    label_distribution: "softmax" (default, ListNet), "sum" (labels
      divided by their sum; lists with all-zero labels give 0) or None (the
      labels used as given, optax's convention), static.
    weights: optional per-list weights ``[...]``.
    where: optional per-item boolean mask ``[..., L]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[...]`` for "none".

  Raises:
    LossInputError: ``labels`` shape differs from ``logits``.

  Notes:
    With ``label_distribution=None`` it equals
    ``optax.losses.ranking_softmax_loss(logits, labels, where=where,
    reduce_fn=None)`` (optax does not normalise the labels).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.listnet_loss(jnp.array([0., 0.]), jnp.array([1., 0.]),
    ...                            label_distribution=None))
    0.693147
  """
  s, y, valid = _lists(logits, labels, where)
  log_p = s - nx.logsumexp(s, where=valid, keepdims=True)
  if label_distribution == "softmax":
    target = jnp.exp(y - nx.logsumexp(y, where=valid, keepdims=True))
    target = jnp.where(valid, target, 0.0)
  elif label_distribution == "sum":
    target = nx.safe_div(y, jnp.sum(y, axis=-1, keepdims=True))
  else:
    target = y
  values = -jnp.sum(jnp.where(valid, target * log_p, 0.0), axis=-1)
  return reduce_loss(values, reduction, weights=weights)


@register(tasks=_TASKS, peer="allRank ListMLE; tfr.keras.losses.ListMLELoss",
          references=("Xia et al., Listwise Approach to Learning to Rank: Theory and "
                      "Algorithm (ListMLE), ICML 2008",),
          input_kind="logits")
@loss_function
def listmle_loss(logits, labels, *, weights=None, where=None, reduction="mean"):
  r"""ListMLE: negative Plackett-Luce log-likelihood of the label ordering.

  .. math::
    \ell = \sum_{k=1}^{L}\Big(\log\sum_{j \ge k} e^{s_{\pi(j)}} - s_{\pi(k)}\Big)

  where ``pi`` sorts the items by decreasing label (ties in the order of a
  stable sort). Masked items are left out of every suffix.

  Args:
    logits: floating ranking scores ``[..., L]``.
    labels: relevance ``[..., L]``.
    weights: optional per-list weights ``[...]``.
    where: optional per-item boolean mask ``[..., L]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[...]`` for "none".

  Raises:
    LossInputError: ``labels`` shape differs from ``logits``.

  Notes:
    TF-Ranking's ``ListMLELoss`` breaks ties randomly; here ties keep the order
    of a stable sort.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.listmle_loss(jnp.array([0., 0.]), jnp.array([1., 0.])))
    0.693147
  """
  s, y, valid = _lists(logits, labels, where)
  # Masked items sort last; the mask is carried along.
  key = jnp.where(valid, -y, jnp.inf)
  order = jnp.argsort(key, axis=-1, stable=True)
  s_sorted = jnp.take_along_axis(s, order, axis=-1)
  v_sorted = jnp.take_along_axis(valid, order, axis=-1)
  n = s.shape[-1]
  suffix = jnp.arange(n)[None, :] >= jnp.arange(n)[:, None]        # [k, j]: j >= k
  keep = suffix & v_sorted[..., None, :]
  lse = nx.logsumexp(jnp.broadcast_to(s_sorted[..., None, :], keep.shape), where=keep)
  terms = jnp.where(v_sorted, lse - s_sorted, 0.0)
  values = jnp.sum(terms, axis=-1)
  return reduce_loss(values, reduction, weights=weights)
