"""Policy-gradient losses for RL from (verifiable) rewards: the clipped surrogate of
PPO/GRPO/DAPO/Dr. GRPO/GSPO, the KL estimators, PPO's clipped value loss and GRPO's
group-relative advantages.

Per-token inputs are ``(B, T)``: ``B`` completions of ``T`` (padded) tokens, with a boolean
``mask`` (``where``-like) marking the completion tokens. Masked tokens are excluded exactly:
their inputs are replaced before any arithmetic (double where), so a NaN or inf in padding
reaches neither the value nor a gradient. Old-policy and reference inputs are constants
(``jax.lax.stop_gradient``): TRL computes them without gradient, and passing ``logps`` itself
as ``old_logps`` (the ``num_iterations=1`` case) then gives the right gradient instead of none.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    LossTypeError,
    check_floating,
    check_rank,
    check_same_shape,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.alignment._common import POLICY_TASKS, TRL, capped_exp, check_where
from jaxloss.catalog import register

__all__ = ["clipped_policy_loss", "grpo_advantages", "kl_penalty", "value_loss"]

_PPO = ("Schulman et al., Proximal Policy Optimization Algorithms, arXiv:1707.06347, 2017")
_GRPO = ("Shao et al., DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open "
         "Language Models, arXiv:2402.03300, 2024 (GRPO)")
_SCHULMAN_KL = "Schulman, Approximating KL Divergence, joschu.net/blog/kl-approx.html, 2020"

POLICY_LOSS_TYPES = ("grpo", "dapo", "dr_grpo", "bnpo")


def _k3(logps, ref_logps):
  """Schulman's k3, ``r - 1 - log r`` with ``r = pi_ref / pi``: >= 0, unbiased, low variance."""
  x = ref_logps - logps
  return capped_exp(x) - x - 1


def _bool_mask(name, mask, shape):
  dtype = mask.dtype if hasattr(mask, "dtype") else jnp.asarray(mask).dtype
  if dtype != jnp.bool_:
    raise LossTypeError(f"{name} must be a boolean array, got dtype {dtype}")
  if shape_of(mask) != tuple(shape):
    raise LossInputError(f"{name} has shape {shape_of(mask)}; expected {tuple(shape)}, one "
                         "entry per token")
  return jnp.asarray(mask)


@register(
    tasks=POLICY_TASKS, input_kind="log-probabilities",
    peer=f"trl.GRPOTrainer ({TRL}, GRPOTrainer._compute_loss)",
    references=(
        _PPO, _GRPO,
        "Yu et al., DAPO: An Open-Source LLM Reinforcement Learning System at Scale, "
        "arXiv:2503.14476, 2025",
        "Liu et al., Understanding R1-Zero-Like Training: A Critical Perspective, "
        "arXiv:2503.20783, 2025 (Dr. GRPO)",
        "Zheng et al., Group Sequence Policy Optimization, arXiv:2507.18071, 2025 (GSPO)",
        "Prime Intellect, INTELLECT-2, arXiv:2505.07291, 2025 (two-sided clipping, delta)",
        _SCHULMAN_KL),
    components=("policy", "kl", "clip_fraction"))
@loss_function(
    static=("loss_type", "importance_level", "max_completion_length", "return_components"),
    ranges={"beta": ">= 0", "epsilon_low": ">= 0", "epsilon_high": ">= 0", "delta": "> 0",
            "max_completion_length": ">= 1"},
    choices={"loss_type": POLICY_LOSS_TYPES, "importance_level": ("token", "sequence")})
