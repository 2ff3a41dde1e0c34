"""Softmax over class proxies: ProxyNCA and SoftTriple (pytorch-metric-learning's formulas).

As in :mod:`~jaxloss.embedding.heads`, the proxies (class centres) are an
explicit argument ``centers`` -- in pytorch-metric-learning a parameter hidden
inside the loss module -- so the losses stay pure functions. Each sample's
loss depends on itself and the centres only; the catalog marks them
``per_example=False`` because the contract's vmap maps over every positional
argument (use ``jax.vmap(..., in_axes=(0, 0, None))``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import loss_function, reduce_loss
from jaxloss.catalog import register
from jaxloss.embedding._common import _PML, _sq_distances
from jaxloss.embedding.heads import _check_head, _check_multi_head

__all__ = ["proxy_nca_loss", "soft_triple_loss"]

_TASKS = ("metric learning", "image retrieval")


@register(tasks=_TASKS, peer="pytorch_metric_learning.losses.ProxyNCALoss",
          references=("Movshovitz-Attias et al., No Fuss Distance Metric Learning using "
                      "Proxies, ICCV 2017", _PML),
          input_kind="embeddings")
@loss_function(ranges={"softmax_scale": "> 0"})
def proxy_nca_loss(embeddings, labels, centers, *, softmax_scale=1.0, weights=None, where=None,
                   reduction="mean"):
  r"""ProxyNCA: softmax over negative squared distances to the class proxies.

  .. math::
    \ell_i = -\log\frac{e^{-s\,\|\hat x_i - \hat c_{y_i}\|^2}}
      {\sum_{j=1}^{C} e^{-s\,\|\hat x_i - \hat c_j\|^2}}

  on L2-normalised embeddings and proxies (``hat``), ``s = softmax_scale``.
  The denominator runs over ALL proxies, the own one included
  (pytorch-metric-learning's NCA form; the paper's Eq. 4 leaves it out).
  Computed as a log-softmax, so it is finite for any scale.

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]`` in ``[0, C)``.
    centers: floating ``[C, D]`` class proxies (normalised inside).
    softmax_scale: ``s`` > 0 (default 1.0); may be traced.
    weights: optional per-example weights ``[N]``.
    where: optional boolean ``[N]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[N]`` for "none".

  Raises:
    LossInputError: inconsistent shapes (``centers`` not ``[C, D]``).

  Notes:
    Equals pytorch-metric-learning 2.9's ``ProxyNCALoss(num_classes=C,
    embedding_size=D, softmax_scale=s)`` with ``centers`` as its ``proxies``
    (default ``LpDistance(power=2)``, normalised; default reducer: the mean).
    PML drops a row whose probability underflows to exactly 0 (a loss above
    ~103 in float32) from its mean; here such a row keeps its finite loss,
    computed in log space. No weight regulariser (PML's default is none).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> c = jnp.array([[1., 0.], [0., 1.]])
    >>> print(round(float(jaxloss.proxy_nca_loss(c, jnp.array([0, 1]), c)), 4))
    0.1269
  """
  x, c = _check_head(embeddings, labels, centers)
  x = nx.mask_fill(x, where, trailing=1)
  d2 = _sq_distances(nx.l2_normalize(x), nx.l2_normalize(c))     # [N, C]
  logits = -softmax_scale * d2
  values = jax.nn.logsumexp(logits, axis=-1) - nx.take_along_last(logits, labels)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_TASKS, peer="pytorch_metric_learning.losses.SoftTripleLoss",
          references=("Qian et al., SoftTriple Loss: Deep Metric Learning Without Triplet "
                      "Sampling, ICCV 2019", _PML),
          input_kind="embeddings")
@loss_function(static=("centers_per_class",), ranges={"la": "> 0", "gamma": "> 0"})
def soft_triple_loss(embeddings, labels, centers, *, centers_per_class=10, la=20.0, gamma=0.1,
                     margin=0.01, weights=None, where=None, reduction="mean"):
  r"""SoftTriple loss (Qian et al. 2019): softmax over classes with ``K`` centres each.

  .. math::
    S_{ic} = \sum_{k} \frac{e^{s_{ick}/\gamma}}{\sum_{k'} e^{s_{ick'}/\gamma}}\, s_{ick},\qquad
    \ell_i = -\log\frac{e^{\lambda (S_{iy_i} - \delta)}}
      {e^{\lambda (S_{iy_i} - \delta)} + \sum_{c \ne y_i} e^{\lambda S_{ic}}}

  with ``s_ick`` the cosine between embedding ``i`` and centre ``k`` of class
  ``c``, ``lambda = la``, ``delta = margin``.

  Args:
    embeddings: floating ``[N, D]``.
    labels: integer ``[N]`` in ``[0, C)``.
    centers: floating centres, ``[C * K, D]`` (rows ``c*K .. c*K + K - 1`` are
      class ``c``'s, the layout of pytorch-metric-learning's ``fc``
      ``[D, C*K]`` transposed) or ``[C, K, D]``; ``K = centers_per_class``.
      Normalised inside.
    centers_per_class: ``K`` >= 1 (default 10), static.
    la: logit scale ``lambda`` > 0 (default 20.0); may be traced.
    gamma: softmax temperature over a class's centres > 0 (default 0.1; the
      centre logits are ``s / gamma``); may be traced.
    margin: ``delta`` subtracted from the target class (default 0.01); may be
      traced.
    weights: optional per-example weights ``[N]``.
    where: optional boolean ``[N]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``[N]`` for "none".

  Raises:
    LossInputError: inconsistent shapes.

  Notes:
    Equals pytorch-metric-learning 2.9's ``SoftTripleLoss(num_classes=C,
    embedding_size=D, centers_per_class=K, la, gamma, margin)`` with ``fc.T``
    as ``centers`` (same defaults; default reducer: the mean over the batch).
    Like PML by default, the paper's centre regulariser (``tau`` times the
    centres' pairwise distances, Eq. 12) is NOT included: add it to the loss
    if wanted.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> c = jnp.array([[[1., 0.], [0.6, 0.8]], [[0., 1.], [-1., 0.]]])
    >>> x = jnp.array([[1., 0.], [0., 1.]])
    >>> print(round(float(jaxloss.soft_triple_loss(x, jnp.array([0, 1]), c,
    ...                                             centers_per_class=2, la=1.0)), 4))
    0.4602
  """
  x, w = _check_multi_head(embeddings, labels, centers, int(centers_per_class),
                           "centers_per_class")
  x = nx.mask_fill(x, where, trailing=1)
  s = jnp.einsum("nd,ckd->nck", nx.l2_normalize(x), nx.l2_normalize(w))   # [N, C, K]
  prob = jax.nn.softmax(s / gamma, axis=-1)
  sim = jnp.sum(prob * s, axis=-1)                                         # [N, C]
  onehot = jax.nn.one_hot(labels, w.shape[0], dtype=sim.dtype)
  logits = la * (sim - margin * onehot)
  values = jax.nn.logsumexp(logits, axis=-1) - nx.take_along_last(logits, labels)
  return reduce_loss(values, reduction, where=where, weights=weights)
