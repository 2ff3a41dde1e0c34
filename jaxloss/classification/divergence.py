"""Divergences and impurities of class distributions.

``logits`` carry classes on ``axis`` (default last); ``targets`` are
probabilities (or log-probabilities with ``log_targets=True``) of the same
shape. The unreduced loss has ``logits.shape`` without the class axis.
Zero-probability entries follow ``0 log 0 = 0`` with finite gradients w.r.t.
both arguments (double where, :func:`jaxloss._numerics.mul_log`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_floating,
    check_same_shape,
    debug_check_probabilities,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.classification._common import broadcast_where

__all__ = ["gini_impurity", "js_divergence", "kl_divergence"]


def _pair(logits, targets, axis, where):
  check_floating("logits", logits)
  check_floating("targets", targets)
  logits, targets = jnp.asarray(logits), jnp.asarray(targets)
  if logits.ndim < 1:
    raise LossInputError(f"logits must have a class axis, got shape {logits.shape}")
  check_same_shape("logits", logits, "targets", targets)
  logits, targets = jnp.moveaxis(logits, axis, -1), jnp.moveaxis(targets, axis, -1)
  dtype = nx.compute_dtype(logits, targets)
  where = broadcast_where(where, logits.shape[:-1])
  logits = nx.mask_fill(logits.astype(dtype), where, trailing=1)
  targets = nx.mask_fill(targets.astype(dtype), where, trailing=1)
  return logits, targets, where


def _targets(targets, log_targets):
  """(t, log t) with ``log t = -inf`` exactly where ``t == 0``, finite grads."""
  if log_targets:
    return jnp.exp(targets), targets
  debug_check_probabilities("targets", targets)
  pos = targets > 0
  log_t = jnp.where(pos, jnp.log(jnp.where(pos, targets, 1.0)), -jnp.inf)
  return targets, log_t


@register(tasks=("knowledge distillation", "variational inference", "classification"),
          peer="optax.losses.kl_divergence; torch.nn.functional.kl_div(reduction='batchmean')",
          references=("Kullback & Leibler, On Information and Sufficiency, 1951",
                      "Hinton et al., Distilling the Knowledge in a Neural Network, 2015",
                      SURVEY),
          input_kind="logits")
@loss_function(static=("log_targets", "axis"))
def kl_divergence(logits, targets, *, log_targets=False, axis=-1, weights=None, where=None,
                  reduction="mean"):
  r"""Kullback--Leibler divergence :math:`KL(t \,\|\, \operatorname{softmax}(z))`.

  .. math::
    \ell_i = \sum_c t_{i,c} \big(\log t_{i,c} - \log q_{i,c}\big),
    \qquad \log q_i = \operatorname{log\_softmax}(z_i)

  summed over the class axis, one value per example. Since ``log_softmax`` is
  idempotent on normalised log-probabilities, passing log-probabilities as
  ``logits`` gives the same result. Zero targets contribute 0 with finite
  gradients w.r.t. both arguments (also at ``-inf`` logits and ``-inf``
  log-targets); a target with mass where :math:`q = 0` gives ``+inf``, not
  NaN.

  Args:
    logits: floating ``[..., C]`` logits or log-probabilities (classes on ``axis``).
    targets: ``[..., C]`` probabilities, or log-probabilities if
      ``log_targets``.
    log_targets: static; ``targets`` are log-probabilities (default False).
    axis: class axis (default -1).
    weights: optional per-example weights, broadcastable to the unreduced loss.
    where: optional boolean mask, broadcastable to ``logits.shape[:-1]``.
    reduction: "mean" (default; torch's ``'batchmean'``) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``logits``. Under
      chexify: probabilities outside [0, 1].
    LossTypeError: non-floating inputs.

  Notes:
    The peers take log-probabilities: ours is ``optax.losses.kl_divergence(
    log_softmax(logits), targets)`` and ``torch.nn.functional.kl_div(
    log_softmax(logits), targets, reduction='batchmean', log_target=...)``
    for 2-D inputs (torch's ``'mean'`` divides by every element instead).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logq = jnp.log(jnp.array([[0.5, 0.5, 0.], [0.25, 0.25, 0.5]]))
    >>> t = jnp.array([[0.5, 0.5, 0.], [0.5, 0.5, 0.]])
    >>> print(jaxloss.kl_divergence(logq, t, reduction="none"))
    [0.        0.693147]
  """
  z, t, where = _pair(logits, targets, axis, where)
  logq = jax.nn.log_softmax(z, axis=-1)
  t, log_t = _targets(t, log_targets)
  # t (log t - log q) with 0 at t == 0: the difference is sanitised there, so
  # neither -inf - -inf nor its gradient is ever formed.
  values = jnp.sum(nx.mul_log(t, jnp.where(t > 0, log_t, 0.0) - jnp.where(t > 0, logq, 0.0)),
                   axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("knowledge distillation", "generative modelling", "classification"),
          peer="scipy.spatial.distance.jensenshannon(p, q)**2 (natural log)",
          references=("Lin, Divergence measures based on the Shannon entropy, IEEE TIT 1991",),
          input_kind="logits")
@loss_function(static=("log_targets", "axis"))
def js_divergence(logits, targets, *, log_targets=False, axis=-1, weights=None, where=None,
                  reduction="mean"):
  r"""Jensen--Shannon divergence between ``softmax(logits)`` and ``targets``.

  .. math::
    \ell_i = \tfrac12 KL(p_i \,\|\, m_i) + \tfrac12 KL(t_i \,\|\, m_i),
    \qquad m_i = \tfrac12 (p_i + t_i),\ p_i = \operatorname{softmax}(z_i)

  Natural log, so :math:`0 \le \ell_i \le \log 2` (clipped to that range
  against rounding). The mixture is formed in log space
  (``logaddexp``); zero probabilities on either side contribute 0 with
  finite gradients.

  Args:
    logits: floating ``[..., C]`` logits (classes on ``axis``).
    targets: ``[..., C]`` probabilities, or log-probabilities if
      ``log_targets``.
    log_targets: static (default False).
    axis: class axis (default -1).
    weights: optional per-example weights, broadcastable to the unreduced loss.
    where: optional boolean mask, broadcastable to ``logits.shape[:-1]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``logits``.
    LossTypeError: non-floating inputs.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logp = jnp.log(jnp.array([[1., 0.], [0.5, 0.5]]))
    >>> print(jaxloss.js_divergence(logp, jnp.array([[0., 1.], [0.5, 0.5]]), reduction="none"))
    [0.693147 0.       ]
  """
  z, t, where = _pair(logits, targets, axis, where)
  logp = jax.nn.log_softmax(z, axis=-1)
  p = jnp.exp(logp)
  t, log_t = _targets(t, log_targets)
  both_zero = (p == 0) & (t == 0)
  log_m = jnp.logaddexp(jnp.where(both_zero, 0.0, logp),
                        jnp.where(both_zero, 0.0, log_t)) - math.log(2.0)
  term_p = nx.mul_log(p, jnp.where(p > 0, logp - log_m, 0.0))
  term_t = nx.mul_log(t, jnp.where(t > 0, jnp.where(t > 0, log_t, 0.0) - log_m, 0.0))
  values = 0.5 * jnp.sum(term_p + term_t, axis=-1)
  values = jnp.clip(values, 0.0, math.log(2.0))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("tabular classification", "decision trees", "confidence regularisation"),
          peer="sklearn DecisionTreeClassifier(criterion='gini') node impurity",
          references=("Breiman et al., Classification and Regression Trees, 1984", SURVEY),
          input_kind="logits")
@loss_function(static=("activation", "axis"), choices={"activation": ("softmax", None)})
def gini_impurity(logits, *, activation="softmax", axis=-1, weights=None, where=None,
                  reduction="mean"):
  r"""Gini impurity of a predicted class distribution.

  .. math::
    \ell_i = 1 - \sum_c p_{i,c}^2, \qquad p_i = \operatorname{softmax}(z_i)

  The survey's Gini impurity (CART's node-splitting criterion) evaluated on
  the soft prediction: 0 for a one-hot (pure) distribution, :math:`1 - 1/C`
  for the uniform one. It is unsupervised -- the survey defines it on a
  class distribution only, with no labels -- and differentiable in soft
  predictions, e.g. as a confidence regulariser. For CART's impurity of a
  node, pass the class proportions with ``activation=None``.

  Args:
    logits: floating ``[..., C]`` logits, or probabilities with
      ``activation=None`` (classes on ``axis``).
    activation: "softmax" (default) | None (inputs are probabilities); static.
    axis: class axis (default -1).
    weights: optional per-example weights, broadcastable to the unreduced loss.
    where: optional boolean mask, broadcastable to ``logits.shape[:-1]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: ``logits`` is a scalar; unknown ``activation``.
    LossTypeError: ``logits`` not floating.

  Notes:
    The survey's "Gini Impurity Loss". Given the class proportions it is the
    node impurity of ``sklearn.tree.DecisionTreeClassifier(criterion="gini")``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.gini_impurity(jnp.array([[.5, .5], [1., 0.]]), activation=None,
    ...                             reduction="none"))
    [0.5 0. ]
  """
  check_floating("logits", logits)
  logits = jnp.asarray(logits)
  if logits.ndim < 1:
    raise LossInputError(f"logits must have a class axis, got shape {logits.shape}")
  z = jnp.moveaxis(logits, axis, -1)
  z = z.astype(nx.compute_dtype(z))
  where = broadcast_where(where, z.shape[:-1])
  z = nx.mask_fill(z, where, trailing=1)
  p = jax.nn.softmax(z, axis=-1) if activation == "softmax" else z
  if activation is None:
    debug_check_probabilities("logits", p)
  values = 1.0 - jnp.sum(p * p, axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)