def clipped_policy_loss(logps, old_logps, advantages, mask, *, ref_logps=None, beta=0.0,
                        epsilon_low=0.2, epsilon_high=0.2, delta=None, loss_type="dapo",
                        importance_level="token", max_completion_length=None,
                        reduction="mean", return_components=False):
  r"""The clipped policy-gradient surrogate of PPO and GRPO, with TRL's loss types.

  With the importance ratio :math:`r_{i,t} = \pi_\theta(o_{i,t}) / \pi_{old}(o_{i,t})`
  (``importance_level="token"``) or GSPO's sequence ratio
  :math:`r_i = \exp\big(\tfrac{1}{|o_i|}\sum_t \log r_{i,t}\big)` (``"sequence"``),
  advantages :math:`\hat A`, and the k3 KL estimator
  :math:`\mathbb{D}_{i,t} = e^{x} - x - 1`, :math:`x = \log\pi_{ref} - \log\pi_\theta`,

  .. math::
    l_{i,t} = -\min\big(\min(r, \delta)\hat A,\ \mathrm{clip}(r, 1-\epsilon_{low},
      1+\epsilon_{high})\hat A\big) + \beta\,\mathbb{D}_{i,t}

  aggregated over the masked tokens (:math:`m_{i,t}`) according to ``loss_type``:

  .. math::
    \text{grpo: } \frac1B\sum_i \frac{\sum_t m_{i,t} l_{i,t}}{\max(1, \sum_t m_{i,t})}
    \qquad
    \text{dapo, bnpo: } \frac{\sum_{i,t} m_{i,t} l_{i,t}}{\max(1, \sum_{i,t} m_{i,t})}
    \qquad
    \text{dr\_grpo: } \frac{\sum_{i,t} m_{i,t} l_{i,t}}{B\,L}

  with :math:`L` = ``max_completion_length``. Each is the mean over the ``B`` completions of
  a per-completion contribution :math:`c_i` (``reduction="none"``): the completion's token
  mean (grpo), :math:`B\sum_t m_{i,t} l_{i,t} / \max(1, \sum_{j,t} m_{j,t})` (dapo, bnpo)
  or :math:`\sum_t m_{i,t} l_{i,t} / L` (dr_grpo).

  Args:
    logps: floating ``(B, T)``, the policy's log-probability of each sampled token.
    old_logps: ``(B, T)``, the sampling (old) policy's (no gradient).
    advantages: ``(B,)`` one advantage per completion (GRPO's), or ``(B, T)`` per token.
    mask: boolean ``(B, T)``, True on the completion tokens that count.
    ref_logps: optional ``(B, T)``, the reference policy's (no gradient), for the KL term.
      Without it the KL term is 0 whatever ``beta``.
    beta: the KL coefficient (default 0.0, TRL's current default). May be traced.
    epsilon_low: lower clip range, ratio >= 1 - epsilon_low (default 0.2). May be traced.
    epsilon_high: upper clip range, ratio <= 1 + epsilon_high (default 0.2; DAPO uses
      0.28). May be traced.
    delta: optional upper bound of the unclipped ratio (INTELLECT-2's two-sided clipping;
      default None, off). May be traced.
    loss_type: "dapo" (default, as TRL) | "grpo" | "dr_grpo" | "bnpo": the normalisation.
    importance_level: "token" (default, PPO/GRPO) | "sequence" (GSPO).
    max_completion_length: :math:`L` of "dr_grpo" (static; default None: ``T``).
    reduction: "mean" (default: the ``loss_type`` normalisation above) | "sum" (``B`` times
      the mean) | "none" (the ``(B,)`` contributions :math:`c_i`; for dapo/bnpo they depend
      on the whole batch's token count).
    return_components: also return the parts.

  Returns:
    A scalar for "mean"/"sum"; ``(B,)`` for "none". With ``return_components=True``,
    ``(loss, parts)``: ``"policy"`` (the clipped surrogate) and ``"kl"`` (the KL estimate,
    0 without ``ref_logps``), each aggregated by ``loss_type`` so that
    ``loss = policy + beta * kl``, and ``"clip_fraction"`` (no gradient; reduced like the
    loss, as per-completion contributions whose mean is it): the fraction of tokens -- of
    completions for ``"sequence"`` with ``(B,)`` advantages -- whose ratio is clipped,
    :math:`r < 1 - \epsilon_{low}` with :math:`\hat A < 0` or :math:`r > 1 + \epsilon_{high}`
    with :math:`\hat A > 0` (TRL's ``clip_ratio/region_mean``).

  Raises:
    LossInputError: inputs not ``(B, T)``, a mismatched shape, a concrete bad option.
    LossTypeError: non-floating inputs, a non-boolean ``mask``.

  Notes:
    Matches ``GRPOTrainer._compute_loss`` of TRL 1.9.0 for these loss types (TRL's
    ``"grpo"``: per-completion token mean, then the mean over all ``B`` completions, the
    empty ones counting 0; ``"bnpo"``: the active-token mean of the local batch;
    ``"dr_grpo"``: a constant ``B * max_completion_length``). TRL's ``"dapo"`` divides by
    the active tokens of the *whole accumulated* batch (``num_items_in_batch``); one call
    here sees one batch, so ``"dapo"`` and ``"bnpo"`` coincide -- pass the whole batch, or
    rescale, to reproduce DAPO under gradient accumulation. TRL's gradient-accumulation
    division is not applied. The GSPO paper's objective is ``importance_level="sequence"``
    with ``loss_type="grpo"``; with the token-summing types each completion weighs by its
    length (TRL warns). Ratios use ``exp`` continued linearly above a log-ratio of 50
    (TRL's ``exp`` overflows near 89 in float32), so a log-ratio of +-1e4 gives a finite
    loss and gradient. Not included: "cispo", "sapo", "luspo", "vespo", vLLM's
    importance-sampling correction, entropy masks and bonuses, ``use_bias_correction_kl``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logps = jnp.log(jnp.array([[0.5, 0.4, 0.9], [0.2, 0.3, 0.1]]))
    >>> old = jnp.log(jnp.array([[0.4, 0.4, 0.5], [0.3, 0.3, 0.5]]))
    >>> mask = jnp.array([[True, True, True], [True, True, False]])
    >>> adv = jnp.array([1.0, -1.0])
    >>> print(jaxloss.clipped_policy_loss(logps, old, adv, mask))
    -0.32
    >>> print(jaxloss.clipped_policy_loss(logps, old, adv, mask, loss_type="grpo"))
    -0.116667
  """
  check_floating("logps", logps)
  check_rank("logps", logps, 2, "(B, T) per-token log-probabilities")
  check_same_shape("logps", logps, "old_logps", old_logps)
  if ref_logps is not None:
    check_same_shape("logps", logps, "ref_logps", ref_logps)
  b, t = shape_of(logps)
  m = _bool_mask("mask", mask, (b, t))
  if shape_of(advantages) not in ((b,), (b, 1), (b, t)):
    raise LossInputError(f"advantages has shape {shape_of(advantages)}; expected ({b},) per "
                         f"completion or ({b}, {t}) per token")
  check_floating("advantages", advantages)
  dtype = nx.compute_dtype(logps, old_logps, advantages, ref_logps)
  lp = nx.mask_fill(logps.astype(dtype), m)
  old = jax.lax.stop_gradient(nx.mask_fill(jnp.asarray(old_logps).astype(dtype), m))
  adv = jnp.asarray(advantages).astype(dtype)
  per_sequence_adv = adv.ndim == 1 or adv.shape[1] == 1
  adv = adv.reshape(b, 1) if per_sequence_adv else nx.mask_fill(adv, m)
  mf = m.astype(dtype)

  log_ratio = lp - old
  if importance_level == "token":
    log_w = log_ratio
  else:
    log_w = (jnp.sum(log_ratio, axis=-1, keepdims=True)
             / jnp.maximum(jnp.sum(mf, axis=-1, keepdims=True), 1))
  coef_1 = capped_exp(log_w)
  lo = 1 - jnp.asarray(epsilon_low, dtype)
  hi = 1 + jnp.asarray(epsilon_high, dtype)
  coef_2 = jnp.clip(coef_1, lo, hi)
  if delta is not None:
    coef_1 = jnp.minimum(coef_1, jnp.asarray(delta, dtype))
  policy_tok = -jnp.minimum(coef_1 * adv, coef_2 * adv)
  policy_tok = jnp.broadcast_to(policy_tok, (b, t))
  if ref_logps is None:
    kl_tok = jnp.zeros((b, t), dtype)
  else:
    ref = jax.lax.stop_gradient(nx.mask_fill(jnp.asarray(ref_logps).astype(dtype), m))
    kl_tok = _k3(lp, ref)

  length = t if max_completion_length is None else max_completion_length

  def aggregate(x):
    """The per-completion contributions ``(B,)``, reduced: their mean is the loss_type's."""
    x = jnp.sum(jnp.where(m, x, jnp.zeros((), dtype)), axis=-1)
    if loss_type == "grpo":
      c = x / jnp.maximum(jnp.sum(mf, axis=-1), 1)
    elif loss_type == "dr_grpo":
      c = x / length
    else:   # dapo, bnpo: the batch's token mean, as B equal shares
      c = x * (b / jnp.maximum(jnp.sum(mf), 1))
    return reduce_loss(c, reduction)

  beta = jnp.asarray(beta, dtype)
  loss = aggregate(policy_tok + beta * kl_tok)
  if not return_components:
    return loss
  r, a = jax.lax.stop_gradient(coef_1), jax.lax.stop_gradient(adv)
  clipped = (((r < lo) & (a < 0)) | ((r > hi) & (a > 0))).astype(dtype)
  if importance_level == "sequence" and per_sequence_adv:
    clip_fraction = reduce_loss(clipped[:, 0], reduction)   # one ratio per completion (TRL)
  else:
    clipped = jnp.sum(jnp.where(m, jnp.broadcast_to(clipped, (b, t)), 0), axis=-1)
    clip_fraction = reduce_loss(clipped * (b / jnp.maximum(jnp.sum(mf), 1)), reduction)
  return loss, {"policy": aggregate(policy_tok), "kl": aggregate(kl_tok),
                "clip_fraction": clip_fraction}


