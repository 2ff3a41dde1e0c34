"""Average-precision surrogates over a batch: FastAP and Smooth-AP (pytorch-metric-learning).

Every sample is a query against the rest of the batch, its positives given by
the labels. Both are set-level losses (``per_example=False`` in the catalog):
one value per query, ``"mean"`` over the queries that have another positive
in the batch (a query without one has no defined average precision and no
loss term, as in pytorch-metric-learning's ``FastAPLoss``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import loss_function
from jaxloss.catalog import register
from jaxloss.embedding._common import (
  _PML,
  _batch_inputs,
  _label_masks,
  _reduce_anchors,
  _sq_distances,
)

__all__ = ["fast_ap_loss", "smooth_ap_loss"]

_TASKS = ("metric learning", "image retrieval")


@register(tasks=_TASKS, peer="pytorch_metric_learning.losses.FastAPLoss",
          references=("Cakir, He, Xia, Kulis, Sclaroff, Deep Metric Learning to Rank, "
                      "CVPR 2019", _PML),
          input_kind="embeddings")
@loss_function(static=("num_bins",), ranges={"num_bins": ">= 1"})
def fast_ap_loss(embeddings, labels, *, num_bins=10, weights=None, where=None,
                 reduction="mean"):
  r"""FastAP (Cakir et al. 2019): average precision from soft distance histograms.

  .. math::
    \delta_{ijb} = \big[1 - |d_{ij} - z_b| / \Delta\big]_+,\quad
    h^+_{ib} = \sum_{j \in P_i} \delta_{ijb},\quad
    h_{ib} = \sum_{j \in P_i \cup N_i} \delta_{ijb},\\
    \mathrm{FastAP}_i = \frac{1}{|P_i|} \sum_{b=0}^{B}
      \frac{h^+_{ib} \sum_{b' \le b} h^+_{ib'}}{\sum_{b' \le b} h_{ib'}},\qquad
    \ell_i = 1 - \mathrm{FastAP}_i

  with squared Euclidean distances ``d`` between L2-normalised embeddings (in
  ``[0, 4]``), ``B = num_bins``, ``Delta = 4 / B`` and the ``B + 1`` bin
  centres ``z_b = b Delta``; a bin whose cumulative count is 0 contributes 0.
  ``P_i``: the other samples with ``i``'s label; ``N_i``: the samples with
  another label.

  Args:
    embeddings: floating ``[N, D]`` (normalised inside).
    labels: integer ``[N]``.
    num_bins: ``B`` >= 1 histogram bins (default 10), static.
    weights: optional per-query weights ``[N]``.
    where: optional boolean ``[N]``; False rows are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss: the mean (or sum) over queries with at least one
    positive; per-query values ``[N]`` for "none" (0 for a query without a
    positive). 0 with a zero gradient when no query has a positive.

  Raises:
    LossInputError: ``embeddings`` not ``[N, D]`` or ``labels`` not ``[N]``.

  Notes:
    Equals pytorch-metric-learning 2.9's ``FastAPLoss(num_bins=10)`` (its
    required ``LpDistance(power=2)`` on normalised embeddings; queries without
    a positive are left out of its mean, a query with only positives scores
    FastAP 1, loss 0, and is kept). Memory ``O(N^2 B)``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [0.8, 0.6], [0., 1.], [0.6, 0.8]])
    >>> print(round(float(jaxloss.fast_ap_loss(x, jnp.array([0, 0, 1, 1]))), 4))
    0.25
  """
  x, valid, dtype = _batch_inputs(embeddings, labels, where, True)
  pos, neg = _label_masks(labels, valid)
  d2 = _sq_distances(x)                                           # [N, N] in [0, 4]
  b = int(num_bins)
  delta = 4.0 / b
  mid = jnp.linspace(0.0, 4.0, b + 1, dtype=dtype)
  pulse = jax.nn.relu(1.0 - jnp.abs(d2[:, :, None] - mid) / delta)  # [N, N, B + 1]
  posf, negf = pos.astype(dtype), neg.astype(dtype)
  h_pos = jnp.einsum("ijb,ij->ib", pulse, posf)
  h_all = h_pos + jnp.einsum("ijb,ij->ib", pulse, negf)
  cum_pos = jnp.cumsum(h_pos, axis=-1)
  cum_all = jnp.cumsum(h_all, axis=-1)
  n_pos = jnp.sum(posf, axis=-1)
  fast_ap = nx.safe_div(jnp.sum(nx.safe_div(h_pos * cum_pos, cum_all), axis=-1), n_pos)
  ok = valid & (n_pos > 0)
  return _reduce_anchors(1.0 - fast_ap, ok, reduction, weights)


@register(tasks=_TASKS, peer="pytorch_metric_learning.losses.SmoothAPLoss",
          references=("Brown, Xie, Kalogeiton, Zisserman, Smooth-AP: Smoothing the Path "
                      "Towards Large-Scale Image Retrieval, ECCV 2020", _PML),
          input_kind="embeddings")
@loss_function(ranges={"temperature": "> 0"})
def smooth_ap_loss(embeddings, labels, *, temperature=0.01, weights=None, where=None,
                   reduction="mean"):
  r"""Smooth-AP (Brown et al. 2020): average precision with sigmoid-relaxed ranks.

  .. math::
    G(t) = \frac{1}{1 + e^{-t/\tau}},\quad
    R_q(i; S) = 1 + \sum_{j \in S,\, j \ne i} G(s_{qj} - s_{qi}),\\
    \mathrm{AP}_q = \frac{1}{|P_q|} \sum_{i \in P_q}
      \frac{R_q(i; P_q)}{R_q(i; \text{batch})},\qquad \ell_q = 1 - \mathrm{AP}_q

  with cosine similarities ``s``, ``tau = temperature`` and ``P_q`` the
  samples with ``q``'s label, ``q`` ITSELF INCLUDED (as in the authors' code
  and pytorch-metric-learning: ``q`` ranks itself first with
  ``s_qq = 1``); the ranks run over the whole batch, ``q`` included.

  Args:
    embeddings: floating ``[N, D]`` (normalised inside).
    labels: integer ``[N]``, in any order and with any class sizes.
    temperature: ``tau`` > 0 (default 0.01); may be traced.
    weights: optional per-query weights ``[N]``.
    where: optional boolean ``[N]``; False rows are removed from the batch.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A set-level loss: the mean (or sum) over queries with another positive in
    the batch; per-query values ``[N]`` for "none" (0 for a query without
    one). 0 with a zero gradient when no query has one.

  Raises:
    LossInputError: ``embeddings`` not ``[N, D]`` or ``labels`` not ``[N]``.

  Notes:
    Batch layout: pytorch-metric-learning 2.9's ``SmoothAPLoss`` requires
    every class in the batch to have the same count ``m`` (``ValueError``
    otherwise) and then takes as ``q``'s positive set the block of ``U``
    consecutive rows containing ``q`` (``U`` = number of distinct labels),
    which is ``q``'s class only when the batch is sorted by class in
    contiguous blocks AND ``m == U`` (e.g. ``[A, A, B, B]``,
    ``[A, A, A, B, B, B, C, C, C]``). On such batches this loss equals PML
    2.9's exactly (its mean over all ``N`` queries; every query has a
    positive there). Here positive sets come from the labels, so any order
    and class sizes work, and a query without another positive is left out
    of the mean (its AP is not defined; PML's later documentation does the
    same). Memory ``O(N^3)`` (the ``[N, N, N]`` rank comparisons), as in
    PML.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [0.8, 0.6], [0., 1.], [0.6, 0.8]])
    >>> print(round(float(jaxloss.smooth_ap_loss(x, jnp.array([0, 0, 1, 1]))), 4))
    0.0878
  """
  x, valid, dtype = _batch_inputs(embeddings, labels, where, True)
  n = x.shape[0]
  s = x @ x.T                                                     # [N, N] cosine
  same = (labels[:, None] == labels[None, :]) & valid[:, None] & valid[None, :]
  # diff[q, i, j] = s_qj - s_qi: item j ranked above item i for query q.
  g = jax.nn.sigmoid((s[:, None, :] - s[:, :, None]) / temperature)
  others = ~jnp.eye(n, dtype=bool)[None] & valid[None, None, :]   # j != i, j in the batch
  r_all = 1.0 + jnp.sum(jnp.where(others, g, 0.0), axis=-1)      # [q, i]
  r_pos = 1.0 + jnp.sum(jnp.where(others & same[:, None, :], g, 0.0), axis=-1)
  n_pos = jnp.sum(same, axis=-1).astype(dtype)                   # |P_q|, q included
  ap = nx.safe_div(jnp.sum(jnp.where(same, r_pos / r_all, 0.0), axis=-1), n_pos)
  ok = valid & (n_pos >= 2)
  return _reduce_anchors(1.0 - ap, ok, reduction, weights)
