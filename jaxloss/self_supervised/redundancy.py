"""Non-contrastive redundancy-reduction losses over two views: VICReg and Barlow Twins.

Both are *batch-level*: the variance, covariance and cross-correlation terms
are statistics over the batch, so the loss is one scalar per batch (Barlow
Twins has no ``reduction`` option; VICReg's only changes its per-sample
invariance term). ``where [N]`` removes rows from every statistic (the
batch means, variances, covariances and the invariance term); a NaN in a
removed row reaches neither the value nor the gradient, and a batch with no
valid row gives 0.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import check_floating, check_rank, check_same_shape, loss_function
from jaxloss.catalog import register
from jaxloss.self_supervised._common import row_mask

__all__ = ["barlow_twins_loss", "vicreg_loss"]

_VICREG = ("Bardes, Ponce, LeCun, VICReg: Variance-Invariance-Covariance Regularization for "
           "Self-Supervised Learning, ICLR 2022")
_BARLOW = ("Zbontar, Jing, Misra, LeCun, Deny, Barlow Twins: Self-Supervised Learning via "
           "Redundancy Reduction, ICML 2021")


def _views(x1, x2, where):
  """Validates two ``[N, D]`` views; returns (a, b, valid, count) with excluded rows zeroed."""
  check_floating("x1", x1)
  check_rank("x1", x1, 2, "[N, D]")
  check_same_shape("x1", x1, "x2", x2)
  dtype = nx.compute_dtype(x1, x2)
  a = jnp.asarray(x1).astype(dtype)
  b = jnp.asarray(x2).astype(dtype)
  valid = row_mask(where, a.shape[0])
  if where is not None:
    a = nx.mask_fill(a, valid, trailing=1)
    b = nx.mask_fill(b, valid, trailing=1)
  return a, b, valid, jnp.sum(valid, dtype=dtype)


def _centred(x, valid, count):
  """``x`` minus its mean over the valid rows; excluded rows stay exactly 0."""
  mean = nx.safe_div(jnp.sum(x, axis=0), count)
  return jnp.where(valid[:, None], x - mean, 0.0)


def _off_diagonal_sq_sum(c):
  return jnp.sum(c * c) - jnp.sum(jnp.diagonal(c) ** 2)


@register(tasks=("self-supervised learning", "representation learning"),
          peer="facebookresearch/vicreg main_vicreg.py (VICReg.forward)",
          references=(_VICREG,),
          input_kind="embeddings",
          components=("invariance", "variance", "covariance"))
@loss_function(static=("return_components",), choices={"reduction": ("mean", "sum")},
               ranges={"eps": "> 0", "sim_coeff": ">= 0", "std_coeff": ">= 0",
                       "cov_coeff": ">= 0"})
def vicreg_loss(x1, x2, *, sim_coeff=25.0, std_coeff=25.0,
                cov_coeff=1.0, eps=1e-4, where=None, reduction="mean",
                return_components=False):
  r"""VICReg: invariance + variance + covariance regularisation of two views.

  .. math::
    s = \frac{1}{ND}\sum_{i,d} (x_{1,id} - x_{2,id})^2,\qquad
    v = \sum_{z\in\{x_1,x_2\}} \frac{1}{2D}\sum_d \max\big(0,\ 1 - \sqrt{\mathrm{Var}(z_{:,d}) + \epsilon}\big)

  .. math::
    c = \sum_{z\in\{x_1,x_2\}} \frac{1}{D}\sum_{d \ne e} C(z)_{de}^2,\qquad
    C(z) = \frac{(z - \bar z)^\top (z - \bar z)}{N - 1},\qquad
    L = \lambda s + \mu v + \nu c

  with the unbiased (``N - 1``) variance and covariance over the batch.

  Args:
    x1: floating ``[N, D]`` embeddings (projector outputs) of the first view.
    x2: ``[N, D]`` embeddings of the second view (``x2[i]`` pairs with ``x1[i]``).
    sim_coeff: :math:`\lambda`, the official ``sim_coeff`` (default 25).
    std_coeff: :math:`\mu`, the official ``std_coeff`` (default 25).
    cov_coeff: :math:`\nu`, the official ``cov_coeff`` (default 1).
    eps: added to the variance under the square root (default 1e-4, as the
      official code).
    where: optional boolean ``[N]``; False rows are removed from the batch.
    reduction: "mean" (default, the official loss) | "sum": the invariance
      term summed over the samples (each sample's mean over the ``D``
      features) instead of averaged; the variance and covariance terms are
      batch statistics either way.
    return_components: also return ``{"invariance": s, "variance": v,
      "covariance": c}`` (unweighted), static.

  Returns:
    A scalar (batch-level loss), or ``(total, parts)``.

  Raises:
    LossInputError: ``x2`` shape differs from ``x1``; ``where`` not ``[N]``.

  Notes:
    Matches the official ``VICReg.forward``: ``F.mse_loss`` for the
    invariance term, ``torch.var`` (unbiased) for the standard deviations,
    ``relu(1 - std)`` averaged over features and halved per view, and the
    squared off-diagonal covariances summed and divided by ``D`` per view (not
    halved). The official code gathers the embeddings of all devices before
    the variance/covariance terms; here the batch is what is passed (gather
    it first under ``shard_map``). With a single valid row the unbiased
    (co)variances are defined as 0 (the official code gives NaN).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [0., 1.], [-1., 0.]])
    >>> print(jaxloss.vicreg_loss(x, x + 0.1))
    5.532039
  """
  a, b, valid, n = _views(x1, x2, where)
  d = a.shape[1]
  invariance = jnp.sum((a - b) ** 2) / d
  if reduction == "mean":
    invariance = nx.safe_div(invariance, n)
  total_var = 0.0
  total_cov = 0.0
  for z in (a, b):
    zc = _centred(z, valid, n)
    var = nx.safe_div(jnp.sum(zc * zc, axis=0), n - 1.0)
    std = jnp.sqrt(var + eps)
    total_var = total_var + jnp.mean(jnp.maximum(1.0 - std, 0.0)) / 2.0
    cov = nx.safe_div(zc.T @ zc, n - 1.0)
    total_cov = total_cov + _off_diagonal_sq_sum(cov) / d
  any_valid = n > 0
  variance = jnp.where(any_valid, total_var, 0.0)
  covariance = jnp.where(any_valid, total_cov, 0.0)
  total = (sim_coeff * invariance + std_coeff * variance
           + cov_coeff * covariance)
  if return_components:
    return total, {"invariance": invariance, "variance": variance, "covariance": covariance}
  return total


@register(tasks=("self-supervised learning", "representation learning"),
          peer="facebookresearch/barlowtwins main.py (BarlowTwins.forward)",
          references=(_BARLOW,),
          input_kind="embeddings")
@loss_function(ranges={"eps": "> 0", "lambd": ">= 0"})
def barlow_twins_loss(x1, x2, *, lambd=0.0051, eps=1e-5, where=None):
  r"""Barlow Twins: drive the cross-correlation of two views to the identity.

  .. math::
    \hat z_{id} = \frac{z_{id} - \bar z_d}{\sqrt{\sigma_d^2 + \epsilon}},\qquad
    C = \frac{\hat x_1^\top \hat x_2}{N},\qquad
    L = \sum_d (1 - C_{dd})^2 + \lambda \sum_{d \ne e} C_{de}^2

  with each view standardised per feature over the batch (the biased
  variance :math:`\sigma^2`, as ``BatchNorm1d(affine=False)`` in training).

  Args:
    x1: floating ``[N, D]`` embeddings (projector outputs) of the first view.
    x2: ``[N, D]`` embeddings of the second view.
    lambd: :math:`\lambda`, the weight of the off-diagonal
      (redundancy-reduction) term; the official ``lambd`` (default 0.0051).
    eps: batch-norm epsilon (default 1e-5, torch's ``BatchNorm1d``).
    where: optional boolean ``[N]``; False rows are removed from the batch.

  Returns:
    A scalar (batch-level loss).

  Raises:
    LossInputError: ``x2`` shape differs from ``x1``; ``where`` not ``[N]``.

  Notes:
    Matches the official ``BarlowTwins.forward``: ``bn(z1).T @ bn(z2)``
    divided by the batch size, ``(diag - 1)^2`` summed plus ``lambd`` times
    the summed squared off-diagonal entries. On several devices the official
    code divides each device's ``C`` by the GLOBAL batch size
    (``args.batch_size``) and all-reduces (sums) it, with ``SyncBatchNorm``
    statistics, so ``C`` is the global batch's; here the batch is what is
    passed (gather it first under ``shard_map``).
    MONAI's ``BarlowTwinsLoss`` differs: it standardises with the *unbiased*
    ``std`` plus 1e-6 (not ``sqrt(biased var + 1e-5)``) and defaults
    ``lambd = 5e-3``, so its values differ from the official ones by
    ``O(1/N)``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[1., 0.], [0., 1.], [-1., 0.], [0., -1.]])
    >>> y = jnp.array([[1., .5], [0., 1.], [-1., 0.], [.5, -1.]])
    >>> print(jaxloss.barlow_twins_loss(x, y))
    0.004426
  """
  a, b, valid, n = _views(x1, x2, where)
  za = []
  for z in (a, b):
    zc = _centred(z, valid, n)
    var = nx.safe_div(jnp.sum(zc * zc, axis=0), n)
    za.append(zc / jnp.sqrt(var + eps))
  c = nx.safe_div(za[0].T @ za[1], n)
  any_valid = n > 0
  invariance = jnp.where(any_valid, jnp.sum((jnp.diagonal(c) - 1.0) ** 2), 0.0)
  redundancy = jnp.where(any_valid, _off_diagonal_sq_sum(c), 0.0)
  return invariance + lambd * redundancy