@register(
    tasks=POLICY_TASKS, input_kind="log-probabilities",
    peer=f"trl.GRPOTrainer ({TRL}, per_token_kl, k3); verl kl_penalty ('kl', 'mse', "
         "'low_var_kl' without its clamps)",
    references=(_SCHULMAN_KL, _GRPO))
@loss_function(static=("estimator",), choices={"estimator": ("k1", "k2", "k3")})
def kl_penalty(logps, ref_logps, *, estimator="k3", where=None, reduction="mean"):
  r"""Per-token estimate of :math:`\mathrm{KL}(\pi_\theta \| \pi_{ref})` from sampled tokens.

  With :math:`x = \log\pi_{ref}(o_t) - \log\pi_\theta(o_t)` at tokens sampled from
  :math:`\pi_\theta`, Schulman's estimators are

  .. math::
    k_1 = -x,\qquad k_2 = \tfrac12 x^2,\qquad k_3 = e^{x} - x - 1

  :math:`k_1` is unbiased but can be negative, :math:`k_2` is biased with low variance,
  :math:`k_3` (GRPO's) is unbiased, non-negative and low-variance.

  Args:
    logps: floating ``[...]`` (typically ``(B, T)``), the policy's log-probabilities of the
      sampled tokens.
    ref_logps: the reference policy's, same shape (no gradient).
    estimator: "k3" (default, GRPO's) | "k1" | "k2".
    where: optional boolean mask (the completion mask), broadcastable to ``[...]``.
    reduction: "mean" (default, over the unmasked tokens, TRL's logged ``kl``) | "sum" |
      "none".

  Returns:
    A scalar for "mean"/"sum"; ``logps.shape`` for "none".

  Raises:
    LossInputError: shape mismatch or unknown ``estimator``.
    LossTypeError: non-floating inputs, a non-boolean ``where``.

  Notes:
    "k3" is TRL's GRPO ``per_token_kl`` exactly, with ``exp`` continued linearly above 50
    (finite at log-ratios of +-1e4). The gradient flows through ``logps`` only.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> lp, ref = jnp.log(jnp.array([0.5, 0.2])), jnp.log(jnp.array([0.4, 0.4]))
    >>> print(jaxloss.kl_penalty(lp, ref, reduction="none"))
    [0.023144 0.306853]
    >>> print(jaxloss.kl_penalty(lp, ref, estimator="k1", reduction="none"))
    [ 0.223144 -0.693147]
  """
  check_floating("logps", logps)
  check_same_shape("logps", logps, "ref_logps", ref_logps)
  check_where(where, shape_of(logps))
  dtype = nx.compute_dtype(logps, ref_logps)
  lp = nx.mask_fill(logps.astype(dtype), where)
  ref = jax.lax.stop_gradient(nx.mask_fill(jnp.asarray(ref_logps).astype(dtype), where))
  if estimator == "k1":
    values = lp - ref
  elif estimator == "k2":
    values = 0.5 * (lp - ref) ** 2
  else:
    values = _k3(lp, ref)
  return reduce_loss(values, reduction, where=where)


