"""Auxiliary losses of mixture-of-experts routers: router z-loss and load balancing.

A router maps each token to ``E`` expert logits ``(..., E)`` (experts last);
``where`` is a boolean token mask over ``(...)`` -- an attention mask that
excludes padding. These are regularisers added to a model's task loss with a
small coefficient (ST-MoE: ``1e-3`` for the z-loss, ``1e-2`` for load
balancing; Mixtral: ``router_aux_loss_coef = 0.02``), which the caller applies.

They live beside the distillation losses because both are "auxiliary" training
signals of large language models that take logits of a model rather than a
target: the catalog's family is the package, and these two do not make a
family of their own yet.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_broadcastable,
    check_floating,
    check_integer,
    check_min_rank,
    debug_check_labels,
    debug_check_probabilities,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.catalog import register

__all__ = ["load_balancing_loss", "router_z_loss"]

_SWITCH = ("Fedus, Zoph & Shazeer, Switch Transformers: Scaling to Trillion Parameter Models "
           "with Simple and Efficient Sparsity, JMLR 2022 (arXiv:2101.03961)")
_STMOE = ("Zoph et al., ST-MoE: Designing Stable and Transferable Sparse Expert Models, "
          "arXiv:2202.08906, 2022")
_MIXTRAL = "Jiang et al., Mixtral of Experts, arXiv:2401.04088, 2024"


@register(tasks=("mixture-of-experts", "language modelling"),
          input_kind="logits",
          peer="transformers router_z_loss_func (SwitchTransformers)",
          references=(_STMOE,))
@loss_function()
def router_z_loss(router_logits, *, weights=None, where=None, reduction="mean"):
  r"""Router z-loss of ST-MoE: the squared log-partition of each token's router logits.

  .. math::
    \ell_i = \Big(\log \sum_{e=1}^{E} e^{x_{i,e}}\Big)^2

  Penalising :math:`\log Z` keeps router logits small, which avoids the
  round-off of large logits in the router's (exponential) softmax -- the
  stability fix of ST-MoE, section 3.2. The loss is the mean over tokens;
  multiply by the coefficient (ST-MoE: :math:`10^{-3}`) yourself.

  Args:
    router_logits: floating ``(..., E)`` router logits (experts last), e.g.
      ``(batch, seq, E)``. ``-inf`` logits (excluded experts) are allowed.
    weights: optional per-token weights, broadcastable to ``(...)``.
    where: optional boolean token mask, broadcastable to ``(...)`` (padding
      tokens excluded).
    reduction: "mean" (default: mean over the unmasked tokens) | "sum" |
      "none".

  Returns:
    A scalar for "mean"/"sum"; ``router_logits.shape[:-1]`` for "none".

  Raises:
    LossInputError: ``router_logits`` has no expert axis.
    LossTypeError: ``router_logits`` not floating.

  Notes:
    Equals transformers' ``router_z_loss_func(router_logits)``
    (``logsumexp(x, -1)**2`` summed and divided by ``num_groups *
    tokens_per_group``) for ``(G, S, E)`` logits, and t5x/flaxformer's
    ``_router_z_loss``. Difference: transformers takes exactly 3-D logits and
    no mask; here any leading shape and a token mask. The gradient is
    :math:`2 \log Z \cdot \operatorname{softmax}(x)`, finite for any finite
    logits (log-sum-exp with a max shift).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0., 0., 0., 0.], [2., 0., -1., 1.]])
    >>> print(jaxloss.router_z_loss(x, reduction="none"))
    [1.921812 5.954526]
  """
  check_floating("router_logits", router_logits)
  check_min_rank("router_logits", router_logits, 1, "(..., E) with the experts last")
  x = jnp.asarray(router_logits)
  x = nx.mask_fill(x.astype(nx.compute_dtype(x)), where, trailing=1)
  log_z = nx.logsumexp(x, axis=-1)
  return reduce_loss(log_z * log_z, reduction, where=where, weights=weights)


@register(tasks=("mixture-of-experts", "language modelling"),
          input_kind="probabilities",
          peer="transformers load_balancing_loss_func (Mixtral: top_k, attention_mask; "
               "SwitchTransformers for one group)",
          references=(_SWITCH, _MIXTRAL, _STMOE))
@loss_function(static=("num_experts",))
def load_balancing_loss(router_probs, expert_indices, num_experts, *, where=None):
  r"""Switch Transformer / Mixtral auxiliary load-balancing loss.

  .. math::
    \mathcal L = E \sum_{e=1}^{E} f_e\, P_e, \qquad
    f_e = \frac{1}{N} \sum_{i} \sum_{k=1}^{K} [\,\mathrm{idx}_{i,k} = e\,], \qquad
    P_e = \frac{1}{N} \sum_i p_{i,e}

  over the :math:`N` unmasked tokens: :math:`f_e` is the fraction of tokens
  dispatched to expert :math:`e` (summed over the :math:`K` routing slots of
  top-:math:`K` routing) and :math:`P_e` the mean router probability of
  :math:`e`. The gradient flows through :math:`P` only (the dispatch is
  discrete). Perfectly balanced routing gives :math:`K` (1 for top-1); routing
  every token to one expert with probability 1 gives :math:`E K`.

  Args:
    router_probs: floating ``(..., E)`` router probabilities -- the softmax of
      the router logits over *all* experts (not renormalised over the top-k).
    expert_indices: integer ids of the selected experts, ``(...)`` for top-1
      routing or ``(..., K)`` for top-K (e.g. ``jax.lax.top_k(router_probs,
      K)[1]``).
    num_experts: :math:`E`, static int; must equal ``router_probs.shape[-1]``.
    where: optional boolean token mask, broadcastable to ``(...)`` (the
      attention mask: padding tokens are excluded from both means).

  Returns:
    A float32 scalar (float64 under x64). With no unmasked token it is 0 with
    a zero gradient (transformers: NaN).

  Raises:
    LossInputError: ``num_experts`` differs from ``router_probs.shape[-1]``;
      ``expert_indices`` is neither ``(...)`` nor ``(..., K)``; ``where`` does
      not broadcast to ``(...)``.
    LossTypeError: ``router_probs`` not floating or ``expert_indices`` not
      integer. Under chexify: probabilities outside [0, 1], indices outside
      ``[0, E)``.

  Notes:
    Matches transformers' Mixtral ``load_balancing_loss_func(gate_logits,
    num_experts, top_k, attention_mask)`` with ``router_probs =
    softmax(gate_logits)`` and ``expert_indices = topk(router_probs,
    top_k).indices``: both means are pooled over all (unmasked) tokens, the
    slot-wise dispatch fractions are summed over :math:`K` and the result is
    ``sum(f * P) * num_experts``. To reproduce Mixtral's pooling over layers,
    stack the layers' tokens on a leading axis (it concatenates them). For
    top-1 indices and one group it also equals SwitchTransformers'
    ``load_balancing_loss_func(router_probs, expert_indices)``
    (``mean(f * P) * E**2``); for several groups ``(G, S, E)`` Switch
    averages per-group losses -- use ``jax.vmap`` over the groups and take the
    mean for that. Difference: Switch takes the max over the K slots of a
    token (duplicate ids count once); like Mixtral we count each slot
    (``top_k`` never repeats an expert, so they agree on real routing).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> probs = jnp.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    >>> print(jaxloss.load_balancing_loss(probs, jnp.array([0, 0, 2]), 3))
    1.266667
  """
  check_floating("router_probs", router_probs)
  check_min_rank("router_probs", router_probs, 1, "(..., E) with the experts last")
  check_integer("expert_indices", expert_indices)
  if isinstance(num_experts, bool) or not isinstance(num_experts, int) or num_experts < 1:
    raise LossInputError(f"num_experts must be a positive int, got {num_experts!r}")
  probs_shape = shape_of(router_probs)
  if probs_shape[-1] != num_experts:
    raise LossInputError(
        f"router_probs has shape {probs_shape} but num_experts is {num_experts}; expected "
        f"router_probs of shape (..., {num_experts})")
  tokens = probs_shape[:-1]
  idx = jnp.asarray(expert_indices)
  if shape_of(idx) == tokens:
    idx = idx[..., None]
  elif not (idx.ndim == len(tokens) + 1 and shape_of(idx)[:-1] == tokens):
    raise LossInputError(
        f"expert_indices has shape {shape_of(idx)} but router_probs has shape {probs_shape}; "
        f"expected {tokens} (top-1) or {tokens} + (K,) (top-K)")
  p = jnp.asarray(router_probs)
  dtype = nx.compute_dtype(p)
  if where is None:
    mask = jnp.ones(tokens, bool)
  else:
    check_broadcastable("where", where, tokens, "token")
    mask = jnp.broadcast_to(jnp.asarray(where, bool), tokens)
  # Fill masked tokens before any arithmetic: a NaN there reaches neither the
  # value nor the gradient.
  p = nx.mask_fill(p.astype(dtype), mask, trailing=1)
  debug_check_probabilities("router_probs", p)
  idx = jnp.where(mask[..., None], idx, 0)
  debug_check_labels(idx, num_experts)
  # Tokens routed per expert: one-hot over the experts, summed over the slots.
  dispatch = jnp.sum(jax.nn.one_hot(idx, num_experts, dtype=dtype), axis=-2)
  dispatch = jnp.where(mask[..., None], dispatch, 0.0)
  lead = tuple(range(len(tokens)))
  count = jnp.sum(mask, dtype=dtype)
  f = nx.safe_div(jnp.sum(dispatch, axis=lead), count)
  mean_p = nx.safe_div(jnp.sum(p, axis=lead), count)
  return num_experts * jnp.sum(f * mean_p)