@register(
    tasks=POLICY_TASKS, input_kind="values",
    peer="trl.experimental.ppo.PPOTrainer (vf_loss, cliprange_value); OpenAI baselines ppo2",
    references=(_PPO,))
@loss_function(ranges={"clip": ">= 0"})
def value_loss(values, old_values, returns, *, clip=0.2, where=None, reduction="mean"):
  r"""PPO's clipped value-function loss.

  .. math::
    \ell = \tfrac12\max\big((V - R)^2,\ (\mathrm{clip}(V, V_{old} - c, V_{old} + c) - R)^2\big)

  Args:
    values: floating ``[...]`` (``(B,)`` or per token ``(B, T)``), the value head's
      predictions.
    old_values: the predictions at rollout time, same shape (no gradient).
    returns: the return targets, same shape (no gradient).
    clip: :math:`c`, the value clip range (default 0.2, TRL's ``cliprange_value``); None
      for the unclipped :math:`\tfrac12(V - R)^2`. May be traced.
    where: optional boolean mask (padding), broadcastable to ``[...]``.
    reduction: "mean" (default, over the unmasked entries) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``values.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``clip < 0``.
    LossTypeError: non-floating inputs, a non-boolean ``where``.

  Notes:
    Equals TRL's PPOTrainer ``vf_loss`` (``0.5 * masked_mean(max(...))``), before its
    ``vf_coef``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> v, old, ret = jnp.array([1.0, 0.0]), jnp.array([0.5, 0.1]), jnp.array([2.0, 0.2])
    >>> print(jaxloss.value_loss(v, old, ret, reduction="none"))
    [0.845 0.02 ]
  """
  check_floating("values", values)
  check_same_shape("values", values, "old_values", old_values)
  check_same_shape("values", values, "returns", returns)
  check_where(where, shape_of(values))
  dtype = nx.compute_dtype(values, old_values, returns)
  v = nx.mask_fill(values.astype(dtype), where)
  old = jax.lax.stop_gradient(nx.mask_fill(jnp.asarray(old_values).astype(dtype), where))
  ret = jax.lax.stop_gradient(nx.mask_fill(jnp.asarray(returns).astype(dtype), where))
  out = (v - ret) ** 2
  if clip is not None:
    c = jnp.asarray(clip, dtype)
    out = jnp.maximum(out, (jnp.clip(v, old - c, old + c) - ret) ** 2)
  return reduce_loss(0.5 * out, reduction, where=where)


@loss_function(static=("group_size", "scale_rewards"),
               choices={"scale_rewards": (True, False, "group", "batch", "none")})
def grpo_advantages(rewards, group_size, *, scale_rewards=True, where=None):
  r"""GRPO's group-relative advantages (a helper, not a loss).

  The rewards of the ``group_size`` completions sampled for one prompt are centred on
  their group mean and, by default, scaled by their group standard deviation:

  .. math::
    \hat A_i = \frac{r_i - \mathrm{mean}(r_{g(i)})}{\mathrm{std}(r_{g(i)}) + 10^{-4}}

  Args:
    rewards: floating ``(B,)`` with ``B = num_prompts * group_size``, the completions of one
      prompt contiguous (TRL's ``rewards.view(-1, num_generations)`` layout).
    group_size: completions per prompt (TRL's ``num_generations``; static).
    scale_rewards: True or "group" (default): divide by the group's standard deviation
      (Bessel-corrected, as TRL's ``nanstd``); "batch": by the whole batch's (PPO-Lite);
      False or "none": centre only (Dr. GRPO).
    where: optional boolean ``(B,)``; False marks an unscorable completion (TRL's NaN
      reward): it is left out of its group's mean and standard deviation and gets
      advantage 0.

  Returns:
    ``(B,)`` advantages. A group with fewer than two scored completions gets advantage 0
    when scaling (TRL: ``nanstd`` is NaN there and ``nan_to_num`` makes it 0).

  Raises:
    LossInputError: ``rewards`` not 1-D, ``B`` not a multiple of ``group_size``.
    LossTypeError: non-floating ``rewards``, a non-boolean ``where``.

  Notes:
    Matches TRL 1.9.0 ``GRPOTrainer._generate_and_score_completions`` with
    ``multi_objective_aggregation="sum_then_normalize"`` on already-summed rewards,
    including the 1e-4 in the denominator. Not a loss, so not in the catalog.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.grpo_advantages(jnp.array([1., 0., 0., 1., 1., 1.]), 3))
    [ 1.1545 -0.57725 -0.57725  0.  0.  0. ]
  """
  check_floating("rewards", rewards)
  check_rank("rewards", rewards, 1, "one reward per completion")
  (n,) = shape_of(rewards)
  if not isinstance(group_size, int) or group_size < 1 or n % group_size:
    raise LossInputError(f"rewards has shape {(n,)}, which is not a whole number of groups "
                         f"of group_size={group_size!r}")
  check_where(where, (n,), "rewards")
  dtype = nx.compute_dtype(rewards)
  valid = jnp.ones((n,), bool) if where is None else jnp.broadcast_to(where, (n,))
  r = jnp.where(valid, rewards.astype(dtype), 0).reshape(-1, group_size)
  v = valid.reshape(-1, group_size).astype(dtype)
  count = jnp.sum(v, axis=1, keepdims=True)
  mean = jnp.sum(r, axis=1, keepdims=True) / jnp.maximum(count, 1)
  centred = jnp.where(v > 0, r - mean, 0)
  mode = {True: "group", False: "none"}.get(scale_rewards, scale_rewards)
  if mode == "none":
    return centred.reshape(n)
  if mode == "group":
    sq, cnt = jnp.sum(centred**2, axis=1, keepdims=True), count
  else:   # batch: the deviation from the batch mean, over every scored completion
    total = jnp.sum(v)
    bmean = jnp.sum(r) / jnp.maximum(total, 1)
    sq = jnp.sum(jnp.where(v > 0, (r - bmean) ** 2, 0))
    cnt = total
  std = nx.safe_sqrt(sq / jnp.maximum(cnt - 1, 1))
  ok = (cnt > 1) & (v > 0)
  return jnp.where(ok, centred / (std + 1e-4), 0).reshape(n)
